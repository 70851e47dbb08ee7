// Chain-aware mbuf helpers of the IPv6 -> IPv4 direction. They never allocate.
#include <cstring>

#include "checksum.hpp"
#include "xlat_6to4.hpp"

namespace eamclat::xlat::v6to4 {

void trim_packet(rte_mbuf *m, uint32_t len) {
    uint32_t kept = 0;
    uint16_t nb = 1;
    rte_mbuf *seg = m;
    while (kept + seg->data_len < len) {
        kept += seg->data_len;
        seg = seg->next;
        nb++;
    }
    seg->data_len = static_cast<uint16_t>(len - kept);
    if (seg->next) {  // the following segments carry no kept byte
        rte_pktmbuf_free(seg->next);
        seg->next = nullptr;
    }
    m->nb_segs = nb;
    m->pkt_len = len;
}

bool rewrite_packet(rte_mbuf *m, const uint8_t *data, uint32_t len) {
    if (len > m->buf_len) return false;
    if (m->next) {
        rte_pktmbuf_free(m->next);
        m->next = nullptr;
    }
    m->nb_segs = 1;
    // Keep the standard headroom when possible: the caller may prepend L2 or IPv6 headers.
    uint32_t headroom = m->buf_len - len < RTE_PKTMBUF_HEADROOM ? m->buf_len - len : RTE_PKTMBUF_HEADROOM;
    m->data_off = static_cast<uint16_t>(headroom);
    m->data_len = static_cast<uint16_t>(len);
    m->pkt_len = len;
    memmove(rte_pktmbuf_mtod(m, uint8_t *), data, len);
    return true;
}

uint32_t sum_packet(const rte_mbuf *m, uint32_t off, uint32_t len, uint32_t sum) {
    const rte_mbuf *seg = m;
    while (len && off >= seg->data_len) {
        off -= seg->data_len;
        seg = seg->next;
    }
    bool odd = false;  // the previous segment ended in the middle of a 16-bit word
    while (len) {
        const uint8_t *p = rte_pktmbuf_mtod_offset(seg, const uint8_t *, off);
        uint32_t n = seg->data_len - off < len ? seg->data_len - off : len;
        uint32_t i = 0;
        if (odd && n) {
            sum += p[0];
            i = 1;
            odd = false;
        }
        uint32_t words = (n - i) & ~1u;
        // Fold now and then: 32 bits hold 65537 words of 0xffff, well above a 64 KiB packet,
        // but the chained case may call this several times on the same accumulator.
        sum = csum::fold(sum);
        sum = csum::add_bytes(sum, p + i, words);
        i += words;
        if (i < n) {
            sum += static_cast<uint32_t>(p[i]) << 8;
            odd = true;
        }
        len -= n;
        off = 0;
        seg = seg->next;
    }
    return sum;
}

void copy_packet(const rte_mbuf *m, uint32_t off, uint32_t len, uint8_t *dst) {
    const rte_mbuf *seg = m;
    while (off >= seg->data_len && len) {
        off -= seg->data_len;
        seg = seg->next;
    }
    while (len) {
        uint32_t n = seg->data_len - off < len ? seg->data_len - off : len;
        memcpy(dst, rte_pktmbuf_mtod_offset(seg, const uint8_t *, off), n);
        dst += n;
        len -= n;
        off = 0;
        seg = seg->next;
    }
}

}  // namespace eamclat::xlat::v6to4
