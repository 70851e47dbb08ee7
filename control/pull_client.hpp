// The CE's operator-table pull client (draft-ietf-v6ops-464xlat-optimization-03 §5.3: "the CE is
// actually pulling the table ... from the operator infrastructure"). libcurl's multi interface
// runs on the control thread's EventLoop (CURLMOPT_SOCKETFUNCTION / TIMERFUNCTION mapped to
// add_fd / add_timer), so a pull never blocks the loop.
//
// One pull: GET url (HTTPS, certificate verified, If-None-Match / If-Modified-Since), then, when a
// public key is configured and the table changed, GET url + ".sig". A table is applied only when
// everything holds (size, syntax, every entry, signature, serial not going backwards); otherwise
// the table in force stays. The last good table is saved atomically and restored at start.
//
// Draft §5.3 drawback 3 (WAN bandwidth "even when a CE reboots") is what the conditional requests
// (ETag kept across restarts), the refresh interval derived from the TTLs and the jitter address.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "event_loop.hpp"
#include "operator_table.hpp"

namespace eamclat {

#define EAMCLAT_OPERATOR_COUNTERS(X)                                                                 \
    X(pulls, "pulls started (timer or `pull table`)")                                                 \
    X(not_modified, "304 Not Modified: table in force renewed without re-parsing")                    \
    X(parsed, "tables parsed and validated")                                                          \
    X(applied, "tables applied (new serial)")                                                         \
    X(unchanged, "tables with the serial in force: renewed, not replaced")                            \
    X(pushed, "tables applied by `table load`")                                                       \
    X(restored, "tables restored from the state file at start")                                       \
    X(failed_transport, "pull failed: connection, TLS or transfer error (incl. truncated body)")     \
    X(failed_timeout, "pull failed: timeout")                                                         \
    X(failed_http, "pull failed: HTTP status other than 200/304")                                     \
    X(refused_too_large, "refused: table larger than max-bytes")                                      \
    X(refused_syntax, "refused: not one well-formed JSON/YAML document (or duplicate key)")           \
    X(refused_schema, "refused: missing/unknown key, wrong type or unsupported version")              \
    X(refused_too_many_entries, "refused: more entries than max-entries")                             \
    X(refused_bad_entry, "refused: an entry breaks a rule (suffix, special range, overlap, own prefix)") \
    X(refused_signature_missing, "refused: a public key is configured and there is no signature")     \
    X(refused_signature_bad, "refused: the signature does not verify")                                \
    X(refused_serial_older, "refused: serial lower than the one in force")                            \
    X(refused_apply, "refused by the table manager (dataplane tables full)")                          \
    X(save_failed, "the last good table could not be saved")

enum class OperatorCounter : uint8_t {
#define EAMCLAT_X(n, d) n,
    EAMCLAT_OPERATOR_COUNTERS(EAMCLAT_X)
#undef EAMCLAT_X
        count
};
const char *operator_counter_name(OperatorCounter c);
const char *operator_counter_help(OperatorCounter c);

// Internals the tests (and nothing else) shorten.
struct PullTuning {
    std::chrono::milliseconds retry_min{30'000};      // first back-off after a failure
    std::chrono::milliseconds retry_max{3'600'000};   // back-off cap
    std::chrono::seconds resave_every{3600};          // re-save on 304 at most this often (flash wear)
    std::optional<uint64_t> seed;                      // jitter RNG seed (random when absent)
    std::function<int64_t()> wall;                     // seconds since the epoch (time() when absent)
};

class PullClient {
public:
    // Installs the entries (TableManager::apply_operator_table in the daemon). All-or-nothing.
    using ApplyFn = std::function<bool(const std::vector<OperatorEntry> &, std::string &err)>;

    PullClient(EventLoop &loop, OperatorTableConfig cfg, OperatorTableLimits limits, ApplyFn apply,
               PullTuning tuning = {});
    ~PullClient();
    PullClient(const PullClient &) = delete;
    PullClient &operator=(const PullClient &) = delete;

    // Loads the public key, restores the saved table (applied at once, its remaining TTLs) and
    // schedules the first pull after a random delay in [0, initial-jitter]. False (err) when the
    // configuration or the public key is unusable; an unusable state file is only reported.
    bool start(std::string &err);

