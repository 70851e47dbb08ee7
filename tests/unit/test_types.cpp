#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <vector>

#include "xlat/checksum.hpp"
#include "xlat/types.hpp"

using namespace eamclat;

TEST_CASE("Prefix parsing rejects host bits and bad lengths", "[types]") {
    std::string err;
    REQUIRE(Prefix4::parse("192.0.2.0/24"));
    CHECK_FALSE(Prefix4::parse("192.0.2.1/24", &err));
    CHECK(err.find("host bits") != std::string::npos);
    CHECK_FALSE(Prefix4::parse("192.0.2.0/33", &err));
    CHECK_FALSE(Prefix4::parse("192.0.2.0/", &err));
    CHECK_FALSE(Prefix4::parse("300.0.2.0/24", &err));
    auto p6 = Prefix6::parse("64:ff9b::/96");
    REQUIRE(p6);
    CHECK(p6->str() == "64:ff9b::/96");
    CHECK(p6->contains(*Ip6::parse("64:ff9b::c000:201")));
    CHECK_FALSE(p6->contains(*Ip6::parse("64:ff9b:1::c000:201")));
    CHECK_FALSE(Prefix6::parse("64:ff9b::1/96", &err));
    CHECK(Prefix4::parse("10.1.2.3")->len == 32);
}

TEST_CASE("RFC 1071 checksum of a known IPv4 header", "[checksum]") {
    // Header from RFC 1071-style worked example (checksum field zero): expected 0xb861.
    uint8_t h[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                   0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    CHECK(xlat::csum::finish(xlat::csum::add_bytes(0, h, sizeof h)) == 0xb861);
}

// add_bytes sums eight bytes at a time; the one's complement sum must be the RFC 1071 one of
// 16-bit words, for any length, alignment, initial sum and small terms added afterwards.
TEST_CASE("Checksum: word-wise add_bytes equals the 16-bit reference", "[checksum]") {
    auto reference = [](uint32_t sum, const uint8_t *p, size_t len) {
        uint64_t s = sum;
        for (size_t i = 0; i + 1 < len; i += 2) s += static_cast<uint32_t>(p[i]) << 8 | p[i + 1];
        if (len & 1) s += static_cast<uint32_t>(p[len - 1]) << 8;
        while (s >> 16) s = (s & 0xffff) + (s >> 16);
        return static_cast<uint16_t>(s);
    };
    std::mt19937 rng(1071);
    std::vector<uint8_t> buf(2000);
    for (int iter = 0; iter < 20000; ++iter) {
        const size_t len = iter < 100 ? static_cast<size_t>(iter) : rng() % 1600;
        const size_t off = rng() % 8;
        const int fill = iter % 4;
        for (auto &b : buf) b = fill == 0 ? 0xff : fill == 1 ? 0 : static_cast<uint8_t>(rng());
        const uint32_t init = iter % 3 == 0 ? 0 : rng() % 0x80000;
        const uint32_t got = xlat::csum::add_bytes(init, buf.data() + off, len);
        INFO("len " << len << " off " << off << " init " << init);
        REQUIRE(got < 0x20000);
        CHECK(xlat::csum::fold(got) == reference(init, buf.data() + off, len));
        CHECK((got == 0) == (init == 0 && reference(0, buf.data() + off, len) == 0 &&
                             std::all_of(buf.begin() + off, buf.begin() + off + len, [](uint8_t b) { return b == 0; })));
        // What callers do next: add a few small words, then fold.
        CHECK(xlat::csum::fold(got + 17 + 0xffff) == reference(init + 17 + 0xffff, buf.data() + off, len));
    }
}
