// Addresses and prefixes shared by the translator, the tables and the control plane.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace eamclat {

// An IPv6 address in network byte order.
struct Ip6 {
    std::array<uint8_t, 16> b{};

    // Two 64-bit compares, no memcmp call (the fast path compares addresses per packet).
    bool operator==(const Ip6 &o) const {
        uint64_t x[2], y[2];
        std::memcpy(x, b.data(), 16);
        std::memcpy(y, o.b.data(), 16);
        return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
    }
    bool operator!=(const Ip6 &o) const { return !(*this == o); }
    bool operator<(const Ip6 &o) const { return b < o.b; }

    static std::optional<Ip6> parse(std::string_view text);
    std::string str() const;
    // Bit i counted from the most significant bit of byte 0 (RFC notation).
    bool bit(unsigned i) const { return (b[i / 8] >> (7 - i % 8)) & 1; }
};

// IPv4 addresses are held in host byte order in every API (masks and arithmetic stay simple);
// they are converted to network order only when written into a header.
using Ip4 = uint32_t;
std::optional<Ip4> parse_ip4(std::string_view text);
std::string ip4_str(Ip4 addr);

struct Prefix4 {
    Ip4 addr = 0;  // host order, host bits zero
    uint8_t len = 0;

    static Ip4 mask(uint8_t len) { return len == 0 ? 0 : ~Ip4{0} << (32 - len); }
    bool contains(Ip4 a) const { return (a & mask(len)) == addr; }
    bool operator==(const Prefix4 &o) const { return addr == o.addr && len == o.len; }
    // Accepts "A.B.C.D/len" or a bare address (/32). Host bits set are an error (err says so).
    static std::optional<Prefix4> parse(std::string_view text, std::string *err = nullptr);
    std::string str() const;
};

struct Prefix6 {
    Ip6 addr{};  // host bits zero
    uint8_t len = 0;

    bool contains(const Ip6 &a) const;
    bool operator==(const Prefix6 &o) const { return addr == o.addr && len == o.len; }
    // Accepts "X::/len" or a bare address (/128). Host bits set are an error (err says so).
    static std::optional<Prefix6> parse(std::string_view text, std::string *err = nullptr);
    std::string str() const;
};

}  // namespace eamclat
