// The operator-published EAMT (draft-ietf-v6ops-464xlat-optimization-03 §5.3): format,
// validation (every rule refuses the whole table and names the entry and the line) and the
// detached Ed25519 signature.
#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "operator_table.hpp"

using namespace eamclat;
using Catch::Matchers::Contains;

namespace {

// A table with one entry per line, so that entry i is on line 3 + i.
std::string table_with(const std::vector<std::string> &entries, const std::string &head = "") {
    std::string s = "{\"version\": 1, \"serial\": 7, \"generated\": \"2026-11-29T23:00:00Z\",\n";
    s += (head.empty() ? std::string("\"default-ttl\": 3600") : head) + ", \"entries\": [\n";
    for (size_t i = 0; i < entries.size(); i++) s += entries[i] + (i + 1 < entries.size() ? ",\n" : "\n");
    return s + "]}\n";
}

std::string entry(const std::string &v4, const std::string &v6, const std::string &extra = "") {
    return "{\"ipv4\": \"" + v4 + "\", \"ipv6\": \"" + v6 + "\"" + (extra.empty() ? "" : ", " + extra) + "}";
}

const std::string good_a = entry("198.51.100.0/24", "2001:db8:30::/120", "\"ttl\": 300, \"name\": \"cdn-a\"");
const std::string good_b = entry("203.0.113.7", "2001:db8:31::7");

// Parses, expects refusal with `why` and an error containing every piece of `texts`.
std::string refused(const std::string &doc, TableError why, const OperatorTableLimits &limits = {}) {
    std::string err;
    TableError got = TableError::none;
    auto t = parse_operator_table(doc, limits, err, &got);
    CHECK_FALSE(t.has_value());
    CHECK(table_error_name(got) == std::string(table_error_name(why)));
    return err;
}

struct KeyPair {
    EVP_PKEY *key = nullptr;
    std::string public_pem;
    explicit KeyPair(const char *type = "ED25519") {
        key = std::string(type) == "ED25519" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                                             : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
        REQUIRE(key);
        BIO *b = BIO_new(BIO_s_mem());
        REQUIRE(PEM_write_bio_PUBKEY(b, key) == 1);
        char *p;
        long n = BIO_get_mem_data(b, &p);
        public_pem.assign(p, static_cast<size_t>(n));
        BIO_free(b);
    }
    ~KeyPair() { EVP_PKEY_free(key); }
    std::string sign(const std::string &data) const {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        REQUIRE(EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key) == 1);
        unsigned char sig[64];
        size_t len = sizeof sig;
        REQUIRE(EVP_DigestSign(ctx, sig, &len, reinterpret_cast<const unsigned char *>(data.data()), data.size()) == 1);
        EVP_MD_CTX_free(ctx);
        REQUIRE(len == 64);
        return std::string(reinterpret_cast<char *>(sig), len);
    }
};

}  // namespace

TEST_CASE("operator table: a good JSON table", "[operator]") {
    const std::string doc = table_with({good_a, good_b, "{\"ipv4\": \"192.0.2.0/25\", \"do-not-optimise\": true, \"ttl\": 60}"});
    std::string err;
    auto t = parse_operator_table(doc, {}, err);
    REQUIRE(t);
    CHECK(err.empty());
    CHECK(t->version == 1);
    CHECK(t->serial == 7);
    CHECK(t->generated == "2026-11-29T23:00:00Z");
    CHECK(t->default_ttl == 3600);
    REQUIRE(t->entries.size() == 3);
    CHECK(t->entries[0].ipv4.str() == "198.51.100.0/24");
    CHECK(t->entries[0].ipv6.str() == "2001:db8:30::/120");
    CHECK(t->entries[0].ttl == 300);
    CHECK(t->entries[0].name == "cdn-a");
    CHECK_FALSE(t->entries[0].do_not_optimise);
    CHECK(t->entries[1].ipv4.str() == "203.0.113.7/32");
    CHECK(t->entries[1].ipv6.str() == "2001:db8:31::7/128");
    CHECK(t->entries[1].ttl == 3600);  // default-ttl: every entry ends up with its own (§5.3)
    CHECK(t->entries[2].do_not_optimise);
    CHECK(t->entries[2].ttl == 60);
    CHECK(t->min_ttl() == 60);
}

