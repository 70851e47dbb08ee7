// RFC 7915 §4.1: fragmenting a translated packet whose IPv4 source did not set DF.
#include <algorithm>
#include <cstring>

#include "checksum.hpp"
#include "xlat_4to6.hpp"

namespace eamclat::xlat::v4to6 {

namespace {

constexpr uint32_t headers_len = ipv6_header_len + fragment_header_len;

void set_fragment_fields(uint8_t *p, uint32_t payload, uint32_t offset, bool more) {
    csum::store16(p + 4, static_cast<uint16_t>(fragment_header_len + payload));
    csum::store16(p + ipv6_header_len + 2, static_cast<uint16_t>(offset | (more ? 1 : 0)));
}

}  // namespace

// §4.1: "the packet SHOULD be fragmented so that the resulting IPv6 packet (with Fragment Header
// added to each fragment) will be less than or equal to lowest-ipv6-mtu". The fragments keep the
// Fragment header of m (next header, identification) and continue its offset and M flag, so an
// IPv4 fragment that is itself too large is cut the same way. A fragment never exceeds what one
// mbuf of ctx.pool holds (fragments are single segments), which only matters for a
// lowest-ipv6-mtu above the pool's data room.
Result fragment_ipv6(const Context &ctx, rte_mbuf *m, Output &out, uint32_t max_len, Path path) {
    uint32_t room = rte_pktmbuf_data_room_size(ctx.pool);
    room = room > RTE_PKTMBUF_HEADROOM ? room - RTE_PKTMBUF_HEADROOM : 0;
    max_len = std::min(max_len, room);
    uint32_t chunk = max_len > headers_len ? (max_len - headers_len) & ~7u : 0;
    uint32_t payload = rte_pktmbuf_pkt_len(m) - headers_len;
    if (chunk == 0) {
        rte_pktmbuf_free(m);
        return {Fate::drop_no_mbuf, Path::none};
    }
    uint32_t count = (payload + chunk - 1) / chunk;
    if (count > Output::max - out.n) {
        rte_pktmbuf_free(m);
        return {Fate::drop_output_full, Path::none};
    }

    uint8_t headers[headers_len];
    memcpy(headers, rte_pktmbuf_mtod(m, uint8_t *), headers_len);
    uint16_t frag_field = csum::load16(headers + ipv6_header_len + 2);
    uint32_t base_offset = frag_field & 0xfff8u;
    bool last_more = frag_field & 1;

    rte_mbuf *frags[Output::max];
    frags[0] = m;
    for (uint32_t i = 1; i < count; ++i) {
        uint32_t start = i * chunk;
        uint32_t len = std::min(chunk, payload - start);
        rte_mbuf *f = rte_pktmbuf_alloc(ctx.pool);
        uint8_t *p = f ? reinterpret_cast<uint8_t *>(rte_pktmbuf_append(f, static_cast<uint16_t>(headers_len + len)))
                       : nullptr;
        if (!p) {
            if (f) rte_pktmbuf_free(f);
            for (uint32_t j = 0; j < i; ++j) rte_pktmbuf_free(frags[j]);
            return {Fate::drop_no_mbuf, Path::none};
        }
        memcpy(p, headers, headers_len);
        set_fragment_fields(p, len, base_offset + start, i + 1 < count || last_more);
        copy_packet(m, headers_len + start, len, p + headers_len);
        f->port = m->port;
        frags[i] = f;
    }
    uint32_t first = std::min(chunk, payload);
    truncate_packet(m, headers_len + first);
    set_fragment_fields(rte_pktmbuf_mtod(m, uint8_t *), first, base_offset, count > 1 || last_more);

    for (uint32_t i = 0; i < count; ++i) emit(out, frags[i], Side::v6);
    return {Fate::translated_4to6, path};
}

}  // namespace eamclat::xlat::v4to6
