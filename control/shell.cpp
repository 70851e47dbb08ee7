#include "shell.hpp"

#include <cmdline.h>
#include <cmdline_parse.h>
#include <cmdline_parse_string.h>
#include <cmdline_rdline.h>
#include <cmdline_socket.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

namespace eamclat {

std::vector<std::string> tokenize(const std::string &line) {
    std::vector<std::string> out;
    std::istringstream in(line);
    std::string t;
    while (in >> t) {
        if (t[0] == '#') break;
        out.push_back(t);
    }
    return out;
}

namespace {
std::vector<std::string> split(const std::string &s, char sep) {
    std::vector<std::string> out;
    size_t start = 0;
    for (;;) {
        size_t p = s.find(sep, start);
        out.push_back(s.substr(start, p - start));
        if (p == std::string::npos) return out;
        start = p + 1;
    }
}
}  // namespace

std::vector<Shell::Element> Shell::compile(const std::string &spec) {
    std::vector<Element> els;
    int group = -1, groups = 0;
    std::string last_word;
    for (std::string tok : tokenize(spec)) {
        bool open = false, close = false;
        if (tok.front() == '[') {
            open = true;
            tok.erase(0, 1);
        }
        if (!tok.empty() && tok.back() == ']') {
            close = true;
            tok.pop_back();
        }
        if (open) group = groups++;
        Element e;
        e.optional_group = group;
        if (tok.front() == '<') {  // <type:name>
            auto inner = tok.substr(1, tok.size() - 2);
            auto colon = inner.find(':');
            e.kind = Element::value;
            e.type = inner.substr(0, colon);
            e.name = colon == std::string::npos ? e.type : inner.substr(colon + 1);
        } else if (tok.find('|') != std::string::npos) {
            e.kind = Element::choice;
            auto eq = tok.find('=');
            e.name = eq == std::string::npos ? last_word : tok.substr(0, eq);
            e.choices = split(eq == std::string::npos ? tok : tok.substr(eq + 1), '|');
        } else {
            e.kind = Element::word;
            e.choices = {tok};
            e.name = tok;
            last_word = tok;
        }
        els.push_back(e);
        if (close) group = -1;
    }
    return els;
}

void Shell::add(CommandSpec c) {
    Command cmd;
    cmd.elements = compile(c.spec);
    for (const auto &e : cmd.elements) {
        if (e.kind != Element::word || e.optional_group != -1) break;
        cmd.fixed_words++;
    }
    cmd.spec = std::move(c);
    commands_.push_back(std::move(cmd));
}

bool Shell::parse_value(const std::string &type, const std::string &tok, ArgValue &v, std::string &why) {
    v.text = tok;
    if (type == "v4prefix") {
        v.v4prefix = Prefix4::parse(tok, &why);
        if (!v.v4prefix) why = "'" + tok + "': " + why;
        return v.v4prefix.has_value();
    }
    if (type == "v6prefix") {
        v.v6prefix = Prefix6::parse(tok, &why);
        if (!v.v6prefix) why = "'" + tok + "': " + why;
        return v.v6prefix.has_value();
    }
    if (type == "ipv4") {
        v.ipv4 = parse_ip4(tok);
        if (!v.ipv4) why = "'" + tok + "' is not an IPv4 address";
        return v.ipv4.has_value();
    }
    if (type == "uint") {
        uint64_t n = 0;
        auto [p, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), n);
        if (ec != std::errc() || p != tok.data() + tok.size()) {
            why = "'" + tok + "' is not a number";
            return false;
        }
        v.number = n;
        return true;
    }
    return true;  // word, file: any token
}

