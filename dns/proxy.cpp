#include "proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/random.h>
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
using Clock = std::chrono::steady_clock;
constexpr size_t delay_samples = 4096;

struct CbArg {
    Proxy *proxy;
    uint64_t pending;
};

}  // namespace

struct Proxy::Pending {
    uint64_t id = 0;
    std::vector<uint8_t> query;  // as the client sent it
    uint16_t client_id = 0;
    sockaddr_storage from{};
    socklen_t fromlen = 0;
    int udp_fd = -1;
    uint64_t tcp_client = 0;  // 0 = UDP
    uint16_t client_udp_size = 512;
    int outstanding = 0;  // c-ares callbacks still to come
    bool released = false;
    // Learner state (§5.2.4).
    bool learn = false;
    Ip4 host = 0;
    bool a_done = false, aaaa_done = false;
    std::vector<uint8_t> a_answer, aaaa_answer;  // aaaa_answer empty = failed / timed out
    Clock::time_point a_arrived{};
    int hold_timer = -1;
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
    for (auto &[id, p] : pending_)
        if (p->hold_timer >= 0) loop_.cancel_timer(p->hold_timer);
    if (channel_) ares_destroy(channel_);  // runs every callback with ARES_EDESTRUCTION
    pending_.clear();
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

void Proxy::rearm_ares_timer() {
    if (ares_timer_ >= 0) loop_.cancel_timer(ares_timer_);
    ares_timer_ = -1;
    timeval tv;
    if (!ares_timeout(channel_, nullptr, &tv)) return;
    auto d = std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
    if (d <= std::chrono::microseconds(0)) d = std::chrono::microseconds(100);
    ares_timer_ = loop_.add_timer(d, [this] {
        ares_timer_ = -1;
        ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
        rearm_ares_timer();
    }, false);
}

// ---- clients ----

void Proxy::read_udp(int fd) {
    for (int n = 0; n < 64; n++) {  // bounded so one busy client cannot starve the loop
        uint8_t buf[65536];
        sockaddr_storage from;
        socklen_t fromlen = sizeof from;
        ssize_t r = recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr *>(&from), &fromlen);
        if (r < 0) return;
        bump(Counter::queries_udp);
        handle_query(std::vector<uint8_t>(buf, buf + r), from, fromlen, fd, 0);
    }
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
        c->id = next_pending_++;
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
        handle_query(std::move(q), none, 0, -1, c.id);
    }
}