TEST_CASE("operator table: the same schema in YAML", "[operator]") {
    const std::string doc = R"(# hand-edited
version: 1
serial: 42
generated: 2026-11-29T23:00:00+01:00
entries:
  - ipv4: 198.51.100.0/24
    ipv6: 2001:db8:30::/120
    ttl: 600
  - {ipv4: 203.0.113.9, do-not-optimise: true, ttl: 30, name: bank.example}
)";
    std::string err;
    auto t = parse_operator_table(doc, {}, err);
    INFO(err);
    REQUIRE(t);
    CHECK(t->serial == 42);
    REQUIRE(t->entries.size() == 2);
    CHECK(t->entries[0].ttl == 600);
    CHECK(t->entries[1].name == "bank.example");
    CHECK(t->entries[1].do_not_optimise);
}

TEST_CASE("operator table: an empty entry list is a valid table (withdraws everything)", "[operator]") {
    std::string err;
    auto t = parse_operator_table(table_with({}), {}, err);
    REQUIRE(t);
    CHECK(t->entries.empty());
    CHECK(t->min_ttl() == 0);
}

TEST_CASE("operator table: bad entries are refused with the entry index and the line", "[operator]") {
    // Entry i sits on line 3 + i (see table_with).
    SECTION("suffix lengths differ (RFC 7757 §3.2)") {
        auto e = refused(table_with({good_a, entry("203.0.113.0/24", "2001:db8:31::/96")}), TableError::bad_entry);
        CHECK_THAT(e, Contains("line 4") && Contains("entries[1]") && Contains("suffix lengths differ") &&
                          Contains("RFC 7757 §3.2"));
    }
    SECTION("IPv4 host bits set") {
        auto e = refused(table_with({entry("198.51.100.1/24", "2001:db8:30::/120")}), TableError::bad_entry);
        CHECK_THAT(e, Contains("line 3") && Contains("entries[0].ipv4"));
    }
    SECTION("IPv6 host bits set") {
        auto e = refused(table_with({good_b, entry("198.51.100.0/24", "2001:db8:30::1/120")}), TableError::bad_entry);
        CHECK_THAT(e, Contains("line 4") && Contains("entries[1].ipv6"));
    }
    SECTION("not an address") {
        auto e = refused(table_with({entry("198.51.100.300", "2001:db8::1")}), TableError::bad_entry);
        CHECK_THAT(e, Contains("entries[0].ipv4"));
    }
    SECTION("duplicate IPv4 prefix names both entries") {
        auto e = refused(table_with({good_a, good_b, entry("198.51.100.0/24", "2001:db8:40::/120")}), TableError::bad_entry);
        CHECK_THAT(e, Contains("line 5") && Contains("entries[2]: duplicate IPv4 prefix 198.51.100.0/24") &&
                          Contains("entries[0]"));
    }
    SECTION("overlapping IPv4 prefixes (one contains the other) name both entries") {
        auto e = refused(table_with({entry("198.51.100.128/32", "2001:db8:41::1"), good_b, good_a}), TableError::bad_entry);
        CHECK_THAT(e, Contains("line 5") && Contains("entries[2]: overlapping IPv4 prefix 198.51.100.0/24") &&
                          Contains("entries[0] has 198.51.100.128/32") && Contains("RFC 7757 §5"));
    }
    SECTION("a do-not-optimise entry overlapping a mapped one") {
        auto e = refused(table_with({good_a, "{\"ipv4\": \"198.51.100.0/25\", \"do-not-optimise\": true}"}),
                         TableError::bad_entry);
        CHECK_THAT(e, Contains("entries[1]: overlapping IPv4 prefix"));
    }
    SECTION("duplicate IPv6 prefix") {
        auto e = refused(table_with({good_b, entry("198.51.100.9", "2001:db8:31::7")}), TableError::bad_entry);
        CHECK_THAT(e, Contains("entries[1]: duplicate IPv6 prefix 2001:db8:31::7/128") && Contains("entries[0]"));
    }
    SECTION("overlapping IPv6 prefixes (asymmetric translation, RFC 7757 §5)") {
        auto e = refused(table_with({good_a, entry("203.0.113.5", "2001:db8:30::5")}), TableError::bad_entry);
        CHECK_THAT(e, Contains("entries[1]: overlapping IPv6 prefix 2001:db8:30::5/128") &&
                          Contains("entries[0] has 2001:db8:30::/120"));
    }
    SECTION("disjoint neighbours are fine") {
        std::string err;
        auto t = parse_operator_table(table_with({entry("198.51.100.0/25", "2001:db8:30::/121"),
                                                  entry("198.51.100.128/25", "2001:db8:30::80/121")}),
                                      {}, err);
        INFO(err);
        CHECK(t);
    }
}