bool Shell::match(const Command &c, const std::vector<std::string> &tokens, Args &args, std::string &why) const {
    size_t t = 0;
    const auto &els = c.elements;
    auto element_matches = [&](const Element &e, const std::string &tok) {
        if (e.kind == Element::value) return true;
        return std::find(e.choices.begin(), e.choices.end(), tok) != e.choices.end();
    };
    auto take = [&](const Element &e) -> bool {
        if (t >= tokens.size()) {
            why = "missing " + (e.kind == Element::value ? "<" + e.name + ">" : e.choices[0]);
            return false;
        }
        const std::string &tok = tokens[t];
        if (e.kind == Element::value) {
            ArgValue v;
            if (!parse_value(e.type, tok, v, why)) return false;
            args.raw()[e.name] = v;
        } else if (!element_matches(e, tok)) {
            why = "expected " + (e.choices.size() == 1 ? "'" + e.choices[0] + "'" : "one of " + [&] {
                std::string s;
                for (auto &ch : e.choices) s += (s.empty() ? "" : "|") + ch;
                return s;
            }()) + ", got '" + tok + "'";
            return false;
        } else if (e.kind == Element::choice) {
            args.raw()[e.name] = ArgValue{tok, {}, {}, {}, {}};
        } else if (e.optional_group != -1) {
            args.raw()[e.name] = ArgValue{tok, {}, {}, {}, {}};  // a keyword that was given
        }
        t++;
        return true;
    };
    size_t i = 0;
    while (i < els.size()) {
        if (els[i].optional_group == -1) {
            if (!take(els[i])) return false;
            i++;
            continue;
        }
        // A run of optional groups: each may appear once, in any order.
        size_t run_end = i;
        while (run_end < els.size() && els[run_end].optional_group != -1) run_end++;
        std::vector<bool> used(els.size(), false);
        for (;;) {
            if (t >= tokens.size()) break;
            bool progressed = false;
            for (size_t g = i; g < run_end;) {
                size_t g_end = g;
                while (g_end < run_end && els[g_end].optional_group == els[g].optional_group) g_end++;
                if (!used[g] && element_matches(els[g], tokens[t]) &&
                    (els[g].kind != Element::value || run_end == els.size())) {
                    for (size_t k = g; k < g_end; k++)
                        if (!take(els[k])) return false;
                    used[g] = true;
                    progressed = true;
                    break;
                }
                g = g_end;
            }
            if (!progressed) break;
        }
        i = run_end;
    }
    if (t < tokens.size()) {
        why = "unexpected '" + tokens[t] + "'";
        return false;
    }
    return true;
}

std::string Shell::usage(const Command &c) { return "usage: " + c.spec.spec; }

CommandResult Shell::execute(const std::string &line) {
    auto tokens = tokenize(line);
    if (tokens.empty()) return {};
    // Candidates: every command whose leading fixed words match the line.
    const Command *best = nullptr;
    std::string best_why;
    size_t best_fixed = 0;
    for (const auto &c : commands_) {
        if (c.fixed_words == 0 || c.fixed_words > tokens.size()) continue;
        bool prefix = true;
        for (size_t i = 0; i < c.fixed_words && prefix; i++) prefix = c.elements[i].choices[0] == tokens[i];
        if (!prefix) continue;
        Args args;
        std::string why;
        if (match(c, tokens, args, why)) {
            try {
                return c.spec.run(args);
            } catch (const std::exception &e) {  // a handler bug must not take the daemon down
                return {false, std::string("error: ") + e.what()};
            }
        }
        if (c.fixed_words >= best_fixed) {
            best = &c;
            best_fixed = c.fixed_words;
            best_why = why;
        }
    }
    if (best) return {false, "bad arguments: " + best_why + "\n" + usage(*best)};
    // Nothing matched: list the commands that start with the first word, like testpmd does.
    std::string out = "unknown command '" + line + "'";
    std::string similar;
    for (const auto &c : commands_)
        if (c.elements[0].choices[0] == tokens[0]) similar += "\n  " + c.spec.spec;
    out += similar.empty() ? "; type 'help'" : "; did you mean:" + similar;
    return {false, out};
}

std::string Shell::help(const std::string &topic) const {
    std::ostringstream o;
    std::string group;
    for (const auto &c : commands_) {
        if (!topic.empty() && c.spec.group != topic && c.elements[0].choices[0] != topic) continue;
        if (c.spec.group != group) {
            group = c.spec.group;
            o << "\n" << group << ":\n";
        }
        o << "  " << c.spec.spec << "\n      " << c.spec.help << "\n";
    }
    std::string s = o.str();
    return s.empty() ? "no help for '" + topic + "'" : s.substr(1);
}

std::vector<std::string> Shell::complete(const std::string &partial) const {
    auto tokens = tokenize(partial);
    bool fresh = partial.empty() || std::isspace(static_cast<unsigned char>(partial.back()));
    std::string stem = fresh || tokens.empty() ? "" : tokens.back();
    if (!fresh && !tokens.empty()) tokens.pop_back();
    std::vector<std::string> out;
    for (const auto &c : commands_) {
        if (tokens.size() >= c.elements.size()) continue;
        bool ok = true;
        for (size_t i = 0; i < tokens.size() && ok; i++)
            ok = c.elements[i].kind == Element::value ||
                 std::find(c.elements[i].choices.begin(), c.elements[i].choices.end(), tokens[i]) !=
                     c.elements[i].choices.end();
        if (!ok) continue;
        const Element &next = c.elements[tokens.size()];
        if (next.kind == Element::value) continue;
        for (const auto &ch : next.choices)
            if (ch.compare(0, stem.size(), stem) == 0 && std::find(out.begin(), out.end(), ch) == out.end())
                out.push_back(ch);
    }
    return out;
}

