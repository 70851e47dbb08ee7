// The operator-published EAMT (draft-ietf-v6ops-464xlat-optimization-03 §5.3): parsing,
// validation and signature. Keep the rules in sync with scripts/eamclat-publish (`check`).
#include "operator_table.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <set>
#include <sstream>

namespace eamclat {

namespace {

constexpr uint32_t max_ttl = 2147483647;  // RFC 2181 §8: TTLs are 31-bit
constexpr size_t max_name = 255;

int line_of(const YAML::Node &n) {
    if (!n.IsDefined()) return 0;
    const YAML::Mark m = n.Mark();
    return m.line >= 0 ? m.line + 1 : 0;
}

// Validation stops at the first problem: the table is refused as a whole anyway.
struct Failure {
    TableError why;
    std::string text;
};

[[noreturn]] void fail(TableError why, int line, const std::string &what) {
    throw Failure{why, (line > 0 ? "line " + std::to_string(line) + ": " : std::string()) + what};
}

// yaml-cpp keeps every pair of a mapping, duplicates included, and node["k"] returns the first:
// a table with a key written twice would be read differently by other parsers (Python's json
// keeps the last one). Refuse it everywhere in the document.
void check_duplicate_keys(const YAML::Node &n) {
    if (n.IsMap()) {
        std::set<std::string> keys;
        for (auto it = n.begin(); it != n.end(); ++it) {
            if (!it->first.IsScalar()) fail(TableError::syntax, line_of(it->first), "mapping key is not a string");
            const std::string k = it->first.Scalar();
            if (!keys.insert(k).second) fail(TableError::syntax, line_of(it->first), "duplicate key '" + k + "'");
            check_duplicate_keys(it->second);
        }
    } else if (n.IsSequence()) {
        for (const auto &item : n) check_duplicate_keys(item);
    }
}

// Integers and booleans must be plain scalars: "5" (quoted) is a string in JSON, and yaml-cpp
// would happily convert it.
uint64_t as_uint(const YAML::Node &n, const std::string &key, uint64_t max) {
    if (!n.IsScalar() || n.Tag() != "?")
        fail(TableError::schema, line_of(n), key + ": expected an unsigned integer");
    const std::string &s = n.Scalar();
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size() || !std::isdigit(static_cast<unsigned char>(s[0])))
        fail(TableError::schema, line_of(n), key + ": expected an unsigned integer, got '" + s + "'");
    if (v > max) fail(TableError::schema, line_of(n), key + ": " + s + " is larger than " + std::to_string(max));
    return v;
}

bool as_bool(const YAML::Node &n, const std::string &key) {
    if (n.IsScalar() && n.Tag() == "?") {
        if (n.Scalar() == "true") return true;
        if (n.Scalar() == "false") return false;
    }
    fail(TableError::schema, line_of(n), key + ": expected true or false");
}

const std::string &as_string(const YAML::Node &n, const std::string &key) {
    if (!n.IsScalar()) fail(TableError::schema, line_of(n), key + ": expected a string");
    return n.Scalar();
}

bool two_digits(std::string_view s, size_t at, int lo, int hi) {
    if (at + 2 > s.size() || !std::isdigit(static_cast<unsigned char>(s[at])) ||
        !std::isdigit(static_cast<unsigned char>(s[at + 1])))
        return false;
    int v = (s[at] - '0') * 10 + (s[at + 1] - '0');
    return v >= lo && v <= hi;
}

// RFC 3339 §5.6 date-time: full-date "T" full-time (the NOTE allows "t" and a space too).
bool is_rfc3339(std::string_view s) {
    if (s.size() < 20) return false;
    for (size_t i = 0; i < 4; i++)
        if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    if (s[4] != '-' || !two_digits(s, 5, 1, 12) || s[7] != '-' || !two_digits(s, 8, 1, 31)) return false;
    if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return false;
    if (!two_digits(s, 11, 0, 23) || s[13] != ':' || !two_digits(s, 14, 0, 59) || s[16] != ':' ||
        !two_digits(s, 17, 0, 60))
        return false;
    size_t i = 19;
    if (s[i] == '.') {
        size_t j = ++i;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) i++;
        if (i == j) return false;
    }
    if (i >= s.size()) return false;
    if (s[i] == 'Z' || s[i] == 'z') return i + 1 == s.size();
    if (s[i] != '+' && s[i] != '-') return false;
    return i + 6 == s.size() && two_digits(s, i + 1, 0, 23) && s[i + 3] == ':' && two_digits(s, i + 4, 0, 59);
}

