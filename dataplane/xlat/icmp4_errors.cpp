// RFC 7915 §4.4: ICMPv4 errors the translator itself sends back to an IPv4 sender
// (Time Exceeded, Fragmentation Needed, Source Route Failed).
#include <algorithm>
#include <cstring>

#include "checksum.hpp"
#include "xlat_4to6.hpp"

namespace eamclat::xlat::v4to6 {

namespace {

// RFC 1812 §4.3.2.7: the maximum ICMPv4 error (the minimum reassembly buffer size, 576 octets).
constexpr uint32_t max_error_len = 576;
constexpr uint32_t error_headers_len = 20 + 8;

// RFC 7600 §4: 192.0.0.8 is the IPv4 dummy address for translators without an IPv4 address of
// their own. An operator that configured an RFC 6791 pool gave us addresses meant as sources of
// ICMPv4 errors, so its first address is preferred.
Ip4 error_source(const Config &cfg) {
    if (cfg.rfc6791v4_prefix) return cfg.rfc6791v4_prefix->addr;
    return 0xc0000008;  // 192.0.0.8
}

// RFC 1812 §4.3.2.7: no error to a source that does not name a single host (this network,
// loopback, multicast, class E including limited broadcast), nor about a packet sent to a
// multicast or limited broadcast address.
bool may_answer(const Ip4Header &h) {
    uint8_t s = static_cast<uint8_t>(h.src >> 24);
    if (s == 0 || s == 127 || s >= 224) return false;
    uint8_t d = static_cast<uint8_t>(h.dst >> 24);
    if (d >= 224) return false;
    // §4.4: "unless the discarded packet is itself an ICMPv4 error message"; RFC 1812: nor about
    // a fragment other than the first.
    return !h.icmp_error && h.frag_offset == 0;
}

}  // namespace

Result send_icmp4_error(const Context &ctx, rte_mbuf *m, Output &out, const Ip4Header &h, uint8_t type,
                        uint8_t code, uint32_t rest, Fate suppressed) {
    if (!may_answer(h)) {
        rte_pktmbuf_free(m);
        return {suppressed, Path::none};
    }
    // The quoted datagram is the packet as it arrived (TTL included), cut so that the error
    // does not exceed 576 bytes (RFC 1812 §4.3.2.3).
    uint32_t quoted = std::min(h.total_len, max_error_len - error_headers_len);
    uint32_t len = error_headers_len + quoted;
    uint8_t buf[max_error_len];
    copy_packet(m, 0, quoted, buf + error_headers_len);

    uint8_t *ip = buf;
    ip[0] = 0x45;
    // RFC 1812 §4.3.2.5: ICMP errors are sent with precedence 6 (Internetwork Control).
    ip[1] = 0xc0;
    csum::store16(ip + 2, static_cast<uint16_t>(len));
    csum::store16(ip + 4, 0);  // Identification: the error is never fragmented (576 bytes)
    csum::store16(ip + 6, 0);
    ip[8] = 64;
    ip[9] = proto_icmp;
    csum::store16(ip + 10, 0);
    Ip4 src = error_source(*ctx.config);
    csum::store16(ip + 12, static_cast<uint16_t>(src >> 16));
    csum::store16(ip + 14, static_cast<uint16_t>(src));
    csum::store16(ip + 16, static_cast<uint16_t>(h.src >> 16));
    csum::store16(ip + 18, static_cast<uint16_t>(h.src));
    csum::store16(ip + 10, csum::finish(csum::add_bytes(0, ip, 20)));

    uint8_t *icmp = buf + 20;
    icmp[0] = type;
    icmp[1] = code;
    csum::store16(icmp + 2, 0);
    csum::store16(icmp + 4, static_cast<uint16_t>(rest >> 16));
    csum::store16(icmp + 6, static_cast<uint16_t>(rest));
    csum::store16(icmp + 2, csum::finish(csum::add_bytes(0, icmp, len - 20)));

    if (!replace_packet(m, buf, len)) {
        rte_pktmbuf_free(m);
        return {Fate::drop_no_room, Path::none};
    }
    if (!emit(out, m, Side::v4)) {
        rte_pktmbuf_free(m);
        return {Fate::drop_output_full, Path::none};
    }
    return {Fate::icmp4_error_sent, Path::none};
}

}  // namespace eamclat::xlat::v4to6
