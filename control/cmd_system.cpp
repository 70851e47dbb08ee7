// Shell commands: help, logging, quit.
#include <rte_log.h>

#include "control_plane.hpp"
#include "daemon.hpp"
#include "log.hpp"

namespace eamclat {

void register_system_commands(ControlPlane &cp) {
    cp.shell.add({"system", "help [<word:topic>]", "list the commands (or those of one area: show, eamt, dns, ...)",
                  [&cp](const Args &a) -> CommandResult { return {true, cp.shell.help(a.text("topic"))}; }});
    cp.shell.add({"system", "set log level <word:level>",
                  "eamclat's rte_log level: emerg, alert, crit, err, warning, notice, info, debug",
                  [](const Args &a) -> CommandResult {
                      static const std::pair<const char *, int> levels[] = {
                          {"emerg", RTE_LOG_EMERG}, {"alert", RTE_LOG_ALERT},     {"crit", RTE_LOG_CRIT},
                          {"err", RTE_LOG_ERR},     {"warning", RTE_LOG_WARNING}, {"notice", RTE_LOG_NOTICE},
                          {"info", RTE_LOG_INFO},   {"debug", RTE_LOG_DEBUG}};
                      for (auto [name, lvl] : levels)
                          if (a.text("level") == name) {
                              rte_log_set_level(eamclat_logtype, lvl);
                              return {true, std::string("log level ") + name};
                          }
                      return {false, "unknown level '" + a.text("level") +
                                         "'\nusage: set log level emerg|alert|crit|err|warning|notice|info|debug"};
                  }});
    cp.shell.add({"system", "quit", "stop eamclat (saves the learned table); eamclat-ctl's quit only leaves the client",
                  [&cp](const Args &) -> CommandResult {
                      cp.shell.quit();
                      cp.daemon.stop();
                      return {true, "bye"};
                  }});
}

}  // namespace eamclat
