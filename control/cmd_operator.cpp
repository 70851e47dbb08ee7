// Shell commands: the operator's EAMT table (draft §5.3, docs/OPERATOR-TABLE.md).
#include "control_plane.hpp"

namespace eamclat {

void register_operator_commands(ControlPlane &cp) {
    cp.shell.add({"operator", "pull table", "pull the operator's table now (conditional request; the result: show operator)",
                  [&cp](const Args &) -> CommandResult {
                      if (!cp.pull) return {false, "no operator-table section in the configuration"};
                      std::string err;
                      if (!cp.pull->pull_now(err)) return {false, "pull table: " + err};
                      return {true, "pull started"};
                  }});
    cp.shell.add({"operator", "table load <file:file>",
                  "apply a table file with the same checks as a pull (FILE.sig when a public key is configured)",
                  [&cp](const Args &a) -> CommandResult {
                      if (!cp.pull) return {false, "no operator-table section in the configuration"};
                      std::string msg;
                      bool ok = cp.pull->load_file(a.text("file"), msg);
                      return {ok, msg};
                  }});
    cp.shell.add({"operator", "show operator", "the operator table in force: serial, entries, last pull, next pull, refusals",
                  [&cp](const Args &) -> CommandResult {
                      if (!cp.pull) return {true, "no operator-table section in the configuration"};
                      return {true, cp.pull->status()};
                  }});
}

}  // namespace eamclat
