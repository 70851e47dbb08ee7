#include "rcu.hpp"

#include <rte_malloc.h>

#include <new>
#include <stdexcept>

namespace eamclat::tables {

Rcu::Rcu(uint32_t max_readers) : max_readers_(max_readers == 0 ? 1 : max_readers) {
    size_t sz = rte_rcu_qsbr_get_memsize(max_readers_);
    v_ = static_cast<rte_rcu_qsbr *>(rte_zmalloc("eamclat_rcu", sz, RTE_CACHE_LINE_SIZE));
    // Start-up only: the tables cannot exist without their reclamation variable.
    if (!v_)
        throw std::bad_alloc();
    if (rte_rcu_qsbr_init(v_, max_readers_) != 0) {
        rte_free(v_);
        throw std::runtime_error("rte_rcu_qsbr_init failed");
    }
}

Rcu::~Rcu() { rte_free(v_); }

void Rcu::reader_online(uint32_t id) {
    rte_rcu_qsbr_thread_register(v_, id);
    rte_rcu_qsbr_thread_online(v_, id);
}

void Rcu::reader_offline(uint32_t id) {
    rte_rcu_qsbr_thread_offline(v_, id);
    rte_rcu_qsbr_thread_unregister(v_, id);
}

}  // namespace eamclat::tables
