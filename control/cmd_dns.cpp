// Shell commands: the DNS proxy and the learner (draft §5.2).
#include "control_plane.hpp"

namespace eamclat {

void register_dns_commands(ControlPlane &cp) {
    cp.shell.add({"dns", "show dns stats",
                  "DNS proxy: queries, A from IPv4-only hosts, AAAA asked, native/synthesized/none, entries, "
                  "conflicts, held-answer delay p50/p99",
                  [&cp](const Args &) -> CommandResult {
                      if (!cp.proxy) return {true, "DNS proxy not running (dns.enabled false, no upstream, or siit mode)"};
                      return {true, cp.proxy->stats_text()};
                  }});
    cp.shell.add({"dns", "set optimization on|off",
                  "draft §5.2.1: learn EAMT entries from DNS (on), or stop completely: learned entries go Stale, "
                  "new flows take the PLAT (off)",
                  [&cp](const Args &a) -> CommandResult {
                      bool on = a.text("optimization") == "on";
                      cp.optimization = on;
                      if (cp.proxy) cp.proxy->set_learning(on);
                      if (!on) {
                          size_t n = cp.tables->withdraw_learned();
                          return {true, "optimization off (" + std::to_string(n) + " learned entries made stale)"};
                      }
                      return {true, "optimization on"};
                  }});
}

}  // namespace eamclat