TEST_CASE("operator table: special-purpose ranges are refused, documentation ranges allowed", "[operator]") {
    for (const char *v4 : {"0.1.2.3", "10.1.0.0/16", "100.64.1.0/24", "127.0.0.1", "169.254.1.0/24", "172.20.0.0/16",
                           "192.168.1.0/24", "224.0.0.1", "239.1.0.0/16", "240.0.0.0/24", "255.255.255.255",
                           "0.0.0.0/1"}) {
        INFO(v4);
        const std::string doc = table_with({"{\"ipv4\": \"" + std::string(v4) + "\", \"do-not-optimise\": true}"});
        auto e = refused(doc, TableError::bad_entry);
        CHECK_THAT(e, Contains("line 3") && Contains("entries[0].ipv4") && Contains("special-purpose range"));
    }
    for (const char *v6 : {"::", "::1", "::ffff:198.51.100.1", "fe80::1", "ff02::1", "64:ff9b::c633:6401",
                           "64:ff9b:1::1"}) {
        INFO(v6);
        auto e = refused(table_with({entry("198.51.100.1", v6)}), TableError::bad_entry);
        CHECK_THAT(e, Contains("entries[0].ipv6") && Contains("special-purpose range"));
    }
    // An IPv6 prefix covering a special range is refused too (it would map fe80::/10 traffic).
    auto e = refused(table_with({entry("198.51.100.0/24", "fe80::/120")}), TableError::bad_entry);
    CHECK_THAT(e, Contains("fe80::/10"));
    std::string err;
    CHECK(parse_operator_table(table_with({entry("192.0.2.1", "2001:db8::1"), entry("198.51.100.1", "2001:db8::2"),
                                           entry("203.0.113.1", "2001:db8::3")}),
                               {}, err));
}

TEST_CASE("operator table: entries overlapping the CE's own prefixes are refused", "[operator]") {
    OperatorTableLimits lim;
    lim.forbidden6 = {*Prefix6::parse("2001:db8:aaaa::/96"), *Prefix6::parse("2001:db8:64::/96")};  // CLAT, PLAT
    lim.forbidden4 = {*Prefix4::parse("192.0.2.0/24")};                                               // LAN
    auto e = refused(table_with({entry("198.51.100.1", "2001:db8:aaaa::c000:201")}), TableError::bad_entry, lim);
    CHECK_THAT(e, Contains("entries[0].ipv6") && Contains("CE's own prefix 2001:db8:aaaa::/96"));
    e = refused(table_with({good_b, entry("198.51.100.0/24", "2001:db8:64::/120")}), TableError::bad_entry, lim);
    CHECK_THAT(e, Contains("entries[1].ipv6") && Contains("2001:db8:64::/96"));
    e = refused(table_with({"{\"ipv4\": \"192.0.2.128/25\", \"do-not-optimise\": true}"}), TableError::bad_entry, lim);
    CHECK_THAT(e, Contains("entries[0].ipv4") && Contains("CE's own prefix 192.0.2.0/24"));
}

