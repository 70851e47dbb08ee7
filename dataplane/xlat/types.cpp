#include "types.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace eamclat {

std::optional<Ip6> Ip6::parse(std::string_view text) {
    if (text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
    char buf[INET6_ADDRSTRLEN];
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    Ip6 out;
    if (inet_pton(AF_INET6, buf, out.b.data()) != 1) return std::nullopt;
    return out;
}

std::string Ip6::str() const {
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, b.data(), buf, sizeof buf);
    return buf;
}

std::optional<Ip4> parse_ip4(std::string_view text) {
    if (text.size() >= INET_ADDRSTRLEN) return std::nullopt;
    char buf[INET_ADDRSTRLEN];
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    in_addr a;
    if (inet_pton(AF_INET, buf, &a) != 1) return std::nullopt;
    return ntohl(a.s_addr);
}

std::string ip4_str(Ip4 addr) {
    in_addr a{htonl(addr)};
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a, buf, sizeof buf);
    return buf;
}

namespace {
bool split_len(std::string_view text, std::string_view &addr, int &len, int max, std::string *err) {
    auto slash = text.find('/');
    addr = text.substr(0, slash);
    len = max;
    if (slash == std::string_view::npos) return true;
    auto l = text.substr(slash + 1);
    auto [p, ec] = std::from_chars(l.data(), l.data() + l.size(), len);
    if (ec != std::errc() || p != l.data() + l.size() || l.empty() || len < 0 || len > max) {
        if (err) *err = "prefix length must be 0.." + std::to_string(max);
        return false;
    }
    return true;
}
}  // namespace

std::optional<Prefix4> Prefix4::parse(std::string_view text, std::string *err) {
    std::string_view a;
    int len;
    if (!split_len(text, a, len, 32, err)) return std::nullopt;
    auto ip = parse_ip4(a);
    if (!ip) {
        if (err) *err = "not an IPv4 address: '" + std::string(a) + "'";
        return std::nullopt;
    }
    Prefix4 p{*ip, static_cast<uint8_t>(len)};
    if ((p.addr & ~mask(p.len)) != 0) {
        if (err) *err = "host bits set in " + std::string(text);
        return std::nullopt;
    }
    return p;
}

std::string Prefix4::str() const { return ip4_str(addr) + "/" + std::to_string(len); }

bool Prefix6::contains(const Ip6 &a) const {
    unsigned full = len / 8, rest = len % 8;
    if (std::memcmp(a.b.data(), addr.b.data(), full) != 0) return false;
    if (rest == 0) return true;
    uint8_t m = static_cast<uint8_t>(0xff << (8 - rest));
    return (a.b[full] & m) == addr.b[full];
}

std::optional<Prefix6> Prefix6::parse(std::string_view text, std::string *err) {
    std::string_view a;
    int len;
    if (!split_len(text, a, len, 128, err)) return std::nullopt;
    auto ip = Ip6::parse(a);
    if (!ip) {
        if (err) *err = "not an IPv6 address: '" + std::string(a) + "'";
        return std::nullopt;
    }
    Prefix6 p{*ip, static_cast<uint8_t>(len)};
    for (unsigned i = static_cast<unsigned>(len); i < 128; i++)
        if (p.addr.bit(i)) {
            if (err) *err = "host bits set in " + std::string(text);
            return std::nullopt;
        }
    return p;
}

std::string Prefix6::str() const { return addr.str() + "/" + std::to_string(len); }

}  // namespace eamclat
