// Quiescent-state-based reclamation shared by the tables the workers read (EAMT, flows).
//
// Workers read the tables without locks; the control thread (the single EAMT writer, and the flow
// expiry) unlinks an object, remembers the QSBR token of that moment and frees the object once
// every registered worker has reported a quiescent state after it (DPDK rte_rcu_qsbr; the same
// scheme as yanet's generations, with a documented API instead of a loop-counter wait).
#pragma once

#include <rte_rcu_qsbr.h>

#include <cstdint>
#include <deque>

namespace eamclat::tables {

// Owns the rte_rcu_qsbr variable. A worker registers once with its reader id (0..max_readers-1),
// then calls quiescent() once per loop iteration, outside any table access. The writer (control
// thread) must not be an online reader itself: it may wait for a grace period (synchronize).
class Rcu {
public:
    explicit Rcu(uint32_t max_readers);
    ~Rcu();
    Rcu(const Rcu &) = delete;
    Rcu &operator=(const Rcu &) = delete;

    rte_rcu_qsbr *qsbr() const { return v_; }
    uint32_t max_readers() const { return max_readers_; }

    // Reader side (each worker, for its own id).
    void reader_online(uint32_t id);
    void reader_offline(uint32_t id);
    void quiescent(uint32_t id) { rte_rcu_qsbr_quiescent(v_, id); }

    // Writer side.
    uint64_t start() { return rte_rcu_qsbr_start(v_); }
    bool passed(uint64_t token) { return rte_rcu_qsbr_check(v_, token, false) == 1; }
    // Blocks the caller (never the readers) until every online reader has passed a quiescent state.
    void synchronize() { rte_rcu_qsbr_synchronize(v_, RTE_QSBR_THRID_INVALID); }

private:
    rte_rcu_qsbr *v_ = nullptr;
    uint32_t max_readers_;
};

// Objects waiting for a grace period, in retirement order. Tokens from rte_rcu_qsbr_start grow
// monotonically, so the queue is drained from the front until the first token not yet passed.
// Payload is two integers interpreted by the owner (kind of object, index/pointer).
class Retirer {
public:
    struct Item {
        uint64_t token;
        uint64_t value;
        uint32_t kind;
        uint32_t aux;
    };

    void retire(Rcu &rcu, uint32_t kind, uint64_t value, uint32_t aux = 0) {
        items_.push_back(Item{rcu.start(), value, kind, aux});
    }
    // Calls free_fn(item) for every item whose grace period is over; returns how many.
    template <typename F>
    size_t reclaim(Rcu &rcu, F &&free_fn) {
        size_t n = 0;
        while (!items_.empty() && rcu.passed(items_.front().token)) {
            free_fn(items_.front());
            items_.pop_front();
            ++n;
        }
        return n;
    }
    // Waits for a grace period, then frees everything (writer only; readers keep running).
    template <typename F>
    size_t drain(Rcu &rcu, F &&free_fn) {
        if (items_.empty())
            return 0;
        rcu.synchronize();
        return reclaim(rcu, free_fn);
    }
    size_t pending() const { return items_.size(); }

private:
    std::deque<Item> items_;
};

}  // namespace eamclat::tables