    // `pull table`: pulls now (false when a pull is running or no url is configured).
    bool pull_now(std::string &err);
    // `table load FILE`: the same checks as a pull (FILE.sig when a key is configured). msg says
    // what happened either way.
    bool load_file(const std::string &path, std::string &msg);

    bool busy() const { return phase_ != Phase::idle; }
    std::optional<uint64_t> serial() const;
    size_t entries_in_force() const;
    uint64_t counter(OperatorCounter c) const { return counters_[static_cast<unsigned>(c)]; }
    const std::string &last_error() const { return last_error_; }
    std::chrono::milliseconds next_pull_in() const;
    std::string status() const;  // `show operator`

    // Called after each pull attempt ends (success or not); the shell answers `pull table` from it.
    std::function<void(bool ok)> on_pull_done;

    // The refresh interval after a good pull: 90% of min(shortest entry TTL, max-age) (so that
    // with +10% jitter the renewal still lands before the entries expire), bounded by
    // [refresh-min, refresh-max]; refresh-max when neither is known.
    static std::chrono::seconds refresh_base(uint32_t min_ttl, std::optional<uint32_t> max_age,
                                             uint32_t refresh_min, uint32_t refresh_max);
    // Back-off after `failures` consecutive failures: retry_min doubling up to retry_max.
    static std::chrono::milliseconds backoff_base(unsigned failures, std::chrono::milliseconds retry_min,
                                                  std::chrono::milliseconds retry_max);

private:
    enum class Phase { idle, table, signature };
    struct Transfer;
    struct Accepted;

    // libcurl multi <-> EventLoop.
    static int socket_cb(void *easy, int s, int what, void *self, void *socketp);
    static int timer_cb(void *multi, long timeout_ms, void *self);
    void on_socket(int fd, uint32_t events);
    void drive(int fd, int flags);
    void check_done();

    void begin_pull();
    bool start_transfer(const std::string &url, bool conditional, uint64_t limit);
    void table_done(Transfer &t, int curl_code);
    void signature_done(Transfer &t, int curl_code);
    void finish(bool ok);
    void schedule(std::chrono::milliseconds delay);
    std::chrono::milliseconds jitter(std::chrono::milliseconds base);

    // The common path of pull, push and restore: validate, serial rule, apply. Returns false and
    // sets last_error_ (and a counter) on refusal.
    enum class Source { pull, push, restore };
    bool accept(const std::string &bytes, const std::optional<std::string> &sig, Source src, int64_t age,
                std::string &msg);
    bool renew(std::string &msg);  // 304 / same serial: re-apply the table in force
    void refuse(TableError e);
    void save_state();
    void restore_state();
    void bump(OperatorCounter c) { counters_[static_cast<unsigned>(c)]++; }
    int64_t wall() const;

    EventLoop &loop_;
    OperatorTableConfig cfg_;
    OperatorTableLimits limits_;
    ApplyFn apply_;
    PullTuning tuning_;
    std::optional<PublicKey> key_;
    std::mt19937_64 rng_;

    void *multi_ = nullptr;  // CURLM*
    std::set<int> fds_;      // sockets registered with the loop for curl
    EventLoop::TimerId curl_timer_ = -1;
    EventLoop::TimerId pull_timer_ = -1;
    std::chrono::steady_clock::time_point next_pull_{};
    std::unique_ptr<Transfer> transfer_;
    Phase phase_ = Phase::idle;

    // The response being processed (between the table and the signature transfer).
    std::string pending_body_;
    std::string pending_etag_, pending_last_modified_;
    std::optional<uint32_t> pending_max_age_;

    // The table in force.
    struct InForce {
        OperatorTable table;  // TTLs as published (renewal re-applies them in full)
        std::string bytes;
        std::optional<std::string> signature;
    };
    std::optional<InForce> current_;
    std::string etag_, last_modified_;
    std::optional<uint32_t> max_age_;
    int64_t confirmed_wall_ = 0;   // when the server last confirmed the table in force
    int64_t saved_wall_ = 0;       // when the state file was last written
    int64_t last_success_wall_ = 0;
    int64_t last_attempt_wall_ = 0;
    unsigned failures_ = 0;
    std::string last_error_;
    uint64_t counters_[static_cast<unsigned>(OperatorCounter::count)] = {};
};

}  // namespace eamclat
