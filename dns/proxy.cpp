#include "proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "event_loop.hpp"

namespace eamclat::dns {

const char *const counter_names[] = {
#define EAMCLAT_X(n, d) #n,
    EAMCLAT_DNS_COUNTERS(EAMCLAT_X)
#undef EAMCLAT_X
};
const char *const counter_descriptions[] = {
#define EAMCLAT_X(n, d) d,
    EAMCLAT_DNS_COUNTERS(EAMCLAT_X)
#undef EAMCLAT_X
};

namespace {
constexpr size_t delay_samples = 4096;
// read_udp: queries taken per recvmmsg, and per wakeup (bounded so that one busy client cannot
// starve the loop). Each buffer holds the largest UDP payload: a query is never cut short.
constexpr unsigned rx_batch = 16, rx_per_wakeup = 64;
constexpr size_t rx_buffer = 65536;
// A recycled slot gives back buffers grown beyond this (a TCP answer can be 64 KiB).
constexpr size_t keep_capacity = 4096;
}  // namespace

struct Proxy::Pending {
    Proxy *proxy = nullptr;  // the argument of the c-ares callbacks is the Pending itself
    uint64_t id = 0;         // generation << 32 | slot; 0 while the slot is free
    uint32_t generation = 0;
    std::vector<uint8_t> query;  // as the client sent it
    uint16_t client_id = 0;
    sockaddr_storage from{};
    socklen_t fromlen = 0;
    int udp_fd = -1;
    uint64_t tcp_client = 0;  // 0 = UDP
    uint16_t client_udp_size = 512;
    int outstanding = 0;  // c-ares callbacks still to come: the slot is not recycled before 0
    bool released = false;
    // Learner state (§5.2.4).
    bool learn = false;
    Ip4 host = 0;
    bool a_done = false, aaaa_done = false;
    bool a_parsed = false;  // a_msg is a_answer, parsed
    bool held = false;      // in holds_: waiting for the AAAA or the resolution delay
    std::vector<uint8_t> a_answer, aaaa_answer;  // aaaa_answer empty = failed / timed out
    Message a_msg;
    Clock::time_point a_arrived{};

    void recycle() {
        for (auto *v : {&query, &a_answer, &aaaa_answer}) {
            if (v->capacity() > keep_capacity) std::vector<uint8_t>().swap(*v);
            v->clear();
        }
        if (a_msg.answers.capacity() > 64 || a_msg.authority.capacity() > 64 || a_msg.additional.capacity() > 64)
            a_msg = Message{};
        client_id = 0;
        fromlen = 0;
        udp_fd = -1;
        tcp_client = 0;
        client_udp_size = 512;
        outstanding = 0;
        released = learn = a_done = aaaa_done = a_parsed = held = false;
        host = 0;
        a_arrived = {};
    }
};

struct Proxy::TcpClient {
    uint64_t id;
    int fd;
    std::vector<uint8_t> in, out;
};

bool parse_endpoint(const std::string &s, uint16_t def_port, sockaddr_storage &out, socklen_t &len) {
    std::string host = s;
    uint16_t port = def_port;
    memset(&out, 0, sizeof out);
    if (!s.empty() && s[0] == '[') {
        auto close = s.find(']');
        if (close == std::string::npos) return false;
        host = s.substr(1, close - 1);
        if (close + 1 < s.size()) {
            if (s[close + 1] != ':') return false;
            int p = atoi(s.c_str() + close + 2);
            if (p <= 0 || p > 65535) return false;
            port = uint16_t(p);
        }
    } else if (std::count(s.begin(), s.end(), ':') == 1) {
        auto c = s.find(':');
        host = s.substr(0, c);
        int p = atoi(s.c_str() + c + 1);
        if (p <= 0 || p > 65535) return false;
        port = uint16_t(p);
    }
    auto *v4 = reinterpret_cast<sockaddr_in *>(&out);
    auto *v6 = reinterpret_cast<sockaddr_in6 *>(&out);
    if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        len = sizeof(sockaddr_in);
        return true;
    }
    if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        len = sizeof(sockaddr_in6);
        return true;
    }
    return false;
}

