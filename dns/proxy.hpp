// The CE's DNS proxy (RFC 5625) and the EAMT learner's event handling
// (draft-ietf-v6ops-464xlat-optimization §5.2.3-§5.2.5), on c-ares, in the control thread.
//
// Every client query is relayed unchanged but for its ID (random toward upstream, the client's
// restored on the answer). For an A query from an IPv4-only host the proxy also asks AAAA for the
// same name, in parallel, and holds the A answer until the AAAA answer (or a SERVFAIL) arrives or
// the resolution delay (50 ms) passes; entries are installed (synchronously, into the dataplane's
// tables) before the A answer is released, so the host's first packet takes the native path.
#pragma once

#include <ares.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "learner.hpp"
#include "message.hpp"

namespace eamclat {
class EventLoop;
}

namespace eamclat::dns {

struct ProxyConfig {
    std::vector<std::string> listen;    // "192.168.1.1", "192.168.1.1:5353", "[2001:db8::1]:53"
    std::vector<std::string> upstream;  // same forms; the resolvers the proxy forwards to
    std::chrono::milliseconds resolution_delay{50};  // §5.2.4 (RFC 8305's value)
    std::chrono::milliseconds upstream_timeout{1500};
    int upstream_tries = 2;
    LearnPolicy policy;
    bool discover_pref64 = true;  // RFC 7050 through ipv4only.arpa
    size_t max_pending = 4096;    // queries in flight; beyond it clients get SERVFAIL
};

#define EAMCLAT_DNS_COUNTERS(X)                                                              \
    X(queries_udp, "queries received over UDP")                                               \
    X(queries_tcp, "queries received over TCP")                                               \
    X(queries_malformed, "client messages too short or not queries: dropped")               \
    X(queries_unparsed, "queries the proxy could not parse: relayed unchanged (RFC 5625)")   \
    X(queries_refused_busy, "queries answered SERVFAIL because too many were in flight")    \
    X(a_from_ipv4_only, "A queries from IPv4-only hosts")                                     \
    X(aaaa_asked, "AAAA queries added by the learner (§5.2.3)")                              \
    X(aaaa_in_additional, "A answers already carrying the AAAA (RFC 3596 §3)")              \
    X(aaaa_native, "learner answers with at least one native AAAA")                          \
    X(aaaa_synthesized, "learner answers whose AAAA were all synthesized")                   \
    X(aaaa_none, "learner answers with no usable AAAA (NODATA, NXDOMAIN, SERVFAIL, timeout)") \
    X(aaaa_late, "AAAA answers after the A answer was released: ignored")                  \
    X(held_released_aaaa, "A answers released when the AAAA arrived")                       \
    X(held_released_timer, "A answers released by the resolution delay")                    \
    X(entries_created, "EAMT entries created")                                               \
    X(entries_refreshed, "EAMT entries refreshed")                                           \
    X(conflicts, "answers conflicting with an entry (§5.2.5)")                              \
    X(entries_refused, "pairs refused by the table (capacity, reuse, precedence)")          \
    X(answers_relayed, "answers relayed to clients")                                        \
    X(answers_truncated, "answers re-truncated for a UDP client's smaller buffer")          \
    X(answers_error, "error answers relayed (SERVFAIL, NXDOMAIN, REFUSED...)")              \
    X(answers_unsent, "answers dropped: the client socket refused them, or the TCP client was gone") \
    X(upstream_failed, "queries with no upstream answer: SERVFAIL sent (RFC 5625 §6.3)")   \
    X(pref64_discovered, "RFC 7050 discoveries that found a Pref64::/n")                      \
    X(snooped_answers, "A answers of foreign resolvers snooped for IPv4-only hosts (dns.snooping)") \
    X(snooped_ignored, "snooped messages that were no usable A answer, or too many in flight")

enum class Counter : uint8_t {
#define EAMCLAT_X(n, d) n,
    EAMCLAT_DNS_COUNTERS(EAMCLAT_X)
#undef EAMCLAT_X
        count
};
extern const char *const counter_names[];
extern const char *const counter_descriptions[];

// What the proxy asks of the rest of the CE.
struct ProxyHooks {
    std::function<bool(Ip4 host)> is_ipv4_only;
    // Installs a learned pair (the table manager, which installs into the dataplane before
    // returning). Returns a LearnResult-like code: 0 created, 1 refreshed, 2 conflict, 3 refused.
    std::function<int(Ip4 host, const std::string &name, Ip4 v4, const Ip6 &v6, uint32_t ttl)> learn;
    std::function<void(const std::vector<Prefix6> &)> pref64_discovered;  // RFC 7050 result
};

class Proxy {
public:
    Proxy(EventLoop &loop, ProxyConfig cfg, ProxyHooks hooks);
    ~Proxy();
    Proxy(const Proxy &) = delete;
    Proxy &operator=(const Proxy &) = delete;

