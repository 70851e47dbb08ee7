// The command shell (testpmd/VPP habits): commands declared in tables with their words,
// arguments and help; one dispatcher used by the terminal (DPDK cmdline: prompt, completion,
// history), the eamclat-ctl UNIX socket and batch files. Every command validates all its
// arguments before it changes anything, so a bad line only ever gets a usage message.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "xlat/types.hpp"

struct cmdline;
struct cmdline_inst;

namespace eamclat {

// Argument types a command spec can name: <v4prefix> <v6prefix> <ipv4> <uint> <word> <file>.
struct ArgValue {
    std::string text;
    std::optional<Prefix4> v4prefix;
    std::optional<Prefix6> v6prefix;
    std::optional<Ip4> ipv4;
    std::optional<uint64_t> number;
};

class Args {
public:
    bool has(const std::string &name) const { return values_.count(name) != 0; }
    const ArgValue &get(const std::string &name) const { return values_.at(name); }
    std::string text(const std::string &name, const std::string &def = "") const {
        auto it = values_.find(name);
        return it == values_.end() ? def : it->second.text;
    }
    std::map<std::string, ArgValue> &raw() { return values_; }

private:
    std::map<std::string, ArgValue> values_;
};

struct CommandResult {
    bool ok = true;
    std::string output;
};

using CommandHandler = std::function<CommandResult(const Args &)>;

// A spec is a sequence of elements:
//   word              a fixed word ("show")
//   a|b|c             one of the choices; stored under the name of the first fixed word before it
//                     ... or under `name` when written name=a|b|c
//   <type:name>       a typed value: v4prefix, v6prefix, ipv4, uint, word, file
//   [ ... ]           the elements inside are optional (together)
// e.g. "show eamt [source=static|operator|learned] [host <ipv4:host>] [name <word:name>]"
struct CommandSpec {
    std::string group;  // "show", "eamt", ... for `help` grouping (one file per area registers one group)
    std::string spec;
    std::string help;
    CommandHandler run;
};

class Shell {
public:
    void add(CommandSpec c);
    void add(const std::vector<CommandSpec> &cs) {
        for (const auto &c : cs) add(c);
    }
    // Parses and runs one line. Empty lines and comments (#) give ok with no output.
    CommandResult execute(const std::string &line);
    std::string help(const std::string &topic = "") const;
    // Words that can follow the given partial line (for completion).
    std::vector<std::string> complete(const std::string &partial) const;
    // Runs a batch file (testpmd's --cmdline-file): each line, echoing it; stops at the first error.
    bool run_file(const std::string &path, std::string &out);

    // The interactive terminal on DPDK's cmdline library. quit() is what `quit` calls.
    // interact() blocks; the daemon instead opens the terminal and feeds it from its event loop
    // (terminal_input() when stdin is readable; false once the user left with quit or ^D).
    void interact(const char *prompt = "eamclat> ");
    bool terminal_open(const char *prompt = "eamclat> ");
    bool terminal_input();
    void terminal_close();
    void quit();
    bool quitting() const { return quit_; }

    ~Shell();

private:
    struct Element {
        enum Kind { word, choice, value } kind;
        std::vector<std::string> choices;  // word: 1 entry
        std::string type;                  // value
        std::string name;                  // choice/value storage key
        int optional_group = -1;           // index of the [ ] group, -1 = required
    };
    struct Command {
        CommandSpec spec;
        std::vector<Element> elements;
        size_t fixed_words = 0;  // leading fixed words
    };
    static std::vector<Element> compile(const std::string &spec);
    bool match(const Command &c, const std::vector<std::string> &tokens, Args &args, std::string &why) const;
    static bool parse_value(const std::string &type, const std::string &tok, ArgValue &v, std::string &why);
    static std::string usage(const Command &c);
    void build_cmdline_context();

    std::vector<Command> commands_;
    bool quit_ = false;
    struct cmdline *cl_ = nullptr;
    std::vector<cmdline_inst *> instances_;
    std::vector<void *> allocations_;
};

std::vector<std::string> tokenize(const std::string &line);

}  // namespace eamclat
