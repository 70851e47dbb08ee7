// The hash function of the tables' rte_hash instances: CRC32-C like rte_hash_crc, but reading the
// key with memcpy, so keys need no alignment (rte_hash_crc loads 8 bytes at a time through a
// uint64_t pointer: fine on x86, undefined behaviour in C++ and reported by UBSan). Same cost: the
// compiler turns the memcpy into the same unaligned load.
#pragma once

#include <rte_hash_crc.h>

#include <cstdint>
#include <cstring>

namespace eamclat::tables {

inline uint32_t hash_crc(const void *key, uint32_t len, uint32_t init) {
    const uint8_t *p = static_cast<const uint8_t *>(key);
    uint32_t h = init;
    for (; len >= 8; len -= 8, p += 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        h = rte_hash_crc_8byte(v, h);
    }
    if (len >= 4) {
        uint32_t v;
        memcpy(&v, p, 4);
        h = rte_hash_crc_4byte(v, h);
        len -= 4;
        p += 4;
    }
    for (; len; len--, p++) h = rte_hash_crc_1byte(*p, h);
    return h;
}

// Key comparison for rte_hash_set_cmp_func: rte_hash compares keys of 16, 32, ... 128 bytes with
// SSE and every other length with a memcmp call; the tables' 4, 8, 20 and 28-byte keys compare here
// with a few word loads instead. 0 when equal, as memcmp.
template <size_t N>
int key_cmp(const void *a, const void *b, size_t) {
    static_assert(N % 4 == 0);
    const uint8_t *x = static_cast<const uint8_t *>(a), *y = static_cast<const uint8_t *>(b);
    uint64_t diff = 0;
    size_t i = 0;
    for (; i + 8 <= N; i += 8) {
        uint64_t u, v;
        memcpy(&u, x + i, 8);
        memcpy(&v, y + i, 8);
        diff |= u ^ v;
    }
    if (i < N) {
        uint32_t u, v;
        memcpy(&u, x + i, 4);
        memcpy(&v, y + i, 4);
        diff |= u ^ v;
    }
    return diff != 0;
}

}  // namespace eamclat::tables
