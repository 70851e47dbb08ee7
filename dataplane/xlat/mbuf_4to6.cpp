// mbuf surgery for the IPv4 -> IPv6 direction: trimming, rewriting and checksumming chains.
#include <algorithm>
#include <cstring>

#include "checksum.hpp"
#include "xlat_4to6.hpp"

namespace eamclat::xlat::v4to6 {

void truncate_packet(rte_mbuf *m, uint32_t len) {
    uint32_t kept = 0;
    uint16_t segs = 0;
    rte_mbuf *seg = m;
    rte_mbuf *last = m;
    while (seg) {
        uint32_t room = len - kept;
        if (seg->data_len > room) seg->data_len = static_cast<uint16_t>(room);
        kept += seg->data_len;
        ++segs;
        last = seg;
        // The head always stays, even when len is zero; later segments go once len is reached.
        if (kept == len) break;
        seg = seg->next;
    }
    if (last->next) {
        rte_pktmbuf_free(last->next);
        last->next = nullptr;
    }
    m->nb_segs = segs;
    m->pkt_len = len;
}

bool replace_packet(rte_mbuf *m, const uint8_t *data, uint32_t len) {
    if (len > m->buf_len) return false;
    if (m->next) {
        rte_pktmbuf_free(m->next);
        m->next = nullptr;
    }
    m->nb_segs = 1;
    // Keep the usual headroom when possible so that the caller can prepend L2.
    uint32_t headroom = std::min<uint32_t>(RTE_PKTMBUF_HEADROOM, m->buf_len - len);
    m->data_off = static_cast<uint16_t>(headroom);
    m->data_len = static_cast<uint16_t>(len);
    m->pkt_len = len;
    memcpy(rte_pktmbuf_mtod(m, uint8_t *), data, len);
    return true;
}

uint32_t sum_packet(const rte_mbuf *m, uint32_t off, uint32_t len, uint32_t sum) {
    bool odd = false;  // the next byte sits at an odd offset from the start of the range
    for (const rte_mbuf *seg = m; seg && len; seg = seg->next) {
        if (off >= seg->data_len) {
            off -= seg->data_len;
            continue;
        }
        const uint8_t *p = rte_pktmbuf_mtod_offset(seg, const uint8_t *, off);
        uint32_t n = std::min<uint32_t>(seg->data_len - off, len);
        off = 0;
        len -= n;
        if (odd && n) {  // a word split across segments: this byte is its low half
            sum += p[0];
            ++p;
            --n;
            odd = false;
        }
        sum = csum::add_bytes(sum, p, n);
        if (n & 1) odd = true;
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return sum;
}

void copy_packet(const rte_mbuf *m, uint32_t off, uint32_t len, uint8_t *dst) {
    const void *p = rte_pktmbuf_read(m, off, len, dst);
    if (p && p != dst) memcpy(dst, p, len);
}

}  // namespace eamclat::xlat::v4to6
