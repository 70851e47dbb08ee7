// The operator-table pull client (draft-ietf-v6ops-464xlat-optimization-03 §5.3), libcurl multi on
// the control thread's EventLoop.
#include "pull_client.hpp"

#include <curl/curl.h>
#include <sys/epoll.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <mutex>

#include <fmt/format.h>

namespace eamclat {

namespace {

constexpr const char *counter_names[] = {
#define EAMCLAT_X(n, d) #n,
    EAMCLAT_OPERATOR_COUNTERS(EAMCLAT_X)
#undef EAMCLAT_X
};
constexpr const char *counter_helps[] = {
#define EAMCLAT_X(n, d) d,
    EAMCLAT_OPERATOR_COUNTERS(EAMCLAT_X)
#undef EAMCLAT_X
};

constexpr uint64_t max_signature_bytes = 1024;  // 64 raw bytes or 88 of base64, plus slack

std::string rfc3339(int64_t t) {
    if (t <= 0) return "never";
    time_t tt = static_cast<time_t>(t);
    tm g{};
    gmtime_r(&tt, &g);
    char buf[32];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &g);
    return buf;
}

bool iequals_prefix(std::string_view line, std::string_view name) {
    if (line.size() < name.size()) return false;
    for (size_t i = 0; i < name.size(); i++)
        if (std::tolower(static_cast<unsigned char>(line[i])) != name[i]) return false;
    return true;
}

std::string trim(std::string_view s) {
    size_t b = 0, e = s.size();
    while (b < e && (s[b] == ' ' || s[b] == '\t')) b++;
    while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' || s[e - 1] == '\n')) e--;
    return std::string(s.substr(b, e - b));
}

// RFC 9111 §5.2.2.1 max-age=delta-seconds; no-cache / no-store ask for revalidation every time
// (the lower bound refresh-min then applies).
std::optional<uint32_t> parse_max_age(std::string_view v) {
    std::optional<uint32_t> out;
    size_t i = 0;
    while (i < v.size()) {
        size_t j = v.find(',', i);
        if (j == std::string_view::npos) j = v.size();
        std::string d = trim(v.substr(i, j - i));
        for (auto &c : d) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (d == "no-cache" || d == "no-store") out = 0;
        else if (d.rfind("max-age=", 0) == 0) {
            std::string n = d.substr(8);
            if (!n.empty() && n.size() <= 10 && std::all_of(n.begin(), n.end(), ::isdigit))
                out = static_cast<uint32_t>(std::min<uint64_t>(std::stoull(n), UINT32_MAX));
        }
        i = j + 1;
    }
    return out;
}

}  // namespace

const char *operator_counter_name(OperatorCounter c) { return counter_names[static_cast<unsigned>(c)]; }
const char *operator_counter_help(OperatorCounter c) { return counter_helps[static_cast<unsigned>(c)]; }

// One HTTP transfer (the table or its signature).
struct PullClient::Transfer {
    CURL *easy = nullptr;
    curl_slist *headers = nullptr;
    std::string url;
    std::string body;
    uint64_t limit = 0;
    bool too_large = false;
    std::string etag, last_modified;
    std::optional<uint32_t> max_age;
    char errbuf[CURL_ERROR_SIZE] = {};

    ~Transfer() {
        if (easy) curl_easy_cleanup(easy);
        if (headers) curl_slist_free_all(headers);
    }
    static size_t on_body(char *data, size_t size, size_t n, void *self) {
        auto *t = static_cast<Transfer *>(self);
        const size_t len = size * n;
        // Enforced while downloading: a hostile or broken server cannot make the CE buffer more.
        if (t->body.size() + len > t->limit) {
            t->too_large = true;
            return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
        }
        t->body.append(data, len);
        return len;
    }
    static size_t on_header(char *data, size_t size, size_t n, void *self) {
        auto *t = static_cast<Transfer *>(self);
        const size_t len = size * n;
        std::string_view line(data, len);
        if (iequals_prefix(line, "http/")) {  // a new response (after a redirect): forget the last one
            t->etag.clear();
            t->last_modified.clear();
            t->max_age.reset();
        } else if (iequals_prefix(line, "etag:")) {
            t->etag = trim(line.substr(5));
        } else if (iequals_prefix(line, "last-modified:")) {
            t->last_modified = trim(line.substr(14));
        } else if (iequals_prefix(line, "cache-control:")) {
            if (auto m = parse_max_age(line.substr(14))) t->max_age = m;
        }
        return len;
    }
};

