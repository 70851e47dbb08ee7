// Internet checksum helpers (RFC 1071, incremental update RFC 1624).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "types.hpp"

namespace eamclat::xlat::csum {

// 32-bit accumulator of 16-bit big-endian words; fold() reduces it.
inline uint32_t add_bytes(uint32_t sum, const void *data, size_t len) {
    const uint8_t *p = static_cast<const uint8_t *>(data);
    while (len >= 2) {
        sum += static_cast<uint32_t>(p[0]) << 8 | p[1];
        p += 2;
        len -= 2;
    }
    if (len) sum += static_cast<uint32_t>(p[0]) << 8;
    // Keep headroom: fold occasionally is the caller's job for huge inputs; 64 KiB fits easily.
    return sum;
}

inline uint16_t fold(uint32_t sum) {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

// One's complement of the folded sum: the value to store in a checksum field (host order).
inline uint16_t finish(uint32_t sum) { return static_cast<uint16_t>(~fold(sum)); }

inline uint32_t add_ip4(uint32_t sum, Ip4 a) { return sum + (a >> 16) + (a & 0xffff); }
inline uint32_t add_ip6(uint32_t sum, const Ip6 &a) { return add_bytes(sum, a.b.data(), 16); }

// Sum of the IPv4 pseudo-header (RFC 768/793) for an upper-layer length and protocol.
inline uint32_t pseudo4(Ip4 src, Ip4 dst, uint8_t proto, uint32_t l4_len) {
    uint32_t s = add_ip4(add_ip4(0, src), dst);
    return s + proto + (l4_len & 0xffff) + (l4_len >> 16);
}

// Sum of the IPv6 pseudo-header (RFC 8200 §8.1).
inline uint32_t pseudo6(const Ip6 &src, const Ip6 &dst, uint8_t next_header, uint32_t l4_len) {
    uint32_t s = add_ip6(add_ip6(0, src), dst);
    return s + next_header + (l4_len & 0xffff) + (l4_len >> 16);
}

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), with old_sum/new_sum the sums of the removed and
// added words. Checksum values in host order.
inline uint16_t update(uint16_t old_checksum, uint32_t old_sum, uint32_t new_sum) {
    uint32_t s = static_cast<uint16_t>(~old_checksum);
    s += static_cast<uint16_t>(~fold(old_sum));
    s += fold(new_sum);
    return finish(s);
}

inline uint16_t load16(const uint8_t *p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline void store16(uint8_t *p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}

}  // namespace eamclat::xlat::csum
