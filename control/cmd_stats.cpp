// Shell commands: counters. `show port stats` looks like testpmd's (totals and rates since the
// previous call); `show xlat stats` lists every packet fate with its description.
#include <rte_ethdev.h>

#include <cinttypes>
#include <cstdio>

#include "control_plane.hpp"
#include "daemon.hpp"

namespace eamclat {

namespace {

std::string port_stats(ControlPlane &cp, unsigned r) {
    const dp::Port &p = cp.daemon.port(static_cast<dp::PortRole>(r));
    rte_eth_stats st{};
    rte_eth_stats_get(p.id, &st);
    auto now = std::chrono::steady_clock::now();
    auto &prev = cp.port_samples[r];
    double secs = prev.at == std::chrono::steady_clock::time_point{}
                      ? 0
                      : std::chrono::duration<double>(now - prev.at).count();
    auto rate = [&](uint64_t cur, uint64_t old) { return secs > 0 ? double(cur - std::min(cur, old)) / secs : 0.0; };
    char buf[1024];
    snprintf(buf, sizeof buf,
             "\n  ######################## NIC statistics for port %u (%s: %s) ########################\n"
             "  RX-packets: %-14" PRIu64 " RX-missed: %-14" PRIu64 " RX-bytes:  %" PRIu64 "\n"
             "  RX-errors: %" PRIu64 "\n"
             "  RX-nombuf:  %-14" PRIu64 "\n"
             "  TX-packets: %-14" PRIu64 " TX-errors: %-14" PRIu64 " TX-bytes:  %" PRIu64 "\n\n"
             "  Throughput (since last show)\n"
             "  Rx-pps: %14.0f          Rx-bps: %14.0f\n"
             "  Tx-pps: %14.0f          Tx-bps: %14.0f\n"
             "  ############################################################################\n",
             p.id, dp::port_role_name(static_cast<dp::PortRole>(r)), p.name.c_str(), st.ipackets, st.imissed, st.ibytes,
             st.ierrors, st.rx_nombuf, st.opackets, st.oerrors, st.obytes, rate(st.ipackets, prev.ipackets),
             rate(st.ibytes, prev.ibytes) * 8, rate(st.opackets, prev.opackets), rate(st.obytes, prev.obytes) * 8);
    prev = {st.ipackets, st.opackets, st.ibytes, st.obytes, now};
    return buf;
}

}  // namespace

void register_stats_commands(ControlPlane &cp) {
    cp.shell.add({"stats", "show port stats [<word:port>]",
                  "NIC counters and rates of the LAN (0) and WAN (1) ports: all, lan, wan, 0 or 1",
                  [&cp](const Args &a) -> CommandResult {
                      std::string which = a.text("port", "all");
                      std::string out;
                      if (which == "all") {
                          out = port_stats(cp, 0) + port_stats(cp, 1);
                      } else if (which == "0" || which == "lan") {
                          out = port_stats(cp, 0);
                      } else if (which == "1" || which == "wan") {
                          out = port_stats(cp, 1);
                      } else {
                          return {false, "no port '" + which + "'\nusage: show port stats [all|lan|wan|0|1]"};
                      }
                      return {true, out};
                  }});
    cp.shell.add({"stats", "show xlat stats [all]",
                  "packet fates: translations by path, punts, ICMP errors, drops by reason (non-zero only, or all)",
                  [&cp](const Args &a) -> CommandResult {
                      std::string out = "  ######################## translation statistics ########################\n";
                      for (const auto &[name, v] : cp.counters_since_clear()) {
                          if (!v && !a.has("all")) continue;
                          char line[160];
                          snprintf(line, sizeof line, "  %-40s %14" PRIu64 "\n", name.c_str(), v);
                          out += line;
                      }
                      return {true, out};
                  }});
    cp.shell.add({"stats", "clear stats", "zero the counters shown by show (port, xlat, dns, table)",
                  [&cp](const Args &) -> CommandResult {
                      cp.clear_counters();
                      return {true, "counters cleared"};
                  }});
}

}  // namespace eamclat
