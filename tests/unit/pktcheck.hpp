// Independent packet checker and builder for the translator's tests.
//
// Written from the RFCs (RFC 791, 768, 793, 792, 8200, 4443, 1071) and deliberately sharing no code
// with the translator (not even dataplane/xlat/checksum.hpp): a bug in the translator's checksum
// helpers must not be able to hide itself by also being in the oracle.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace eamclat::pktcheck {

using Bytes = std::vector<uint8_t>;

// ---- RFC 1071 Internet checksum --------------------------------------------------------------

// One's complement sum of the bytes taken as big-endian 16-bit words (an odd last byte is padded
// with a zero byte), folded to 16 bits, *not* complemented. `initial` is a previous partial sum.
uint32_t ones_sum(const uint8_t *p, size_t len, uint32_t initial = 0);
uint16_t fold(uint32_t sum);
// The checksum field value: ~fold(sum).
uint16_t checksum(const uint8_t *p, size_t len, uint32_t initial = 0);

// Pseudo-header partial sums (RFC 793 §3.1 / RFC 768 for IPv4, RFC 8200 §8.1 for IPv6).
uint32_t pseudo4(const uint8_t src[4], const uint8_t dst[4], uint8_t proto, uint32_t upper_len);
uint32_t pseudo6(const uint8_t src[16], const uint8_t dst[16], uint8_t next_header, uint32_t upper_len);

// ---- Checker ---------------------------------------------------------------------------------

struct CheckOptions {
    // Also verify the transport checksum of an ICMP error's inner packet when the inner packet is
    // complete and not a fragment. RFC 7915 does not require translators to fix it, so off by default.
    bool inner_l4 = false;
};

// Verifies an emitted packet (bytes starting at the IP header, `len` = the whole packet):
//  IPv4: version, IHL, total length == len, header checksum, TTL != 0;
//  IPv6: version, payload length + 40 == len, extension header chain inside the packet;
//  when the packet is not a fragment: TCP/UDP checksums with their pseudo-header (UDP over IPv6
//  never zero), ICMPv4 without pseudo-header, ICMPv6 with it; for ICMP errors the inner IPv4 header
//  checksum when the inner header is complete.
// Returns the problems found (empty = good).
std::vector<std::string> check(const uint8_t *p, size_t len, const CheckOptions &opt = {});
inline std::vector<std::string> check(const Bytes &b, const CheckOptions &opt = {}) {
    return check(b.data(), b.size(), opt);
}
std::string join(const std::vector<std::string> &problems);

// For hostile inputs: the problems of an input packet as a translator sees it, i.e. also cut to
// the length its IP header gives (the bytes after it are link-layer padding).
std::vector<std::string> check_input(const uint8_t *p, size_t len, const CheckOptions &opt = {});
// An output problem is inherited from the input when the input already had one of the same kind
// (same text but for numbers and an "inner: " prefix: a translator carries a bad UDP length along,
// RFC 7915 does not ask it to validate transport headers), or when it is a wrong checksum and the
// input was invalid (an incremental update, RFC 7915 §4.5 / §5.5, keeps a wrong checksum wrong).
bool inherited(const std::string &problem, const std::vector<std::string> &input_problems);

// ---- Parsed view (used by the tests to compare fields) ----------------------------------------

struct Parsed {
    int version = 0;
    // Offset and protocol of the upper layer (after IPv4 options / IPv6 extension headers).
    size_t l4_off = 0;
    uint8_t l4_proto = 0;
    bool is_fragment = false;  // MF set or offset != 0 (an IPv6 atomic fragment is not one)
    bool has_frag_header = false;
    uint32_t frag_id = 0;       // IPv4 ID or IPv6 fragment identification
    uint16_t frag_offset = 0;   // in 8-byte units
    bool more_fragments = false;
    size_t frag_header_off = 0;  // IPv6: offset of the fragment header
    size_t unfragmentable_len = 0;  // IPv6: bytes before the fragment header; IPv4: header length
};
// Returns false when the packet is too broken to parse (check() says why).
bool parse(const uint8_t *p, size_t len, Parsed &out);
inline bool parse(const Bytes &b, Parsed &out) { return parse(b.data(), b.size(), out); }

// ---- Builder ---------------------------------------------------------------------------------