PullClient::PullClient(EventLoop &loop, OperatorTableConfig cfg, OperatorTableLimits limits, ApplyFn apply,
                       PullTuning tuning)
    : loop_(loop), cfg_(std::move(cfg)), limits_(std::move(limits)), apply_(std::move(apply)),
      tuning_(std::move(tuning)) {
    static std::once_flag curl_once;
    std::call_once(curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    limits_.max_bytes = cfg_.max_bytes;
    limits_.max_entries = cfg_.max_entries;
    rng_.seed(tuning_.seed ? *tuning_.seed : (uint64_t{std::random_device{}()} << 32 | std::random_device{}()));
}

PullClient::~PullClient() {
    if (pull_timer_ >= 0) loop_.cancel_timer(pull_timer_);
    if (curl_timer_ >= 0) loop_.cancel_timer(curl_timer_);
    for (int fd : fds_) loop_.remove_fd(fd);
    fds_.clear();
    if (multi_) {
        // No callback into a half-destroyed object while curl tears the transfer down.
        curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, nullptr);
        curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, nullptr);
        if (transfer_) curl_multi_remove_handle(multi_, transfer_->easy);
    }
    transfer_.reset();
    if (multi_) curl_multi_cleanup(multi_);
}

int64_t PullClient::wall() const { return tuning_.wall ? tuning_.wall() : static_cast<int64_t>(time(nullptr)); }

bool PullClient::start(std::string &err) {
    if (std::string e = check_operator_config(cfg_); !e.empty()) {
        err = "operator-table: " + e;
        return false;
    }
    if (!cfg_.public_key.empty()) {
        key_ = PublicKey::load_pem_file(cfg_.public_key, err);
        if (!key_) {
            err = "operator-table public-key: " + err;
            return false;
        }
    }
    multi_ = curl_multi_init();
    if (!multi_) {
        err = "curl_multi_init failed";
        return false;
    }
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &PullClient::socket_cb);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &PullClient::timer_cb);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
    restore_state();
    if (!cfg_.url.empty()) {
        std::uniform_int_distribution<uint64_t> d(0, uint64_t{cfg_.initial_jitter} * 1000);
        schedule(std::chrono::milliseconds(d(rng_)));
    }
    return true;
}

// ---- libcurl multi on the EventLoop ----

int PullClient::socket_cb(void *, int s, int what, void *self_p, void *) {
    auto *self = static_cast<PullClient *>(self_p);
    if (what == CURL_POLL_REMOVE) {
        if (self->fds_.erase(s)) self->loop_.remove_fd(s);
        return 0;
    }
    uint32_t ev = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) ev |= EPOLLIN;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) ev |= EPOLLOUT;
    if (self->fds_.count(s)) {
        self->loop_.modify_fd(s, ev);
    } else if (self->loop_.add_fd(s, ev, [self, s](uint32_t events) { self->on_socket(s, events); })) {
        self->fds_.insert(s);
    } else {
        return -1;  // curl fails the transfer
    }
    return 0;
}

int PullClient::timer_cb(void *, long timeout_ms, void *self_p) {
    auto *self = static_cast<PullClient *>(self_p);
    if (self->curl_timer_ >= 0) self->loop_.cancel_timer(self->curl_timer_);
    self->curl_timer_ = -1;
    if (timeout_ms < 0) return 0;  // curl: delete the timer
    // Never call curl_multi_socket_action from inside this callback: the loop calls it later
    // (timeout 0 = as soon as possible).
    self->curl_timer_ = self->loop_.add_timer(std::chrono::milliseconds(timeout_ms), [self] {
        self->curl_timer_ = -1;
        self->drive(CURL_SOCKET_TIMEOUT, 0);
    }, false);
    return self->curl_timer_ >= 0 ? 0 : -1;
}

