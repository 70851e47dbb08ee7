#include "event_loop.hpp"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace eamclat {

EventLoop::EventLoop() {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
}

EventLoop::~EventLoop() {
    for (auto &[id, fd] : timers_) close(fd);
    if (signal_fd_ >= 0) close(signal_fd_);
    if (epoll_fd_ >= 0) close(epoll_fd_);
}

bool EventLoop::add_fd(int fd, uint32_t events, FdCallback cb) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) return false;
    watches_[fd] = std::make_shared<Watch>(Watch{std::move(cb)});
    return true;
}

bool EventLoop::modify_fd(int fd, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    return epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) == 0;
}

void EventLoop::remove_fd(int fd) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    watches_.erase(fd);
}

EventLoop::TimerId EventLoop::add_timer(std::chrono::nanoseconds interval, TimerCallback cb, bool periodic) {
    const int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (fd < 0) return -1;
    itimerspec spec{};
    const auto ns = std::max<int64_t>(interval.count(), 1);
    spec.it_value.tv_sec = ns / 1000000000;
    spec.it_value.tv_nsec = ns % 1000000000;
    if (periodic) spec.it_interval = spec.it_value;
    if (timerfd_settime(fd, 0, &spec, nullptr) != 0) {
        close(fd);
        return -1;
    }
    const TimerId id = next_timer_++;
    auto fire = [this, fd, id, periodic, cb = std::move(cb)](uint32_t) {
        uint64_t expirations;
        if (read(fd, &expirations, sizeof expirations) != sizeof expirations) return;
        if (!periodic) cancel_timer(id);  // before cb: cb may add timers (and reuse the fd number)
        cb();
    };
    if (!add_fd(fd, EPOLLIN, std::move(fire))) {
        close(fd);
        return -1;
    }
    timers_[id] = fd;
    return id;
}

void EventLoop::cancel_timer(TimerId id) {
    auto it = timers_.find(id);
    if (it == timers_.end()) return;
    remove_fd(it->second);
    close(it->second);
    timers_.erase(it);
}

bool EventLoop::block_signals(std::initializer_list<int> signals) {
    sigset_t set;
    sigemptyset(&set);
    for (int s : signals) sigaddset(&set, s);
    return pthread_sigmask(SIG_BLOCK, &set, nullptr) == 0;
}

bool EventLoop::on_signals(std::initializer_list<int> signals, SignalCallback cb) {
    sigset_t set;
    sigemptyset(&set);
    for (int s : signals) sigaddset(&set, s);
    if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) return false;
    signal_fd_ = signalfd(signal_fd_, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (signal_fd_ < 0) return false;
    const int fd = signal_fd_;
    return add_fd(fd, EPOLLIN, [fd, cb = std::move(cb)](uint32_t) {
        signalfd_siginfo info;
        while (read(fd, &info, sizeof info) == sizeof info) cb(static_cast<int>(info.ssi_signo));
    });
}

void EventLoop::dispatch(int fd, uint32_t events) {
    auto it = watches_.find(fd);
    if (it == watches_.end()) return;  // removed by an earlier callback of this batch
    auto watch = it->second;           // keeps the callback alive if it removes itself
    watch->cb(events);
}

void EventLoop::run(std::chrono::milliseconds max_wait) {
    running_ = true;
    constexpr int max_events = 32;
    epoll_event events[max_events];
    while (running_) {
        const int n = epoll_wait(epoll_fd_, events, max_events, static_cast<int>(max_wait.count()));
        if (n < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < n && running_; ++i) dispatch(events[i].data.fd, events[i].events);
    }
    running_ = false;
}

}  // namespace eamclat
