// The DNS proxy against fake upstream servers started by the test (dnsdist-style): what the
// upstream receives, what the client gets back and when, and what the learner installs.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "dns_build.hpp"
#include "event_loop.hpp"
#include "message.hpp"
#include "proxy.hpp"

using namespace eamclat;
using namespace eamclat::dns;
using namespace std::chrono_literals;
using test::Rr;

namespace {

uint16_t free_port(int type) {
    int fd = socket(AF_INET, type, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a);
    socklen_t l = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr *>(&a), &l);
    close(fd);
    return ntohs(a.sin_port);
}

// A programmable upstream resolver on 127.0.0.1 (UDP and TCP on one port).
struct FakeUpstream {
    struct Behavior {
        uint8_t rcode = 0;
        std::vector<Rr> answers;
        std::chrono::milliseconds delay{0};
        bool drop = false;
        bool truncate_udp = false;  // answer UDP with TC and no records; TCP gets the full answer
    };
    EventLoop &loop;
    uint16_t port;
    int udp = -1, tcp = -1;
    std::map<std::pair<std::string, uint16_t>, Behavior> behaviors;
    struct Seen {
        uint16_t id;
        std::string name;
        uint16_t qtype;
        bool do_bit;
        bool tcp;
    };
    std::vector<Seen> seen;