void PullClient::on_socket(int fd, uint32_t events) {
    int flags = 0;
    if (events & EPOLLIN) flags |= CURL_CSELECT_IN;
    if (events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
    if (events & (EPOLLERR | EPOLLHUP)) flags |= CURL_CSELECT_ERR;
    drive(fd, flags);
}

void PullClient::drive(int fd, int flags) {
    int running = 0;
    curl_multi_socket_action(multi_, fd, flags, &running);
    check_done();
}

void PullClient::check_done() {
    int left = 0;
    while (CURLMsg *m = curl_multi_info_read(multi_, &left)) {
        if (m->msg != CURLMSG_DONE || !transfer_ || m->easy_handle != transfer_->easy) continue;
        const CURLcode code = m->data.result;
        curl_multi_remove_handle(multi_, transfer_->easy);
        std::unique_ptr<Transfer> t = std::move(transfer_);
        if (phase_ == Phase::table) table_done(*t, code);
        else if (phase_ == Phase::signature) signature_done(*t, code);
    }
}

// ---- one pull ----

void PullClient::schedule(std::chrono::milliseconds delay) {
    if (pull_timer_ >= 0) loop_.cancel_timer(pull_timer_);
    next_pull_ = std::chrono::steady_clock::now() + delay;
    pull_timer_ = loop_.add_timer(delay, [this] {
        pull_timer_ = -1;
        if (!busy()) begin_pull();
    }, false);
}

std::chrono::milliseconds PullClient::next_pull_in() const {
    if (pull_timer_ < 0) return std::chrono::milliseconds(-1);
    return std::max(std::chrono::milliseconds(0), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                      next_pull_ - std::chrono::steady_clock::now()));
}

// ±10%, so that CEs that booted together (a power cut) drift apart instead of pulling in step.
std::chrono::milliseconds PullClient::jitter(std::chrono::milliseconds base) {
    std::uniform_real_distribution<double> d(0.9, 1.1);
    return std::chrono::milliseconds(static_cast<int64_t>(static_cast<double>(base.count()) * d(rng_)));
}

std::chrono::seconds PullClient::refresh_base(uint32_t min_ttl, std::optional<uint32_t> max_age,
                                              uint32_t refresh_min, uint32_t refresh_max) {
    std::optional<uint64_t> life;
    if (min_ttl) life = min_ttl;
    if (max_age) life = life ? std::min<uint64_t>(*life, *max_age) : *max_age;
    uint64_t s = life ? *life * 9 / 10 : refresh_max;
    s = std::clamp<uint64_t>(s, refresh_min, refresh_max);
    return std::chrono::seconds(s);
}

std::chrono::milliseconds PullClient::backoff_base(unsigned failures, std::chrono::milliseconds retry_min,
                                                   std::chrono::milliseconds retry_max) {
    auto d = retry_min;
    for (unsigned i = 1; i < failures && d < retry_max; i++) d *= 2;
    return std::min(d, retry_max);
}

bool PullClient::pull_now(std::string &err) {
    if (cfg_.url.empty()) {
        err = "no operator-table url configured";
        return false;
    }
    if (!multi_) {
        err = "the pull client is not started";
        return false;
    }
    if (busy()) {
        err = "a pull is already running";
        return false;
    }
    if (pull_timer_ >= 0) loop_.cancel_timer(pull_timer_);
    pull_timer_ = -1;
    begin_pull();
    return true;
}

void PullClient::begin_pull() {
    bump(OperatorCounter::pulls);
    last_attempt_wall_ = wall();
    phase_ = Phase::table;
    if (!start_transfer(cfg_.url, true, cfg_.max_bytes)) {
        bump(OperatorCounter::failed_transport);
        finish(false);
    }
}

bool PullClient::start_transfer(const std::string &url, bool conditional, uint64_t limit) {
    auto t = std::make_unique<Transfer>();
    t->url = url;
    t->limit = limit;
    t->easy = curl_easy_init();
    if (!t->easy) {
        last_error_ = "curl_easy_init failed";
        return false;
    }
    CURL *e = t->easy;
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 3L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!cfg_.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, cfg_.ca_file.c_str());
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(cfg_.timeout) * 1000);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min<uint32_t>(cfg_.timeout, 10)) * 1000);
    // curl refuses early when Content-Length announces more; the write callback catches the rest
    // (chunked bodies, lying lengths, decompressed size).
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(limit));
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");  // gzip: §5.3 drawback 3, WAN bandwidth
    curl_easy_setopt(e, CURLOPT_USERAGENT, "eamclat/0.1 (operator-table)");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Transfer::on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Transfer::on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
    // Conditional request only when there is a table in force to fall back to on 304.
    if (conditional && current_) {
        if (!etag_.empty()) t->headers = curl_slist_append(t->headers, ("If-None-Match: " + etag_).c_str());
        if (!last_modified_.empty())
            t->headers = curl_slist_append(t->headers, ("If-Modified-Since: " + last_modified_).c_str());
        if (t->headers) curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    }
    transfer_ = std::move(t);
    if (curl_multi_add_handle(multi_, transfer_->easy) != CURLM_OK) {
        last_error_ = "curl_multi_add_handle failed";
        transfer_.reset();
        return false;
    }
    return true;
}

