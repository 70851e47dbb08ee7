// The control thread's event loop (main lcore): epoll over file descriptors, timerfd timers and a
// signalfd. The hook API for the parts that come later: the shell (its socket), the DNS proxy
// (c-ares sockets, ares_timeout), the pull client (libcurl multi: CURLMOPT_SOCKETFUNCTION /
// TIMERFUNCTION map onto add_fd/modify_fd/remove_fd and add_timer/cancel_timer).
// Single-threaded: every call must come from the control thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>

namespace eamclat {

class EventLoop {
public:
    using FdCallback = std::function<void(uint32_t epoll_events)>;
    using TimerCallback = std::function<void()>;
    using SignalCallback = std::function<void(int signo)>;
    using TimerId = int;

    EventLoop();  // throws std::system_error if epoll cannot be created (start-up only)
    ~EventLoop();
    EventLoop(const EventLoop &) = delete;
    EventLoop &operator=(const EventLoop &) = delete;

    // fd stays owned by the caller; remove it before closing it. Returns false on epoll errors.
    bool add_fd(int fd, uint32_t events, FdCallback cb);
    bool modify_fd(int fd, uint32_t events);
    void remove_fd(int fd);

    // Periodic when `periodic`, otherwise one-shot (then it is removed after it fires).
    // Returns -1 on failure.
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
    void dispatch(int fd, uint32_t events);

    int epoll_fd_ = -1;
    int signal_fd_ = -1;
    bool running_ = false;
    std::map<int, std::shared_ptr<Watch>> watches_;  // by fd
    std::map<TimerId, int> timers_;                  // timer id -> timerfd
    TimerId next_timer_ = 1;
};

}  // namespace eamclat
