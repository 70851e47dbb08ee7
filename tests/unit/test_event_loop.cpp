// EventLoop: fds, periodic and one-shot timers, signals through a signalfd, stop().
#include <catch2/catch.hpp>

#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <vector>

#include "event_loop.hpp"

using namespace std::chrono_literals;
using eamclat::EventLoop;

TEST_CASE("EventLoop: fd readiness, remove from its own callback", "[event_loop]") {
    EventLoop loop;
    int p[2];
    REQUIRE(pipe(p) == 0);
    int reads = 0;
    REQUIRE(loop.add_fd(p[0], EPOLLIN, [&](uint32_t ev) {
        CHECK((ev & EPOLLIN) != 0);
        char c;
        CHECK(read(p[0], &c, 1) == 1);
        CHECK(c == 'x');
        ++reads;
        loop.remove_fd(p[0]);  // the callback object must survive its own removal
        loop.stop();
    }));
    CHECK(!loop.add_fd(p[0], EPOLLIN, [](uint32_t) {}));  // twice: refused by epoll
    REQUIRE(write(p[1], "x", 1) == 1);
    loop.run(1000ms);
    CHECK(reads == 1);
    close(p[0]);
    close(p[1]);
}

TEST_CASE("EventLoop: periodic and one-shot timers, cancel", "[event_loop]") {
    EventLoop loop;
    int periodic = 0, once = 0;
    const auto t1 = loop.add_timer(2ms, [&] { ++periodic; });
    REQUIRE(t1 > 0);
    REQUIRE(loop.add_timer(5ms, [&] { ++once; }, false) > 0);
    REQUIRE(loop.add_timer(40ms, [&] { loop.stop(); }, false) > 0);
    const auto start = std::chrono::steady_clock::now();
    loop.run(1000ms);
    CHECK(std::chrono::steady_clock::now() - start < 900ms);
    CHECK(once == 1);
    CHECK(periodic >= 5);
    loop.cancel_timer(t1);
    const int before = periodic;
    REQUIRE(loop.add_timer(20ms, [&] { loop.stop(); }, false) > 0);
    loop.run(1000ms);
    CHECK(periodic == before);  // cancelled
}

TEST_CASE("EventLoop: a signal through the signalfd", "[event_loop]") {
    EventLoop loop;
    int got = 0;
    REQUIRE(loop.on_signals({SIGUSR1}, [&](int signo) {
        got = signo;
        loop.stop();
    }));
    // To this thread: EAL's threads (started by the test main) do not block SIGUSR1; the daemon
    // blocks its signals before rte_eal_init so that every thread inherits the mask.
    REQUIRE(loop.add_timer(1ms, [] { pthread_kill(pthread_self(), SIGUSR1); }, false) > 0);
    REQUIRE(loop.add_timer(2000ms, [&] { loop.stop(); }, false) > 0);  // guard
    loop.run(1000ms);
    CHECK(got == SIGUSR1);
}

// The proxy arms and cancels timers at its query rate (held answers, c-ares timeouts), so it
// leans on these properties of the event loop's timers.
TEST_CASE("EventLoop timers: deadline order, cancel from a callback, zero delay, many cancelled", "[event_loop]") {
    EventLoop loop;
    std::vector<int> order;
    loop.add_timer(30ms, [&] { order.push_back(3); }, false);
    loop.add_timer(10ms, [&] { order.push_back(1); }, false);
    loop.add_timer(20ms, [&] { order.push_back(2); }, false);
    // A periodic timer that cancels itself from its own callback runs no more.
    int self_cancel = 0;
    EventLoop::TimerId periodic = -1;
    periodic = loop.add_timer(2ms, [&] {
        if (++self_cancel == 3) loop.cancel_timer(periodic);
    });
    // A zero-delay timer re-adding itself from its callback does not starve the loop.
    int zero = 0;
    std::function<void()> again = [&] {
        if (++zero < 1000) loop.add_timer(0ms, again, false);
    };
    loop.add_timer(0ms, again, false);
    // Most of many timers cancelled: the rest still fire, the cancelled never.
    int fired = 0, cancelled_fired = 0;
    std::vector<EventLoop::TimerId> ids;
    for (int i = 0; i < 500; i++)
        ids.push_back(loop.add_timer(std::chrono::milliseconds(5 + i % 20), [&, i] { (i % 10 ? cancelled_fired : fired)++; }, false));
    for (int i = 0; i < 500; i++)
        if (i % 10) loop.cancel_timer(ids[i]);
    loop.add_timer(80ms, [&] { loop.stop(); }, false);
    loop.run(1000ms);
    CHECK(order == std::vector<int>{1, 2, 3});
    CHECK(self_cancel == 3);
    CHECK(zero == 1000);
    CHECK(fired == 50);
    CHECK(cancelled_fired == 0);
}
