// The YAML loader: the shipped configs load; each bad snippet yields the expected key, line and
// message; all errors are reported, not just the first.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "config.hpp"
#include "xlat/mapper.hpp"

using namespace eamclat;
namespace fs = std::filesystem;

namespace {

// The source tree: __FILE__ is relative to the build root when meson compiles, and the test
// executable lives in BUILD/tests/unit/.
fs::path source_root() {
    fs::path file(__FILE__);
    if (file.is_absolute()) return file.parent_path().parent_path().parent_path();
    fs::path build = fs::read_symlink("/proc/self/exe").parent_path().parent_path().parent_path();
    return fs::weakly_canonical(build / file).parent_path().parent_path().parent_path();
}

std::string errors_text(const std::vector<ConfigError> &errs) {
    std::string s;
    for (const auto &e : errs) s += e.str("cfg") + "\n";
    return s;
}

Prefix6 p6(const char *s) { return *Prefix6::parse(s); }
Prefix4 p4(const char *s) { return *Prefix4::parse(s); }

}  // namespace

TEST_CASE("Shipped configs load", "[config]") {
    fs::path root = source_root();
    INFO("source root " << root);
    std::vector<fs::path> files = {root / "configs/siit.yaml", root / "configs/clat.yaml"};
    for (const auto &f : fs::directory_iterator(root / "tests/unit/configs"))
        if (f.path().extension() == ".yaml") files.push_back(f.path());
    REQUIRE(files.size() >= 5);
    for (const auto &f : files) {
        INFO(f);
        std::vector<ConfigError> errs;
        auto cfg = load_config(f.string(), ConfigScope::translator, errs);
        INFO(errors_text(errs));
        CHECK(cfg);
        CHECK(errs.empty());
        // Every loaded EAMT is accepted by the translator's own table.
        if (cfg) CHECK_NOTHROW(xlat::StaticMapper(cfg->xlat));
    }
}

TEST_CASE("siit.yaml values", "[config]") {
    std::vector<ConfigError> errs;
    auto cfg = load_config((source_root() / "configs/siit.yaml").string(), ConfigScope::translator, errs);
    REQUIRE(cfg);
    const auto &x = cfg->xlat;
    CHECK(x.mode == xlat::Mode::siit);
    REQUIRE(x.pool6);
    CHECK(*x.pool6 == p6("64:ff9b:1::/96"));
    REQUIRE(x.eamt.size() == 4);
    CHECK(x.eamt[0].ipv4 == p4("192.0.2.1/32"));
    CHECK(x.eamt[0].ipv6 == p6("2001:db8:aaaa::/128"));
    CHECK(x.eamt[3].ipv4 == p4("203.0.113.128/25"));
    CHECK(x.eamt[3].ipv6 == p6("2001:db8:cafe::/64"));
    CHECK(x.eamt[3].source == xlat::EamtSource::static_config);
    CHECK(x.eam_hairpin_mode == xlat::HairpinMode::intrinsic);
    REQUIRE(x.rfc6791v4_prefix);
    CHECK(*x.rfc6791v4_prefix == p4("192.0.0.8/32"));
    // Translator scope does not require ports; daemon scope does.
    errs.clear();
    CHECK_FALSE(load_config((source_root() / "configs/siit.yaml").string(), ConfigScope::daemon, errs));
    REQUIRE(errs.size() == 1);
    CHECK(errs[0].key == "ports");
    CHECK(errs[0].line == 4);  // the top-level mapping starts at the first key
}