bool overlaps4(const Prefix4 &a, const Prefix4 &b) {
    return a.len <= b.len ? a.contains(b.addr) : b.contains(a.addr);
}
bool overlaps6(const Prefix6 &a, const Prefix6 &b) {
    return a.len <= b.len ? a.contains(b.addr) : b.contains(a.addr);
}

// A parsed entry and where it was written, for the cross-entry checks.
struct Placed {
    size_t index;
    int line;
};

// RFC 7757 §5: overlapping or identical prefixes make 4->6 and 6->4 asymmetric; refuse them
// (in both families: a /128 inside another entry's /120 would translate back to a different
// IPv4 address). Prefixes are either nested or disjoint, so after sorting by (start, length) an
// entry overlaps an earlier one iff it starts before the furthest end seen so far, and that
// earlier one (the one reaching furthest) contains it.
template <typename Key, typename Start, typename End>
void check_overlaps(std::vector<std::pair<Key, Placed>> items, Start start, End end, const char *family,
                    const std::vector<OperatorEntry> &entries, bool v6) {
    std::sort(items.begin(), items.end(), [](const auto &a, const auto &b) { return a.first < b.first; });
    const std::pair<Key, Placed> *widest = nullptr;
    for (const auto &it : items) {
        if (widest && start(it.first) <= end(widest->first)) {
            const size_t first = std::min(widest->second.index, it.second.index);
            const size_t second = std::max(widest->second.index, it.second.index);
            const int line = widest->second.index == second ? widest->second.line : it.second.line;
            auto text = [&](size_t i) { return v6 ? entries[i].ipv6.str() : entries[i].ipv4.str(); };
            const char *how = text(first) == text(second) ? "duplicate" : "overlapping";
            fail(TableError::bad_entry, line,
                 "entries[" + std::to_string(second) + "]: " + how + " " + family + " prefix " + text(second) +
                     " (entries[" + std::to_string(first) + "] has " + text(first) + "; RFC 7757 §5)");
        }
        if (!widest || end(it.first) > end(widest->first)) widest = &it;
    }
}

