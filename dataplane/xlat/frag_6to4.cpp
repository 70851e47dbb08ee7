// RFC 7915 §5.1.1: "If an IPv6 packet that is smaller than or equal to 1280 bytes results (after
// translation) in an IPv4 packet that is larger than the MTU of the next-hop interface, then the
// translator MUST perform IPv4 fragmentation on that packet". Also used for non-first IPv6
// fragments (DF=0) and for ICMPv4 errors, which no Packet Too Big may answer.
#include <cstring>

#include "checksum.hpp"
#include "xlat_6to4.hpp"

namespace eamclat::xlat::v6to4 {

namespace {

// RFC 791 §3.2 fragmentation: same header, Total Length, MF and Fragment Offset per piece.
void set_fragment_header(uint8_t *ip, uint32_t total_len, uint32_t offset, bool more) {
    csum::store16(ip + 2, static_cast<uint16_t>(total_len));
    uint16_t flags = csum::load16(ip + 6) & 0x4000;  // DF as it was (0 here: every caller has DF=0)
    csum::store16(ip + 6, static_cast<uint16_t>(flags | (more ? 0x2000 : 0) | offset / 8));
    ip[10] = ip[11] = 0;
    csum::store16(ip + 10, csum::finish(csum::add_bytes(0, ip, ipv4_header_len)));
}

}  // namespace

Result fragment_ipv4(const Context &ctx, rte_mbuf *m, Output &out, uint32_t total_len, uint32_t mtu, Path path) {
    // Fragment payloads are multiples of 8 bytes (RFC 791); an MTU under 28 leaves none.
    uint32_t piece = mtu > ipv4_header_len ? (mtu - ipv4_header_len) & ~7u : 0;
    // Each fragment is one segment: with jumbo MTUs, smaller fragments rather than chains.
    uint32_t room = rte_pktmbuf_data_room_size(ctx.pool);
    room = room > RTE_PKTMBUF_HEADROOM + ipv4_header_len ? room - RTE_PKTMBUF_HEADROOM - ipv4_header_len : 0;
    if (piece > (room & ~7u)) piece = room & ~7u;
    if (piece == 0) return drop(m, Fate::drop_fragment_too_big);
    uint32_t payload = total_len - ipv4_header_len;
    uint32_t count = (payload + piece - 1) / piece;
    if (out.n + count > Output::max) return drop(m, Fate::drop_output_full);

    uint8_t *ip = rte_pktmbuf_mtod(m, uint8_t *);
    uint16_t word = csum::load16(ip + 6);
    uint32_t base = (word & 0x1fffu) * 8;  // an IPv6 fragment being cut further keeps its place
    bool last_more = word & 0x2000;

    unsigned first = out.n;
    for (uint32_t i = 1; i < count; i++) {
        uint32_t off = i * piece;
        uint32_t len = payload - off < piece ? payload - off : piece;
        rte_mbuf *f = rte_pktmbuf_alloc(ctx.pool);
        uint8_t *q = f ? reinterpret_cast<uint8_t *>(rte_pktmbuf_append(f, static_cast<uint16_t>(ipv4_header_len + len)))
                       : nullptr;
        if (!q) {
            Fate fate = f ? Fate::drop_no_room : Fate::drop_no_mbuf;
            if (f) rte_pktmbuf_free(f);
            for (unsigned j = first; j < out.n; j++) rte_pktmbuf_free(out.pkts[j].m);
            out.n = first;
            return drop(m, fate);
        }
        memcpy(q, ip, ipv4_header_len);
        copy_packet(m, ipv4_header_len + off, len, q + ipv4_header_len);
        set_fragment_header(q, ipv4_header_len + len, base + off, i + 1 < count || last_more);
        out.pkts[out.n++] = {f, Side::v4};
    }
    trim_packet(m, ipv4_header_len + piece);
    set_fragment_header(ip, ipv4_header_len + piece, base, true);
    // The first fragment goes out first: shift the others up by one.
    memmove(&out.pkts[first + 1], &out.pkts[first], (out.n - first) * sizeof(Emitted));
    out.pkts[first] = {m, Side::v4};
    out.n++;
    return {Fate::translated_6to4, path};
}

}  // namespace eamclat::xlat::v6to4