namespace {
// Transport failure: which counter, and the text for last_error.
std::string transfer_error(int code, const char *errbuf) {
    std::string s = curl_easy_strerror(static_cast<CURLcode>(code));
    if (errbuf && *errbuf) s += std::string(": ") + errbuf;
    return s;
}
}  // namespace

void PullClient::table_done(Transfer &t, int code) {
    long status = 0;
    curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
    if (t.too_large || code == CURLE_FILESIZE_EXCEEDED) {
        last_error_ = fmt::format("{}: table larger than max-bytes ({})", t.url, cfg_.max_bytes);
        refuse(TableError::too_large);
        return finish(false);
    }
    if (code != CURLE_OK) {
        last_error_ = t.url + ": " + transfer_error(code, t.errbuf);
        bump(code == CURLE_OPERATION_TIMEDOUT ? OperatorCounter::failed_timeout : OperatorCounter::failed_transport);
        return finish(false);
    }
    if (status == 304 && current_) {
        bump(OperatorCounter::not_modified);
        if (t.max_age) max_age_ = t.max_age;
        if (!t.etag.empty()) etag_ = t.etag;
        std::string msg;
        if (!renew(msg)) return finish(false);
        confirmed_wall_ = wall();
        if (confirmed_wall_ - saved_wall_ >= tuning_.resave_every.count()) save_state();
        return finish(true);
    }
    if (status != 200) {
        last_error_ = fmt::format("{}: HTTP status {}", t.url, status);
        bump(OperatorCounter::failed_http);
        return finish(false);
    }
    pending_body_ = std::move(t.body);
    pending_etag_ = t.etag;
    pending_last_modified_ = t.last_modified;
    pending_max_age_ = t.max_age;
    if (key_) {
        // The signature covers the exact bytes just received; fetch it only now (never cached).
        phase_ = Phase::signature;
        if (!start_transfer(cfg_.url + ".sig", false, max_signature_bytes)) {
            bump(OperatorCounter::failed_transport);
            return finish(false);
        }
        return;
    }
    std::string msg;
    finish(accept(pending_body_, std::nullopt, Source::pull, 0, msg));
}

void PullClient::signature_done(Transfer &t, int code) {
    long status = 0;
    curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
    if (code == CURLE_OPERATION_TIMEDOUT || (code != CURLE_OK && !t.too_large && code != CURLE_FILESIZE_EXCEEDED)) {
        last_error_ = t.url + ": " + transfer_error(code, t.errbuf);
        bump(code == CURLE_OPERATION_TIMEDOUT ? OperatorCounter::failed_timeout : OperatorCounter::failed_transport);
        return finish(false);
    }
    if (t.too_large || code == CURLE_FILESIZE_EXCEEDED) {
        last_error_ = t.url + ": signature larger than " + std::to_string(max_signature_bytes) + " bytes";
        refuse(TableError::signature_bad);
        return finish(false);
    }
    if (status != 200) {
        last_error_ = fmt::format("{}: HTTP status {}: no signature for the table", t.url, status);
        refuse(TableError::signature_missing);
        return finish(false);
    }
    std::string msg;
    finish(accept(pending_body_, t.body, Source::pull, 0, msg));
}

void PullClient::finish(bool ok) {
    phase_ = Phase::idle;
    pending_body_.clear();
    pending_body_.shrink_to_fit();
    if (ok) {
        failures_ = 0;
        last_success_wall_ = wall();
        const uint32_t min_ttl = current_ ? current_->table.min_ttl() : 0;
        schedule(jitter(refresh_base(min_ttl, max_age_, cfg_.refresh_min, cfg_.refresh_max)));
    } else {
        failures_++;
        schedule(jitter(backoff_base(failures_, tuning_.retry_min, tuning_.retry_max)));
    }
    if (on_pull_done) on_pull_done(ok);
}

// ---- validation, serial rule, apply ----

void PullClient::refuse(TableError e) {
    switch (e) {
    case TableError::too_large: bump(OperatorCounter::refused_too_large); break;
    case TableError::syntax: bump(OperatorCounter::refused_syntax); break;
    case TableError::schema: bump(OperatorCounter::refused_schema); break;
    case TableError::too_many_entries: bump(OperatorCounter::refused_too_many_entries); break;
    case TableError::bad_entry: bump(OperatorCounter::refused_bad_entry); break;
    case TableError::signature_missing: bump(OperatorCounter::refused_signature_missing); break;
    case TableError::signature_bad: bump(OperatorCounter::refused_signature_bad); break;
    case TableError::none: break;
    }
}