Proxy::Proxy(EventLoop &loop, ProxyConfig cfg, ProxyHooks hooks)
    : loop_(loop), cfg_(std::move(cfg)), hooks_(std::move(hooks)) {
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, 0) != sizeof seed) seed = uint64_t(Clock::now().time_since_epoch().count());
    rng_.seed(seed);
    pairing_secret_ = rng_();
    delays_us_.reserve(delay_samples);
}

Proxy::~Proxy() {
    if (ares_timer_ >= 0) loop_.cancel_timer(ares_timer_);
    if (pref64_timer_ >= 0) loop_.cancel_timer(pref64_timer_);
    if (hold_timer_ >= 0) loop_.cancel_timer(hold_timer_);
    // Runs every callback with ARES_EDESTRUCTION; the slots they point to are still there.
    if (channel_) ares_destroy(channel_);
    for (auto &l : listeners_) {
        loop_.remove_fd(l.fd);
        close(l.fd);
    }
    for (auto &[fd, c] : tcp_clients_) {
        loop_.remove_fd(fd);
        close(fd);
    }
}

uint16_t Proxy::random_id() { return uint16_t(rng_()); }

bool Proxy::start(std::string &err) {
    if (cfg_.upstream.empty()) {
        err = "dns: no upstream resolver";
        return false;
    }
    ares_library_init(ARES_LIB_INIT_ALL);
    ares_options opts{};
    // NOCHECKRESP: SERVFAIL/REFUSED answers are relayed (RFC 5625 §6.3), not retried into silence.
    opts.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_NOSEARCH;
    opts.sock_state_cb = &Proxy::on_sock_state;
    opts.sock_state_cb_data = this;
    opts.timeout = int(cfg_.upstream_timeout.count());
    opts.tries = cfg_.upstream_tries;
    int rc = ares_init_options(&channel_, &opts,
                               ARES_OPT_FLAGS | ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
    if (rc != ARES_SUCCESS) {
        err = std::string("dns: c-ares init: ") + ares_strerror(rc);
        return false;
    }
    std::string csv;
    for (const auto &u : cfg_.upstream) {
        sockaddr_storage ss;
        socklen_t len;
        if (!parse_endpoint(u, 53, ss, len)) {
            err = "dns: bad upstream '" + u + "'";
            return false;
        }
        char host[INET6_ADDRSTRLEN];
        uint16_t port;
        if (ss.ss_family == AF_INET) {
            auto *a = reinterpret_cast<sockaddr_in *>(&ss);
            inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
            port = ntohs(a->sin_port);
            csv += std::string(csv.empty() ? "" : ",") + host + ":" + std::to_string(port);
        } else {
            auto *a = reinterpret_cast<sockaddr_in6 *>(&ss);
            inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
            port = ntohs(a->sin6_port);
            csv += std::string(csv.empty() ? "" : ",") + "[" + host + "]:" + std::to_string(port);
        }
    }
    rc = ares_set_servers_ports_csv(channel_, csv.c_str());
    if (rc != ARES_SUCCESS) {
        err = std::string("dns: upstream servers: ") + ares_strerror(rc);
        return false;
    }
    for (const auto &l : cfg_.listen) {
        sockaddr_storage ss;
        socklen_t len;
        if (!parse_endpoint(l, 53, ss, len)) {
            err = "dns: bad listen address '" + l + "'";
            return false;
        }
        for (bool tcp : {false, true}) {
            int fd = socket(ss.ss_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            int one = 1;
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
            if (ss.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
            // The CE's address may sit on a TAP that is still coming up.
            setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof one);
            if (fd < 0 || bind(fd, reinterpret_cast<sockaddr *>(&ss), len) != 0 || (tcp && listen(fd, 64) != 0)) {
                err = "dns: cannot listen on " + l + (tcp ? "/tcp" : "/udp") + ": " + strerror(errno);
                if (fd >= 0) close(fd);
                return false;
            }
            listeners_.push_back({fd, tcp});
            loop_.add_fd(fd, EPOLLIN, [this, fd, tcp](uint32_t) { tcp ? accept_tcp(fd) : read_udp(fd); });
        }
    }
    if (cfg_.discover_pref64) discover_pref64();
    return true;
}

// ---- c-ares integration: its sockets in our epoll, its timeouts on a one-shot timer ----

void Proxy::on_sock_state(void *data, ares_socket_t fd, int readable, int writable) {
    auto *self = static_cast<Proxy *>(data);
    if (!readable && !writable) {
        self->loop_.remove_fd(fd);
        return;
    }
    uint32_t ev = (readable ? uint32_t(EPOLLIN) : 0u) | (writable ? uint32_t(EPOLLOUT) : 0u);
    if (!self->loop_.modify_fd(fd, ev))
        self->loop_.add_fd(fd, ev, [self, fd](uint32_t e) {
            ares_process_fd(self->channel_, (e & (EPOLLIN | EPOLLERR | EPOLLHUP)) ? fd : ARES_SOCKET_BAD,
                            (e & EPOLLOUT) ? fd : ARES_SOCKET_BAD);
            self->rearm_ares_timer();
        });
}

// c-ares must run ares_process_fd(BAD, BAD) when its earliest query times out. ares_timeout()
// finds that by walking every query in flight, so it is not asked after every batch: a query's
// first try gets `timeout` and its later tries more (ares_init_options(3), ARES_OPT_TIMEOUTMS),
// so whatever was sent since the timer was armed never needs it before now + timeout. While the
// armed deadline is earlier than that, the timer stands; when it fires for queries answered
// meanwhile, c-ares has nothing to do and the timer is armed again from ares_timeout().
void Proxy::rearm_ares_timer() {
    const auto now = Clock::now();
    if (ares_timer_ >= 0 && ares_deadline_ <= now + cfg_.upstream_timeout) return;
    if (ares_timer_ >= 0) loop_.cancel_timer(ares_timer_);
    ares_timer_ = -1;
    timeval tv;
    if (!ares_timeout(channel_, nullptr, &tv)) return;
    auto d = std::chrono::duration_cast<Clock::duration>(std::chrono::seconds(tv.tv_sec) +
                                                         std::chrono::microseconds(tv.tv_usec));
    if (d <= Clock::duration::zero()) d = std::chrono::microseconds(100);
    ares_deadline_ = now + d;
    ares_timer_ = loop_.add_timer(d, [this] {
        ares_timer_ = -1;
        ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
        rearm_ares_timer();
    }, false);
}

// ---- pending queries ----

Proxy::Pending &Proxy::new_pending() {
    uint32_t slot;
    if (!free_slots_.empty()) {
        slot = free_slots_.back();
        free_slots_.pop_back();
    } else {
        slot = uint32_t(slots_.size());
        slots_.push_back(std::make_unique<Pending>());
        slots_.back()->proxy = this;
    }
    Pending &p = *slots_[slot];
    if (++p.generation == 0) p.generation = 1;
    p.id = uint64_t(p.generation) << 32 | slot;
    in_flight_++;
    return p;
}

Proxy::Pending *Proxy::find(uint64_t id) {
    const uint32_t slot = uint32_t(id);
    if (id == 0 || slot >= slots_.size() || slots_[slot]->id != id) return nullptr;
    return slots_[slot].get();
}

// Answered and no c-ares callback to come: the slot is recycled.
void Proxy::forget_if_done(Pending &p) {
    if (!p.released || p.outstanding != 0 || p.id == 0) return;
    free_slots_.push_back(uint32_t(p.id));
    p.id = 0;
    p.recycle();
    in_flight_--;
}

// ---- clients ----

void Proxy::read_udp(int fd) {
    if (!rx_buffers_) rx_buffers_.reset(new uint8_t[size_t(rx_batch) * rx_buffer]);  // pages touched as used
    mmsghdr msgs[rx_batch];
    iovec iov[rx_batch];
    sockaddr_storage from[rx_batch];
    for (unsigned taken = 0; taken < rx_per_wakeup;) {
        for (unsigned i = 0; i < rx_batch; i++) {
            iov[i] = {rx_buffers_.get() + size_t(i) * rx_buffer, rx_buffer};
            msgs[i].msg_hdr = {};
            msgs[i].msg_hdr.msg_name = &from[i];
            msgs[i].msg_hdr.msg_namelen = sizeof from[i];
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        const int n = recvmmsg(fd, msgs, rx_batch, MSG_DONTWAIT, nullptr);
        if (n <= 0) break;
        for (int i = 0; i < n; i++) {
            bump(Counter::queries_udp);
            handle_query({static_cast<const uint8_t *>(iov[i].iov_base), msgs[i].msg_len}, from[i],
                         msgs[i].msg_hdr.msg_namelen, fd, 0);
        }
        if (query_msg_.answers.capacity() > 64 || query_msg_.additional.capacity() > 64) query_msg_ = Message{};
        taken += unsigned(n);
        if (unsigned(n) < rx_batch) break;
    }
    rearm_ares_timer();
}

void Proxy::accept_tcp(int lfd) {
    for (;;) {
        int fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        if (tcp_clients_.size() >= 256) {  // bounded: a flood of idle connections must not exhaust fds
            close(fd);
            continue;
        }
        auto c = std::make_unique<TcpClient>();
        c->id = next_tcp_client_++;
        c->fd = fd;
        tcp_clients_[fd] = std::move(c);
        loop_.add_fd(fd, EPOLLIN, [this, fd](uint32_t ev) {
            if (ev & EPOLLOUT) {
                auto it = tcp_clients_.find(fd);
                if (it != tcp_clients_.end()) {
                    auto &c = *it->second;
                    ssize_t w = send(fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
                    if (w > 0) c.out.erase(c.out.begin(), c.out.begin() + w);
                    if (c.out.empty()) loop_.modify_fd(fd, EPOLLIN);
                }
            }
            if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_tcp(fd);
        });
    }
}

void Proxy::read_tcp(int fd) {
    auto it = tcp_clients_.find(fd);
    if (it == tcp_clients_.end()) return;
    TcpClient &c = *it->second;
    uint8_t buf[16384];
    for (;;) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) || c.in.size() > 131072) {
            loop_.remove_fd(fd);
            close(fd);
            tcp_clients_.erase(it);
            return;
        }
        if (r < 0) break;
        c.in.insert(c.in.end(), buf, buf + r);
    }
    // RFC 1035 §4.2.2: two-octet length, then the message.
    while (c.in.size() >= 2) {
        size_t len = size_t(c.in[0]) << 8 | c.in[1];
        if (c.in.size() < 2 + len) break;
        std::vector<uint8_t> q(c.in.begin() + 2, c.in.begin() + 2 + long(len));
        c.in.erase(c.in.begin(), c.in.begin() + 2 + long(len));
        bump(Counter::queries_tcp);
        sockaddr_storage none{};
        handle_query(q, none, 0, -1, c.id);
    }
    rearm_ares_timer();
}

std::vector<uint8_t> Proxy::servfail_for(std::span<const uint8_t> q) const {
    std::vector<uint8_t> r(q.begin(), q.begin() + 12);
    // QR=1, opcode and RD kept, RA=1, rcode SERVFAIL; the question kept when we can parse it.
    r[2] = uint8_t(0x80 | (q[2] & 0x79));
    r[3] = uint8_t(0x80 | rcode::SERVFAIL);
    r[6] = r[7] = r[8] = r[9] = r[10] = r[11] = 0;
    if (auto m = parse(q); m && !m->questions.empty()) {
        r[5] = 1;
        r[4] = 0;
        const auto &qq = m->questions[0];
        r.insert(r.end(), qq.wire.begin(), qq.wire.end());
        r.push_back(uint8_t(qq.qtype >> 8));
        r.push_back(uint8_t(qq.qtype));
        r.push_back(uint8_t(qq.qclass >> 8));
        r.push_back(uint8_t(qq.qclass));
    } else {
        r[4] = r[5] = 0;
    }
    return r;
}

// The caller arms the c-ares timer once for its whole batch (rearm_ares_timer).
void Proxy::handle_query(std::span<const uint8_t> q, const sockaddr_storage &from, socklen_t fromlen, int udp_fd,
                         uint64_t tcp_client) {
    if (q.size() < 12 || (q[2] & 0x80)) {  // not even a header, or a response: nothing to answer
        bump(Counter::queries_malformed);
        return;
    }
    const bool busy = in_flight_ >= cfg_.max_pending;
    Pending &p = new_pending();
    p.client_id = get_id(q);
    p.from = from;
    p.fromlen = fromlen;
    p.udp_fd = udp_fd;
    p.tcp_client = tcp_client;
    const Message &m = query_msg_;
    const bool parsed = parse(q, query_msg_);
    if (!parsed) bump(Counter::queries_unparsed);
    if (parsed && m.has_edns) p.client_udp_size = m.edns_udp_size;
    p.query.assign(q.begin(), q.end());
    if (busy) {
        bump(Counter::queries_refused_busy);
        auto servfail = servfail_for(q);
        reply(p, servfail);
        p.released = true;
        forget_if_done(p);
        return;
    }
    // The learner's part (§5.2.3): an A query from an IPv4-only host gets a parallel AAAA.
    if (parsed && cfg_.policy.enabled && from.ss_family == AF_INET && m.opcode() == 0 && m.questions.size() == 1 &&
        m.questions[0].qtype == type::A && m.questions[0].qclass == 1) {
        Ip4 host = ntohl(reinterpret_cast<const sockaddr_in *>(&from)->sin_addr.s_addr);
        if (tcp_client) host = 0;  // TCP clients: we don't keep their address; no learning
        if (host && hooks_.is_ipv4_only && hooks_.is_ipv4_only(host)) {
            p.learn = true;
            p.host = host;
            bump(Counter::a_from_ipv4_only);
        }
    }
    const uint64_t id = p.id;
    // Random ID toward upstream (RFC 5625 §6.1); the client's is restored on the answer.
    upstream_buf_.assign(q.begin(), q.end());
    set_id(upstream_buf_, random_id());
    p.outstanding++;
    ares_send(channel_, upstream_buf_.data(), int(upstream_buf_.size()), &Proxy::on_answer, &p);
    // ares_send may call back before it returns (no socket, say): the query may be answered and gone.
    Pending *still = find(id);
    if (still && still->learn && !still->released) {
        const auto &qq = m.questions[0];
        if (build_query_wire(upstream_buf_, random_id(), qq.wire, type::AAAA, m.has_edns ? m.edns_udp_size : 0,
                             m.edns_do, m.cd())) {
            still->outstanding++;
            bump(Counter::aaaa_asked);
            ares_send(channel_, upstream_buf_.data(), int(upstream_buf_.size()), &Proxy::on_aaaa, still);
        } else {
            still->aaaa_done = true;
        }
    }
}

// c-ares calls each callback exactly once per ares_send, with ARES_EDESTRUCTION from
// ares_destroy (the proxy is going away: nothing to do).
void Proxy::on_answer(void *arg, int status, int, unsigned char *abuf, int alen) {
    if (status == ARES_EDESTRUCTION) return;
    auto &p = *static_cast<Pending *>(arg);
    p.outstanding--;
    std::span<const uint8_t> answer;
    if (status == ARES_SUCCESS && abuf && alen >= 12) answer = {abuf, size_t(alen)};
    p.proxy->answer_arrived(p, answer);
}

void Proxy::on_aaaa(void *arg, int status, int, unsigned char *abuf, int alen) {
    if (status == ARES_EDESTRUCTION) return;
    auto &p = *static_cast<Pending *>(arg);
    p.outstanding--;
    std::span<const uint8_t> answer;
    if (status == ARES_SUCCESS && abuf && alen >= 12) answer = {abuf, size_t(alen)};
    p.proxy->aaaa_arrived(p, answer);
}

// The upstream answer to the client's own query (empty: none came).
void Proxy::answer_arrived(Pending &p, std::span<const uint8_t> answer) {
    std::vector<uint8_t> servfail;
    if (answer.empty()) {
        bump(Counter::upstream_failed);
        servfail = servfail_for(p.query);
        answer = servfail;
    }
    if (!p.learn) {
        reply_buf_.assign(answer.begin(), answer.end());
        reply(p, reply_buf_);
        p.released = true;
    } else {
        p.a_done = true;
        p.a_answer.assign(answer.begin(), answer.end());
        p.a_arrived = Clock::now();
        p.a_parsed = parse(p.a_answer, p.a_msg);
        bool negative = true, in_additional = false;
        if (p.a_parsed && p.a_msg.rcode() == rcode::NOERROR) {
            const Addresses found = addresses(p.a_msg, p.a_answer);
            negative = found.a.empty();
            in_additional = !negative && !additional_aaaa(p.a_msg, p.a_answer, found.final_name).empty();
        }
        if (in_additional) bump(Counter::aaaa_in_additional);
        // Never hold a negative A answer (issue point 10); decide at once when the AAAA is known.
        if (negative || in_additional || p.aaaa_done) finalize(p);
        else hold(p);
    }
    forget_if_done(p);
}

// The answer to the AAAA query the learner added (empty: failed or timed out).
void Proxy::aaaa_arrived(Pending &p, std::span<const uint8_t> answer) {
    if (p.released) {
        // §5.2.4: the A answer already went out; a late AAAA creates nothing.
        bump(Counter::aaaa_late);
    } else {
        p.aaaa_done = true;
        p.aaaa_answer.assign(answer.begin(), answer.end());
        if (p.a_done) {
            bump(Counter::held_released_aaaa);
            finalize(p);
        }
    }
    forget_if_done(p);
}

// ---- held A answers (§5.2.4) ----
// The resolution delay is the same for every answer, so deadlines come in arrival order: one
// queue and one timer for the first live entry. Entries whose AAAA came in time stay in the queue
// and are skipped.

void Proxy::hold(Pending &p) {
    p.held = true;
    holds_.push_back({p.a_arrived + cfg_.resolution_delay, p.id});
    if (hold_timer_ < 0) arm_hold_timer();
}

void Proxy::arm_hold_timer() {
    while (!holds_.empty()) {
        const Pending *p = find(holds_.front().pending);
        if (p && p->held) break;
        holds_.pop_front();
    }
    if (holds_.empty()) return;
    const auto d = std::max(holds_.front().deadline - Clock::now(), Clock::duration::zero());
    hold_timer_ = loop_.add_timer(d, [this] {
        hold_timer_ = -1;
        release_due_holds();
    }, false);
}

void Proxy::release_due_holds() {
    const auto now = Clock::now();
    while (!holds_.empty() && holds_.front().deadline <= now) {
        Pending *p = find(holds_.front().pending);
        holds_.pop_front();
        if (!p || !p->held) continue;
        bump(Counter::held_released_timer);
        finalize(*p);
        forget_if_done(*p);
    }
    arm_hold_timer();
}

void Proxy::finalize(Pending &p) {
    if (p.released) return;
    p.held = false;
    if (p.a_parsed) {
        const bool have_aaaa = !p.aaaa_answer.empty() && parse(p.aaaa_answer, aaaa_msg_);
        bool v4only = hooks_.is_ipv4_only ? hooks_.is_ipv4_only(p.host) : false;
        // Per-host pairing (§5.2.9), unpredictable from outside: a boot-time secret and the host.
        uint64_t seed = pairing_secret_ ^ (uint64_t(p.host) * 0x9e3779b97f4a7c15ull);
        Decision d = decide(cfg_.policy, v4only, p.a_msg, p.a_answer, have_aaaa ? &aaaa_msg_ : nullptr,
                            p.aaaa_answer, nat64_, seed);
        switch (d.outcome) {
        case Outcome::learn: bump(Counter::aaaa_native); break;
        case Outcome::only_synthesized: bump(Counter::aaaa_synthesized); break;
        case Outcome::no_aaaa: bump(Counter::aaaa_none); break;
        default: break;
        }
        // Entries go into the dataplane before the A answer leaves (issue point 5).
        for (const auto &pair : d.pairs) {
            int r = hooks_.learn ? hooks_.learn(p.host, p.a_msg.questions[0].name, pair.ipv4, pair.ipv6, pair.ttl) : 3;
            bump(r == 0 ? Counter::entries_created : r == 1 ? Counter::entries_refreshed
                 : r == 2 ? Counter::conflicts : Counter::entries_refused);
        }
        if (aaaa_msg_.answers.capacity() > 64 || aaaa_msg_.additional.capacity() > 64) aaaa_msg_ = Message{};
    }
    if (p.a_arrived != Clock::time_point{}) {
        auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - p.a_arrived).count();
        uint32_t v = uint32_t(std::clamp<int64_t>(us, 0, UINT32_MAX));
        if (delays_us_.size() < delay_samples) delays_us_.push_back(v);
        else delays_us_[delay_next_++ % delay_samples] = v;
    }
    release(p);
}