TEST_CASE("clat.yaml and a full daemon config", "[config]") {
    std::vector<ConfigError> errs;
    auto cfg = load_config((source_root() / "configs/clat.yaml").string(), ConfigScope::daemon, errs);
    INFO(errors_text(errs));
    REQUIRE(cfg);
    CHECK(cfg->xlat.mode == xlat::Mode::clat);
    CHECK(*cfg->xlat.clat_prefix == p6("2001:db8:aaaa:ff00::/96"));
    CHECK(*cfg->xlat.plat_prefix == p6("64:ff9b::/96"));
    CHECK_FALSE(cfg->plat_prefix_discover);
    CHECK(cfg->ports.lan.device == "net_af_packet0,iface=veth-lan");
    CHECK(cfg->ports.wan.device == "net_af_packet1,iface=veth-wan");
    REQUIRE(cfg->ports.lan_ipv4.size() == 1);
    CHECK(cfg->ports.lan_ipv4[0].addr == *parse_ip4("192.168.1.1"));
    CHECK(cfg->ports.lan_ipv4[0].len == 24);
    REQUIRE(cfg->ports.lan.ipv4_addresses.size() == 1);
    CHECK(cfg->ports.lan.ipv4_addresses[0] == p4("192.168.1.0/24"));
    REQUIRE(cfg->ports.lan_ipv6.size() == 2);
    CHECK(cfg->ports.lan_ipv6[1].addr == *Ip6::parse("fe80::1"));
    CHECK(cfg->ports.lan.ipv6_addresses[0] == p6("2001:db8:aaaa:1::/64"));
    REQUIRE(cfg->ports.wan_ipv6.size() == 1);
    CHECK(cfg->ports.wan_ipv6[0].addr == *Ip6::parse("2001:db8:ffff:1::2"));
    CHECK(*cfg->ports.wan.ipv6_gateway == *Ip6::parse("fe80::1"));
    const uint8_t gw[6] = {2, 0, 0, 0, 0, 1};
    REQUIRE(cfg->ports.wan.gateway_mac);
    CHECK(std::equal(gw, gw + 6, cfg->ports.wan.gateway_mac->b));
    CHECK(cfg->ports.lan.tap == "eamclat-lan");
    CHECK(*cfg->delegated_prefix == p6("2001:db8:aaaa::/48"));
    CHECK(cfg->workers == 1);

    errs.clear();
    cfg = load_config((source_root() / "tests/unit/configs/clat_daemon_full.yaml").string(),
                      ConfigScope::daemon, errs);
    INFO(errors_text(errs));
    REQUIRE(cfg);
    const auto &x = cfg->xlat;
    CHECK(cfg->plat_prefix_discover);
    CHECK_FALSE(x.plat_prefix);
    CHECK(*x.rfc6791v4_prefix == p4("192.0.0.8/32"));
    CHECK(*x.rfc6791v6_prefix == p6("2001:db8:aaaa:fffe::/64"));
    CHECK(x.lowest_ipv6_mtu == 1400);
    CHECK(x.ipv4_mtu == 1480);
    CHECK(x.ipv6_mtu == 9000);
    CHECK(x.amend_udp_checksum_zero);
    CHECK(x.eam_hairpin_mode == xlat::HairpinMode::simple);
    CHECK(x.zeroize_traffic_class);
    CHECK(x.reset_tos);
    CHECK(x.new_tos == 46);
    const uint8_t lan_mac[6] = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
    REQUIRE(cfg->ports.lan.mac);
    CHECK(std::equal(lan_mac, lan_mac + 6, cfg->ports.lan.mac->b));
    REQUIRE(cfg->ports.lan_ipv4.size() == 2);
    CHECK(cfg->ports.lan.ipv4_addresses[1] == p4("10.0.0.0/8"));
    CHECK(cfg->ports.wan.tap == "wan-exc");
    CHECK(cfg->workers == 2);
    CHECK(cfg->timeouts.tcp_established == 7200);
    CHECK(cfg->timeouts.tcp_transitory == 120);
    CHECK(cfg->timeouts.udp == 60);
    CHECK(cfg->timeouts.icmp == 30);
    CHECK(cfg->limits.eamt_entries == 1000);
    CHECK(cfg->limits.learned_per_host == 10);
    CHECK(cfg->limits.flows == 5000);
    CHECK(cfg->control.socket == "/tmp/eamclat.sock");
    CHECK(cfg->control.state_dir == "/tmp/eamclat-state");
    CHECK(cfg->control.log_level == "debug");
    CHECK(cfg->control.cmdline_file == "/etc/eamclat/startup.cmds");
    CHECK(cfg->dns.enabled);
    CHECK(cfg->dns.listen == std::vector<std::string>{"192.168.1.1", "192.168.1.1:5353", "[2001:db8:aaaa:1::1]:53",
                                                 "[2001:db8:aaaa:1::1]"});
    CHECK(cfg->dns.upstream == std::vector<std::string>{"2001:db8:ffff::53"});
    CHECK(cfg->dns.resolution_delay_ms == 25);
    CHECK(cfg->dns.upstream_timeout_ms == 2000);
    CHECK_FALSE(cfg->dns.discover_pref64);
    REQUIRE(cfg->dns.nat64_prefixes.size() == 2);
    CHECK(cfg->dns.nat64_prefixes[1] == p6("2001:db8:64::/64"));
    REQUIRE(cfg->learning.enabled);
    CHECK(*cfg->learning.enabled);
    CHECK(cfg->learning.require_dnssec);
    CHECK(cfg->learning.max_ttl == 3600);
    CHECK(cfg->learning.host_idle == 7200);
    CHECK(cfg->learning.save_interval == 60);
    REQUIRE(cfg->do_not_optimise.size() == 2);
    CHECK(cfg->do_not_optimise[0] == p4("192.0.2.0/25"));
    CHECK(cfg->do_not_optimise[1] == p4("203.0.113.7/32"));
}