TEST_CASE("operator table: TTL rules (draft §5.3: every entry has its own TTL)", "[operator]") {
    auto e = refused(table_with({good_a, good_b}, "\"serial2\": 1"), TableError::schema);
    CHECK_THAT(e, Contains("unknown key 'serial2'"));
    // No default-ttl and an entry without ttl.
    const std::string no_default = "{\"version\": 1, \"serial\": 1, \"generated\": \"2026-11-29T23:00:00Z\",\n"
                                   "\"entries\": [\n" + good_a + ",\n" + good_b + "\n]}";
    e = refused(no_default, TableError::schema);
    CHECK_THAT(e, Contains("line 4") && Contains("entries[1]: no ttl") && Contains("§5.3"));
    e = refused(table_with({entry("198.51.100.1", "2001:db8::1", "\"ttl\": 0")}), TableError::schema);
    CHECK_THAT(e, Contains("entries[0].ttl: must be at least 1"));
    e = refused(table_with({entry("198.51.100.1", "2001:db8::1", "\"ttl\": \"60\"")}), TableError::schema);
    CHECK_THAT(e, Contains("entries[0].ttl: expected an unsigned integer"));
    e = refused(table_with({entry("198.51.100.1", "2001:db8::1", "\"ttl\": -5")}), TableError::schema);
    CHECK_THAT(e, Contains("'-5'"));
    e = refused(table_with({entry("198.51.100.1", "2001:db8::1", "\"ttl\": 1.5")}), TableError::schema);
    CHECK_THAT(e, Contains("'1.5'"));
    e = refused(table_with({entry("198.51.100.1", "2001:db8::1", "\"ttl\": 2147483648")}), TableError::schema);
    CHECK_THAT(e, Contains("larger than 2147483647"));
    e = refused(table_with({good_a}, "\"default-ttl\": 0"), TableError::schema);
    CHECK_THAT(e, Contains("default-ttl: must be at least 1"));
}