bool PullClient::accept(const std::string &bytes, const std::optional<std::string> &sig, Source src, int64_t age,
                        std::string &msg) {
    const char *what = src == Source::pull ? "pulled table" : src == Source::push ? "loaded table" : "saved table";
    auto refused = [&](TableError e, const std::string &why) {
        last_error_ = std::string(what) + " refused: " + why;
        msg = last_error_;
        refuse(e);
        return false;
    };
    if (bytes.size() > cfg_.max_bytes)
        return refused(TableError::too_large, fmt::format("{} bytes, the limit is {}", bytes.size(), cfg_.max_bytes));
    // The signature first: an unsigned table is not even parsed when one is required.
    if (key_) {
        if (!sig) return refused(TableError::signature_missing, "a public key is configured and there is no signature");
        std::string err;
        if (!key_->verify(bytes, *sig, err)) return refused(TableError::signature_bad, err);
    }
    std::string err;
    TableError why = TableError::none;
    auto table = parse_operator_table(bytes, limits_, err, &why);
    if (!table) return refused(why, err);
    bump(OperatorCounter::parsed);
    if (current_ && table->serial < current_->table.serial) {
        last_error_ = fmt::format("{} refused: serial {} is lower than the serial in force {}", what, table->serial,
                                  current_->table.serial);
        msg = last_error_;
        bump(OperatorCounter::refused_serial_older);
        return false;
    }
    if (src != Source::restore && current_ && table->serial == current_->table.serial) {
        // Same serial = same table (the operator bumps the serial on every change): renew it.
        if (bytes == current_->bytes && src == Source::pull) {
            etag_ = pending_etag_;
            last_modified_ = pending_last_modified_;
        }
        if (src == Source::pull) max_age_ = pending_max_age_;
        bump(OperatorCounter::unchanged);
        if (!renew(msg)) return false;
        confirmed_wall_ = wall();
        msg = fmt::format("serial {} is already in force: entries renewed", table->serial);
        return true;
    }
    std::vector<OperatorEntry> entries = table->entries;
    if (age > 0) {  // restored from disk: what is left of each TTL
        std::vector<OperatorEntry> left;
        for (auto e : entries)
            if (e.ttl > age) {
                e.ttl -= static_cast<uint32_t>(age);
                left.push_back(std::move(e));
            }
        entries = std::move(left);
    }
    if (!apply_(entries, err)) {
        last_error_ = std::string(what) + " refused by the table manager: " + err;
        msg = last_error_;
        bump(OperatorCounter::refused_apply);
        return false;
    }
    const uint64_t serial = table->serial;
    const size_t n = entries.size();
    current_ = InForce{std::move(*table), bytes, sig};
    switch (src) {
    case Source::pull:
        bump(OperatorCounter::applied);
        etag_ = pending_etag_;
        last_modified_ = pending_last_modified_;
        max_age_ = pending_max_age_;
        confirmed_wall_ = wall();
        save_state();
        break;
    case Source::push:
        bump(OperatorCounter::pushed);
        // A pushed table has no HTTP validators: the next pull must fetch in full.
        etag_.clear();
        last_modified_.clear();
        confirmed_wall_ = wall();
        save_state();
        break;
    case Source::restore: bump(OperatorCounter::restored); break;
    }
    last_error_.clear();
    msg = fmt::format("{} serial {} applied: {} entries", what, serial, n);
    return true;
}

bool PullClient::renew(std::string &msg) {
    std::string err;
    if (!apply_(current_->table.entries, err)) {
        last_error_ = "renewing the table in force failed: " + err;
        msg = last_error_;
        bump(OperatorCounter::refused_apply);
        return false;
    }
    msg = "table in force renewed";
    return true;
}

bool PullClient::load_file(const std::string &path, std::string &msg) {
    std::string err;
    auto bytes = read_file(path, cfg_.max_bytes, err);
    if (!bytes) {
        msg = err;
        return false;
    }
    std::optional<std::string> sig;
    if (key_) {
        sig = read_file(path + ".sig", max_signature_bytes, err);
        if (sig && sig->size() > max_signature_bytes) sig = std::string("too large");  // fails verification
    }
    return accept(*bytes, sig, Source::push, 0, msg);
}

// ---- state file: one document, so that table, signature and validators change together ----