namespace proto {
constexpr uint8_t hopopt = 0, icmp = 1, tcp = 6, udp = 17, routing = 43, fragment = 44, icmp6 = 58,
                  no_next = 59, dstopts = 60;
}

struct V4 {
    uint8_t tos = 0;
    uint16_t id = 0;
    bool df = false;
    bool mf = false;
    uint16_t frag_offset = 0;  // 8-byte units
    uint8_t ttl = 64;
    uint8_t proto = proto::udp;
    uint8_t src[4] = {192, 0, 2, 1};
    uint8_t dst[4] = {198, 51, 100, 2};
    Bytes options;  // raw option bytes; padded with EOL (0) to a multiple of 4
};

struct V6Ext {
    uint8_t type;  // proto::hopopt, dstopts, routing (type 0-style, any), fragment
    Bytes body;    // bytes after the (next header, length) pair; padded to the 8-byte multiple
                   // with PadN. For a fragment header: ignored (use V6Frag).
};

struct V6Frag {
    uint16_t offset = 0;  // 8-byte units
    bool m = false;
    uint32_t id = 0;
};

struct V6 {
    uint8_t tc = 0;
    uint32_t flow = 0;
    uint8_t hlim = 64;
    uint8_t next = proto::udp;  // the upper-layer protocol
    uint8_t src[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    uint8_t dst[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    std::vector<V6Ext> ext;  // in order; a fragment header is added by build_ipv6_fragment
};

// Upper layers with a correct checksum for the given addresses (4 or 16 bytes each).
Bytes udp(const uint8_t *src, const uint8_t *dst, size_t addr_len, uint16_t sport, uint16_t dport,
          const Bytes &payload, bool zero_checksum = false);
struct TcpFields {
    uint16_t sport = 1024, dport = 80;
    uint32_t seq = 1, ack = 0;
    uint8_t flags = 0x18;  // PSH|ACK
    uint16_t window = 65535, urgent = 0;
    Bytes options;  // padded with NOP... EOL to a multiple of 4
};
Bytes tcp(const uint8_t *src, const uint8_t *dst, size_t addr_len, const TcpFields &f, const Bytes &payload);
// ICMPv4 message (no pseudo-header): type, code, 4 bytes of rest-of-header, body.
Bytes icmp4(uint8_t type, uint8_t code, uint32_t rest, const Bytes &body);
// ICMPv6 message with the pseudo-header of src/dst.
Bytes icmp6(const uint8_t src[16], const uint8_t dst[16], uint8_t type, uint8_t code, uint32_t rest,
            const Bytes &body);

// Whole packets. `l4` is the upper-layer bytes (already with their checksum).
Bytes ipv4(const V4 &h, const Bytes &l4);
Bytes ipv6(const V6 &h, const Bytes &l4);
// One IPv6 fragment: h.ext are the unfragmentable extension headers placed before the fragment
// header; `chunk` is the fragment's slice of the fragmentable part.
Bytes ipv6_fragment(const V6 &h, const V6Frag &f, const Bytes &chunk);

// Cuts a datagram's payload (the bytes after the IPv4 header) into IPv4 fragments of at most
// `max_data` bytes (rounded down to 8) each; options go in the first fragment only.
std::vector<Bytes> fragment_ipv4(const V4 &h, const Bytes &payload, size_t max_data);
// Same for IPv6 (`fragmentable` = everything after the fragment header in each piece).
std::vector<Bytes> fragment_ipv6(const V6 &h, uint32_t id, const Bytes &fragmentable, size_t max_data);

// Recomputes, as far as the packet can be parsed, its checksums in place: the IPv4 header checksum
// (when the IHL fits), and when the lengths agree and it is not a fragment the transport checksum
// (UDP only when not zero over IPv4) and, inside ICMPv4 errors, the inner IPv4 header checksum.
// Lets the malformed-input tests corrupt a field and still get past checksum validation.
void refresh_checksums(Bytes &b);

// Recomputes the IPv4 header checksum in place (for tests that corrupt a header and then fix it).
void fix_ipv4_header_checksum(uint8_t *p);

uint16_t get16(const uint8_t *p);
uint32_t get32(const uint8_t *p);
void put16(uint8_t *p, uint16_t v);
void put32(uint8_t *p, uint32_t v);

std::string hex(const uint8_t *p, size_t len);
inline std::string hex(const Bytes &b) { return hex(b.data(), b.size()); }

}  // namespace eamclat::pktcheck
