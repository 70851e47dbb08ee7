// Internet checksum helpers (RFC 1071, incremental update RFC 1624).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "types.hpp"

namespace eamclat::xlat::csum {

// Adds the bytes as 16-bit big-endian words to a one's complement accumulator; fold() reduces it.
// Eight bytes at a time: a big-endian 32-bit word hi * 2^16 + lo is congruent to hi + lo modulo
// 0xffff (2^16 = 1), so summing 32-bit words in 64 bits and folding the carries back (RFC 1071
// §2 (B), "byte order independence" and deferred carries) gives the same one's complement sum.
// The result is below 2^17 whatever the input (callers add a few small words before folding),
// zero only if sum and every byte were zero.
inline uint32_t add_bytes(uint32_t sum, const void *data, size_t len) {
    const uint8_t *p = static_cast<const uint8_t *>(data);
    uint64_t acc = sum;
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w = __builtin_bswap64(w);
        acc += (w >> 32) + (w & 0xffffffffu);
        p += 8;
        len -= 8;
    }
    while (len >= 2) {
        acc += static_cast<uint32_t>(p[0]) << 8 | p[1];
        p += 2;
        len -= 2;
    }
    if (len) acc += static_cast<uint32_t>(p[0]) << 8;
    acc = (acc >> 32) + (acc & 0xffffffffu);
    acc = (acc >> 16) + (acc & 0xffffu);
    acc = (acc >> 16) + (acc & 0xffffu);
    return static_cast<uint32_t>(acc);
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