TEST_CASE("Defaults when keys are absent", "[config]") {
    std::vector<ConfigError> errs;
    auto cfg = parse_config("mode: siit\npool6: 64:ff9b::/96\n", ConfigScope::translator, errs);
    REQUIRE(cfg);
    const xlat::Config def;
    CHECK(cfg->xlat.lowest_ipv6_mtu == def.lowest_ipv6_mtu);
    CHECK(cfg->xlat.ipv4_mtu == def.ipv4_mtu);
    CHECK(cfg->xlat.eam_hairpin_mode == def.eam_hairpin_mode);
    CHECK_FALSE(cfg->xlat.amend_udp_checksum_zero);
    CHECK(cfg->xlat.eamt.empty());
    CHECK(cfg->timeouts.tcp_established == 7440);
    CHECK(cfg->limits.flows == 65536);
    CHECK(cfg->control.socket == "/run/eamclat/eamclat.sock");
}

namespace {
struct Bad {
    const char *yaml;
    const char *key;
    int line;
    const char *message;  // substring of the message
    ConfigScope scope = ConfigScope::translator;
};
}  // namespace

TEST_CASE("Bad configs: key path, line and message", "[config]") {
    const Bad cases[] = {
        {"", "", 0, "empty"},
        {"mode: siit\npool6: [unclosed\n", "", 3, "YAML syntax error"},
        {"- a\n- b\n", "", 1, "must be a mapping"},
        {"pool6: 64:ff9b::/96\n", "mode", 1, "missing"},
        {"mode: nat64\npool6: 64:ff9b::/96\n", "mode", 1, "must be siit or clat"},
        {"mode: siit\n", "pool6", 1, "siit mode needs pool6 or a non-empty eamt"},
        {"mode: siit\neamt: []\n", "eamt", 2, "is empty and there is no pool6"},
        {"mode: siit\npool6: 64:ff9b::/96\nfrobnicate: 1\n", "frobnicate", 3, "unknown key"},
        {"mode: siit\npool6: 64:ff9b::/96\npool6: 64:ff9b::/96\n", "pool6", 3, "duplicate key"},
        {"mode: siit\npool6: 64:ff9b::/80\n", "pool6", 2, "RFC 6052 §2.2 allows"},
        {"mode: siit\npool6: 2001:db8:0:0:100::/96\n", "pool6", 2, "'u' octet"},
        {"mode: siit\npool6: 2001:db8::1/32\n", "pool6", 2, "host bits"},
        {"mode: siit\npool6: bogus\n", "pool6", 2, "not an IPv6 address"},
        {"mode: siit\npool6: [64:ff9b::/96]\n", "pool6", 2, "must be a single value"},
        {"mode: siit\npool6:\n", "pool6", 2, "has no value"},
        // EAMT
        {"mode: siit\neamt:\n  - ipv4: 192.0.2.0/24\n    ipv6: 2001:db8::/124\n", "eamt[0]", 3,
         "RFC 7757 §3.2"},
        {"mode: siit\neamt:\n  - {ipv4: 192.0.2.1, ipv6: \"2001:db8::1\"}\n"
         "  - {ipv4: 192.0.2.2, ipv6: \"2001:db8::2\"}\n  - {ipv4: 192.0.2.1, ipv6: \"2001:db8::3\"}\n",
         "eamt[2].ipv4", 5, "already the IPv4 prefix of eamt[0] (line 3)"},
        {"mode: siit\neamt:\n  - ipv4: 192.0.2.1\n    ipv6: 2001:db8::1\n"
         "  - ipv4: 192.0.2.9\n    ipv6: 2001:db8::1\n", "eamt[1].ipv6", 6, "RFC 7757 §5"},
        {"mode: siit\neamt:\n  - ipv4: 192.0.2.1\n", "eamt[0].ipv6", 3, "missing"},
        {"mode: siit\neamt:\n  - ipv4: 192.0.2.1\n    ipv6: 2001:db8::1\n    comment: x\n",
         "eamt[0].comment", 5, "unknown key"},
        {"mode: siit\neamt:\n  - ipv4: 192.0.2.1/24\n    ipv6: 2001:db8::/120\n", "eamt[0].ipv4", 3,
         "host bits"},
        {"mode: siit\neamt:\n  - 192.0.2.1\n", "eamt[0]", 3, "must be a mapping"},
        {"mode: siit\neamt: 192.0.2.1\n", "eamt", 2, "must be a list"},
        {"mode: siit\neamt:\n  - ipv4: 192.0.2.1\n    ipv6:\n", "eamt[0].ipv6", 4, "has no value"},
        // clat
        {"mode: clat\nplat-prefix: 64:ff9b::/96\n", "clat-prefix", 1, "missing"},
        {"mode: clat\nclat-prefix: 2001:db8:1::/96\n", "plat-prefix", 1, "missing"},
        {"mode: clat\nclat-prefix: 64:ff9b::/96\nplat-prefix: 2001:db8:64::/96\n", "clat-prefix", 2,
         "RFC 6052 §3.1"},
        {"mode: clat\nclat-prefix: 2001:db8:1::/96\nplat-prefix: 2001:db8:1::/96\n", "clat-prefix", 2,
         "must differ"},
        {"mode: clat\nclat-prefix: 2001:db8:1::/96\nplat-prefix: find\n", "plat-prefix", 3,
         "not an IPv6 address"},
        {"mode: clat\nclat-prefix: 2001:db8:1::/96\nplat-prefix: discover\npool6: 64:ff9b::/96\n",
         "pool6", 4, "only valid in siit mode"},
        {"mode: siit\npool6: 64:ff9b::/96\nplat-prefix: 64:ff9b::/96\n", "plat-prefix", 3,
         "only valid in clat mode"},
        // numbers and words
        {"mode: siit\npool6: 64:ff9b::/96\nlowest-ipv6-mtu: 1279\n", "lowest-ipv6-mtu", 3, "1280..65535"},
        {"mode: siit\npool6: 64:ff9b::/96\nipv4-mtu: 67\n", "ipv4-mtu", 3, "68..65535"},
        {"mode: siit\npool6: 64:ff9b::/96\nipv4-mtu: 65536\n", "ipv4-mtu", 3, "68..65535"},
        {"mode: siit\npool6: 64:ff9b::/96\nipv6-mtu: -1\n", "ipv6-mtu", 3, "must be an integer"},
        {"mode: siit\npool6: 64:ff9b::/96\nipv6-mtu: 1500.5\n", "ipv6-mtu", 3, "must be an integer"},
        {"mode: siit\npool6: 64:ff9b::/96\nipv6-mtu: 1300\nlowest-ipv6-mtu: 1400\n", "lowest-ipv6-mtu",
         4, "larger than ipv6-mtu"},
        {"mode: siit\npool6: 64:ff9b::/96\nlowest-ipv6-mtu: 1600\n", "lowest-ipv6-mtu", 3,
         "larger than ipv6-mtu (1500, its default)"},
        {"mode: siit\npool6: 64:ff9b::/96\nnew-tos: 256\n", "new-tos", 3, "0..255"},
        {"mode: siit\npool6: 64:ff9b::/96\nreset-tos: maybe\n", "reset-tos", 3, "true or false"},
        {"mode: siit\npool6: 64:ff9b::/96\neam-hairpin-mode: 2\n", "eam-hairpin-mode", 3,
         "off, simple or intrinsic"},
        {"mode: siit\npool6: 64:ff9b::/96\nrfc6791v4-prefix: 192.0.2.0/33\n", "rfc6791v4-prefix", 3,
         "prefix length"},
        // daemon sections
        {"mode: siit\npool6: 64:ff9b::/96\nworkers: 5000\n", "workers", 3, "0..1024"},
        {"mode: siit\npool6: 64:ff9b::/96\ntimeouts:\n  udp: 0\n", "timeouts.udp", 4, "1..604800"},
        {"mode: siit\npool6: 64:ff9b::/96\ntimeouts:\n  tcp: 5\n", "timeouts.tcp", 4, "unknown key"},
        {"mode: siit\npool6: 64:ff9b::/96\ntimeouts: 5\n", "timeouts", 3, "must be a mapping"},
        {"mode: siit\npool6: 64:ff9b::/96\nlimits:\n  flows: lots\n", "limits.flows", 4, "integer"},
        {"mode: siit\npool6: 64:ff9b::/96\nlimits:\n  eamt-entries: 10\n  learned-per-host: 20\n",
         "limits.learned-per-host", 5, "larger than limits.eamt-entries"},
        {"mode: siit\npool6: 64:ff9b::/96\neamt:\n  - {ipv4: 192.0.2.1, ipv6: \"2001:db8::1\"}\n"
         "  - {ipv4: 192.0.2.2, ipv6: \"2001:db8::2\"}\nlimits:\n  eamt-entries: 1\n",
         "eamt", 3, "exceed limits.eamt-entries"},
        {"mode: siit\npool6: 64:ff9b::/96\ncontrol:\n  socket: relative.sock\n", "control.socket", 4,
         "absolute path"},
        {"mode: siit\npool6: 64:ff9b::/96\ncontrol:\n  log-level: chatty\n", "control.log-level", 4,
         "must be one of"},
        {"mode: siit\npool6: 64:ff9b::/96\ndelegated-prefix: 2001:db8::/96\n", "delegated-prefix", 3,
         "/64"},
        {"mode: siit\npool6: 64:ff9b::/96\n", "ports", 1, "missing", ConfigScope::daemon},
        {"mode: siit\npool6: 64:ff9b::/96\nports:\n  lan:\n    device: a\n", "ports.wan", 4, "missing"},
        {"mode: siit\npool6: 64:ff9b::/96\nports:\n  lan:\n    mtu: 1500\n  wan:\n    device: b\n",
         "ports.lan.device", 5, "missing"},
        {"mode: siit\npool6: 64:ff9b::/96\nports:\n  lan: {device: a}\n  wan: {device: b, mtu: 1000}\n",
         "ports.wan.mtu", 5, "1280..65535"},
        {"mode: siit\npool6: 64:ff9b::/96\nports:\n  lan: {device: a}\n  wan: {device: b}\n  dmz: {}\n",
         "ports.dmz", 6, "unknown key"},
        {"mode: siit\npool6: 64:ff9b::/96\nports:\n  lan:\n    device: a\n    mac: 02:00:00:00:00\n"
         "  wan: {device: b}\n", "ports.lan.mac", 6, "not a MAC address"},
        {"mode: siit\npool6: 64:ff9b::/96\nports:\n  lan:\n    device: a\n    mac: 01:00:5e:00:00:01\n"
         "  wan: {device: b}\n", "ports.lan.mac", 6, "multicast"},
        {"mode: siit\npool6: 64:ff9b::/96\nports:\n  lan:\n    device: a\n    ipv4-address: 192.168.1.1\n"
         "  wan: {device: b}\n", "ports.lan.ipv4-address", 6, "on-link prefix length"},
        {"mode: siit\npool6: 64:ff9b::/96\nports:\n  lan:\n    device: a\n    ipv4-address: [192.168.1.1/24, 10.0.0.300/8]\n"
         "  wan: {device: b}\n", "ports.lan.ipv4-address[1]", 6, "not an IPv4 address"},
        {"mode: siit\npool6: 64:ff9b::/96\nports:\n  lan: {device: a}\n  wan:\n    device: b\n"
         "    ipv4-address: 192.0.2.1/24\n", "ports.wan.ipv4-address", 7, "IPv6-only"},
        {"mode: siit\npool6: 64:ff9b::/96\nports:\n  lan: {device: a}\n  wan:\n    device: b\n"
         "    ipv6-address: 2001:db8::1/129\n", "ports.wan.ipv6-address", 7, "1..128"},
        {"mode: siit\npool6: 64:ff9b::/96\nports:\n  lan:\n    device: a\n    ipv6-gateway: fe80::1\n"
         "  wan: {device: b}\n", "ports.lan.ipv6-gateway", 6, "only valid on the wan port"},
        {"mode: siit\npool6: 64:ff9b::/96\nports:\n  lan: {device: a}\n  wan:\n    device: b\n"
         "    ipv6-gateway: ff02::1\n", "ports.wan.ipv6-gateway", 7, "not a unicast"},
        {"mode: siit\npool6: 64:ff9b::/96\nports:\n  lan: {device: a}\n  wan:\n    device: b\n"
         "    gateway-mac: 02:00:00:00:00:01\n", "ports.wan.gateway-mac", 7, "without a gateway"},
        {"mode: siit\npool6: 64:ff9b::/96\nports:\n  lan:\n    device: a\n    ipv4-address: 192.168.1.1/24\n"
         "    ipv4-gateway: 192.168.2.1\n  wan: {device: b}\n", "ports.lan.ipv4-gateway", 7, "not on-link"},
        {"mode: clat\nclat-prefix: 2001:db8:1::/96\nplat-prefix: discover\nports:\n  lan:\n    device: a\n"
         "    ipv4-address: 192.168.1.1/24\n    ipv4-gateway: 192.168.1.254\n  wan: {device: b}\n",
         "ports.lan.ipv4-gateway", 8, "only valid in siit mode"},
        {"mode: clat\nclat-prefix: 2001:db8:1::/96\nplat-prefix: discover\ndns:\n  listen: 192.168.1.1\n",
         "dns.upstream", 4, "missing"},
        {"mode: clat\nclat-prefix: 2001:db8:1::/96\nplat-prefix: discover\ndns:\n  upstream: [8.8.8.8:0]\n",
         "dns.upstream[0]", 5, "port must be 1..65535"},
        {"mode: clat\nclat-prefix: 2001:db8:1::/96\nplat-prefix: discover\ndns:\n  upstream: \"[2001:db8::53]:\"\n",
         "dns.upstream", 5, "port must be 1..65535"},
        {"mode: clat\nclat-prefix: 2001:db8:1::/96\nplat-prefix: discover\ndns:\n  upstream: \"[2001:db8::53]x\"\n",
         "dns.upstream", 5, "expected [IPv6] or [IPv6]:port"},
        {"mode: clat\nclat-prefix: 2001:db8:1::/96\nplat-prefix: discover\ndns:\n  upstream: resolver.example\n",
         "dns.upstream", 5, "not an IP address"},
        {"mode: clat\nclat-prefix: 2001:db8:1::/96\nplat-prefix: discover\ndns:\n  upstream: 8.8.8.8\n"
         "  nat64-prefixes: 64:ff9b::/100\n", "dns.nat64-prefixes", 6, "RFC 6052"},
        {"mode: clat\nclat-prefix: 2001:db8:1::/96\nplat-prefix: discover\nlearning:\n  max-ttl: 0\n",
         "learning.max-ttl", 5, "1..604800"},
        {"mode: siit\npool6: 64:ff9b::/96\nlearning:\n  enabled: true\n", "learning.enabled", 4,
         "only valid in clat mode"},
        {"mode: clat\nclat-prefix: 2001:db8:1::/96\nplat-prefix: discover\ndo-not-optimise: [192.0.2.1/24]\n",
         "do-not-optimise[0]", 4, "host bits"},
        {"mode: siit\npool6: 64:ff9b::/96\nports:\n  lan:\n    device: a\n    tap: this-name-is-too-long\n"
         "  wan: {device: b}\n", "ports.lan.tap", 6, "not a valid interface name"},
    };
    for (const Bad &c : cases) {
        INFO("config:\n" << c.yaml);
        std::vector<ConfigError> errs;
        auto cfg = parse_config(c.yaml, c.scope, errs);
        INFO("errors:\n" << errors_text(errs));
        CHECK_FALSE(cfg);
        REQUIRE_FALSE(errs.empty());
        bool found = false;
        for (const auto &e : errs)
            found |= e.key == c.key && e.line == c.line &&
                     e.message.find(c.message) != std::string::npos;
        INFO("expected key '" << c.key << "' line " << c.line << " message ~ '" << c.message << "'");
        CHECK(found);
    }
}