OperatorEntry parse_entry(const YAML::Node &e, size_t index, uint32_t default_ttl, const OperatorTableLimits &limits) {
    const std::string where = "entries[" + std::to_string(index) + "]";
    const int line = line_of(e);
    if (!e.IsMap()) fail(TableError::schema, line, where + ": expected a mapping");
    // A default-constructed YAML::Node counts as defined (a null): absence needs its own flag.
    std::optional<YAML::Node> ipv4, ipv6, ttl, name, dno;
    for (auto it = e.begin(); it != e.end(); ++it) {
        const std::string k = it->first.Scalar();
        if (k == "ipv4") ipv4 = it->second;
        else if (k == "ipv6") ipv6 = it->second;
        else if (k == "ttl") ttl = it->second;
        else if (k == "name") name = it->second;
        else if (k == "do-not-optimise") dno = it->second;
        else fail(TableError::schema, line_of(it->first), where + ": unknown key '" + k + "'");
    }
    OperatorEntry out;
    if (dno.has_value()) out.do_not_optimise = as_bool(*dno, where + ".do-not-optimise");
    if (!ipv4.has_value()) fail(TableError::schema, line, where + ": ipv4 is missing");
    std::string perr;
    auto p4 = Prefix4::parse(as_string(*ipv4, where + ".ipv4"), &perr);
    if (!p4) fail(TableError::bad_entry, line_of(*ipv4), where + ".ipv4: " + (perr.empty() ? "not an IPv4 prefix" : perr));
    out.ipv4 = *p4;
    if (out.do_not_optimise) {
        if (ipv6.has_value()) fail(TableError::schema, line_of(*ipv6), where + ": a do-not-optimise entry has no ipv6");
    } else {
        if (!ipv6.has_value()) fail(TableError::schema, line, where + ": ipv6 is missing");
        perr.clear();
        auto p6 = Prefix6::parse(as_string(*ipv6, where + ".ipv6"), &perr);
        if (!p6) fail(TableError::bad_entry, line_of(*ipv6), where + ".ipv6: " + (perr.empty() ? "not an IPv6 prefix" : perr));
        out.ipv6 = *p6;
        // RFC 7757 §3.2: the address suffix is copied bit for bit, so both suffixes are as long.
        if (32 - out.ipv4.len != 128 - out.ipv6.len)
            fail(TableError::bad_entry, line, where + ": suffix lengths differ: " + out.ipv4.str() + " has " +
                 std::to_string(32 - out.ipv4.len) + " host bits, " + out.ipv6.str() + " has " +
                 std::to_string(128 - out.ipv6.len) + " (RFC 7757 §3.2)");
    }
    if (ttl.has_value()) {
        out.ttl = static_cast<uint32_t>(as_uint(*ttl, where + ".ttl", max_ttl));
        if (out.ttl == 0) fail(TableError::schema, line_of(*ttl), where + ".ttl: must be at least 1");
    } else if (default_ttl) {
        out.ttl = default_ttl;
    } else {
        // §5.3: a pulled table must give every entry its own TTL.
        fail(TableError::schema, line, where + ": no ttl and the table has no default-ttl (draft §5.3)");
    }
    if (name.has_value()) {
        out.name = as_string(*name, where + ".name");
        if (out.name.size() > max_name) fail(TableError::schema, line_of(*name), where + ".name: longer than 255 bytes");
        for (unsigned char c : out.name)
            if (c < 0x21 || c > 0x7e)
                fail(TableError::schema, line_of(*name), where + ".name: only printable ASCII without spaces");
    }
    for (const auto &s : special_ranges4())
        if (overlaps4(out.ipv4, s))
            fail(TableError::bad_entry, line_of(*ipv4), where + ".ipv4: " + out.ipv4.str() +
                 " overlaps the special-purpose range " + s.str());
    for (const auto &f : limits.forbidden4)
        if (overlaps4(out.ipv4, f))
            fail(TableError::bad_entry, line_of(*ipv4), where + ".ipv4: " + out.ipv4.str() +
                 " overlaps the CE's own prefix " + f.str());
    if (!out.do_not_optimise) {
        for (const auto &s : special_ranges6())
            if (overlaps6(out.ipv6, s))
                fail(TableError::bad_entry, line_of(*ipv6), where + ".ipv6: " + out.ipv6.str() +
                     " overlaps the special-purpose range " + s.str());
        for (const auto &f : limits.forbidden6)
            if (overlaps6(out.ipv6, f))
                fail(TableError::bad_entry, line_of(*ipv6), where + ".ipv6: " + out.ipv6.str() +
                     " overlaps the CE's own prefix " + f.str());
    }
    return out;
}