    bool start(std::string &err);  // binds the listeners, sets up c-ares
    Nat64Prefixes &nat64() { return nat64_; }
    void set_learning(bool on) { cfg_.policy.enabled = on; }
    bool learning() const { return cfg_.policy.enabled; }

    uint64_t counter(Counter c) const { return counters_[unsigned(c)]; }
    void clear_counters();
    // Held-answer delay (A answer arrival -> release), microseconds, over the last samples.
    struct Percentiles {
        double p50_us = 0, p99_us = 0;
        size_t samples = 0;
    };
    Percentiles held_delay() const;
    std::string stats_text() const;  // `show dns stats`
    size_t pending() const { return in_flight_; }
    // dns.snooping: an A answer a LAN host got from a resolver of its own, copied by the dataplane
    // (the host already has it). For an IPv4-only host the proxy asks AAAA itself (its upstream)
    // and learns as for its own clients; nothing is sent to the host.
    void snoop_answer(Ip4 host, std::span<const uint8_t> answer);

private:
    using Clock = std::chrono::steady_clock;
    struct Pending;
    struct TcpClient;
    struct Listener {
        int fd;
        bool tcp;
    };
    struct Hold {  // an A answer held for its AAAA (§5.2.4), in arrival order
        Clock::time_point deadline;
        uint64_t pending;
    };
    static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable);
    static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen);
    static void on_aaaa(void *arg, int status, int timeouts, unsigned char *abuf, int alen);
    static void on_pref64(void *arg, int status, int timeouts, unsigned char *abuf, int alen);
    void answer_arrived(Pending &p, std::span<const uint8_t> answer);
    void aaaa_arrived(Pending &p, std::span<const uint8_t> answer);

    // Pending queries live in recycled slots (their buffers and parsed messages keep their
    // capacity); an id is the slot and its generation, so a stale id finds nothing.
    Pending &new_pending();
    Pending *find(uint64_t id);
    void forget_if_done(Pending &p);

    void read_udp(int fd);
    void accept_tcp(int fd);
    void read_tcp(int fd);
    void handle_query(std::span<const uint8_t> q, const sockaddr_storage &from, socklen_t fromlen, int udp_fd,
                      uint64_t tcp_client);
    void hold(Pending &p);
    void arm_hold_timer();
    void release_due_holds();
    void finalize(Pending &p);
    void release(Pending &p);
    void reply(Pending &p, std::span<uint8_t> answer);
    bool send_to_client(int udp_fd, const sockaddr_storage &to, socklen_t tolen, std::span<const uint8_t> msg);
    std::vector<uint8_t> servfail_for(std::span<const uint8_t> query) const;
    void rearm_ares_timer();
    void discover_pref64();
    void bump(Counter c) { counters_[unsigned(c)]++; }
    uint16_t random_id();

    EventLoop &loop_;
    ProxyConfig cfg_;
    ProxyHooks hooks_;
    ares_channel channel_ = nullptr;
    std::vector<Listener> listeners_;
    std::map<int, std::unique_ptr<TcpClient>> tcp_clients_;
    uint64_t next_tcp_client_ = 1;
    std::vector<std::unique_ptr<Pending>> slots_;
    std::vector<uint32_t> free_slots_;
    size_t in_flight_ = 0;
    std::deque<Hold> holds_;
    int hold_timer_ = -1;  // armed for the first live entry of holds_
    int ares_timer_ = -1;
    Clock::time_point ares_deadline_{};
    int pref64_timer_ = -1;
    Nat64Prefixes nat64_;
    std::mt19937_64 rng_;
    uint64_t pairing_secret_ = 0;
    uint64_t counters_[unsigned(Counter::count)] = {};
    std::vector<uint32_t> delays_us_;  // ring of recent held delays
    size_t delay_next_ = 0;
    // Scratch space of the hot path, reused for every query.
    std::unique_ptr<uint8_t[]> rx_buffers_;  // read_udp's recvmmsg buffers
    Message query_msg_, aaaa_msg_;
    std::vector<uint8_t> upstream_buf_, reply_buf_;
};

// "addr" / "addr:port" / "[v6]:port" -> sockaddr (port defaults to def_port).
bool parse_endpoint(const std::string &s, uint16_t def_port, sockaddr_storage &out, socklen_t &len);

}  // namespace eamclat::dns