std::vector<uint8_t> Proxy::servfail_for(const std::vector<uint8_t> &q) const {
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

void Proxy::handle_query(std::vector<uint8_t> q, const sockaddr_storage &from, socklen_t fromlen, int udp_fd,
                         uint64_t tcp_client) {
    if (q.size() < 12 || (q[2] & 0x80)) {  // not even a header, or a response: nothing to answer
        bump(Counter::queries_malformed);
        return;
    }
    auto p = std::make_unique<Pending>();
    p->id = next_pending_++;
    p->client_id = get_id(q);
    p->from = from;
    p->fromlen = fromlen;
    p->udp_fd = udp_fd;
    p->tcp_client = tcp_client;
    auto parsed = parse(q);
    if (!parsed) bump(Counter::queries_unparsed);
    if (parsed && parsed->has_edns) p->client_udp_size = parsed->edns_udp_size;
    p->query = q;
    if (pending_.size() >= cfg_.max_pending) {
        bump(Counter::queries_refused_busy);
        reply(*p, servfail_for(q));
        return;
    }
    // The learner's part (§5.2.3): an A query from an IPv4-only host gets a parallel AAAA.
    if (parsed && cfg_.policy.enabled && from.ss_family == AF_INET && parsed->opcode() == 0 &&
        parsed->questions.size() == 1 && parsed->questions[0].qtype == type::A &&
        parsed->questions[0].qclass == 1) {
        Ip4 host = ntohl(reinterpret_cast<const sockaddr_in *>(&from)->sin_addr.s_addr);
        if (tcp_client) host = 0;  // TCP clients: we don't keep their address; no learning
        if (host && hooks_.is_ipv4_only && hooks_.is_ipv4_only(host)) {
            p->learn = true;
            p->host = host;
            bump(Counter::a_from_ipv4_only);
        }
    }
    uint64_t id = p->id;
    Pending &ref = *p;
    pending_[id] = std::move(p);
    // Random ID toward upstream (RFC 5625 §6.1); the client's is restored on the answer.
    std::vector<uint8_t> up = q;
    set_id(up, random_id());
    ref.outstanding++;
    ares_send(channel_, up.data(), int(up.size()), &Proxy::on_answer, new CbArg{this, id});
    auto it = pending_.find(id);
    if (it != pending_.end() && it->second->learn && !it->second->released) {
        const auto &qq = parsed->questions[0];
        auto aaaa = build_query_wire(random_id(), qq.wire, type::AAAA,
                                     parsed->has_edns ? parsed->edns_udp_size : 0, parsed->edns_do, parsed->cd());
        if (!aaaa.empty()) {
            it->second->outstanding++;
            bump(Counter::aaaa_asked);
            ares_send(channel_, aaaa.data(), int(aaaa.size()), &Proxy::on_aaaa, new CbArg{this, id});
        } else {
            it->second->aaaa_done = true;
        }
    }
    rearm_ares_timer();
}

// A c-ares callback's argument: whose query, for which pending client query (allocated per
// ares_send, freed here: c-ares calls each callback exactly once).
std::pair<Proxy *, uint64_t> Proxy::take_arg(void *arg) {
    auto *cb = static_cast<CbArg *>(arg);
    std::pair<Proxy *, uint64_t> r{cb->proxy, cb->pending};
    delete cb;
    return r;
}

// The pending query an upstream answer belongs to, one callback fewer outstanding; null when the
// channel is being destroyed or the query is gone.
Proxy::Pending *Proxy::answered(uint64_t id, int status) {
    if (status == ARES_EDESTRUCTION) return nullptr;
    auto it = pending_.find(id);
    if (it == pending_.end()) return nullptr;
    it->second->outstanding--;
    return it->second.get();
}

void Proxy::forget_if_done(uint64_t id) {
    auto it = pending_.find(id);
    if (it != pending_.end() && it->second->released && it->second->outstanding == 0) pending_.erase(it);
}

void Proxy::on_answer(void *arg, int status, int, unsigned char *abuf, int alen) {
    auto [self, id] = take_arg(arg);
    Pending *pp = self->answered(id, status);
    if (!pp) return;
    Pending &p = *pp;
    std::vector<uint8_t> answer;
    if (status == ARES_SUCCESS && abuf && alen >= 12) {
        answer.assign(abuf, abuf + alen);
    } else {
        self->bump(Counter::upstream_failed);
        answer = self->servfail_for(p.query);
    }
    if (!p.learn) {
        self->reply(p, std::move(answer));
        p.released = true;
    } else {
        p.a_done = true;
        p.a_answer = std::move(answer);
        p.a_arrived = Clock::now();
        auto m = parse(p.a_answer);
        bool negative = !m || m->rcode() != rcode::NOERROR || addresses(*m, p.a_answer).a.empty();
        bool in_additional = m && !negative && !additional_aaaa(*m, p.a_answer, addresses(*m, p.a_answer).final_name).empty();
        if (in_additional) self->bump(Counter::aaaa_in_additional);
        // Never hold a negative A answer (issue point 10); decide at once when the AAAA is known.
        if (negative || in_additional || p.aaaa_done) {
            self->finalize(id);
        } else {
            p.hold_timer = self->loop_.add_timer(self->cfg_.resolution_delay, [self, id] {
                auto i = self->pending_.find(id);
                if (i == self->pending_.end()) return;
                i->second->hold_timer = -1;
                self->bump(Counter::held_released_timer);
                self->finalize(id);
            }, false);
        }
    }
    self->forget_if_done(id);
}

void Proxy::on_aaaa(void *arg, int status, int, unsigned char *abuf, int alen) {
    auto [self, id] = take_arg(arg);
    Pending *pp = self->answered(id, status);
    if (!pp) return;
    Pending &p = *pp;
    if (p.released) {
        // §5.2.4: the A answer already went out; a late AAAA creates nothing.
        self->bump(Counter::aaaa_late);
    } else {
        p.aaaa_done = true;
        if (status == ARES_SUCCESS && abuf && alen >= 12) p.aaaa_answer.assign(abuf, abuf + alen);
        if (p.a_done) {
            self->bump(Counter::held_released_aaaa);
            self->finalize(id);
        }
    }
    self->forget_if_done(id);
}

void Proxy::finalize(uint64_t id) {
    auto it = pending_.find(id);
    if (it == pending_.end() || it->second->released) return;
    Pending &p = *it->second;
    if (p.hold_timer >= 0) {
        loop_.cancel_timer(p.hold_timer);
        p.hold_timer = -1;
    }
    auto a = parse(p.a_answer);
    std::optional<Message> q6;
    if (!p.aaaa_answer.empty()) q6 = parse(p.aaaa_answer);
    if (a) {
        bool v4only = hooks_.is_ipv4_only ? hooks_.is_ipv4_only(p.host) : false;
        // Per-host pairing (§5.2.9), unpredictable from outside: a boot-time secret and the host.
        uint64_t seed = pairing_secret_ ^ (uint64_t(p.host) * 0x9e3779b97f4a7c15ull);
        Decision d = decide(cfg_.policy, v4only, *a, p.a_answer, q6 ? &*q6 : nullptr, p.aaaa_answer, nat64_, seed);
        switch (d.outcome) {
        case Outcome::learn: bump(Counter::aaaa_native); break;
        case Outcome::only_synthesized: bump(Counter::aaaa_synthesized); break;
        case Outcome::no_aaaa: bump(Counter::aaaa_none); break;
        default: break;
        }
        // Entries go into the dataplane before the A answer leaves (issue point 5).
        for (const auto &pair : d.pairs) {
            int r = hooks_.learn ? hooks_.learn(p.host, a->questions[0].name, pair.ipv4, pair.ipv6, pair.ttl) : 3;
            bump(r == 0 ? Counter::entries_created : r == 1 ? Counter::entries_refreshed
                 : r == 2 ? Counter::conflicts : Counter::entries_refused);
        }
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
    reply(p, std::move(p.a_answer));
}

void Proxy::reply(Pending &p, std::vector<uint8_t> answer) {
    if (answer.size() < 12) return;
    set_id(answer, p.client_id);
    if ((answer[3] & 0xf) != rcode::NOERROR) bump(Counter::answers_error);
    if (!p.tcp_client && answer.size() > p.client_udp_size) {
        // RFC 5625 §4.4: the client's buffer is smaller than the answer: truncate, TC set.
        if (auto m = parse(answer)) {
            answer = truncate_for_udp(answer, *m);
        } else {
            answer.resize(12);
            answer[2] |= 0x02;
            answer[4] = answer[5] = answer[6] = answer[7] = answer[8] = answer[9] = answer[10] = answer[11] = 0;
        }
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
                break;
            }
        return;
    }
    send_to_client(p.udp_fd, p.from, p.fromlen, answer);
}

void Proxy::send_to_client(int udp_fd, const sockaddr_storage &to, socklen_t tolen,
                           const std::vector<uint8_t> &msg) {
    if (udp_fd < 0 || tolen == 0) return;
    sendto(udp_fd, msg.data(), msg.size(), MSG_DONTWAIT, reinterpret_cast<const sockaddr *>(&to), tolen);
}

void Proxy::snoop_answer(Ip4 host, std::span<const uint8_t> answer) {
    auto m = parse(answer);
    if (!cfg_.policy.enabled || !m || !m->qr() || m->tc() || m->opcode() != 0 || m->rcode() != rcode::NOERROR ||
        m->questions.size() != 1 || m->questions[0].qtype != type::A || m->questions[0].qclass != 1 ||
        addresses(*m, answer).a.empty() || pending_.size() >= cfg_.max_pending || !hooks_.is_ipv4_only ||
        !hooks_.is_ipv4_only(host)) {
        bump(Counter::snooped_ignored);
        return;
    }
    bump(Counter::snooped_answers);
    auto p = std::make_unique<Pending>();
    p->id = next_pending_++;
    p->learn = true;
    p->host = host;
    p->a_done = true;
    p->a_answer.assign(answer.begin(), answer.end());  // no client: release() sends nothing
    auto aaaa = build_query_wire(random_id(), m->questions[0].wire, type::AAAA, 1232, false);
    if (aaaa.empty()) return;
    uint64_t id = p->id;
    p->outstanding = 1;
    pending_[id] = std::move(p);
    bump(Counter::aaaa_asked);
    ares_send(channel_, aaaa.data(), int(aaaa.size()), &Proxy::on_aaaa, new CbArg{this, id});
    rearm_ares_timer();
}

// ---- RFC 7050 discovery ----

void Proxy::discover_pref64() {
    auto q = build_query(random_id(), "ipv4only.arpa", type::AAAA, 1232, false);
    ares_send(channel_, q.data(), int(q.size()), &Proxy::on_pref64, new CbArg{this, 0});
    rearm_ares_timer();
}

void Proxy::on_pref64(void *arg, int status, int, unsigned char *abuf, int alen) {
    Proxy *self = take_arg(arg).first;
    if (status == ARES_EDESTRUCTION) return;
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
    o << "  learning: " << (cfg_.policy.enabled ? "on" : "off") << "   in flight: " << pending_.size() << "\n";
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