// A first pass over the parser's events, before any node is built. The schema has no use for
// anchors, aliases or explicit tags, and aliases are dangerous: "a: &x [*x]" is a cycle that a
// recursive walk over the nodes would follow for ever. Refusing them keeps the document a plain
// tree (and the publisher, which applies the same rule, from reading it differently).
class EventGuard : public YAML::EventHandler {
public:
    int documents = 0;
    void OnDocumentStart(const YAML::Mark &) override { documents++; }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark &m, YAML::anchor_t a) override { check(m, a, "?"); }
    void OnAlias(const YAML::Mark &m, YAML::anchor_t) override {
        fail(TableError::syntax, m.line + 1, "YAML aliases are not allowed in a table");
    }
    void OnScalar(const YAML::Mark &m, const std::string &tag, YAML::anchor_t a, const std::string &) override {
        check(m, a, tag);
    }
    void OnSequenceStart(const YAML::Mark &m, const std::string &tag, YAML::anchor_t a,
                         YAML::EmitterStyle::value) override {
        check(m, a, tag);
    }
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark &m, const std::string &tag, YAML::anchor_t a, YAML::EmitterStyle::value) override {
        check(m, a, tag);
    }
    void OnMapEnd() override {}
    void OnAnchor(const YAML::Mark &m, const std::string &) override {
        fail(TableError::syntax, m.line + 1, "YAML anchors are not allowed in a table");
    }

private:
    static void check(const YAML::Mark &m, YAML::anchor_t a, const std::string &tag) {
        if (a) fail(TableError::syntax, m.line + 1, "YAML anchors are not allowed in a table");
        // "?" = plain untagged, "!" = quoted untagged; anything else was written by hand.
        if (!tag.empty() && tag != "?" && tag != "!")
            fail(TableError::syntax, m.line + 1, "explicit YAML tags are not allowed in a table (" + tag + ")");
    }
};