TEST_CASE("All errors are collected, in file order", "[config]") {
    const char *yaml = "mode: siit\n"                             // 1
                       "pool6: 64:ff9b::/95\n"                    // 2 bad length
                       "ipv4-mtu: 10\n"                           // 3 range
                       "eamt:\n"                                  // 4
                       "  - {ipv4: 192.0.2.0/24, ipv6: \"2001:db8::/125\"}\n"  // 5 suffix
                       "  - {ipv4: 192.0.2.1, ipv7: \"2001:db8::1\"}\n"         // 6 unknown + missing
                       "colour: blue\n";                          // 7 unknown
    std::vector<ConfigError> errs;
    CHECK_FALSE(parse_config(yaml, ConfigScope::translator, errs));
    INFO(errors_text(errs));
    REQUIRE(errs.size() == 6);
    CHECK(errs[0].key == "pool6");
    CHECK(errs[0].line == 2);
    CHECK(errs[1].key == "ipv4-mtu");
    CHECK(errs[1].line == 3);
    CHECK(errs[2].key == "eamt[0]");
    CHECK(errs[2].line == 5);
    CHECK(errs[3].key == "eamt[1].ipv7");
    CHECK(errs[3].line == 6);
    CHECK(errs[4].key == "eamt[1].ipv6");
    CHECK(errs[5].key == "colour");
    CHECK(errs[5].line == 7);
    CHECK(errs[5].str("x.yaml").rfind("x.yaml:7: key 'colour': unknown key", 0) == 0);
}

