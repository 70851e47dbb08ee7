// DNS wire format (RFC 1035, RFC 6891 EDNS), parsed defensively: every length is checked against
// the message, compression pointers must point backwards, names are bounded (255 octets, 127
// labels). Used by the proxy to read answers without altering what it relays (RFC 5625 §3).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "xlat/types.hpp"

namespace eamclat::dns {

namespace type {
constexpr uint16_t A = 1, NS = 2, CNAME = 5, SOA = 6, PTR = 12, AAAA = 28, OPT = 41, ANY = 255;
}
namespace rcode {
constexpr uint8_t NOERROR = 0, FORMERR = 1, SERVFAIL = 2, NXDOMAIN = 3, NOTIMP = 4, REFUSED = 5;
}

struct Question {
    std::string name;  // lower case, no trailing dot ("" = root)
    std::vector<uint8_t> wire;  // the name's labels as sent (case kept, uncompressed)
    uint16_t qtype = 0;
    uint16_t qclass = 0;
};

struct Record {
    std::string name;  // lower case
    uint16_t rtype = 0;
    uint16_t rclass = 0;
    uint32_t ttl = 0;
    uint16_t rdata_offset = 0;  // into the message
    uint16_t rdata_length = 0;
    std::string target;  // CNAME target (lower case) when rtype == CNAME
};

struct Message {
    uint16_t id = 0;
    uint16_t flags = 0;
    bool qr() const { return flags & 0x8000; }
    uint8_t opcode() const { return (flags >> 11) & 0xf; }
    bool tc() const { return flags & 0x0200; }
    bool rd() const { return flags & 0x0100; }
    bool ad() const { return flags & 0x0020; }
    bool cd() const { return flags & 0x0010; }
    uint8_t rcode() const { return flags & 0xf; }
    std::vector<Question> questions;
    std::vector<Record> answers, authority, additional;
    bool has_edns = false;
    uint16_t edns_udp_size = 512;  // requester's payload size (512 without EDNS)
    bool edns_do = false;
};

// Parses a whole message. nullopt (and err) when it is malformed in any way.
std::optional<Message> parse(std::span<const uint8_t> wire, std::string *err = nullptr);
// The same into an existing Message, whose strings and vectors keep their capacity (the proxy
// parses every answer into recycled Messages). false when malformed; m is then unspecified.
bool parse(std::span<const uint8_t> wire, Message &m, std::string *err = nullptr);

// Addresses an answer gives for a name, following the CNAME chain in the answer section from
// the question name (bounded). ttl of each address = min(its own TTL, every CNAME on the way).
struct Addresses {
    std::vector<std::pair<Ip4, uint32_t>> a;
    std::vector<std::pair<Ip6, uint32_t>> aaaa;
    std::string final_name;
    bool chain_broken = false;  // a loop or a chain longer than the bound
};
Addresses addresses(const Message &m, std::span<const uint8_t> wire);

// A query for (name, qtype) with the given ID, RD set; with an OPT record when udp_size != 0
// (DO bit as given), so the AAAA we add carries the client's EDNS choices.
std::vector<uint8_t> build_query(uint16_t id, const std::string &name, uint16_t qtype,
                                 uint16_t udp_size, bool do_bit, bool cd_bit = false);
// The same from a question's wire name (exact bytes, case kept: what the proxy uses for the AAAA
// it adds to a client's A query).
std::vector<uint8_t> build_query_wire(uint16_t id, std::span<const uint8_t> wire_name, uint16_t qtype,
                                      uint16_t udp_size, bool do_bit, bool cd_bit = false);
// The same into `out` (replaced; its capacity reused). false (out empty) for a bad wire name.
bool build_query_wire(std::vector<uint8_t> &out, uint16_t id, std::span<const uint8_t> wire_name, uint16_t qtype,
                      uint16_t udp_size, bool do_bit, bool cd_bit = false);

// The reply a UDP client gets when the answer exceeds its buffer (RFC 5625 §4.4, RFC 1035
// §4.2.1): header with TC set and the question section only (and the client's OPT record kept).
std::vector<uint8_t> truncate_for_udp(std::span<const uint8_t> wire, const Message &m);

inline uint16_t get_id(std::span<const uint8_t> w) { return w.size() >= 2 ? uint16_t(w[0] << 8 | w[1]) : 0; }
inline void set_id(std::span<uint8_t> w, uint16_t id) {
    if (w.size() >= 2) { w[0] = uint8_t(id >> 8); w[1] = uint8_t(id); }
}

// Presentation form of a name as used in `show` output and persistence.
std::string normalize_name(std::string_view name);

}  // namespace eamclat::dns
