#include <catch2/catch.hpp>

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