void PullClient::save_state() {
    if (cfg_.state_file.empty() || !current_) return;
    YAML::Emitter out;
    out << YAML::DoubleQuoted << YAML::Flow << YAML::BeginMap;
    out << YAML::Key << "format" << YAML::Value << 1;
    out << YAML::Key << "url" << YAML::Value << cfg_.url;
    out << YAML::Key << "etag" << YAML::Value << etag_;
    out << YAML::Key << "last-modified" << YAML::Value << last_modified_;
    out << YAML::Key << "confirmed" << YAML::Value << confirmed_wall_;
    out << YAML::Key << "table" << YAML::Value << base64_encode(current_->bytes);
    out << YAML::Key << "signature" << YAML::Value << (current_->signature ? base64_encode(*current_->signature) : "");
    out << YAML::EndMap;
    std::string err;
    if (!write_file_atomic(cfg_.state_file, std::string(out.c_str()) + "\n", err)) {
        bump(OperatorCounter::save_failed);
        last_error_ = "saving the table: " + err;
        return;
    }
    saved_wall_ = wall();
}

void PullClient::restore_state() {
    if (cfg_.state_file.empty()) return;
    std::string err;
    // base64 inflates by 4/3; the table inside is checked against max-bytes again.
    auto text = read_file(cfg_.state_file, cfg_.max_bytes * 2 + 4096, err);
    if (!text) return;  // no saved table yet
    try {
        YAML::Node n = YAML::Load(*text);
        if (!n.IsMap() || !n["format"] || n["format"].as<int>() != 1 || !n["table"]) {
            last_error_ = cfg_.state_file + ": not an eamclat operator-table state file";
            return;
        }
        auto bytes = base64_decode(n["table"].as<std::string>());
        std::optional<std::string> sig;
        if (n["signature"] && !n["signature"].as<std::string>().empty())
            sig = base64_decode(n["signature"].as<std::string>());
        if (!bytes) {
            last_error_ = cfg_.state_file + ": table is not base64";
            return;
        }
        const int64_t confirmed = n["confirmed"] ? n["confirmed"].as<int64_t>() : 0;
        const int64_t age = std::max<int64_t>(0, wall() - confirmed);
        std::string msg;
        if (!accept(*bytes, sig, Source::restore, age, msg)) return;
        confirmed_wall_ = confirmed;
        saved_wall_ = confirmed;
        // The validators belong to the URL they came from.
        if (n["url"] && n["url"].as<std::string>() == cfg_.url) {
            etag_ = n["etag"] ? n["etag"].as<std::string>() : "";
            last_modified_ = n["last-modified"] ? n["last-modified"].as<std::string>() : "";
        }
    } catch (const YAML::Exception &e) {
        last_error_ = cfg_.state_file + ": " + e.what();
    }
}

// ---- inspection ----

std::optional<uint64_t> PullClient::serial() const {
    if (!current_) return std::nullopt;
    return current_->table.serial;
}

size_t PullClient::entries_in_force() const { return current_ ? current_->table.entries.size() : 0; }

std::string PullClient::status() const {
    std::string s;
    s += fmt::format("url            {}\n", cfg_.url.empty() ? "(none: push only)" : cfg_.url);
    s += fmt::format("signature      {}\n", key_ ? "required (" + cfg_.public_key + ")" : std::string("not required"));
    if (current_) {
        s += fmt::format("serial         {} (generated {})\n", current_->table.serial, current_->table.generated);
        s += fmt::format("entries        {} (shortest ttl {} s)\n", current_->table.entries.size(),
                         current_->table.min_ttl());
    } else {
        s += "serial         none (no table in force)\n";
    }
    s += fmt::format("etag           {}\n", etag_.empty() ? "-" : etag_);
    s += fmt::format("last success   {}\n", rfc3339(last_success_wall_));
    s += fmt::format("last attempt   {}\n", rfc3339(last_attempt_wall_));
    s += fmt::format("confirmed      {}\n", rfc3339(confirmed_wall_));
    s += fmt::format("state          {}{}\n", busy() ? "pulling" : "idle",
                     failures_ ? fmt::format(" ({} consecutive failures, backing off)", failures_) : "");
    if (auto next = next_pull_in(); next.count() >= 0)
        s += fmt::format("next pull in   {} s\n", (next.count() + 999) / 1000);
    s += fmt::format("last error     {}\n", last_error_.empty() ? "-" : last_error_);
    for (unsigned i = 0; i < static_cast<unsigned>(OperatorCounter::count); i++)
        s += fmt::format("  {:<26} {:>10}  {}\n", counter_names[i], counters_[i], counter_helps[i]);
    return s;
}

}  // namespace eamclat
