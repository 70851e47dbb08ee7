// eamclat [EAL args] -- --config FILE
// eamclat --check-config FILE          (or after "--"): validate and exit 0 (valid) / 2 (invalid)
#include <rte_eal.h>
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "config.hpp"
#include "control_plane.hpp"
#include "daemon.hpp"
#include "event_loop.hpp"
#include "log.hpp"

namespace {

void usage(FILE *out) {
    fprintf(out,
            "usage: eamclat [EAL options] -- --config FILE\n"
            "       eamclat --check-config FILE\n"
            "  --config FILE        run the daemon with this configuration (see configs/README.md)\n"
            "  --check-config FILE  validate the configuration and exit: 0 valid, 2 invalid\n"
            "  -i, --interactive    run the shell on this terminal (as testpmd -i); quit stops eamclat\n"
            "  --cmdline-file FILE  run the shell commands in FILE at start (as testpmd)\n"
            "  eamclat-ctl attaches to a running daemon over control.socket\n"
            "EAL options here: e.g. -l 0-1 (main lcore = control thread, the others = workers),\n"
            "  --vdev net_af_packet0,iface=veth0,qpairs=N, --no-huge -m 1024 --no-pci\n");
}

std::optional<eamclat::DaemonConfig> load(const std::string &path) {
    std::vector<eamclat::ConfigError> errs;
    auto cfg = eamclat::load_config(path, eamclat::ConfigScope::daemon, errs);
    for (const auto &e : errs) fprintf(stderr, "%s\n", e.str(path).c_str());
    if (!cfg || !errs.empty()) return std::nullopt;
    return cfg;
}

}  // namespace

int main(int argc, char **argv) {
    // Our own options follow "--" (EAL's come first); --check-config also works alone, without EAL.
    int sep = argc;
    for (int i = 1; i < argc; ++i)
        if (strcmp(argv[i], "--") == 0) {
            sep = i;
            break;
        }
    std::string config_path;
    std::string cmdline_file;
    bool check_only = false;
    bool interactive = false;
    const int own_first = sep < argc ? sep + 1 : 1;
    for (int i = own_first; i < argc; ++i) {
        const std::string a = argv[i];
        if ((a == "--config" || a == "--check-config") && i + 1 < argc) {
            config_path = argv[++i];
            check_only = a == "--check-config";
        } else if (a == "-i" || a == "--interactive") {
            interactive = true;
        } else if (a == "--cmdline-file" && i + 1 < argc) {
            cmdline_file = argv[++i];
        } else if (a == "-h" || a == "--help") {
            usage(stdout);
            return 0;
        } else if (sep < argc) {
            fprintf(stderr, "eamclat: unknown option '%s'\n", a.c_str());
            usage(stderr);
            return 2;
        }
    }
    if (check_only) {
        if (!load(config_path)) return 2;
        printf("%s: ok\n", config_path.c_str());
        return 0;
    }
    if (sep == argc || config_path.empty()) {
        usage(stderr);
        return 2;
    }
    // Load before touching EAL: a bad config fails fast with its line numbers.
    auto cfg = load(config_path);
    if (!cfg) return 2;

    // Blocked before rte_eal_init so that every thread EAL creates inherits the mask and the
    // signals reach only the control thread's signalfd.
    eamclat::EventLoop::block_signals({SIGINT, SIGTERM});
    if (rte_eal_init(sep, argv) < 0) {
        fprintf(stderr, "eamclat: EAL initialisation failed\n");
        return 1;
    }
    int rc = 0;
    {
        eamclat::Daemon daemon(std::move(*cfg));
        std::string err;
        if (daemon.start(err)) {
            if (cmdline_file.empty()) cmdline_file = daemon.config().control.cmdline_file;
            if (!cmdline_file.empty() && !daemon.control()->run_batch(cmdline_file))
                EAMCLAT_LOG(WARNING, "--cmdline-file %s stopped at an error\n", cmdline_file.c_str());
            if (interactive && !daemon.control()->attach_terminal())
                EAMCLAT_LOG(WARNING, "cannot open the terminal for the shell\n");
            daemon.run();
        } else {
            EAMCLAT_LOG(ERR, "start-up failed: %s\n", err.c_str());
            rc = 1;
        }
        daemon.shutdown();
    }
    rte_eal_cleanup();
    return rc;
}
