// Shell commands: the EAMT (draft §5.2.5 fields), flows (§5.2.6 pinning) and LAN hosts (§5.2.2).
#include <cinttypes>
#include <cstdio>

#include "control_plane.hpp"
#include "daemon.hpp"

namespace eamclat {

namespace {

std::string entry_line(const ControlPlane &cp, const TableEntry &e) {
    char ttl[32] = "-";
    if (e.expires) {
        uint64_t now = cp.now_seconds();
        snprintf(ttl, sizeof ttl, "%" PRIu64, e.expires > now ? e.expires - now : 0);
    }
    char line[512];
    snprintf(line, sizeof line, "  %-6" PRIu64 " %-8s %-19s %-40s %-7s %-6s %-6s %-15s %s\n", e.id,
             entry_source_name(e.source), e.ipv4.str().c_str(),
             e.do_not_optimise ? "(do not optimise: PLAT)" : e.ipv6.str().c_str(), entry_state_name(e.state),
             e.is_static ? "static" : "auto", ttl, e.host ? ip4_str(*e.host).c_str() : "*", e.name.c_str());
    return line;
}

}  // namespace

void register_table_commands(ControlPlane &cp) {
    cp.shell.add({"eamt", "show eamt [source=static|operator|learned] [host <ipv4:host>] [name <word:name>]",
                  "EAMT entries: source, prefixes, state, Auto/Static, remaining TTL, LAN host, name",
                  [&cp](const Args &a) -> CommandResult {
                      TableManager::Filter f;
                      std::string src = a.text("source");
                      if (src == "static") f.source = xlat::EamtSource::static_config;
                      if (src == "operator") f.source = xlat::EamtSource::operator_table;
                      if (src == "learned") f.source = xlat::EamtSource::learned;
                      if (a.has("host")) f.host = a.get("host").ipv4;
                      f.name = a.text("name");
                      auto list = cp.tables->list(f);
                      std::string out = "  id     source   ipv4                ipv6                                     "
                                        "state   flag   ttl    host            name\n";
                      for (const auto *e : list) out += entry_line(cp, *e);
                      out += "  " + std::to_string(list.size()) + " of " + std::to_string(cp.tables->size()) +
                             " entries\n";
                      return {true, out};
                  }});
    cp.shell.add({"eamt", "add eamt <v4prefix:ipv4> <v6prefix:ipv6> [ttl <uint:ttl>]",
                  "add a static EAMT entry (RFC 7757 §3.2: IPv4 suffix no longer than the IPv6 one); ttl 0 or none = permanent",
                  [&cp](const Args &a) -> CommandResult {
                      uint64_t ttl = a.has("ttl") ? *a.get("ttl").number : 0;
                      if (ttl > 0xffffffffu) return {false, "ttl too large\nusage: add eamt V4PFX V6PFX [ttl S]"};
                      std::string err;
                      if (!cp.tables->add_static(*a.get("ipv4").v4prefix, *a.get("ipv6").v6prefix, uint32_t(ttl), err))
                          return {false, "add eamt: " + err};
                      return {true, "added " + a.get("ipv4").v4prefix->str() + " <-> " + a.get("ipv6").v6prefix->str()};
                  }});
    cp.shell.add({"eamt", "del eamt <v4prefix:ipv4>",
                  "delete a static EAMT entry; flows pinned to it finish on it, new ones take the PLAT",
                  [&cp](const Args &a) -> CommandResult {
                      std::string err;
                      if (!cp.tables->del_static(*a.get("ipv4").v4prefix, err)) return {false, "del eamt: " + err};
                      return {true, "deleted " + a.get("ipv4").v4prefix->str()};
                  }});
    cp.shell.add({"eamt", "save table", "write the learned EAMT entries to the state directory now",
                  [&cp](const Args &) -> CommandResult {
                      std::string err;
                      if (!cp.save_learned(err)) return {false, "save table: " + err};
                      return {true, "saved to " + cp.learned_path()};
                  }});
    cp.shell.add({"eamt", "show table counters", "the table manager's counters (learning, refusals, ageing)",
                  [&cp](const Args &) -> CommandResult {
                      static const char *names[] = {
#define EAMCLAT_X(n, d) #n,
                          EAMCLAT_TABLE_COUNTERS(EAMCLAT_X)
#undef EAMCLAT_X
                      };
                      static const char *desc[] = {
#define EAMCLAT_X(n, d) d,
                          EAMCLAT_TABLE_COUNTERS(EAMCLAT_X)
#undef EAMCLAT_X
                      };
                      std::string out;
                      for (unsigned i = 0; i < unsigned(TableCounter::count); i++) {
                          char line[200];
                          snprintf(line, sizeof line, "  %-32s %12" PRIu64 "  %s\n", names[i],
                                   cp.tables->counter(TableCounter(i)), desc[i]);
                          out += line;
                      }
                      return {true, out};
                  }});
    cp.shell.add({"flows", "show flows [summary]",
                  "translated connections and the path each is pinned to (draft §5.2.6); summary: counts only",
                  [&cp](const Args &a) -> CommandResult {
                      auto *ft = cp.daemon.flows();
                      if (!ft) return {true, "no flow table (siit mode or limits.flows 0): translation is stateless"};
                      auto st = ft->stats();
                      char head[512];
                      snprintf(head, sizeof head,
                               "  flows: %u active of %u; created %" PRIu64 ", expired %" PRIu64
                               ", unpinned (table full) %" PRIu64 ", unpinned (conflict) %" PRIu64 "\n",
                               ft->size(), ft->capacity(), st.created, st.expired, st.full, st.conflicts);
                      std::string out = head;
                      if (a.has("summary")) {
                          uint64_t by_path[8] = {};
                          ft->for_each([&](const tables::Flow &f) { by_path[unsigned(f.path) & 7]++; });
                          for (unsigned p = 0; p < 8; p++)
                              if (by_path[p])
                                  out += "  " + std::string(xlat::path_name(xlat::Path(p))) + ": " +
                                         std::to_string(by_path[p]) + "\n";
                          return {true, out};
                      }
                      unsigned shown = 0;
                      uint32_t now = cp.daemon.flow_clock_now();
                      ft->for_each([&](const tables::Flow &f) {
                          if (shown++ >= 1000) return;
                          char line[256];
                          uint32_t seen = f.last_seen.load(std::memory_order_relaxed);
                          snprintf(line, sizeof line, "  %-3u %s:%u -> %s:%u via %s (%s) idle %us\n", f.proto,
                                   ip4_str(f.host).c_str(), f.host_port, ip4_str(f.remote4).c_str(), f.remote_port,
                                   f.remote6.str().c_str(), xlat::path_name(f.path), now > seen ? now - seen : 0);
                          out += line;
                      });
                      if (shown > 1000) out += "  ... (first 1000 shown; use show flows summary)\n";
                      return {true, out};
                  }});
    cp.shell.add({"hosts", "show hosts", "LAN hosts seen by the dataplane (draft §5.2.2): IPv4-only or dual-stack",
                  [&cp](const Args &) -> CommandResult {
                      std::string out = "  mac                ipv4             kind         learned  ipv6 seen\n";
                      uint64_t now = cp.now_seconds();
                      for (const auto &[mac, h] : cp.hosts.hosts()) {
                          std::string v4;
                          for (Ip4 a : h.ipv4) v4 += (v4.empty() ? "" : ",") + ip4_str(a);
                          size_t learned = 0;
                          for (Ip4 a : h.ipv4) learned += cp.tables->learned_count(a);
                          std::string v6;
                          for (const auto &a : h.ipv6) v6 += (v6.empty() ? "" : ",") + a.str();
                          char line[512];
                          snprintf(line, sizeof line, "  %s  %-16s %-12s %-8zu %s (seen %" PRIu64 "s ago)\n",
                                   mac_str(mac).c_str(), v4.empty() ? "-" : v4.c_str(),
                                   h.ipv4_only() ? "ipv4-only" : h.seen_ipv6 ? "dual-stack" : "ipv6-only", learned,
                                   v6.empty() ? "-" : v6.c_str(), now - h.last_seen);
                          out += line;
                      }
                      return {true, out};
                  }});
}

}  // namespace eamclat