bool Shell::run_file(const std::string &path, std::string &out) {
    std::ifstream in(path);
    if (!in) {
        out += "cannot read " + path + "\n";
        return false;
    }
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        n++;
        if (tokenize(line).empty()) continue;
        out += "eamclat> " + line + "\n";
        auto r = execute(line);
        out += r.output;
        if (!r.output.empty() && r.output.back() != '\n') out += "\n";
        if (!r.ok) {
            out += path + ":" + std::to_string(n) + ": stopped at this error\n";
            return false;
        }
    }
    return true;
}

// ---- the terminal, on DPDK's cmdline library ----
//
// Each command becomes one cmdline instance: its fixed words as string tokens (so they complete
// with TAB), then one multi-string token for the arguments; a command whose arguments are all
// optional gets a second instance without it. The instance callback re-assembles the line and
// hands it to execute(), so the terminal and eamclat-ctl run exactly the same parser.

namespace {
struct InstanceData {
    Shell *shell;
    size_t words;
    bool multi;
};
constexpr size_t word_size = sizeof(cmdline_fixed_string_t);

void on_instance(void *parsed, struct cmdline *, void *data) {
    auto *d = static_cast<InstanceData *>(data);
    const char *base = static_cast<const char *>(parsed);
    std::string line;
    for (size_t i = 0; i < d->words; i++) line += std::string(base + i * word_size) + " ";
    if (d->multi) line += std::string(base + d->words * word_size);
    auto r = d->shell->execute(line);
    if (!r.output.empty()) {
        fputs(r.output.c_str(), stdout);
        if (r.output.back() != '\n') fputc('\n', stdout);
    }
    fflush(stdout);
}
}  // namespace

void Shell::build_cmdline_context() {
    for (const auto &c : commands_) {
        bool has_args = c.elements.size() > c.fixed_words;
        bool all_optional = true;
        for (size_t i = c.fixed_words; i < c.elements.size(); i++) all_optional &= c.elements[i].optional_group != -1;
        for (int variant = 0; variant < 2; variant++) {
            bool multi = variant == 1;
            if (multi && !has_args) continue;
            if (!multi && has_args && !all_optional) continue;
            size_t ntok = c.fixed_words + (multi ? 1 : 0);
            auto *inst = static_cast<cmdline_inst *>(calloc(1, sizeof(cmdline_inst) + (ntok + 1) * sizeof(void *)));
            auto *data = new InstanceData{this, c.fixed_words, multi};
            allocations_.push_back(inst);
            inst->f = on_instance;
            inst->data = data;
            inst->help_str = c.spec.help.c_str();
            for (size_t i = 0; i < ntok; i++) {
                auto *tok = static_cast<cmdline_parse_token_string_t *>(calloc(1, sizeof(cmdline_parse_token_string_t)));
                allocations_.push_back(tok);
                tok->hdr.ops = &cmdline_token_string_ops;
                tok->hdr.offset = static_cast<unsigned>(i * word_size);
                tok->string_data.str = i < c.fixed_words ? c.elements[i].choices[0].c_str() : TOKEN_STRING_MULTI;
                inst->tokens[i] = &tok->hdr;
            }
            inst->tokens[ntok] = nullptr;
            instances_.push_back(inst);
        }
    }
    instances_.push_back(nullptr);
}

bool Shell::terminal_open(const char *prompt) {
    if (instances_.empty()) build_cmdline_context();
    cl_ = cmdline_stdin_new(reinterpret_cast<cmdline_parse_ctx_t *>(instances_.data()), prompt);
    return cl_ != nullptr;
}

bool Shell::terminal_input() {
    if (!cl_) return false;
    for (;;) {  // cmdline_poll consumes one character per call
        pollfd p{0, POLLIN, 0};
        if (poll(&p, 1, 0) <= 0) break;
        if (p.revents & (POLLHUP | POLLERR | POLLNVAL)) return false;
        if (cmdline_poll(cl_) == RDLINE_EXITED) return false;  // ^D or quit
    }
    return !quit_;
}

void Shell::terminal_close() {
    if (cl_) cmdline_stdin_exit(cl_);
    cl_ = nullptr;
}

void Shell::interact(const char *prompt) {
    if (!terminal_open(prompt)) return;
    while (!quit_) {
        pollfd p{0, POLLIN, 0};
        if (poll(&p, 1, 200) <= 0) continue;
        if (!terminal_input()) break;
    }
    terminal_close();
}

void Shell::quit() {
    quit_ = true;
    if (cl_) cmdline_quit(cl_);
}

Shell::~Shell() {
    for (auto *inst : instances_)
        if (inst) delete static_cast<InstanceData *>(inst->data);
    for (void *p : allocations_) free(p);
}

}  // namespace eamclat
