#include "event_loop.hpp"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <system_error>

namespace eamclat {

namespace {
// Min-heap by deadline, ties in the order the timers were (re)scheduled.
bool later(const auto &a, const auto &b) {
    return a.deadline != b.deadline ? a.deadline > b.deadline : a.seq > b.seq;
}
}  // namespace

EventLoop::EventLoop() {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
}

EventLoop::~EventLoop() {
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

void EventLoop::push_due(TimerId id, Timer &t) {
    t.seq = next_seq_++;
    heap_.push_back({t.deadline, t.seq, id});
    std::push_heap(heap_.begin(), heap_.end(), later<Due, Due>);
}

EventLoop::TimerId EventLoop::add_timer(std::chrono::nanoseconds interval, TimerCallback cb, bool periodic) {
    interval = std::max(interval, std::chrono::nanoseconds(1));
    // Ids are ints: after INT_MAX timers (weeks of DNS traffic) they start again at 1, skipping
    // the ones still armed.
    for (int tries = 0; timers_.count(next_timer_) || next_timer_ == firing_; ++tries) {
        if (tries > 1000000) return -1;
        next_timer_ = next_timer_ == INT_MAX ? 1 : next_timer_ + 1;
    }
    const TimerId id = next_timer_;
    next_timer_ = next_timer_ == INT_MAX ? 1 : next_timer_ + 1;
    Timer &t = timers_[id];
    t.deadline = Clock::now() + interval;
    t.interval = interval;
    t.periodic = periodic;
    t.cb = std::move(cb);
    push_due(id, t);
    return id;
}

void EventLoop::cancel_timer(TimerId id) {
    if (id == firing_) {  // its callback is running: erased when it returns
        firing_cancelled_ = true;
        return;
    }
    if (timers_.erase(id) == 0) return;
    // Cancelled entries stay in the heap until they reach the top; rebuild when they dominate.
    if (heap_.size() > 64 && heap_.size() > 2 * timers_.size()) {
        heap_.clear();
        for (auto &[tid, t] : timers_) heap_.push_back({t.deadline, t.seq, tid});
        std::make_heap(heap_.begin(), heap_.end(), later<Due, Due>);
    }
}

bool EventLoop::top_stale() const {
    const Due &top = heap_.front();
    auto it = timers_.find(top.id);
    return it == timers_.end() || it->second.seq != top.seq;
}

void EventLoop::run_timers() {
    const auto now = Clock::now();
    const uint64_t limit = next_seq_;  // timers (re)scheduled by these callbacks wait for the next pass
    while (running_ && !heap_.empty()) {
        const Due top = heap_.front();
        const bool stale = top_stale();
        if (!stale && (top.deadline > now || top.seq >= limit)) break;
        std::pop_heap(heap_.begin(), heap_.end(), later<Due, Due>);
        heap_.pop_back();
        if (stale) continue;
        auto it = timers_.find(top.id);
        if (!it->second.periodic) {
            TimerCallback cb = std::move(it->second.cb);
            timers_.erase(it);  // before cb: cb may add timers (and get this id back)
            cb();
            continue;
        }
        Timer &t = it->second;
        t.deadline += t.interval;
        if (t.deadline <= now) t.deadline += ((now - t.deadline) / t.interval + 1) * t.interval;
        push_due(top.id, t);
        firing_ = top.id;
        firing_cancelled_ = false;
        t.cb();  // unordered_map nodes do not move when other timers are added
        firing_ = 0;
        if (firing_cancelled_) timers_.erase(top.id);
    }
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

// Waits for fd events until the earliest timer is due, at most max_wait.
int EventLoop::wait(epoll_event *events, int max_events, std::chrono::milliseconds max_wait) {
    while (!heap_.empty() && top_stale()) {
        std::pop_heap(heap_.begin(), heap_.end(), later<Due, Due>);
        heap_.pop_back();
    }
    std::chrono::nanoseconds timeout = max_wait;
    if (!heap_.empty())
        timeout = std::clamp<std::chrono::nanoseconds>(heap_.front().deadline - Clock::now(),
                                                       std::chrono::nanoseconds(0), timeout);
    if (have_pwait2_) {
        timespec ts{static_cast<time_t>(timeout.count() / 1000000000), static_cast<long>(timeout.count() % 1000000000)};
        const int n = epoll_pwait2(epoll_fd_, events, max_events, &ts, nullptr);
        if (n >= 0 || errno != ENOSYS) return n;
        have_pwait2_ = false;  // before Linux 5.11
    }
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(timeout);
    return epoll_wait(epoll_fd_, events, max_events, static_cast<int>(ms.count()));
}

void EventLoop::run(std::chrono::milliseconds max_wait) {
    running_ = true;
    constexpr int max_events = 32;
    epoll_event events[max_events];
    while (running_) {
        const int n = wait(events, max_events, max_wait);
        if (n < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < n && running_; ++i) dispatch(events[i].data.fd, events[i].events);
        run_timers();
    }
    running_ = false;
}

}  // namespace eamclat
