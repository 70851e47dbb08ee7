// Catch2 main for the unit tests: brings up a DPDK EAL without hugepages or PCI (so the tests run
// anywhere, CI included) and a mempool shared by the tests.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <rte_eal.h>
#include <rte_mbuf.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "mbuf_util.hpp"

namespace eamclat::test {
rte_mempool *g_pool = nullptr;
}

int main(int argc, char **argv) {
    std::string prefix = "--file-prefix=eamclat-ut-" + std::to_string(getpid());
    std::vector<const char *> eal = {argv[0], "--no-huge", "-m", "512", "--no-pci", "--no-shconf",
                                     "--log-level=lib.*:error", "--no-telemetry", "-l", "0",
                                     prefix.c_str()};
    if (rte_eal_init(static_cast<int>(eal.size()), const_cast<char **>(eal.data())) < 0) {
        fprintf(stderr, "unit tests: rte_eal_init failed\n");
        return 2;
    }
    eamclat::test::g_pool =
        rte_pktmbuf_pool_create("ut_pool", 8191, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (!eamclat::test::g_pool) {
        fprintf(stderr, "unit tests: mempool creation failed\n");
        return 2;
    }
    int rc = Catch::Session().run(argc, argv);
    rte_eal_cleanup();
    return rc;
}
