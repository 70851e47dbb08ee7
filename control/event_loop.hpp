// The control thread's event loop (main lcore): epoll over file descriptors, timers and a
// signalfd. The hook API for the parts that come later: the shell (its socket), the DNS proxy
// (c-ares sockets, ares_timeout), the pull client (libcurl multi: CURLMOPT_SOCKETFUNCTION /
// TIMERFUNCTION map onto add_fd/modify_fd/remove_fd and add_timer/cancel_timer).
// Single-threaded: every call must come from the control thread.
//
// Timers cost no system call: they live in a min-heap ordered by deadline and bound the
// epoll_pwait2 timeout (nanoseconds; epoll_wait rounded up to the millisecond on kernels before
// 5.11). The DNS proxy arms and cancels timers at its query rate; a timerfd per timer cost five
// system calls each time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

struct epoll_event;

namespace eamclat {

class EventLoop {
public:
    using FdCallback = std::function<void(uint32_t epoll_events)>;
    using TimerCallback = std::function<void()>;
    using SignalCallback = std::function<void(int signo)>;
    using TimerId = int;
    using Clock = std::chrono::steady_clock;

    EventLoop();  // throws std::system_error if epoll cannot be created (start-up only)
    ~EventLoop();
    EventLoop(const EventLoop &) = delete;
    EventLoop &operator=(const EventLoop &) = delete;

    // fd stays owned by the caller; remove it before closing it. Returns false on epoll errors.
    bool add_fd(int fd, uint32_t events, FdCallback cb);
    bool modify_fd(int fd, uint32_t events);
    void remove_fd(int fd);

    // Periodic when `periodic`, otherwise one-shot (then it is removed after it fires). A timer
    // runs after the fd callbacks of the loop iteration in which it falls due; a periodic timer
    // that fell behind runs once and keeps its phase (as a timerfd read does). Returns -1 on
    // failure. A callback may cancel its own timer.
    TimerId add_timer(std::chrono::nanoseconds interval, TimerCallback cb, bool periodic = true);
    void cancel_timer(TimerId id);

    // Blocks the signals in the calling thread (threads created later inherit the mask: call
    // before rte_eal_init) and delivers them through a signalfd.
    static bool block_signals(std::initializer_list<int> signals);
    bool on_signals(std::initializer_list<int> signals, SignalCallback cb);

    // Runs until stop(). Each iteration waits at most `max_wait` (epoll_wait timeout).
    void run(std::chrono::milliseconds max_wait = std::chrono::milliseconds(1000));
    void stop() { running_ = false; }
    bool running() const { return running_; }

private:
    struct Watch {
        FdCallback cb;
    };
    struct Timer {
        Clock::time_point deadline;
        std::chrono::nanoseconds interval;
        bool periodic;
        uint64_t seq;  // of its current heap entry
        TimerCallback cb;
    };
    struct Due {  // heap entry; stale when its timer is gone or was rescheduled (seq differs)
        Clock::time_point deadline;
        uint64_t seq;
        TimerId id;
    };
    void dispatch(int fd, uint32_t events);
    int wait(epoll_event *events, int max_events, std::chrono::milliseconds max_wait);
    void run_timers();
    void push_due(TimerId id, Timer &t);
    bool top_stale() const;

    int epoll_fd_ = -1;
    int signal_fd_ = -1;
    bool running_ = false;
    bool have_pwait2_ = true;
    std::map<int, std::shared_ptr<Watch>> watches_;  // by fd
    std::unordered_map<TimerId, Timer> timers_;
    std::vector<Due> heap_;  // min-heap by (deadline, seq)
    uint64_t next_seq_ = 1;
    TimerId next_timer_ = 1;
    TimerId firing_ = 0;  // the periodic timer whose callback runs (0: none)
    bool firing_cancelled_ = false;
};

}  // namespace eamclat