OperatorTable parse_document(std::string_view bytes, const OperatorTableLimits &limits) {
    if (bytes.size() > limits.max_bytes)
        fail(TableError::too_large, 0, "table is " + std::to_string(bytes.size()) + " bytes, the limit is " +
             std::to_string(limits.max_bytes));
    // Control characters (NUL first of all: yaml-cpp stops reading there) are refused outright.
    int line = 1;
    for (unsigned char c : bytes) {
        if (c == '\n') line++;
        else if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f)
            fail(TableError::syntax, line, "control character 0x" + std::string(1, "0123456789abcdef"[c >> 4]) +
                 std::string(1, "0123456789abcdef"[c & 15]) + " in the table");
    }
    std::vector<YAML::Node> docs;
    try {
        const std::string text(bytes);
        {
            std::istringstream in(text);
            YAML::Parser parser(in);
            EventGuard guard;
            while (parser.HandleNextDocument(guard)) {
                if (guard.documents > 1) break;  // reported below with its line
            }
        }
        docs = YAML::LoadAll(text);
    } catch (const YAML::Exception &e) {
        fail(TableError::syntax, e.mark.line >= 0 ? e.mark.line + 1 : 0,
             "column " + std::to_string(e.mark.column + 1) + ": " + e.msg);
    }
    // yaml-cpp's Load() silently ignores what follows the first document ("{...} garbage").
    if (docs.size() != 1)
        fail(TableError::syntax, docs.size() > 1 ? line_of(docs[1]) : 0,
             docs.empty() ? "empty document" : "more than one document (trailing garbage?)");
    const YAML::Node &root = docs[0];
    if (!root.IsMap()) fail(TableError::syntax, line_of(root), "the table is not a JSON object / YAML mapping");
    check_duplicate_keys(root);

    std::optional<YAML::Node> version, serial, generated, default_ttl, entries_opt;
    for (auto it = root.begin(); it != root.end(); ++it) {
        const std::string k = it->first.Scalar();
        if (k == "version") version = it->second;
        else if (k == "serial") serial = it->second;
        else if (k == "generated") generated = it->second;
        else if (k == "default-ttl") default_ttl = it->second;
        else if (k == "entries") entries_opt = it->second;
        else fail(TableError::schema, line_of(it->first), "unknown key '" + k + "'");
    }
    OperatorTable t;
    if (!version.has_value()) fail(TableError::schema, line_of(root), "version is missing");
    t.version = static_cast<uint32_t>(as_uint(*version, "version", UINT32_MAX));
    if (t.version != 1) fail(TableError::schema, line_of(*version), "unsupported version " + std::to_string(t.version) + " (this CE reads version 1)");
    if (!serial.has_value()) fail(TableError::schema, line_of(root), "serial is missing");
    t.serial = as_uint(*serial, "serial", UINT64_MAX);
    if (!generated.has_value()) fail(TableError::schema, line_of(root), "generated is missing");
    t.generated = as_string(*generated, "generated");
    if (!is_rfc3339(t.generated))
        fail(TableError::schema, line_of(*generated), "generated: '" + t.generated + "' is not an RFC 3339 date-time");
    if (default_ttl.has_value()) {
        t.default_ttl = static_cast<uint32_t>(as_uint(*default_ttl, "default-ttl", max_ttl));
        if (t.default_ttl == 0) fail(TableError::schema, line_of(*default_ttl), "default-ttl: must be at least 1");
    }
    if (!entries_opt) fail(TableError::schema, line_of(root), "entries is missing");
    const YAML::Node entries = *entries_opt;
    if (!entries.IsSequence()) fail(TableError::schema, line_of(entries), "entries: expected a list");
    if (entries.size() > limits.max_entries)
        fail(TableError::too_many_entries, line_of(entries), "entries: " + std::to_string(entries.size()) +
             " entries, the limit is " + std::to_string(limits.max_entries));

    std::vector<std::pair<std::pair<Ip4, uint8_t>, Placed>> by4;
    std::vector<std::pair<std::pair<Ip6, uint8_t>, Placed>> by6;
    t.entries.reserve(entries.size());
    by4.reserve(entries.size());
    for (size_t i = 0; i < entries.size(); i++) {
        const YAML::Node e = entries[i];
        t.entries.push_back(parse_entry(e, i, t.default_ttl, limits));
        const auto &o = t.entries.back();
        by4.push_back({{o.ipv4.addr, o.ipv4.len}, {i, line_of(e)}});
        if (!o.do_not_optimise) by6.push_back({{o.ipv6.addr, o.ipv6.len}, {i, line_of(e)}});
    }
    check_overlaps(
        std::move(by4), [](const auto &k) { return uint64_t{k.first}; },
        [](const auto &k) { return uint64_t{k.first} | (~uint64_t{Prefix4::mask(k.second)} & 0xffffffffu); }, "IPv4",
        t.entries, false);
    // IPv6 ranges compared as big-endian byte strings: start = the prefix, end = prefix | host bits.
    check_overlaps(
        std::move(by6), [](const auto &k) { return k.first.b; },
        [](const auto &k) {
            auto e = k.first.b;
            for (unsigned bit = k.second; bit < 128; bit++) e[bit / 8] |= uint8_t(0x80 >> (bit % 8));
            return e;
        },
        "IPv6", t.entries, true);
    return t;
}

Prefix4 p4(const char *s) { return *Prefix4::parse(s); }
Prefix6 p6(const char *s) { return *Prefix6::parse(s); }

}  // namespace

uint32_t OperatorTable::min_ttl() const {
    uint32_t m = 0;
    for (const auto &e : entries)
        if (e.ttl && (m == 0 || e.ttl < m)) m = e.ttl;
    return m;
}

const char *table_error_name(TableError e) {
    switch (e) {
    case TableError::none: return "none";
    case TableError::too_large: return "too-large";
    case TableError::syntax: return "syntax";
    case TableError::schema: return "schema";
    case TableError::too_many_entries: return "too-many-entries";
    case TableError::bad_entry: return "bad-entry";
    case TableError::signature_missing: return "signature-missing";
    case TableError::signature_bad: return "signature-bad";
    }
    return "?";
}

// RFC 6890 special-purpose ranges that can never be a destination reached through the CLAT.
// The documentation ranges (RFC 5737: 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) are left
// out on purpose: the tests and the examples use them.
const std::vector<Prefix4> &special_ranges4() {
    static const std::vector<Prefix4> r = {
        p4("0.0.0.0/8"),      p4("10.0.0.0/8"),  p4("100.64.0.0/10"), p4("127.0.0.0/8"),
        p4("169.254.0.0/16"), p4("172.16.0.0/12"), p4("192.168.0.0/16"), p4("224.0.0.0/4"),
        p4("240.0.0.0/4"),    p4("255.255.255.255/32"),
    };
    return r;
}