TEST_CASE("operator table: schema errors", "[operator]") {
    std::string e;
    e = refused(table_with({entry("198.51.100.1", "2001:db8::1", "\"colour\": \"red\"")}), TableError::schema);
    CHECK_THAT(e, Contains("line 3") && Contains("entries[0]: unknown key 'colour'"));
    e = refused(table_with({"{\"ipv6\": \"2001:db8::1\"}"}), TableError::schema);
    CHECK_THAT(e, Contains("entries[0]: ipv4 is missing"));
    e = refused(table_with({"{\"ipv4\": \"198.51.100.1\"}"}), TableError::schema);
    CHECK_THAT(e, Contains("entries[0]: ipv6 is missing"));
    e = refused(table_with({entry("198.51.100.1", "2001:db8::1", "\"do-not-optimise\": true")}), TableError::schema);
    CHECK_THAT(e, Contains("a do-not-optimise entry has no ipv6"));
    e = refused(table_with({"{\"ipv4\": \"198.51.100.1\", \"do-not-optimise\": \"yes\"}"}), TableError::schema);
    CHECK_THAT(e, Contains("expected true or false"));
    e = refused(table_with({entry("198.51.100.1", "2001:db8::1", "\"name\": \"two words\"")}), TableError::schema);
    CHECK_THAT(e, Contains("entries[0].name"));
    e = refused(table_with({"[\"198.51.100.1\"]"}), TableError::schema);
    CHECK_THAT(e, Contains("entries[0]: expected a mapping"));
    e = refused("{\"version\": 2, \"serial\": 1, \"generated\": \"2026-11-29T23:00:00Z\", \"entries\": []}", TableError::schema);
    CHECK_THAT(e, Contains("unsupported version 2"));
    e = refused("{\"serial\": 1, \"generated\": \"2026-11-29T23:00:00Z\", \"entries\": []}", TableError::schema);
    CHECK_THAT(e, Contains("version is missing"));
    e = refused("{\"version\": 1, \"generated\": \"2026-11-29T23:00:00Z\", \"entries\": []}", TableError::schema);
    CHECK_THAT(e, Contains("serial is missing"));
    e = refused("{\"version\": 1, \"serial\": 1, \"generated\": \"yesterday\", \"entries\": []}", TableError::schema);
    CHECK_THAT(e, Contains("not an RFC 3339 date-time"));
    e = refused("{\"version\": 1, \"serial\": 1, \"generated\": \"2026-13-29T23:00:00Z\", \"entries\": []}", TableError::schema);
    CHECK_THAT(e, Contains("RFC 3339"));
    e = refused("{\"version\": 1, \"serial\": 1, \"generated\": \"2026-11-29T23:00:00Z\"}", TableError::schema);
    CHECK_THAT(e, Contains("entries is missing"));
    e = refused("{\"version\": 1, \"serial\": 1, \"generated\": \"2026-11-29T23:00:00Z\", \"entries\": {}}", TableError::schema);
    CHECK_THAT(e, Contains("entries: expected a list"));
    e = refused("{\"version\": 1, \"serial\": -1, \"generated\": \"2026-11-29T23:00:00Z\", \"entries\": []}", TableError::schema);
    CHECK_THAT(e, Contains("serial: expected an unsigned integer"));
}

TEST_CASE("operator table: garbage and duplicate keys are syntax errors with a line", "[operator]") {
    std::string e;
    e = refused("this is not a table", TableError::syntax);
    CHECK_THAT(e, Contains("not a JSON object"));
    e = refused("", TableError::syntax);
    CHECK_THAT(e, Contains("empty document"));
    e = refused("[1, 2, 3]", TableError::syntax);
    e = refused(table_with({good_a}) + "trailing garbage\n", TableError::syntax);
    CHECK_THAT(e, Contains("more than one document"));
    e = refused(table_with({good_a}) + "}\n", TableError::syntax);
    CHECK_THAT(e, Contains("line 5"));
    e = refused("{\"version\": 1,\n\"entries\": [\n{\"ipv4\": \"198.51.100.1\",\n", TableError::syntax);
    CHECK_THAT(e, Contains("line"));
    e = refused("{\"version\": 1, \"serial\": 3,\n\"serial\": 9, \"generated\": \"2026-11-29T23:00:00Z\", \"entries\": []}",
                TableError::syntax);
    CHECK_THAT(e, Contains("line 2") && Contains("duplicate key 'serial'"));
    e = refused(table_with({good_a, entry("198.51.100.1", "2001:db8::1", "\"ttl\": 5, \"ttl\": 6")}), TableError::syntax);
    CHECK_THAT(e, Contains("line 4") && Contains("duplicate key 'ttl'"));
    std::string nul = table_with({good_a});
    nul[nul.size() / 2] = '\0';
    e = refused(nul, TableError::syntax);
    CHECK_THAT(e, Contains("control character 0x00"));
    e = refused(std::string("\x01\x02garbage", 9), TableError::syntax);
    CHECK_THAT(e, Contains("line 1"));
}

