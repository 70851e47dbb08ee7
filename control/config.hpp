// The daemon's configuration: one YAML file (see configs/README.md for every key).
// Loaded and validated once at start-up (or by --check-config); sealed afterwards.
// The translator part (xlat::Config) is the same schema eamclat-pcap reads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "operator_table.hpp"
#include "xlat/config.hpp"
#include "xlat/types.hpp"

namespace eamclat {

struct MacAddr {
    uint8_t b[6]{};
    bool operator==(const MacAddr &o) const { return memcmp(b, o.b, 6) == 0; }
};

// A DPDK port as the config names it: an existing port by PCI address or name ("0000:03:00.0",
// "net_af_packet0"), or a vdev to create from its devargs ("net_af_packet0,iface=veth0").
struct PortConfig {
    std::string device;                      // required
    std::optional<MacAddr> mac;              // override of the port's own MAC
    uint16_t mtu = 1500;                     // L3 MTU
    std::string tap;                         // kernel exception interface name ("" = none)
    std::vector<Prefix4> ipv4_addresses;     // the box's own IPv4 addresses, with on-link prefix
    std::vector<Prefix6> ipv6_addresses;     // the box's own IPv6 addresses, with on-link prefix
    std::optional<Ip6> ipv6_gateway;         // WAN: upstream router (next hop for everything)
    std::optional<MacAddr> gateway_mac;      // static override of ND/ARP for the gateway
    std::optional<Ip4> ipv4_gateway;         // siit only: next hop on the IPv4 side
};

// Full host address as written in config: "192.168.1.1/24" = address + on-link prefix length.
struct Address4 { Ip4 addr = 0; uint8_t len = 32; };
struct Address6 { Ip6 addr{}; uint8_t len = 128; };

struct PortsConfig {
    PortConfig lan;  // IPv4 hosts (and native IPv6 from dual-stack hosts); the IPv4 side in siit mode
    PortConfig wan;  // IPv6-only upstream
    std::vector<Address4> lan_ipv4;  // parsed from lan ipv4-address (kept with host bits)
    std::vector<Address6> lan_ipv6;
    std::vector<Address6> wan_ipv6;
};

struct Timeouts {           // seconds (draft §5.2.6 flow pinning; RFC 6146-like defaults)
    uint32_t tcp_established = 7440;
    uint32_t tcp_transitory = 240;
    uint32_t udp = 300;
    uint32_t icmp = 60;
};

struct Limits {
    uint32_t eamt_entries = 65536;       // all sources together (home CE default)
    uint32_t learned_per_host = 1024;
    uint32_t flows = 65536;
};

struct ControlConfig {
    std::string socket = "/run/eamclat/eamclat.sock";  // eamclat-ctl
    std::string state_dir = "/var/lib/eamclat";        // learned table, last good operator table
    std::string log_level = "info";
    std::string cmdline_file;                          // batch of shell commands run at start
};

// The DNS proxy (RFC 5625) on the LAN side; draft-ietf-v6ops-464xlat-optimization §5.2.
struct DnsConfig {
    bool enabled = true;
    std::vector<std::string> listen;    // "addr" or "addr:port"; default: the LAN addresses, port 53
    std::vector<std::string> upstream;  // resolvers; required when enabled
    uint32_t resolution_delay_ms = 50;  // §5.2.4 (RFC 8305)
    uint32_t upstream_timeout_ms = 1500;
    bool discover_pref64 = true;                // RFC 7050 through ipv4only.arpa
    bool snooping = false;  // learn from DNS answers of foreign resolvers the dataplane translates
    std::vector<Prefix6> nat64_prefixes;        // known synthesis prefixes besides the PLAT prefix
};

// The EAMT learner (draft §5.2).
struct LearningConfig {
    std::optional<bool> enabled;  // default: on when mode is clat (§5.2.1)
    bool require_dnssec = false;  // §5.2.5 item 4: only answers with AD from a trusted resolver
    uint32_t max_ttl = 86400;
    uint32_t host_idle = 86400;   // LAN hosts not seen for this long are forgotten
    uint32_t save_interval = 300; // seconds between saves of the learned table
};

struct DaemonConfig {
    xlat::Config xlat;
    DnsConfig dns;
    LearningConfig learning;
    std::vector<Prefix4> do_not_optimise;  // §5.2.15: destinations forced through the PLAT
    std::optional<OperatorTableConfig> operator_table;  // §5.3: the operator's published EAMT
    PortsConfig ports;
    std::optional<Prefix6> delegated_prefix;  // the LAN's IPv6 prefix, forwarded natively
    bool plat_prefix_discover = false;        // plat-prefix: discover (RFC 7050 / RFC 8781)
    unsigned workers = 0;                     // 0 = one per EAL worker lcore
    Timeouts timeouts;
    Limits limits;
    ControlConfig control;
};

// A config error: the key path ("ports.lan.mtu"), the line (1-based, 0 if unknown), the problem.
struct ConfigError {
    std::string key;
    int line = 0;
    std::string message;
    std::string str(const std::string &file) const;  // "FILE:LINE: key 'K': MESSAGE"
};

enum class ConfigScope {
    translator,  // eamclat-pcap: translator keys required; daemon sections allowed and validated
    daemon,      // eamclat: ports required too
};

// Parses and validates. Returns the config, or fills errs (all errors found, not just the first).
std::optional<DaemonConfig> load_config(const std::string &path, ConfigScope scope,
                                        std::vector<ConfigError> &errs);
std::optional<DaemonConfig> parse_config(const std::string &yaml_text, ConfigScope scope,
                                         std::vector<ConfigError> &errs);

// Every key the loader knows, one per line with its description (from the loader's key tables).
std::string config_reference();

}  // namespace eamclat