// Unspecified, loopback, IPv4-mapped, link-local, multicast and the NAT64 well-known prefixes
// (RFC 6052, RFC 8215): an entry there would loop or shadow pref64. 2001:db8::/32 (RFC 3849) is
// allowed like the IPv4 documentation ranges.
const std::vector<Prefix6> &special_ranges6() {
    static const std::vector<Prefix6> r = {
        p6("::/128"),    p6("::1/128"),      p6("::ffff:0:0/96"),   p6("fe80::/10"),
        p6("ff00::/8"),  p6("64:ff9b::/96"), p6("64:ff9b:1::/48"),
    };
    return r;
}

std::optional<OperatorTable> parse_operator_table(std::string_view bytes, const OperatorTableLimits &limits,
                                                  std::string &err, TableError *why) {
    try {
        auto t = parse_document(bytes, limits);
        if (why) *why = TableError::none;
        return t;
    } catch (const Failure &f) {
        err = f.text;
        if (why) *why = f.why;
    } catch (const YAML::Exception &e) {  // conversions on nodes of an unexpected shape
        err = "line " + std::to_string(e.mark.line + 1) + ": " + e.msg;
        if (why) *why = TableError::schema;
    }
    return std::nullopt;
}

std::string check_operator_config(const OperatorTableConfig &c) {
    if (!c.url.empty() && c.url.rfind("https://", 0) != 0) return "url: must be an https:// URL";
    if (c.refresh_min < 1) return "refresh-min: must be at least 1";
    if (c.refresh_max < c.refresh_min) return "refresh-max: must not be below refresh-min";
    if (c.initial_jitter > 86400) return "initial-jitter: at most 86400";
    if (c.max_bytes < 64 || c.max_bytes > (1ull << 30)) return "max-bytes: between 64 and 1073741824";
    if (c.max_entries < 1 || c.max_entries > 10000000) return "max-entries: between 1 and 10000000";
    if (c.timeout < 1 || c.timeout > 3600) return "timeout: between 1 and 3600";
    return "";
}

// ---- signature ----

struct PublicKey::Impl {
    EVP_PKEY *key = nullptr;
    ~Impl() { EVP_PKEY_free(key); }
};

PublicKey::PublicKey() : impl_(std::make_unique<Impl>()) {}
PublicKey::~PublicKey() = default;
PublicKey::PublicKey(PublicKey &&) noexcept = default;
PublicKey &PublicKey::operator=(PublicKey &&) noexcept = default;

namespace {
std::string openssl_error() {
    unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (!e) return "unknown OpenSSL error";
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    return buf;
}
}  // namespace

std::optional<PublicKey> PublicKey::load_pem(std::string_view pem, std::string &err) {
    BIO *bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    if (!bio) {
        err = openssl_error();
        return std::nullopt;
    }
    EVP_PKEY *k = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (!k) {
        err = "not a PEM public key: " + openssl_error();
        return std::nullopt;
    }
    if (EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(k);
        err = "the public key is not an Ed25519 key";
        return std::nullopt;
    }
    PublicKey out;
    out.impl_->key = k;
    return out;
}

std::optional<PublicKey> PublicKey::load_pem_file(const std::string &path, std::string &err) {
    auto pem = read_file(path, 64 * 1024, err);
    if (!pem) return std::nullopt;
    auto k = load_pem(*pem, err);
    if (!k) err = path + ": " + err;
    return k;
}

