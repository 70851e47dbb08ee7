// eamclat-ctl: attaches to a running eamclat over its control socket (like vppctl).
//   eamclat-ctl [-s SOCKET]                 interactive: the daemon's shell commands
//   eamclat-ctl [-s SOCKET] -c "show eamt"  one command (repeatable), for scripts
//   eamclat-ctl [-s SOCKET] -f FILE         a batch file of commands
//   eamclat-ctl [-s SOCKET] table load FILE same as -c "table load FILE"
// Exit status: 0 when every command succeeded, 1 when one failed, 2 when the daemon is unreachable.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "ctl_server.hpp"

namespace {
void usage() {
    fputs("usage: eamclat-ctl [-s SOCKET] [-c COMMAND]... [-f FILE] [COMMAND WORDS...]\n"
          "  default socket: /run/eamclat/eamclat.sock (or $EAMCLAT_SOCKET)\n",
          stderr);
}
}  // namespace

int main(int argc, char **argv) {
    std::string sock = getenv("EAMCLAT_SOCKET") ? getenv("EAMCLAT_SOCKET") : "/run/eamclat/eamclat.sock";
    std::vector<std::string> cmds;
    std::string file;
    std::string words;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if ((a == "-s" || a == "--socket") && i + 1 < argc) sock = argv[++i];
        else if ((a == "-c" || a == "--command") && i + 1 < argc) cmds.push_back(argv[++i]);
        else if ((a == "-f" || a == "--file") && i + 1 < argc) file = argv[++i];
        else if (a == "-h" || a == "--help") {
            usage();
            return 0;
        } else if (!a.empty() && a[0] == '-') {
            usage();
            return 2;
        } else {
            words += (words.empty() ? "" : " ") + a;
        }
    }
    if (!words.empty()) cmds.push_back(words);
    if (!file.empty()) {
        std::ifstream in(file);
        if (!in) {
            fprintf(stderr, "eamclat-ctl: cannot read %s\n", file.c_str());
            return 2;
        }
        for (std::string l; std::getline(in, l);) cmds.push_back(l);
    }
    eamclat::CtlClient c;
    std::string err;
    if (!c.connect(sock, err)) {
        fprintf(stderr, "eamclat-ctl: %s\n", err.c_str());
        return 2;
    }
    auto run = [&](const std::string &line) -> int {
        bool ok;
        std::string out;
        if (!c.run(line, ok, out, err)) {
            fprintf(stderr, "eamclat-ctl: %s\n", err.c_str());
            return 2;
        }
        if (!out.empty()) {
            fputs(out.c_str(), ok ? stdout : stderr);
            if (out.back() != '\n') fputc('\n', ok ? stdout : stderr);
        }
        return ok ? 0 : 1;
    };
    if (!cmds.empty()) {
        int rc = 0;
        for (const auto &l : cmds) {
            int r = run(l);
            if (r == 2) return 2;
            if (r) rc = 1;
            if (r && !file.empty()) break;  // batch files stop at the first error
        }
        return rc;
    }
    // Interactive.
    bool tty = isatty(0);
    for (;;) {
        if (tty) {
            fputs("eamclat> ", stdout);
            fflush(stdout);
        }
        std::string line;
        if (!std::getline(std::cin, line)) break;
        if (line == "quit" || line == "exit") break;
        if (run(line) == 2) return 2;
    }
    return 0;
}
