// A tiny, independent DNS response builder for tests (not the code under test): writes the header,
// the question and records, with the owner names of answers compressed to the question name where
// asked, so parsing of compression pointers is exercised.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace eamclat::test {

struct Rr {
    std::string name;  // "" = compressed pointer to the question name
    uint16_t type;
    uint32_t ttl;
    std::vector<uint8_t> rdata;
};

inline void put16(std::vector<uint8_t> &v, uint16_t x) {
    v.push_back(uint8_t(x >> 8));
    v.push_back(uint8_t(x));
}
inline void put32(std::vector<uint8_t> &v, uint32_t x) {
    put16(v, uint16_t(x >> 16));
    put16(v, uint16_t(x));
}
inline std::vector<uint8_t> wire_name(const std::string &n) {
    std::vector<uint8_t> v;
    size_t s = 0;
    while (s < n.size()) {
        size_t d = n.find('.', s);
        if (d == std::string::npos) d = n.size();
        v.push_back(uint8_t(d - s));
        v.insert(v.end(), n.begin() + long(s), n.begin() + long(d));
        s = d + 1;
    }
    v.push_back(0);
    return v;
}
inline std::vector<uint8_t> a_rdata(uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return {a, b, c, d}; }
inline std::vector<uint8_t> aaaa_rdata(std::initializer_list<uint16_t> groups) {  // 8 groups
    std::vector<uint8_t> v;
    for (auto g : groups) put16(v, g);
    return v;
}

inline std::vector<uint8_t> response(uint16_t id, const std::string &qname, uint16_t qtype, uint8_t rcode,
                                     const std::vector<Rr> &answers, const std::vector<Rr> &additional = {},
                                     bool ad = false, bool tc = false) {
    std::vector<uint8_t> m;
    put16(m, id);
    put16(m, uint16_t(0x8180 | (ad ? 0x20 : 0) | (tc ? 0x200 : 0) | rcode));  // QR RD RA
    put16(m, 1);
    put16(m, uint16_t(answers.size()));
    put16(m, 0);
    put16(m, uint16_t(additional.size()));
    auto q = wire_name(qname);
    m.insert(m.end(), q.begin(), q.end());
    put16(m, qtype);
    put16(m, 1);
    for (const auto *sec : {&answers, &additional})
        for (const auto &r : *sec) {
            if (r.name.empty()) {
                m.push_back(0xc0);
                m.push_back(12);
            } else {
                auto n = wire_name(r.name);
                m.insert(m.end(), n.begin(), n.end());
            }
            put16(m, r.type);
            put16(m, 1);
            put32(m, r.ttl);
            put16(m, uint16_t(r.rdata.size()));
            m.insert(m.end(), r.rdata.begin(), r.rdata.end());
        }
    return m;
}

}  // namespace eamclat::test