TEST_CASE("operator table: hostile YAML (cycles, deep nesting, tags) is refused, not followed", "[operator]") {
    std::string e = refused("a: &x [*x]\n", TableError::syntax);  // a cycle through an alias
    CHECK_THAT(e, Contains("anchors are not allowed"));
    e = refused("version: 1\nserial: 1\ngenerated: 2026-11-29T23:00:00Z\nentries: []\nx: *nothing\n", TableError::syntax);
    e = refused(std::string(4000000, '['), TableError::syntax);
    e = refused(std::string(1990, '[') + std::string(1990, ']'), TableError::syntax);
    std::string dashes;
    for (int i = 0; i < 1990; i++) dashes += "- ";
    e = refused(dashes + "x\n", TableError::syntax);
    e = refused("!!binary aGVsbG8=", TableError::syntax);
    CHECK_THAT(e, Contains("explicit YAML tags"));
    e = refused("{? [a, b] : 1}", TableError::syntax);
    CHECK_THAT(e, Contains("mapping key is not a string"));
}

TEST_CASE("operator table: size and entry-count limits", "[operator]") {
    OperatorTableLimits lim;
    lim.max_bytes = 100;
    const std::string doc = table_with({good_a, good_b});
    auto e = refused(doc, TableError::too_large, lim);
    CHECK_THAT(e, Contains("the limit is 100"));
    lim.max_bytes = 4u << 20;
    lim.max_entries = 1;
    e = refused(doc, TableError::too_many_entries, lim);
    CHECK_THAT(e, Contains("2 entries, the limit is 1"));
    lim.max_entries = 2;
    std::string err;
    CHECK(parse_operator_table(doc, lim, err));
}

TEST_CASE("operator table: a large table parses and the overlap check stays exact", "[operator]") {
    std::vector<std::string> es;
    for (unsigned i = 0; i < 5000; i++) {
        const unsigned a = i / 250, b = i % 250;
        es.push_back(entry("198.51." + std::to_string(100 + a) + "." + std::to_string(b),
                           "2001:db8:" + std::to_string(a + 1) + "::" + std::to_string(b + 1)));
    }
    std::string err;
    auto t = parse_operator_table(table_with(es), {}, err);
    INFO(err);
    REQUIRE(t);
    CHECK(t->entries.size() == 5000);
    es.push_back(entry("198.51.110.0/24", "2001:db8:99::/120"));  // contains entries 2500..2749
    auto e = refused(table_with(es), TableError::bad_entry);
    CHECK_THAT(e, Contains("entries[5000]: overlapping IPv4 prefix 198.51.110.0/24"));
}

