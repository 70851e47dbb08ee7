// Test helpers: build mbufs from bytes (optionally chained), read them back, count mbuf leaks.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <stdexcept>
#include <vector>

namespace eamclat::test {

extern rte_mempool *g_pool;

using Bytes = std::vector<uint8_t>;

// One mbuf holding `data` (at the default headroom), or a chain with segments of at most
// `seg_len` bytes each when seg_len > 0.
inline rte_mbuf *make_mbuf(const Bytes &data, size_t seg_len = 0) {
    if (seg_len == 0) seg_len = data.size() ? data.size() : 1;
    rte_mbuf *head = nullptr;
    rte_mbuf *last = nullptr;
    size_t off = 0;
    do {
        rte_mbuf *m = rte_pktmbuf_alloc(g_pool);
        if (!m) throw std::runtime_error("mbuf alloc");
        size_t n = std::min(seg_len, data.size() - off);
        char *p = rte_pktmbuf_append(m, static_cast<uint16_t>(n));
        if (!p && n) throw std::runtime_error("mbuf append");
        if (n) memcpy(p, data.data() + off, n);
        off += n;
        if (!head) {
            head = m;
        } else if (rte_pktmbuf_chain(head, m) != 0) {
            throw std::runtime_error("mbuf chain");
        }
        last = m;
    } while (off < data.size());
    (void)last;
    return head;
}

inline Bytes mbuf_bytes(const rte_mbuf *m) {
    Bytes out(rte_pktmbuf_pkt_len(m));
    const void *p = rte_pktmbuf_read(m, 0, out.size(), out.data());
    if (p != out.data() && !out.empty()) memcpy(out.data(), p, out.size());
    return out;
}

inline unsigned pool_in_use() { return rte_mempool_in_use_count(g_pool); }

}  // namespace eamclat::test
