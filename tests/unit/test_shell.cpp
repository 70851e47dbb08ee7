// The shell's command tables: parsing, usage on bad input (never a half-done change), completion.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <fstream>

#include "shell.hpp"

using namespace eamclat;

namespace {
struct Fixture {
    Shell sh;
    int adds = 0;
    Args last;
    Fixture() {
        sh.add({"eamt", "add eamt <v4prefix:ipv4> <v6prefix:ipv6> [ttl <uint:ttl>]", "add a static EAMT entry",
                [this](const Args &a) {
                    adds++;
                    last = a;
                    return CommandResult{true, "added"};
                }});
        sh.add({"eamt", "del eamt <v4prefix:ipv4>", "delete a static EAMT entry",
                [](const Args &a) { return CommandResult{true, "deleted " + a.get("ipv4").v4prefix->str()}; }});
        sh.add({"show", "show eamt [source=static|operator|learned] [host <ipv4:host>] [name <word:name>]",
                "list EAMT entries", [this](const Args &a) {
                    last = a;
                    return CommandResult{true, "src=" + a.text("source", "all") + " host=" + a.text("host", "-") +
                                                   " name=" + a.text("name", "-")};
                }});
        sh.add({"show", "show flows [summary]", "list flows",
                [](const Args &a) { return CommandResult{true, a.has("summary") ? "summary" : "all"}; }});
        sh.add({"set", "set optimization on|off", "learning on or off",
                [](const Args &a) { return CommandResult{true, "optimization " + a.text("optimization")}; }});
    }
};
}  // namespace

TEST_CASE("shell: commands with typed arguments", "[shell]") {
    Fixture f;
    auto r = f.sh.execute("add eamt 203.0.113.0/24 2001:db8:20::/120 ttl 300");
    CHECK(r.ok);
    CHECK(f.adds == 1);
    CHECK(f.last.get("ipv4").v4prefix->str() == "203.0.113.0/24");
    CHECK(f.last.get("ipv6").v6prefix->str() == "2001:db8:20::/120");
    CHECK(*f.last.get("ttl").number == 300);
    CHECK(f.sh.execute("add eamt 203.0.113.0/24 2001:db8:20::/120").ok);
    CHECK(f.sh.execute("set optimization off").output == "optimization off");
    CHECK(f.sh.execute("show flows summary").output == "summary");
    CHECK(f.sh.execute("show flows").output == "all");
}

TEST_CASE("shell: optional keyword groups in any order", "[shell]") {
    Fixture f;
    CHECK(f.sh.execute("show eamt").output == "src=all host=- name=-");
    CHECK(f.sh.execute("show eamt learned").output == "src=learned host=- name=-");
    CHECK(f.sh.execute("show eamt name cdn.example host 192.168.1.100").output ==
          "src=all host=192.168.1.100 name=cdn.example");
    CHECK(f.sh.execute("show eamt static host 192.168.1.100").output == "src=static host=192.168.1.100 name=-");
}

TEST_CASE("shell: bad commands get a usage line and change nothing", "[shell]") {
    Fixture f;
    for (const char *bad : {"add eamt 203.0.113.1/24 2001:db8::/120", "add eamt 203.0.113.0/24",
                            "add eamt 203.0.113.0/24 2001:db8::/120 ttl many",
                            "add eamt 203.0.113.0/24 2001:db8::/120 ttl 5 extra", "add eamt x y"}) {
        INFO(bad);
        auto r = f.sh.execute(bad);
        CHECK_FALSE(r.ok);
        CHECK(r.output.find("usage: add eamt") != std::string::npos);
    }
    CHECK(f.adds == 0);
    auto r = f.sh.execute("set optimization maybe");
    CHECK_FALSE(r.ok);
    CHECK(r.output.find("one of on|off") != std::string::npos);
    r = f.sh.execute("frobnicate");
    CHECK_FALSE(r.ok);
    CHECK(r.output.find("unknown command") != std::string::npos);
    r = f.sh.execute("show nothing");
    CHECK_FALSE(r.ok);
    CHECK(r.output.find("did you mean") != std::string::npos);
    // Hostile lines: very long, binary.
    CHECK_FALSE(f.sh.execute(std::string(100000, 'a')).ok);
    CHECK_FALSE(f.sh.execute(std::string("\x01\x02\xff show", 7)).ok);
    CHECK(f.sh.execute("   # a comment").ok);
}

TEST_CASE("shell: completion and help", "[shell]") {
    Fixture f;
    auto c = f.sh.complete("sh");
    REQUIRE(c.size() == 1);
    CHECK(c[0] == "show");
    c = f.sh.complete("show ");
    CHECK(c.size() == 2);
    c = f.sh.complete("set optimization ");
    CHECK(c == std::vector<std::string>{"on", "off"});
    auto h = f.sh.help();
    CHECK(h.find("add eamt <v4prefix:ipv4>") != std::string::npos);
    CHECK(h.find("list EAMT entries") != std::string::npos);
    CHECK(f.sh.help("set").find("set optimization") != std::string::npos);
}

TEST_CASE("shell: batch files run line by line and stop at the first error", "[shell]") {
    Fixture f;
    char path[] = "/tmp/eamclat-batch-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    {
        std::ofstream o(path);
        o << "# setup\nadd eamt 203.0.113.0/24 2001:db8:20::/120\n\nadd eamt bad\nadd eamt 198.51.100.0/24 2001:db8:30::/120\n";
    }
    std::string out;
    CHECK_FALSE(f.sh.run_file(path, out));
    CHECK(f.adds == 1);
    CHECK(out.find(":4: stopped") != std::string::npos);
    unlink(path);
}
