// Independent packet checker and builder: see pktcheck.hpp. Plain byte arithmetic on purpose: no
// unaligned casts, no byte-order helpers from DPDK, nothing shared with the code under test.
#include "pktcheck.hpp"

#include <cctype>
#include <cstdio>

namespace eamclat::pktcheck {

uint16_t get16(const uint8_t *p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t get32(const uint8_t *p) {
    return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
           static_cast<uint32_t>(p[2]) << 8 | p[3];
}
void put16(uint8_t *p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t *p, uint32_t v) {
    put16(p, static_cast<uint16_t>(v >> 16));
    put16(p + 2, static_cast<uint16_t>(v));
}

// RFC 1071 §4.1, the reference algorithm: add 16-bit words into a 32-bit accumulator, fold the
// carries back in. Folding inside the loop keeps the accumulator from overflowing on 64 KiB inputs.
uint32_t ones_sum(const uint8_t *p, size_t len, uint32_t sum) {
    size_t i = 0;
    for (; i + 1 < len; i += 2) {
        sum += static_cast<uint32_t>(p[i]) << 8 | p[i + 1];
        if (sum & 0x80000000u) sum = (sum & 0xffff) + (sum >> 16);
    }
    if (i < len) sum += static_cast<uint32_t>(p[i]) << 8;
    return sum;
}

uint16_t fold(uint32_t sum) {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

uint16_t checksum(const uint8_t *p, size_t len, uint32_t initial) {
    return static_cast<uint16_t>(~fold(ones_sum(p, len, initial)));
}

uint32_t pseudo4(const uint8_t src[4], const uint8_t dst[4], uint8_t proto, uint32_t upper_len) {
    uint8_t ph[12] = {src[0], src[1], src[2], src[3], dst[0], dst[1], dst[2], dst[3], 0, proto, 0, 0};
    put16(ph + 10, static_cast<uint16_t>(upper_len));
    return ones_sum(ph, sizeof ph);
}

uint32_t pseudo6(const uint8_t src[16], const uint8_t dst[16], uint8_t next_header, uint32_t upper_len) {
    uint8_t ph[40] = {};
    for (int i = 0; i < 16; i++) {
        ph[i] = src[i];
        ph[16 + i] = dst[i];
    }
    put32(ph + 32, upper_len);
    ph[39] = next_header;
    return ones_sum(ph, sizeof ph);
}

std::string hex(const uint8_t *p, size_t len) {
    // Table-driven: the tests build a dump of every packet they check (Catch formats INFO eagerly).
    static const char digits[] = "0123456789abcdef";
    std::string s;
    s.reserve(len * 3);
    for (size_t i = 0; i < len; i++) {
        s += digits[p[i] >> 4];
        s += digits[p[i] & 0xf];
        if (i + 1 < len) s += (i % 16 == 15) ? '\n' : ' ';
    }
    return s;
}

std::string join(const std::vector<std::string> &problems) {
    std::string s;
    for (const auto &p : problems) {
        if (!s.empty()) s += "; ";
        s += p;
    }
    return s;
}

namespace {

struct Problems {
    std::vector<std::string> list;
    std::string where;
    void add(const std::string &what) { list.push_back(where + what); }
};

std::string num(uint64_t v) { return std::to_string(v); }
std::string hex16(uint16_t v) {
    char b[8];
    snprintf(b, sizeof b, "0x%04x", v);
    return b;
}

bool is_icmp4_error(uint8_t type) { return type == 3 || type == 4 || type == 5 || type == 11 || type == 12; }

void check_ipv4(const uint8_t *p, size_t len, Problems &pr, const CheckOptions &opt, bool inner);
void check_ipv6(const uint8_t *p, size_t len, Problems &pr, const CheckOptions &opt, bool inner);

// Transport checksum of a complete upper layer. `pseudo` is the pseudo-header partial sum.
void check_l4(uint8_t proto, const uint8_t *l4, size_t l4len, uint32_t pseudo, bool v6, Problems &pr,
              bool inner = false) {
    switch (proto) {
    case proto::udp: {
        if (l4len < 8) {
            pr.add("UDP shorter than its header (" + num(l4len) + " bytes)");
            return;
        }
        if (get16(l4 + 4) != l4len) pr.add("UDP length " + num(get16(l4 + 4)) + " != " + num(l4len));
        if (get16(l4 + 6) == 0) {
            // RFC 8200 §8.1: zero is not allowed over IPv6; over IPv4 it means "no checksum".
            // Not flagged in an ICMP error's quoted packet: an IPv4 sender's zero may be carried
            // there (RFC 7915 §4.5 is about the packets the translator forwards).
            if (v6 && !inner) pr.add("UDP checksum zero over IPv6");
            return;
        }
        if (fold(ones_sum(l4, l4len, pseudo)) != 0xffff)
            pr.add("UDP checksum wrong (field " + hex16(get16(l4 + 6)) + ", want " +
                   hex16(static_cast<uint16_t>(~fold(ones_sum(l4, l4len, pseudo) +
                                                     static_cast<uint16_t>(~get16(l4 + 6)))))
                   + ")");
        return;
    }
    case proto::tcp: {
        if (l4len < 20) {
            pr.add("TCP shorter than its header (" + num(l4len) + " bytes)");
            return;
        }
        unsigned doff = l4[12] >> 4;
        if (doff < 5 || doff * 4u > l4len) pr.add("TCP data offset " + num(doff) + " bad for " + num(l4len) + " bytes");
        if (fold(ones_sum(l4, l4len, pseudo)) != 0xffff) pr.add("TCP checksum wrong (field " + hex16(get16(l4 + 16)) + ")");
        return;
    }
    default:
        return;
    }
}

// An ICMPv4 / ICMPv6 error's inner packet (possibly truncated).
void check_inner(const uint8_t *p, size_t len, bool v6, Problems &pr, const CheckOptions &opt) {
    Problems inner;
    inner.where = pr.where + "inner: ";
    if (v6) {
        if (len < 40) return;  // a truncated inner header has nothing checkable
        if ((p[0] >> 4) != 6) {
            inner.add("version " + num(p[0] >> 4) + " in an ICMPv6 error");
        } else if (get16(p + 4) + 40u == len) {
            check_ipv6(p, len, inner, opt, true);
        }
    } else {
        if (len < 20) return;
        if ((p[0] >> 4) != 4) {
            inner.add("version " + num(p[0] >> 4) + " in an ICMPv4 error");
        } else {
            unsigned ihl = (p[0] & 0xf) * 4u;
            if (ihl < 20) {
                inner.add("IHL " + num(ihl / 4));
            } else if (ihl <= len) {
                if (fold(ones_sum(p, ihl)) != 0xffff) inner.add("IPv4 header checksum wrong");
                if (get16(p + 2) < ihl) inner.add("total length " + num(get16(p + 2)) + " < IHL");
                if (get16(p + 2) == len) check_ipv4(p, len, inner, opt, true);
            }
        }
    }
    for (auto &s : inner.list) pr.list.push_back(s);
}

void check_icmp4(const uint8_t *l4, size_t l4len, Problems &pr, const CheckOptions &opt, bool inner) {
    if (l4len < 8) {
        pr.add("ICMPv4 shorter than 8 bytes");
        return;
    }
    if (fold(ones_sum(l4, l4len)) != 0xffff) pr.add("ICMPv4 checksum wrong (field " + hex16(get16(l4 + 2)) + ")");
    if (!inner && is_icmp4_error(l4[0])) check_inner(l4 + 8, l4len - 8, false, pr, opt);
}

void check_icmp6(const uint8_t *l4, size_t l4len, uint32_t pseudo, Problems &pr, const CheckOptions &opt, bool inner) {
    if (l4len < 8) {
        pr.add("ICMPv6 shorter than 8 bytes");
        return;
    }
    if (fold(ones_sum(l4, l4len, pseudo)) != 0xffff) pr.add("ICMPv6 checksum wrong (field " + hex16(get16(l4 + 2)) + ")");
    if (!inner && l4[0] < 128) check_inner(l4 + 8, l4len - 8, true, pr, opt);
}

void check_ipv4(const uint8_t *p, size_t len, Problems &pr, const CheckOptions &opt, bool inner) {
    if (len < 20) {
        pr.add("IPv4 packet shorter than 20 bytes (" + num(len) + ")");
        return;
    }
    if ((p[0] >> 4) != 4) pr.add("IPv4 version field " + num(p[0] >> 4));
    unsigned ihl = (p[0] & 0xf) * 4u;
    if (ihl < 20 || ihl > len) {
        pr.add("IPv4 IHL " + num(ihl / 4) + " bad for " + num(len) + " bytes");
        return;
    }
    uint16_t total = get16(p + 2);
    if (total != len) pr.add("IPv4 total length " + num(total) + " != packet length " + num(len));
    if (fold(ones_sum(p, ihl)) != 0xffff) pr.add("IPv4 header checksum wrong (field " + hex16(get16(p + 10)) + ")");
    if (!inner && p[8] == 0) pr.add("IPv4 TTL 0 emitted");
    uint16_t frag = get16(p + 6);
    if (frag & 0x8000) pr.add("IPv4 reserved flag set");
    if (total != len) return;  // L4 bounds unknown
    bool fragment = (frag & 0x2000) || (frag & 0x1fff);
    if (fragment) return;  // RFC 7915 translators cannot (and we do not) verify L4 of fragments
    const uint8_t *l4 = p + ihl;
    size_t l4len = len - ihl;
    uint8_t proto = p[9];
    if (proto == 51) {  // AH (RFC 4302): the same header in IPv4 and IPv6; its length must fit
        if (l4len < 8) pr.add("AH past the end");
        else if ((l4[1] + 2u) * 4u > l4len) pr.add("AH length past the end");
    } else if (proto == proto::icmp) {
        check_icmp4(l4, l4len, pr, opt, inner);
    } else if (proto == proto::icmp6) {
        pr.add("ICMPv6 (58) carried over IPv4");
    } else if (!inner || opt.inner_l4) {
        check_l4(proto, l4, l4len, pseudo4(p + 12, p + 16, proto, static_cast<uint32_t>(l4len)), false, pr);
    }
}

// Walks the extension headers (RFC 8200 §4). Returns false if the chain leaves the packet.
bool walk6(const uint8_t *p, size_t len, Parsed &out, Problems *pr) {
    uint8_t nh = p[6];
    size_t off = 40;
    bool first = true;
    for (;;) {
        switch (nh) {
        case proto::hopopt:
            if (!first && pr) pr->add("hop-by-hop options header not first");
            [[fallthrough]];
        case proto::routing:
        case proto::dstopts: {
            if (off + 8 > len) {
                if (pr) pr->add("extension header " + num(nh) + " past the end");
                return false;
            }
            size_t hl = (p[off + 1] + 1u) * 8u;
            if (off + hl > len) {
                if (pr) pr->add("extension header " + num(nh) + " length past the end");
                return false;
            }
            nh = p[off];
            off += hl;
            break;
        }
        case proto::fragment: {
            if (off + 8 > len) {
                if (pr) pr->add("fragment header past the end");
                return false;
            }
            if (out.has_frag_header && pr) pr->add("two fragment headers");
            out.has_frag_header = true;
            out.frag_header_off = off;
            out.unfragmentable_len = off;
            uint16_t fo = get16(p + off + 2);
            out.frag_offset = fo >> 3;
            out.more_fragments = fo & 1;
            out.frag_id = get32(p + off + 4);
            out.is_fragment = out.frag_offset != 0 || out.more_fragments;
            nh = p[off];
            off += 8;
            break;
        }
        case 51: {  // AH: length in 4-byte units minus 2
            if (off + 8 > len) {
                if (pr) pr->add("AH past the end");
                return false;
            }
            size_t hl = (p[off + 1] + 2u) * 4u;
            if (off + hl > len) {
                if (pr) pr->add("AH length past the end");
                return false;
            }
            nh = p[off];
            off += hl;
            break;
        }
        default:
            out.l4_off = off;
            out.l4_proto = nh;
            return true;
        }
        first = false;
        if (out.is_fragment) {  // what follows a non-first fragment's header is not a header
            out.l4_off = off;
            out.l4_proto = nh;
            return true;
        }
    }
}

void check_ipv6(const uint8_t *p, size_t len, Problems &pr, const CheckOptions &opt, bool inner) {
    if (len < 40) {
        pr.add("IPv6 packet shorter than 40 bytes (" + num(len) + ")");
        return;
    }
    if ((p[0] >> 4) != 6) pr.add("IPv6 version field " + num(p[0] >> 4));
    uint16_t plen = get16(p + 4);
    if (plen + 40u != len) {
        pr.add("IPv6 payload length " + num(plen) + " != packet length - 40 (" + num(len - 40) + ")");
        return;
    }
    if (!inner && p[7] == 0) pr.add("IPv6 hop limit 0 emitted");
    Parsed ps;
    if (!walk6(p, len, ps, &pr)) return;
    if (ps.is_fragment) return;
    const uint8_t *l4 = p + ps.l4_off;
    size_t l4len = len - ps.l4_off;
    uint32_t pseudo = pseudo6(p + 8, p + 24, ps.l4_proto, static_cast<uint32_t>(l4len));
    if (ps.l4_proto == proto::icmp6) {
        check_icmp6(l4, l4len, pseudo, pr, opt, inner);
    } else if (ps.l4_proto == proto::icmp) {
        pr.add("ICMPv4 (1) carried over IPv6");
    } else if (!inner || opt.inner_l4) {
        check_l4(ps.l4_proto, l4, l4len, pseudo, true, pr, inner);
    }
}

}  // namespace

std::vector<std::string> check(const uint8_t *p, size_t len, const CheckOptions &opt) {
    Problems pr;
    if (len == 0) {
        pr.add("empty packet");
        return pr.list;
    }
    switch (p[0] >> 4) {
    case 4:
        check_ipv4(p, len, pr, opt, false);
        break;
    case 6:
        check_ipv6(p, len, pr, opt, false);
        break;
    default:
        pr.add("IP version " + num(p[0] >> 4));
    }
    return pr.list;
}

std::vector<std::string> check_input(const uint8_t *p, size_t len, const CheckOptions &opt) {
    std::vector<std::string> problems = check(p, len, opt);
    size_t ip_len = len;
    if (len >= 20 && (p[0] >> 4) == 4) ip_len = get16(p + 2);
    if (len >= 40 && (p[0] >> 4) == 6) ip_len = get16(p + 4) + 40u;
    if (ip_len < len)
        for (const auto &s : check(p, ip_len, opt)) problems.push_back(s);
    return problems;
}

namespace {
std::string problem_kind(std::string p) {
    if (p.rfind("inner: ", 0) == 0) p = p.substr(7);
    std::string k;
    for (size_t i = 0; i < p.size(); i++) {
        if (p.compare(i, 2, "0x") == 0) {
            i++;
            while (i + 1 < p.size() && isxdigit(static_cast<unsigned char>(p[i + 1]))) i++;
            continue;
        }
        if (!isdigit(static_cast<unsigned char>(p[i]))) k += p[i];
    }
    return k;
}
}  // namespace

bool inherited(const std::string &problem, const std::vector<std::string> &input_problems) {
    if (input_problems.empty()) return false;
    if (problem.find("checksum wrong") != std::string::npos) return true;
    for (const auto &ip : input_problems)
        if (problem_kind(ip) == problem_kind(problem)) return true;
    return false;
}

bool parse(const uint8_t *p, size_t len, Parsed &out) {
    out = Parsed{};
    if (len < 1) return false;
    out.version = p[0] >> 4;
    if (out.version == 4) {
        if (len < 20) return false;
        size_t ihl = (p[0] & 0xf) * 4u;
        if (ihl < 20 || ihl > len) return false;
        out.l4_off = ihl;
        out.l4_proto = p[9];
        out.unfragmentable_len = ihl;
        uint16_t f = get16(p + 6);
        out.frag_id = get16(p + 4);
        out.frag_offset = f & 0x1fff;
        out.more_fragments = f & 0x2000;
        out.is_fragment = out.frag_offset || out.more_fragments;
        return true;
    }
    if (out.version == 6) {
        if (len < 40) return false;
        return walk6(p, len, out, nullptr);
    }
    return false;
}

// ---- Builder ---------------------------------------------------------------------------------

namespace {

uint32_t pseudo_any(const uint8_t *src, const uint8_t *dst, size_t addr_len, uint8_t proto, size_t len) {
    return addr_len == 4 ? pseudo4(src, dst, proto, static_cast<uint32_t>(len))
                         : pseudo6(src, dst, proto, static_cast<uint32_t>(len));
}

}  // namespace

Bytes udp(const uint8_t *src, const uint8_t *dst, size_t addr_len, uint16_t sport, uint16_t dport,
          const Bytes &payload, bool zero_checksum) {
    Bytes b(8 + payload.size());
    put16(&b[0], sport);
    put16(&b[2], dport);
    put16(&b[4], static_cast<uint16_t>(b.size()));
    std::copy(payload.begin(), payload.end(), b.begin() + 8);
    if (!zero_checksum) {
        uint16_t c = checksum(b.data(), b.size(), pseudo_any(src, dst, addr_len, proto::udp, b.size()));
        put16(&b[6], c == 0 ? 0xffff : c);  // RFC 768: a computed zero is sent as all ones
    }
    return b;
}

Bytes tcp(const uint8_t *src, const uint8_t *dst, size_t addr_len, const TcpFields &f, const Bytes &payload) {
    Bytes opts = f.options;
    while (opts.size() % 4) opts.push_back(0);
    Bytes b(20 + opts.size() + payload.size());
    put16(&b[0], f.sport);
    put16(&b[2], f.dport);
    put32(&b[4], f.seq);
    put32(&b[8], f.ack);
    b[12] = static_cast<uint8_t>(((20 + opts.size()) / 4) << 4);
    b[13] = f.flags;
    put16(&b[14], f.window);
    put16(&b[18], f.urgent);
    std::copy(opts.begin(), opts.end(), b.begin() + 20);
    std::copy(payload.begin(), payload.end(), b.begin() + 20 + static_cast<long>(opts.size()));
    put16(&b[16], checksum(b.data(), b.size(), pseudo_any(src, dst, addr_len, proto::tcp, b.size())));
    return b;
}

Bytes icmp4(uint8_t type, uint8_t code, uint32_t rest, const Bytes &body) {
    Bytes b(8 + body.size());
    b[0] = type;
    b[1] = code;
    put32(&b[4], rest);
    std::copy(body.begin(), body.end(), b.begin() + 8);
    put16(&b[2], checksum(b.data(), b.size()));
    return b;
}

Bytes icmp6(const uint8_t src[16], const uint8_t dst[16], uint8_t type, uint8_t code, uint32_t rest,
            const Bytes &body) {
    Bytes b(8 + body.size());
    b[0] = type;
    b[1] = code;
    put32(&b[4], rest);
    std::copy(body.begin(), body.end(), b.begin() + 8);
    put16(&b[2], checksum(b.data(), b.size(), pseudo6(src, dst, proto::icmp6, static_cast<uint32_t>(b.size()))));
    return b;
}

void fix_ipv4_header_checksum(uint8_t *p) {
    size_t ihl = (p[0] & 0xf) * 4u;
    p[10] = p[11] = 0;
    put16(p + 10, checksum(p, ihl));
}

void refresh_checksums(Bytes &b) {
    if (b.empty()) return;
    uint8_t *p = b.data();
    size_t len = b.size();
    if ((p[0] >> 4) == 4) {
        size_t ihl = (p[0] & 0xf) * 4u;
        if (len < 20 || ihl < 20 || ihl > len) return;
        fix_ipv4_header_checksum(p);
        uint16_t frag = get16(p + 6);
        if (get16(p + 2) != len || (frag & 0x3fff)) return;
        uint8_t *l4 = p + ihl;
        size_t l4len = len - ihl;
        switch (p[9]) {
        case proto::icmp:
            if (l4len < 8) return;
            if (is_icmp4_error(l4[0]) && l4len >= 28) {
                size_t iihl = (l4[8] & 0xf) * 4u;
                if ((l4[8] >> 4) == 4 && iihl >= 20 && 8 + iihl <= l4len) fix_ipv4_header_checksum(l4 + 8);
            }
            l4[2] = l4[3] = 0;
            put16(l4 + 2, checksum(l4, l4len));
            return;
        case proto::udp:
            if (l4len < 8 || get16(l4 + 6) == 0) return;
            l4[6] = l4[7] = 0;
            put16(l4 + 6, checksum(l4, l4len, pseudo4(p + 12, p + 16, proto::udp, static_cast<uint32_t>(l4len))));
            if (get16(l4 + 6) == 0) put16(l4 + 6, 0xffff);
            return;
        case proto::tcp:
            if (l4len < 20) return;
            l4[16] = l4[17] = 0;
            put16(l4 + 16, checksum(l4, l4len, pseudo4(p + 12, p + 16, proto::tcp, static_cast<uint32_t>(l4len))));
            return;
        default:
            return;
        }
    }
    if ((p[0] >> 4) == 6) {
        if (len < 40 || get16(p + 4) + 40u != len) return;
        Parsed ps;
        if (!walk6(p, len, ps, nullptr) || ps.is_fragment) return;
        uint8_t *l4 = p + ps.l4_off;
        size_t l4len = len - ps.l4_off;
        size_t at;
        switch (ps.l4_proto) {
        case proto::icmp6: at = 2; if (l4len < 8) return; break;
        case proto::udp: at = 6; if (l4len < 8) return; break;
        case proto::tcp: at = 16; if (l4len < 20) return; break;
        default: return;
        }
        l4[at] = l4[at + 1] = 0;
        uint16_t c = checksum(l4, l4len, pseudo6(p + 8, p + 24, ps.l4_proto, static_cast<uint32_t>(l4len)));
        if (c == 0 && ps.l4_proto == proto::udp) c = 0xffff;
        put16(l4 + at, c);
    }
}

Bytes ipv4(const V4 &h, const Bytes &l4) {
    Bytes opts = h.options;
    while (opts.size() % 4) opts.push_back(0);
    size_t hl = 20 + opts.size();
    Bytes b(hl + l4.size());
    b[0] = static_cast<uint8_t>(0x40 | (hl / 4));
    b[1] = h.tos;
    put16(&b[2], static_cast<uint16_t>(b.size()));
    put16(&b[4], h.id);
    put16(&b[6], static_cast<uint16_t>((h.df ? 0x4000 : 0) | (h.mf ? 0x2000 : 0) | (h.frag_offset & 0x1fff)));
    b[8] = h.ttl;
    b[9] = h.proto;
    for (int i = 0; i < 4; i++) {
        b[12 + i] = h.src[i];
        b[16 + i] = h.dst[i];
    }
    std::copy(opts.begin(), opts.end(), b.begin() + 20);
    std::copy(l4.begin(), l4.end(), b.begin() + static_cast<long>(hl));
    fix_ipv4_header_checksum(b.data());
    return b;
}

namespace {

// Serializes the extension headers of `h` followed by a fragment header (if frag) and returns the
// bytes; `last_next` is the Next Header of the last header written.
Bytes ext_chain(const V6 &h, const V6Frag *frag, uint8_t upper, uint8_t &first_next) {
    Bytes out;
    std::vector<uint8_t> types;
    for (const auto &e : h.ext) types.push_back(e.type);
    if (frag) types.push_back(proto::fragment);
    first_next = types.empty() ? upper : types[0];
    for (size_t i = 0; i < h.ext.size(); i++) {
        uint8_t next = i + 1 < types.size() ? types[i + 1] : upper;
        Bytes body = h.ext[i].body;
        size_t total = 2 + body.size();
        size_t padded = (total + 7) / 8 * 8;
        size_t pad = padded - total;
        // RFC 8200 §4.2 padding options: Pad1 for one byte, PadN otherwise.
        if (pad == 1) {
            body.push_back(0);
        } else if (pad > 1) {
            body.push_back(1);
            body.push_back(static_cast<uint8_t>(pad - 2));
            for (size_t k = 0; k < pad - 2; k++) body.push_back(0);
        }
        out.push_back(next);
        out.push_back(static_cast<uint8_t>(padded / 8 - 1));
        out.insert(out.end(), body.begin(), body.end());
    }
    if (frag) {
        uint8_t fh[8] = {upper, 0, 0, 0, 0, 0, 0, 0};
        put16(fh + 2, static_cast<uint16_t>((frag->offset << 3) | (frag->m ? 1 : 0)));
        put32(fh + 4, frag->id);
        out.insert(out.end(), fh, fh + 8);
    }
    return out;
}

Bytes ipv6_raw(const V6 &h, const V6Frag *frag, const Bytes &l4) {
    uint8_t first_next = 0;
    Bytes ext = ext_chain(h, frag, h.next, first_next);
    Bytes b(40 + ext.size() + l4.size());
    put32(&b[0], 0x60000000u | static_cast<uint32_t>(h.tc) << 20 | (h.flow & 0xfffff));
    put16(&b[4], static_cast<uint16_t>(ext.size() + l4.size()));
    b[6] = first_next;
    b[7] = h.hlim;
    for (int i = 0; i < 16; i++) {
        b[8 + i] = h.src[i];
        b[24 + i] = h.dst[i];
    }
    std::copy(ext.begin(), ext.end(), b.begin() + 40);
    std::copy(l4.begin(), l4.end(), b.begin() + 40 + static_cast<long>(ext.size()));
    return b;
}

}  // namespace

Bytes ipv6(const V6 &h, const Bytes &l4) { return ipv6_raw(h, nullptr, l4); }

Bytes ipv6_fragment(const V6 &h, const V6Frag &f, const Bytes &chunk) { return ipv6_raw(h, &f, chunk); }

std::vector<Bytes> fragment_ipv4(const V4 &h, const Bytes &payload, size_t max_data) {
    std::vector<Bytes> out;
    size_t step = max_data / 8 * 8;
    if (step == 0) step = 8;
    for (size_t off = 0; off < payload.size() || (off == 0 && payload.empty()); off += step) {
        size_t n = std::min(step, payload.size() - off);
        V4 f = h;
        f.df = false;
        f.frag_offset = static_cast<uint16_t>(h.frag_offset + off / 8);
        f.mf = h.mf || off + n < payload.size();
        if (off) f.options.clear();
        out.push_back(ipv4(f, Bytes(payload.begin() + static_cast<long>(off), payload.begin() + static_cast<long>(off + n))));
        if (payload.empty()) break;
    }
    return out;
}

std::vector<Bytes> fragment_ipv6(const V6 &h, uint32_t id, const Bytes &fragmentable, size_t max_data) {
    std::vector<Bytes> out;
    size_t step = max_data / 8 * 8;
    if (step == 0) step = 8;
    for (size_t off = 0; off < fragmentable.size() || (off == 0 && fragmentable.empty()); off += step) {
        size_t n = std::min(step, fragmentable.size() - off);
        V6Frag f{static_cast<uint16_t>(off / 8), off + n < fragmentable.size(), id};
        out.push_back(ipv6_fragment(
            h, f, Bytes(fragmentable.begin() + static_cast<long>(off), fragmentable.begin() + static_cast<long>(off + n))));
        if (fragmentable.empty()) break;
    }
    return out;
}

}  // namespace eamclat::pktcheck