TEST_CASE("A bad file: every error with its line", "[config]") {
    std::vector<ConfigError> errs;
    std::string file = (source_root() / "tests/unit/configs/bad/clat_many_errors.yaml").string();
    CHECK_FALSE(load_config(file, ConfigScope::daemon, errs));
    INFO(errors_text(errs));
    const std::pair<const char *, int> expected[] = {
        {"clat-prefix", 3}, {"plat-prefix", 4}, {"eamt[1].ipv4", 8}, {"eamt[2]", 10},
        {"ipv6-mtu", 12}, {"ports.lan.ipv4-address", 16}, {"ports.wan.ipv6-gateway", 19},
        {"timeouts.udp", 21}};
    REQUIRE(errs.size() == std::size(expected));
    for (size_t i = 0; i < errs.size(); i++) {
        CHECK(errs[i].key == expected[i].first);
        CHECK(errs[i].line == expected[i].second);
    }
}

TEST_CASE("Error formatting and unreadable files", "[config]") {
    CHECK(ConfigError{"eamt[2].ipv6", 12, "bad"}.str("f.yaml") == "f.yaml:12: key 'eamt[2].ipv6': bad");
    CHECK(ConfigError{"", 0, "cannot open"}.str("f.yaml") == "f.yaml: cannot open");
    CHECK(ConfigError{"", 3, "YAML syntax error: x"}.str("f.yaml") == "f.yaml:3: YAML syntax error: x");
    std::vector<ConfigError> errs;
    CHECK_FALSE(load_config("/nonexistent/eamclat.yaml", ConfigScope::translator, errs));
    REQUIRE(errs.size() == 1);
    CHECK(errs[0].message.find("cannot open") != std::string::npos);
    // A directory opens but cannot be read.
    errs.clear();
    CHECK_FALSE(load_config("/", ConfigScope::translator, errs));
    CHECK_FALSE(errs.empty());
    // Every key of the reference is documented in configs/README.md.
    std::ifstream readme(source_root() / "configs/README.md");
    std::string doc((std::istreambuf_iterator<char>(readme)), std::istreambuf_iterator<char>());
    REQUIRE_FALSE(doc.empty());
    std::istringstream ref(config_reference());
    std::string line;
    int keys = 0;
    while (std::getline(ref, line)) {
        if (line.rfind("      ", 0) == 0) continue;  // a description line
        REQUIRE(line.rfind("  ", 0) == 0);
        // "ports.{lan,wan}.mtu" is documented as `mtu` in its section: take the last word.
        std::string key = line.substr(2);
        std::string word = key.substr(key.find_last_of('.') == std::string::npos ? 0 : key.find_last_of('.') + 1);
        INFO(key);
        CHECK(doc.find("`" + word + "`") != std::string::npos);
        keys++;
    }
    CHECK(keys > 30);
}