void Proxy::release(Pending &p) {
    p.released = true;
    if (p.udp_fd < 0 && !p.tcp_client) return;  // snooped: the host has its answer already
    reply(p, p.a_answer);
}

// answer: rewritten in place (the client's ID).
void Proxy::reply(Pending &p, std::span<uint8_t> answer) {
    if (answer.size() < 12) return;
    set_id(answer, p.client_id);
    if ((answer[3] & 0xf) != rcode::NOERROR) bump(Counter::answers_error);
    std::vector<uint8_t> truncated;
    if (!p.tcp_client && answer.size() > p.client_udp_size) {
        // RFC 5625 §4.4: the client's buffer is smaller than the answer: truncate, TC set.
        if (auto m = parse(answer)) {
            truncated = truncate_for_udp(answer, *m);
        } else {
            truncated.assign(answer.begin(), answer.begin() + 12);
            truncated[2] |= 0x02;
            std::fill(truncated.begin() + 4, truncated.end(), 0);
        }
        answer = truncated;
        bump(Counter::answers_truncated);
    }
    bump(Counter::answers_relayed);
    if (p.tcp_client) {
        for (auto &[fd, c] : tcp_clients_)
            if (c->id == p.tcp_client) {
                bool was_empty = c->out.empty();
                c->out.push_back(uint8_t(answer.size() >> 8));
                c->out.push_back(uint8_t(answer.size()));
                c->out.insert(c->out.end(), answer.begin(), answer.end());
                ssize_t w = send(fd, c->out.data(), c->out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
                if (w > 0) c->out.erase(c->out.begin(), c->out.begin() + w);
                if (!c->out.empty() && was_empty) loop_.modify_fd(fd, EPOLLIN | EPOLLOUT);
                return;
            }
        bump(Counter::answers_unsent);  // the client closed its connection meanwhile
        return;
    }
    if (!send_to_client(p.udp_fd, p.from, p.fromlen, answer)) bump(Counter::answers_unsent);
}

bool Proxy::send_to_client(int udp_fd, const sockaddr_storage &to, socklen_t tolen, std::span<const uint8_t> msg) {
    if (udp_fd < 0 || tolen == 0) return false;
    return sendto(udp_fd, msg.data(), msg.size(), MSG_DONTWAIT, reinterpret_cast<const sockaddr *>(&to), tolen) >= 0;
}

void Proxy::snoop_answer(Ip4 host, std::span<const uint8_t> answer) {
    const Message &m = query_msg_;
    const bool parsed = parse(answer, query_msg_);
    if (!cfg_.policy.enabled || !parsed || !m.qr() || m.tc() || m.opcode() != 0 || m.rcode() != rcode::NOERROR ||
        m.questions.size() != 1 || m.questions[0].qtype != type::A || m.questions[0].qclass != 1 ||
        addresses(m, answer).a.empty() || in_flight_ >= cfg_.max_pending || !hooks_.is_ipv4_only ||
        !hooks_.is_ipv4_only(host)) {
        bump(Counter::snooped_ignored);
        return;
    }
    bump(Counter::snooped_answers);
    Pending &p = new_pending();
    p.learn = true;
    p.host = host;
    p.a_done = true;
    p.a_answer.assign(answer.begin(), answer.end());  // no client: release() sends nothing
    p.a_parsed = parse(p.a_answer, p.a_msg);
    if (!build_query_wire(upstream_buf_, random_id(), m.questions[0].wire, type::AAAA, 1232, false)) {
        p.released = true;
        forget_if_done(p);
        return;
    }
    p.outstanding = 1;
    bump(Counter::aaaa_asked);
    ares_send(channel_, upstream_buf_.data(), int(upstream_buf_.size()), &Proxy::on_aaaa, &p);
    rearm_ares_timer();
}

// ---- RFC 7050 discovery ----

void Proxy::discover_pref64() {
    auto q = build_query(random_id(), "ipv4only.arpa", type::AAAA, 1232, false);
    ares_send(channel_, q.data(), int(q.size()), &Proxy::on_pref64, this);
    rearm_ares_timer();
}

void Proxy::on_pref64(void *arg, int status, int, unsigned char *abuf, int alen) {
    if (status == ARES_EDESTRUCTION) return;
    auto *self = static_cast<Proxy *>(arg);
    uint32_t retry = 60;
    if (status == ARES_SUCCESS && abuf && alen >= 12) {
        std::span<const uint8_t> w(abuf, size_t(alen));
        if (auto m = parse(w); m && m->rcode() == rcode::NOERROR) {
            auto ad = addresses(*m, w);
            std::vector<Ip6> v;
            uint32_t ttl = UINT32_MAX;
            for (auto &[a, t] : ad.aaaa) {
                v.push_back(a);
                ttl = std::min(ttl, t);
            }
            auto found = rfc7050_prefixes(v);
            if (!found.empty()) {
                self->nat64_.remove_origin("rfc7050");
                for (auto &p : found) self->nat64_.add(p, "rfc7050");
                self->bump(Counter::pref64_discovered);
                if (self->hooks_.pref64_discovered) self->hooks_.pref64_discovered(found);
                // §3: repeat ten seconds before the TTL of the answer runs out.
                retry = ttl > 20 ? ttl - 10 : 10;
            } else {
                retry = 300;  // not a DNS64 (or no WKA found): ask again later
            }
        }
    }
    if (self->pref64_timer_ >= 0) self->loop_.cancel_timer(self->pref64_timer_);
    self->pref64_timer_ = self->loop_.add_timer(std::chrono::seconds(retry), [self] {
        self->pref64_timer_ = -1;
        self->discover_pref64();
    }, false);
}

// ---- stats ----

void Proxy::clear_counters() {
    std::fill(std::begin(counters_), std::end(counters_), 0);
    delays_us_.clear();
    delay_next_ = 0;
}

Proxy::Percentiles Proxy::held_delay() const {
    Percentiles out;
    if (delays_us_.empty()) return out;
    std::vector<uint32_t> v = delays_us_;
    std::sort(v.begin(), v.end());
    out.samples = v.size();
    out.p50_us = v[(v.size() - 1) / 2];
    out.p99_us = v[std::min(v.size() - 1, size_t(double(v.size()) * 0.99))];
    return out;
}

std::string Proxy::stats_text() const {
    std::ostringstream o;
    o << "  ######################## DNS proxy statistics ########################\n";
    o << "  learning: " << (cfg_.policy.enabled ? "on" : "off") << "   in flight: " << in_flight_ << "\n";
    for (unsigned i = 0; i < unsigned(Counter::count); i++) {
        char line[160];
        snprintf(line, sizeof line, "  %-22s %12llu  %s\n", counter_names[i], (unsigned long long)counters_[i],
                 counter_descriptions[i]);
        o << line;
    }
    auto pc = held_delay();
    char line[160];
    snprintf(line, sizeof line, "  held-answer delay: p50 %.1f ms  p99 %.1f ms  (%zu samples)\n", pc.p50_us / 1000.0,
             pc.p99_us / 1000.0, pc.samples);
    o << line;
    o << "  NAT64 prefixes:";
    for (const auto &i : nat64_.items()) o << " " << i.prefix.str() << "(" << i.origin << ")";
    o << "\n";
    return o.str();
}

}  // namespace eamclat::dns