    explicit FakeUpstream(EventLoop &l) : loop(l) {
        port = free_port(SOCK_STREAM);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(port);
        udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        tcp = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        int one = 1;
        setsockopt(tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        REQUIRE(bind(udp, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0);
        REQUIRE(bind(tcp, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0);
        listen(tcp, 8);
        loop.add_fd(udp, EPOLLIN, [this](uint32_t) { on_udp(); });
        loop.add_fd(tcp, EPOLLIN, [this](uint32_t) { on_tcp_accept(); });
    }
    ~FakeUpstream() {
        loop.remove_fd(udp);
        loop.remove_fd(tcp);
        close(udp);
        close(tcp);
    }
    std::vector<uint8_t> answer_for(const std::vector<uint8_t> &q, bool over_tcp, Behavior **bh) {
        auto m = parse(q);
        REQUIRE(m);
        const auto &qq = m->questions.at(0);
        seen.push_back({m->id, qq.name, qq.qtype, m->edns_do, over_tcp});
        static Behavior nodata;
        auto it = behaviors.find({qq.name, qq.qtype});
        Behavior &b = it == behaviors.end() ? nodata : it->second;
        *bh = &b;
        bool trunc = b.truncate_udp && !over_tcp;
        auto r = test::response(m->id, qq.name, qq.qtype, b.rcode, trunc ? std::vector<Rr>{} : b.answers, {}, false, trunc);
        return r;
    }
    void on_udp() {
        uint8_t buf[4096];
        sockaddr_storage from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(udp, buf, sizeof buf, 0, reinterpret_cast<sockaddr *>(&from), &fl);
        if (n <= 0) return;
        Behavior *b;
        auto r = answer_for(std::vector<uint8_t>(buf, buf + n), false, &b);
        if (b->drop) return;
        auto send = [this, r, from, fl] { sendto(udp, r.data(), r.size(), 0, reinterpret_cast<const sockaddr *>(&from), fl); };
        if (b->delay.count()) loop.add_timer(b->delay, send, false);
        else send();
    }
    void on_tcp_accept() {
        int c = accept4(tcp, nullptr, nullptr, SOCK_NONBLOCK);
        if (c < 0) return;
        // Read the framed query when it arrives (c-ares writes it once the connect completes).
        auto buf = std::make_shared<std::vector<uint8_t>>();
        loop.add_fd(c, EPOLLIN, [this, c, buf](uint32_t) {
            uint8_t tmp[4096];
            ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
            if (n <= 0) {
                loop.remove_fd(c);
                close(c);
                return;
            }
            buf->insert(buf->end(), tmp, tmp + n);
            if (buf->size() < 2 || buf->size() < 2 + size_t((*buf)[0] << 8 | (*buf)[1])) return;
            std::vector<uint8_t> q(buf->begin() + 2, buf->begin() + 2 + ((*buf)[0] << 8 | (*buf)[1]));
            buf->clear();
            Behavior *b;
            auto r = answer_for(q, true, &b);
            uint8_t l2[2] = {uint8_t(r.size() >> 8), uint8_t(r.size())};
            ::send(c, l2, 2, 0);
            ::send(c, r.data(), r.size(), 0);
        });
    }
};

struct Harness {
    EventLoop loop;
    FakeUpstream up{loop};
    uint16_t proxy_port = free_port(SOCK_STREAM);
    std::unique_ptr<Proxy> proxy;
    bool ipv4_only = true;
    struct Learned {
        Ip4 host;
        std::string name;
        Ip4 v4;
        Ip6 v6;
        uint32_t ttl;
    };
    std::vector<Learned> learned;
    int client = -1;

    explicit Harness(ProxyConfig cfg = {}) {
        cfg.listen = {"127.0.0.1:" + std::to_string(proxy_port)};
        cfg.upstream = {"127.0.0.1:" + std::to_string(up.port)};
        cfg.discover_pref64 = false;
        if (cfg.upstream_timeout == 1500ms) cfg.upstream_timeout = 300ms;
        cfg.upstream_tries = 1;
        ProxyHooks hooks;
        hooks.is_ipv4_only = [this](Ip4) { return ipv4_only; };
        hooks.learn = [this](Ip4 h, const std::string &n, Ip4 v4, const Ip6 &v6, uint32_t ttl) {
            learned.push_back({h, n, v4, v6, ttl});
            return 0;
        };
        proxy = std::make_unique<Proxy>(loop, cfg, hooks);
        proxy->nat64().add(*Prefix6::parse("2001:db8:64::/96"), "config");
        std::string err;
        REQUIRE(proxy->start(err));
        client = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    }
    ~Harness() { close(client); }

    void send(const std::vector<uint8_t> &q) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(proxy_port);
        sendto(client, q.data(), q.size(), 0, reinterpret_cast<sockaddr *>(&a), sizeof a);
    }
    // Runs the loop until the client has an answer (or the deadline); also reports how many
    // entries had been learned at the moment the answer was received.
    std::optional<std::vector<uint8_t>> recv(std::chrono::milliseconds deadline, size_t *learned_at_answer = nullptr,
                                             std::chrono::milliseconds *took = nullptr) {
        std::optional<std::vector<uint8_t>> got;
        auto t0 = std::chrono::steady_clock::now();
        loop.add_fd(client, EPOLLIN, [&](uint32_t) {
            uint8_t buf[65536];
            ssize_t n = ::recv(client, buf, sizeof buf, 0);
            if (n > 0 && !got) {
                got.emplace(buf, buf + n);
                if (learned_at_answer) *learned_at_answer = learned.size();
                if (took) *took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
                loop.stop();
            }
        });
        int t = loop.add_timer(deadline, [&] { loop.stop(); }, false);
        loop.run(10ms);
        loop.cancel_timer(t);
        loop.remove_fd(client);
        return got;
    }
    void settle(std::chrono::milliseconds d) {
        loop.add_timer(d, [&] { loop.stop(); }, false);
        loop.run(10ms);
    }
};

std::vector<uint8_t> query(uint16_t id, const std::string &name, uint16_t qtype, uint16_t udp = 0, bool do_bit = false) {
    return build_query(id, name, qtype, udp, do_bit);
}

const auto ds_a = Rr{"", type::A, 300, test::a_rdata(203, 0, 113, 20)};
const auto ds_aaaa = Rr{"", type::AAAA, 120, test::aaaa_rdata({0x2001, 0xdb8, 0x20, 0, 0, 0, 0, 0x20})};

}  // namespace

TEST_CASE("proxy: dual-stack name learned before the A answer is released (§5.2.4, §5.2.5)", "[proxy]") {
    Harness h;
    h.up.behaviors[{"ds.test", type::A}] = {0, {ds_a}};
    h.up.behaviors[{"ds.test", type::AAAA}] = {0, {ds_aaaa}, 20ms};  // AAAA a little after A
    h.send(query(0x4242, "ds.test", type::A));
    size_t learned_then = 0;
    auto a = h.recv(2000ms, &learned_then);
    REQUIRE(a);
    auto m = parse(*a);
    REQUIRE(m);
    CHECK(m->id == 0x4242);  // the client's ID restored
    CHECK(m->answers.size() == 1);
    CHECK(learned_then == 1);  // in the table before the answer left
    REQUIRE(h.learned.size() == 1);
    CHECK(h.learned[0].host == *parse_ip4("127.0.0.1"));
    CHECK(h.learned[0].name == "ds.test");
    CHECK(h.learned[0].v6 == *Ip6::parse("2001:db8:20::20"));
    CHECK(h.learned[0].ttl == 120);
    CHECK(h.proxy->counter(Counter::aaaa_asked) == 1);
    CHECK(h.proxy->counter(Counter::held_released_aaaa) == 1);
    CHECK(h.proxy->counter(Counter::entries_created) == 1);
    CHECK(h.proxy->counter(Counter::conflicts) == 0);
    CHECK(h.proxy->counter(Counter::entries_refreshed) == 0);
    CHECK(h.proxy->counter(Counter::aaaa_native) == 1);
    // The AAAA asked upstream is for the same name.
    bool asked = false;
    for (auto &s : h.up.seen) asked |= s.qtype == type::AAAA && s.name == "ds.test";
    CHECK(asked);
}

TEST_CASE("proxy: query IDs toward upstream are random; EDNS DO passes through", "[proxy]") {
    Harness h;
    h.ipv4_only = false;  // plain relay
    h.up.behaviors[{"ds.test", type::A}] = {0, {ds_a}};
    std::set<uint16_t> ids;
    for (int i = 0; i < 8; i++) {
        h.send(query(0x1111, "ds.test", type::A, 1232, true));
        auto a = h.recv(1000ms);
        REQUIRE(a);
        CHECK(get_id(*a) == 0x1111);
    }
    for (auto &s : h.up.seen) {
        ids.insert(s.id);
        CHECK(s.do_bit);
    }
    CHECK(ids.size() >= 7);  // not the client's constant ID, not a counter stuck on one value
    CHECK_FALSE(ids.count(0x1111) == h.up.seen.size());
    CHECK(h.proxy->counter(Counter::aaaa_asked) == 0);  // not an IPv4-only host
}

TEST_CASE("proxy: synthesized AAAA is not learned (§5.2.3)", "[proxy]") {
    Harness h;
    h.up.behaviors[{"v4only.test", type::A}] = {0, {Rr{"", type::A, 300, test::a_rdata(203, 0, 113, 10)}}};
    h.up.behaviors[{"v4only.test", type::AAAA}] = {0, {Rr{"", type::AAAA, 300, test::aaaa_rdata({0x2001, 0xdb8, 0x64, 0, 0, 0, 0xcb00, 0x710a})}}};
    h.send(query(7, "v4only.test", type::A));
    REQUIRE(h.recv(1000ms));
    CHECK(h.learned.empty());
    CHECK(h.proxy->counter(Counter::aaaa_synthesized) == 1);
}

TEST_CASE("proxy: an AAAA slower than the resolution delay: A released on time, nothing learned", "[proxy]") {
    ProxyConfig cfg;
    cfg.resolution_delay = 50ms;
    Harness h(cfg);
    h.up.behaviors[{"slow.test", type::A}] = {0, {Rr{"", type::A, 300, test::a_rdata(203, 0, 113, 40)}}};
    h.up.behaviors[{"slow.test", type::AAAA}] = {0, {Rr{"", type::AAAA, 300, test::aaaa_rdata({0x2001, 0xdb8, 0x40, 0, 0, 0, 0, 1})}}, 250ms};
    h.send(query(9, "slow.test", type::A));
    std::chrono::milliseconds took{};
    auto a = h.recv(2000ms, nullptr, &took);
    REQUIRE(a);
    CHECK(took >= 45ms);
    CHECK(took < 200ms);
    CHECK(h.learned.empty());
    CHECK(h.proxy->counter(Counter::held_released_timer) == 1);
    h.settle(400ms);  // the AAAA arrives late and creates nothing
    CHECK(h.learned.empty());
    CHECK(h.proxy->counter(Counter::aaaa_late) == 1);
    auto pc = h.proxy->held_delay();
    CHECK(pc.samples == 1);
    CHECK(pc.p50_us >= 45000);
}

TEST_CASE("proxy: SERVFAIL for AAAA releases the A answer at once; SERVFAIL for A is relayed", "[proxy]") {
    Harness h;
    h.up.behaviors[{"sf6.test", type::A}] = {0, {Rr{"", type::A, 300, test::a_rdata(203, 0, 113, 41)}}};
    h.up.behaviors[{"sf6.test", type::AAAA}] = {rcode::SERVFAIL, {}};
    h.send(query(10, "sf6.test", type::A));
    std::chrono::milliseconds took{};
    auto a = h.recv(1000ms, nullptr, &took);
    REQUIRE(a);
    CHECK(parse(*a)->rcode() == rcode::NOERROR);
    CHECK(h.learned.empty());
    CHECK(h.proxy->counter(Counter::aaaa_none) == 1);
    h.up.behaviors[{"sf.test", type::A}] = {rcode::SERVFAIL, {}};
    h.send(query(11, "sf.test", type::A));
    a = h.recv(1000ms);
    REQUIRE(a);
    CHECK(parse(*a)->rcode() == rcode::SERVFAIL);
    CHECK(get_id(*a) == 11);
    h.up.behaviors[{"nx.test", type::A}] = {rcode::NXDOMAIN, {}};
    h.send(query(12, "nx.test", type::A));
    a = h.recv(1000ms, nullptr, &took);
    REQUIRE(a);
    CHECK(parse(*a)->rcode() == rcode::NXDOMAIN);
    CHECK(took < 45ms);  // a negative A answer is never held
}

TEST_CASE("proxy: no upstream answer -> SERVFAIL to the client, not silence (RFC 5625 §6.3)", "[proxy]") {
    Harness h;
    h.ipv4_only = false;
    h.up.behaviors[{"drop.test", type::A}] = {0, {}, 0ms, true};
    h.send(query(13, "drop.test", type::A));
    auto a = h.recv(3000ms);
    REQUIRE(a);
    auto m = parse(*a);
    REQUIRE(m);
    CHECK(m->rcode() == rcode::SERVFAIL);
    CHECK(m->id == 13);
    CHECK(m->questions.at(0).name == "drop.test");
    CHECK(h.proxy->counter(Counter::upstream_failed) == 1);
}

TEST_CASE("proxy: truncated UDP answers are retried over TCP and re-truncated for small clients", "[proxy]") {
    Harness h;
    h.ipv4_only = false;
    std::vector<Rr> many;
    for (int i = 1; i <= 60; i++) many.push_back(Rr{"", type::A, 60, test::a_rdata(198, 51, 100, uint8_t(i))});
    h.up.behaviors[{"big.test", type::A}] = {0, many, 0ms, false, true};
    // A client with a 4096-byte EDNS buffer gets the whole answer (fetched over TCP upstream).
    h.send(query(14, "big.test", type::A, 4096));
    auto a = h.recv(2000ms);
    REQUIRE(a);
    auto m = parse(*a);
    REQUIRE(m);
    CHECK(m->answers.size() == 60);
    CHECK_FALSE(m->tc());
    bool tcp_used = false;
    for (auto &s : h.up.seen) tcp_used |= s.tcp;
    CHECK(tcp_used);
    // A plain 512-byte client gets TC and retries over TCP itself.
    h.send(query(15, "big.test", type::A));
    a = h.recv(2000ms);
    REQUIRE(a);
    m = parse(*a);
    REQUIRE(m);
    CHECK(m->tc());
    CHECK(m->answers.empty());
    CHECK(a->size() <= 512);
    CHECK(h.proxy->counter(Counter::answers_truncated) == 1);
}

TEST_CASE("proxy: malformed client messages are dropped and counted", "[proxy]") {
    Harness h;
    h.send({1, 2, 3});
    auto resp = test::response(16, "x.test", type::A, 0, {});  // a response, not a query
    h.send(resp);
    CHECK_FALSE(h.recv(200ms));
    CHECK(h.proxy->counter(Counter::queries_malformed) == 2);
}

TEST_CASE("proxy: dns.snooping learns from a foreign resolver's A answer without answering anyone", "[proxy]") {
    Harness h;
    h.up.behaviors[{"ds.test", type::AAAA}] = {0, {ds_aaaa}};
    // What the dataplane copied: the host's own resolver answered A ds.test.
    auto foreign = test::response(0x5151, "ds.test", type::A, 0, {ds_a});
    h.proxy->snoop_answer(*parse_ip4("192.168.1.100"), foreign);
    h.settle(300ms);
    REQUIRE(h.learned.size() == 1);
    CHECK(h.learned[0].host == *parse_ip4("192.168.1.100"));
    CHECK(h.learned[0].v6 == *Ip6::parse("2001:db8:20::20"));
    CHECK(h.learned[0].ttl == 120);
    CHECK(h.proxy->counter(Counter::snooped_answers) == 1);
    CHECK(h.proxy->counter(Counter::answers_relayed) == 0);  // nothing sent to the host
    CHECK(h.proxy->pending() == 0);
    // Not an A answer, an error, a query, a dual-stack host: ignored, nothing asked upstream.
    size_t asked = h.up.seen.size();
    h.proxy->snoop_answer(*parse_ip4("192.168.1.100"), test::response(1, "ds.test", type::AAAA, 0, {ds_aaaa}));
    h.proxy->snoop_answer(*parse_ip4("192.168.1.100"), test::response(1, "ds.test", type::A, rcode::NXDOMAIN, {}));
    h.proxy->snoop_answer(*parse_ip4("192.168.1.100"), build_query(1, "ds.test", type::A, 0, false));
    std::vector<uint8_t> junk = {1, 2, 3};
    h.proxy->snoop_answer(*parse_ip4("192.168.1.100"), junk);
    h.ipv4_only = false;
    h.proxy->snoop_answer(*parse_ip4("192.168.1.101"), foreign);
    h.settle(100ms);
    CHECK(h.up.seen.size() == asked);
    CHECK(h.proxy->counter(Counter::snooped_ignored) == 5);
    CHECK(h.learned.size() == 1);
}

TEST_CASE("proxy: many queries in flight from several clients: each answer to its client, every slot recycled", "[proxy]") {
    ProxyConfig cfg;
    cfg.resolution_delay = 50ms;
    Harness h(cfg);
    // Per name: i % 3 == 0 a native AAAA in time (learned, released by the AAAA), 1 an AAAA after
    // the resolution delay (released by the timer, the AAAA late), 2 NODATA for AAAA (no entry).
    constexpr int names = 60, clients = 4;  // 120 upstream queries: within the fake upstream's socket buffer
    for (int i = 0; i < names; i++) {
        const std::string n = "n" + std::to_string(i) + ".test";
        h.up.behaviors[{n, type::A}] = {0, {Rr{"", type::A, 300, test::a_rdata(203, 0, uint8_t(i / 100), uint8_t(i % 100))}}};
        if (i % 3 == 0)
            h.up.behaviors[{n, type::AAAA}] = {0, {Rr{"", type::AAAA, 300, test::aaaa_rdata({0x2001, 0xdb8, 0x30, 0, 0, 0, 0, uint16_t(i)})}}};
        else if (i % 3 == 1)
            h.up.behaviors[{n, type::AAAA}] = {0, {Rr{"", type::AAAA, 300, test::aaaa_rdata({0x2001, 0xdb8, 0x31, 0, 0, 0, 0, uint16_t(i)})}}, 150ms};
    }
    int fds[clients];
    for (int &fd : fds) fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(h.proxy_port);
    // All sent before the loop runs: the proxy finds them queued together.
    for (int i = 0; i < names; i++) {
        auto q = query(uint16_t(0x1000 + i), "n" + std::to_string(i) + ".test", type::A);
        sendto(fds[i % clients], q.data(), q.size(), 0, reinterpret_cast<sockaddr *>(&to), sizeof to);
    }
    std::map<uint16_t, std::vector<uint8_t>> got;  // by ID
    int wrong_client = 0;
    for (int c = 0; c < clients; c++)
        h.loop.add_fd(fds[c], EPOLLIN, [&, c](uint32_t) {
            uint8_t buf[4096];
            ssize_t n;
            while ((n = ::recv(fds[c], buf, sizeof buf, 0)) > 0) {
                uint16_t id = get_id({buf, size_t(n)});
                if ((id - 0x1000) % clients != c) wrong_client++;
                got[id].assign(buf, buf + n);
            }
            if (got.size() == names) h.loop.stop();
        });
    int guard = h.loop.add_timer(3000ms, [&] { h.loop.stop(); }, false);
    h.loop.run(10ms);
    h.loop.cancel_timer(guard);
    h.settle(300ms);  // the slow AAAA answers arrive, late
    for (int fd : fds) {
        h.loop.remove_fd(fd);
        close(fd);
    }
    REQUIRE(got.size() == names);
    CHECK(wrong_client == 0);
    for (auto &[id, wire] : got) {
        auto m = parse(wire);
        REQUIRE(m);
        CHECK(m->questions.at(0).name == "n" + std::to_string(id - 0x1000) + ".test");
        REQUIRE(m->answers.size() == 1);
    }
    constexpr int learned = (names + 2) / 3, timed = (names + 1) / 3;
    CHECK(h.learned.size() == size_t(learned));
    CHECK(h.proxy->counter(Counter::queries_udp) == names);
    CHECK(h.proxy->counter(Counter::aaaa_asked) == names);
    CHECK(h.proxy->counter(Counter::held_released_timer) == timed);
    CHECK(h.proxy->counter(Counter::aaaa_late) == timed);
    CHECK(h.proxy->counter(Counter::aaaa_native) == learned);
    CHECK(h.proxy->counter(Counter::aaaa_none) == names - learned);
    CHECK(h.proxy->counter(Counter::answers_relayed) == names);
    CHECK(h.proxy->counter(Counter::answers_unsent) == 0);
    CHECK(h.proxy->pending() == 0);
    // The recycled slots serve the next queries as the first ones.
    h.send(query(0x7777, "n0.test", type::A));
    auto a = h.recv(1000ms);
    REQUIRE(a);
    CHECK(get_id(*a) == 0x7777);
    CHECK(h.proxy->pending() == 0);
}