TEST_CASE("operator table: Ed25519 detached signature", "[operator][signature]") {
    KeyPair kp;
    std::string err;
    auto pub = PublicKey::load_pem(kp.public_pem, err);
    REQUIRE(pub);
    const std::string doc = table_with({good_a, good_b});
    const std::string sig = kp.sign(doc);

    SECTION("raw 64 bytes and base64 both verify") {
        CHECK(pub->verify(doc, sig, err));
        CHECK(pub->verify(doc, base64_encode(sig), err));
        CHECK(pub->verify(doc, base64_encode(sig) + "\n", err));
    }
    SECTION("one changed byte of the table fails") {
        std::string changed = doc;
        changed[changed.find("300")] = '9';
        CHECK_FALSE(pub->verify(changed, sig, err));
        CHECK_THAT(err, Contains("does not verify"));
    }
    SECTION("a signature by another key fails") {
        KeyPair other;
        CHECK_FALSE(pub->verify(doc, other.sign(doc), err));
    }
    SECTION("garbage and truncated signatures fail") {
        CHECK_FALSE(pub->verify(doc, "", err));
        CHECK_THAT(err, Contains("neither 64 raw bytes nor their base64"));
        CHECK_FALSE(pub->verify(doc, "!!!!", err));
        CHECK_FALSE(pub->verify(doc, base64_encode(sig.substr(0, 63)), err));
        std::string flipped = sig;
        flipped[10] ^= 1;
        CHECK_FALSE(pub->verify(doc, flipped, err));
    }
    SECTION("only Ed25519 public keys are accepted") {
        KeyPair ec("EC");
        CHECK_FALSE(PublicKey::load_pem(ec.public_pem, err));
        CHECK_THAT(err, Contains("not an Ed25519 key"));
        CHECK_FALSE(PublicKey::load_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", err));
        CHECK_FALSE(PublicKey::load_pem_file("/nonexistent/key.pem", err));
        CHECK_THAT(err, Contains("/nonexistent/key.pem"));
    }
}

TEST_CASE("operator table: base64 (RFC 4648 §4)", "[operator]") {
    // RFC 4648 §10 test vectors.
    const std::pair<const char *, const char *> v[] = {{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
                                                      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
    for (auto [raw, enc] : v) {
        CHECK(base64_encode(raw) == enc);
        auto d = base64_decode(enc);
        REQUIRE(d);
        CHECK(*d == raw);
    }
    CHECK_FALSE(base64_decode("Zm9"));
    CHECK_FALSE(base64_decode("Zm=v"));
    CHECK_FALSE(base64_decode("Zg==Zg=="));
    CHECK_FALSE(base64_decode("Zm9v*A=="));
    CHECK(base64_decode("Zm9v\nYmFy") == std::optional<std::string>("foobar"));
}

TEST_CASE("operator table: atomic file write and bounded read", "[operator]") {
    char dir[] = "/tmp/ut_operator.XXXXXX";
    REQUIRE(mkdtemp(dir));
    const std::string path = std::string(dir) + "/t.json";
    std::string err;
    REQUIRE(write_file_atomic(path, "first", err));
    REQUIRE(write_file_atomic(path, "second", err));
    CHECK(read_file(path, 100, err) == std::optional<std::string>("second"));
    auto big = read_file(path, 3, err);
    REQUIRE(big);
    CHECK(big->size() > 3);  // the caller sees it is over the limit
    CHECK_FALSE(write_file_atomic(std::string(dir) + "/missing/t.json", "x", err));
    CHECK_FALSE(read_file(std::string(dir) + "/none", 10, err));
    unlink(path.c_str());
    rmdir(dir);
}

TEST_CASE("operator table: config section checks", "[operator]") {
    OperatorTableConfig c;
    CHECK(check_operator_config(c).empty());
    c.url = "http://example.net/t.json";
    CHECK_THAT(check_operator_config(c), Contains("https"));
    c.url = "https://example.net/t.json";
    c.refresh_max = 10;
    CHECK_THAT(check_operator_config(c), Contains("refresh-max"));
    c.refresh_max = 86400;
    c.timeout = 0;
    CHECK_THAT(check_operator_config(c), Contains("timeout"));
}

// The fixtures shared with eamclat-publish (tests/operator/run.sh checks the same file with the
// Python validator): both must refuse each table for the same reason at the same line.
TEST_CASE("operator table: shared fixtures give the result listed in expected.txt", "[operator][fixtures]") {
    namespace fs = std::filesystem;
    fs::path dir;
    for (fs::path p = fs::read_symlink("/proc/self/exe").parent_path(); !p.empty() && p != p.root_path();
         p = p.parent_path())
        if (fs::exists(p / "tests/operator/fixtures/expected.txt")) {
            dir = p / "tests/operator/fixtures";
            break;
        }
    REQUIRE(!dir.empty());
    std::ifstream list(dir / "expected.txt");
    int checked = 0;
    for (std::string line; std::getline(list, line);) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream in(line);
        std::string file, kind;
        int at = 0;
        in >> file >> kind >> at;
        INFO(file);
        std::string err;
        auto bytes = read_file((dir / file).string(), 1 << 20, err);
        REQUIRE(bytes);
        TableError why = TableError::none;
        auto t = parse_operator_table(*bytes, {}, err, &why);
        if (kind == "ok") {
            INFO(err);
            CHECK(t);
        } else {
            CHECK_FALSE(t);
            CHECK(table_error_name(why) == kind);
            CHECK_THAT(err, Catch::Matchers::StartsWith("line " + std::to_string(at) + ":"));
        }
        checked++;
    }
    CHECK(checked >= 20);
}