bool PublicKey::verify(std::string_view data, std::string_view signature, std::string &err) const {
    std::string raw;
    if (signature.size() == 64) {
        raw = std::string(signature);  // raw Ed25519 signature (RFC 8032 §5.1.6: 64 bytes)
    } else {
        auto d = base64_decode(signature);
        if (!d || d->size() != 64) {
            err = "signature is neither 64 raw bytes nor their base64";
            return false;
        }
        raw = std::move(*d);
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx) {
        err = openssl_error();
        return false;
    }
    // Ed25519 is a one-shot scheme: no digest (NULL md), the whole message at once.
    bool ok = EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, impl_->key) == 1 &&
              EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char *>(raw.data()), raw.size(),
                               reinterpret_cast<const unsigned char *>(data.data()), data.size()) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        ERR_clear_error();
        err = "signature does not verify with the operator's public key";
    }
    return ok;
}

// ---- base64 (RFC 4648 §4) ----

namespace {
constexpr char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
int b64_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}
}  // namespace

std::string base64_encode(std::string_view raw) {
    std::string out;
    out.reserve((raw.size() + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 3 <= raw.size(); i += 3) {
        uint32_t v = uint8_t(raw[i]) << 16 | uint8_t(raw[i + 1]) << 8 | uint8_t(raw[i + 2]);
        for (int s = 18; s >= 0; s -= 6) out += b64[(v >> s) & 63];
    }
    if (size_t rest = raw.size() - i) {
        uint32_t v = uint8_t(raw[i]) << 16 | (rest == 2 ? uint8_t(raw[i + 1]) << 8 : 0);
        out += b64[(v >> 18) & 63];
        out += b64[(v >> 12) & 63];
        out += rest == 2 ? b64[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    std::string chars;
    for (unsigned char c : text) {
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
        chars += static_cast<char>(c);
    }
    if (chars.size() % 4) return std::nullopt;
    std::string out;
    for (size_t i = 0; i < chars.size(); i += 4) {
        const bool last = i + 4 == chars.size();
        int v[4];
        int pad = 0;
        for (int j = 0; j < 4; j++) {
            unsigned char c = chars[i + j];
            if (c == '=' && last && j >= 2) {
                pad++;
                v[j] = 0;
                continue;
            }
            if (pad) return std::nullopt;  // data after padding
            v[j] = b64_value(c);
            if (v[j] < 0) return std::nullopt;
        }
        uint32_t w = uint32_t(v[0]) << 18 | uint32_t(v[1]) << 12 | uint32_t(v[2]) << 6 | uint32_t(v[3]);
        out += static_cast<char>(w >> 16);
        if (pad < 2) out += static_cast<char>(w >> 8);
        if (pad < 1) out += static_cast<char>(w);
    }
    return out;
}

// ---- files ----

bool write_file_atomic(const std::string &path, std::string_view data, std::string &err) {
    const std::string tmp = path + ".tmp." + std::to_string(getpid());
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        err = tmp + ": " + strerror(errno);
        return false;
    }
    size_t off = 0;
    while (off < data.size()) {
        ssize_t n = write(fd, data.data() + off, data.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            err = tmp + ": " + strerror(errno);
            close(fd);
            unlink(tmp.c_str());
            return false;
        }
        off += static_cast<size_t>(n);
    }
    // fsync before rename: after a power cut the file is either the old one or the new one.
    if (fsync(fd) != 0 || close(fd) != 0) {
        err = tmp + ": " + strerror(errno);
        unlink(tmp.c_str());
        return false;
    }
    if (rename(tmp.c_str(), path.c_str()) != 0) {
        err = path + ": " + strerror(errno);
        unlink(tmp.c_str());
        return false;
    }
    const auto slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);  // the rename itself; failure here does not undo it
        close(dfd);
    }
    return true;
}

std::optional<std::string> read_file(const std::string &path, uint64_t max_bytes, std::string &err) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        err = path + ": " + strerror(errno);
        return std::nullopt;
    }
    std::string out;
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            err = path + ": " + strerror(errno);
            close(fd);
            return std::nullopt;
        }
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
        if (out.size() > max_bytes) break;  // the caller reports "too large"
    }
    close(fd);
    return out;
}

}  // namespace eamclat
