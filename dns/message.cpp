#include "message.hpp"

#include <cctype>
#include <cstring>

namespace eamclat::dns {

namespace {

struct Reader {
    std::span<const uint8_t> w;
    size_t pos = 0;
    std::string *err;

    bool fail(const char *what) {
        if (err) *err = std::string(what) + " at offset " + std::to_string(pos);
        return false;
    }
    bool u16(uint16_t &v) {
        if (pos + 2 > w.size()) return fail("truncated");
        v = uint16_t(w[pos] << 8 | w[pos + 1]);
        pos += 2;
        return true;
    }
    bool u32(uint32_t &v) {
        if (pos + 4 > w.size()) return fail("truncated");
        v = uint32_t(w[pos]) << 24 | uint32_t(w[pos + 1]) << 16 | uint32_t(w[pos + 2]) << 8 | w[pos + 3];
        pos += 4;
        return true;
    }
    // RFC 1035 §4.1.4: a pointer must point to an earlier name; we also bound the hops.
    bool name_at(size_t &p, std::string &out, bool advance_outer, std::vector<uint8_t> *wire = nullptr) {
        size_t cur = p;
        bool jumped = false;
        unsigned hops = 0, labels = 0, octets = 1;
        out.clear();
        for (;;) {
            if (cur >= w.size()) return fail("name runs past the message");
            uint8_t len = w[cur];
            if ((len & 0xc0) == 0xc0) {
                if (cur + 1 >= w.size()) return fail("truncated compression pointer");
                size_t target = size_t(len & 0x3f) << 8 | w[cur + 1];
                if (target >= cur) return fail("compression pointer not backwards");
                if (++hops > 64) return fail("too many compression pointers");
                if (!jumped && advance_outer) p = cur + 2;
                jumped = true;
                cur = target;
                continue;
            }
            if (len & 0xc0) return fail("unknown label type");
            if (len == 0) {
                if (!jumped && advance_outer) p = cur + 1;
                if (wire) wire->push_back(0);
                return true;
            }
            if (cur + 1 + len > w.size()) return fail("label runs past the message");
            octets += len + 1u;
            if (++labels > 127 || octets > 255) return fail("name too long");
            if (!out.empty()) out.push_back('.');
            // RFC 4343 §2: only ASCII letters compare case-insensitively.
            const size_t at = out.size();
            out.append(reinterpret_cast<const char *>(w.data() + cur + 1), len);
            for (size_t i = at; i < out.size(); i++)
                if (out[i] >= 'A' && out[i] <= 'Z') out[i] = char(out[i] + ('a' - 'A'));
            if (wire) wire->insert(wire->end(), w.begin() + long(cur), w.begin() + long(cur + 1 + len));
            cur += 1 + len;
        }
    }
    bool name(std::string &out) { return name_at(pos, out, true); }
};

// The i-th element of a vector being refilled: reused when it exists (its strings keep their
// capacity: the proxy parses into the same Message again and again), appended otherwise.
template <class T>
T &refill(std::vector<T> &v, size_t i) {
    return i < v.size() ? v[i] : v.emplace_back();
}

bool parse_records(Reader &r, uint16_t count, std::vector<Record> &out, Message *m, bool additional) {
    if (out.capacity() < count) out.reserve(count < 64 ? count : 64);
    size_t n = 0;
    for (unsigned i = 0; i < count; i++) {
        Record &rec = refill(out, n++);
        uint16_t rdlen = 0;
        if (!r.name(rec.name) || !r.u16(rec.rtype) || !r.u16(rec.rclass) || !r.u32(rec.ttl) || !r.u16(rdlen))
            return false;
        if (r.pos + rdlen > r.w.size()) return r.fail("rdata runs past the message");
        rec.rdata_offset = uint16_t(r.pos);
        rec.rdata_length = rdlen;
        rec.target.clear();
        if (rec.rtype == type::CNAME) {
            size_t p = r.pos;
            if (!r.name_at(p, rec.target, true)) return false;
            if (p != r.pos + rdlen) return r.fail("CNAME rdata length mismatch");
        }
        if (rec.rtype == type::A && rdlen != 4) return r.fail("A rdata not 4 octets");
        if (rec.rtype == type::AAAA && rdlen != 16) return r.fail("AAAA rdata not 16 octets");
        if (additional && rec.rtype == type::OPT && m) {
            if (m->has_edns) return r.fail("more than one OPT record");  // RFC 6891 §6.1.1
            m->has_edns = true;
            m->edns_udp_size = rec.rclass < 512 ? 512 : rec.rclass;
            m->edns_do = rec.ttl & 0x8000;
        }
        r.pos += rdlen;
        // Keep TTLs sane: RFC 2181 §8 treats values with the top bit set as zero.
        if (rec.rtype != type::OPT && (rec.ttl & 0x80000000u)) rec.ttl = 0;
    }
    out.resize(n);
    return true;
}

}  // namespace

bool parse(std::span<const uint8_t> wire, Message &m, std::string *err) {
    Reader r{wire, 0, err};
    uint16_t qd = 0, an = 0, ns = 0, ar = 0;
    m.id = m.flags = 0;
    m.has_edns = false;
    m.edns_udp_size = 512;
    m.edns_do = false;
    if (wire.size() < 12) return r.fail("shorter than a DNS header");
    r.u16(m.id);
    r.u16(m.flags);
    r.u16(qd);
    r.u16(an);
    r.u16(ns);
    r.u16(ar);
    if (qd > 1) return r.fail("more than one question");  // every real resolver uses exactly one
    for (unsigned i = 0; i < qd; i++) {
        Question &q = refill(m.questions, i);
        q.wire.clear();
        if (!r.name_at(r.pos, q.name, true, &q.wire) || !r.u16(q.qtype) || !r.u16(q.qclass)) return false;
    }
    m.questions.resize(qd);
    return parse_records(r, an, m.answers, nullptr, false) && parse_records(r, ns, m.authority, nullptr, false) &&
           parse_records(r, ar, m.additional, &m, true);
}

std::optional<Message> parse(std::span<const uint8_t> wire, std::string *err) {
    std::optional<Message> m(std::in_place);
    if (!parse(wire, *m, err)) return std::nullopt;
    return m;
}

Addresses addresses(const Message &m, std::span<const uint8_t> wire) {
    Addresses out;
    if (m.questions.empty()) return out;
    std::string name = m.questions[0].name;
    uint32_t chain_ttl = UINT32_MAX;
    // Follow CNAMEs (RFC 1034 §3.6.2); 16 hops is far beyond real chains and stops loops.
    for (unsigned hop = 0;; hop++) {
        const Record *next = nullptr;
        for (const auto &r : m.answers)
            if (r.rtype == type::CNAME && r.rclass == 1 && r.name == name) {
                next = &r;
                break;
            }
        if (!next) break;
        if (hop >= 16) {
            out.chain_broken = true;
            return out;
        }
        chain_ttl = std::min(chain_ttl, next->ttl);
        name = next->target;
    }
    out.final_name = name;
    for (const auto &r : m.answers) {
        if (r.rclass != 1 || r.name != name) continue;
        const uint8_t *p = wire.data() + r.rdata_offset;
        uint32_t ttl = std::min(chain_ttl, r.ttl);
        if (r.rtype == type::A) {
            out.a.emplace_back(Ip4(p[0]) << 24 | Ip4(p[1]) << 16 | Ip4(p[2]) << 8 | p[3], ttl);
        } else if (r.rtype == type::AAAA) {
            Ip6 a;
            memcpy(a.b.data(), p, 16);
            out.aaaa.emplace_back(a, ttl);
        }
    }
    return out;
}

namespace {
void put16(std::vector<uint8_t> &v, uint16_t x) {
    v.push_back(uint8_t(x >> 8));
    v.push_back(uint8_t(x));
}
bool put_name(std::vector<uint8_t> &v, const std::string &name) {
    size_t start = 0;
    size_t total = 1;
    while (start < name.size()) {
        size_t dot = name.find('.', start);
        if (dot == std::string::npos) dot = name.size();
        size_t len = dot - start;
        if (len == 0 || len > 63) return false;
        total += len + 1;
        if (total > 255) return false;
        v.push_back(uint8_t(len));
        v.insert(v.end(), name.begin() + long(start), name.begin() + long(dot));
        start = dot + 1;
    }
    v.push_back(0);
    return true;
}
}  // namespace

std::vector<uint8_t> build_query(uint16_t id, const std::string &name, uint16_t qtype, uint16_t udp_size,
                                 bool do_bit, bool cd_bit) {
    std::vector<uint8_t> wire;
    if (!put_name(wire, name)) return {};
    return build_query_wire(id, wire, qtype, udp_size, do_bit, cd_bit);
}

std::vector<uint8_t> build_query_wire(uint16_t id, std::span<const uint8_t> wire_name, uint16_t qtype,
                                      uint16_t udp_size, bool do_bit, bool cd_bit) {
    std::vector<uint8_t> q;
    build_query_wire(q, id, wire_name, qtype, udp_size, do_bit, cd_bit);
    return q;
}

bool build_query_wire(std::vector<uint8_t> &q, uint16_t id, std::span<const uint8_t> wire_name, uint16_t qtype,
                      uint16_t udp_size, bool do_bit, bool cd_bit) {
    q.clear();
    if (wire_name.empty() || wire_name.size() > 255 || wire_name.back() != 0) return false;
    put16(q, id);
    put16(q, uint16_t(0x0100 | (cd_bit ? 0x0010 : 0)));  // RD
    put16(q, 1);
    put16(q, 0);
    put16(q, 0);
    put16(q, udp_size ? 1 : 0);
    q.insert(q.end(), wire_name.begin(), wire_name.end());
    put16(q, qtype);
    put16(q, 1);
    if (udp_size) {
        q.push_back(0);  // root
        put16(q, type::OPT);
        put16(q, udp_size);
        put16(q, 0);  // extended rcode, version
        put16(q, do_bit ? 0x8000 : 0);
        put16(q, 0);  // no options
    }
    return true;
}

std::vector<uint8_t> truncate_for_udp(std::span<const uint8_t> wire, const Message &m) {
    std::vector<uint8_t> out;
    put16(out, m.id);
    put16(out, uint16_t(m.flags | 0x0200));  // TC
    put16(out, uint16_t(m.questions.size()));
    put16(out, 0);
    put16(out, 0);
    put16(out, 0);
    for (const auto &q : m.questions) {
        out.insert(out.end(), q.wire.begin(), q.wire.end());
        put16(out, q.qtype);
        put16(out, q.qclass);
    }
    if (m.has_edns) {  // RFC 6891 §7: a responder that understood EDNS keeps an OPT record
        out[11] = 1;
        out.push_back(0);
        put16(out, type::OPT);
        put16(out, m.edns_udp_size);
        put16(out, 0);
        put16(out, m.edns_do ? 0x8000 : 0);
        put16(out, 0);
    }
    (void)wire;
    return out;
}

std::string normalize_name(std::string_view name) {
    std::string s(name);
    while (!s.empty() && s.back() == '.') s.pop_back();
    for (auto &c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

}  // namespace eamclat::dns
