// RFC 7915 stateless IP/ICMP translation on rte_mbuf.
//
// Contract:
//  - The input mbuf's data starts at the IP header (the caller strips and re-adds L2).
//    Chained mbufs are accepted.
//  - The translator always consumes the input: every packet it produces is in Output (the input
//    itself, translated in place, possibly as the first of several fragments, or reused to carry
//    an ICMP error back to its sender); when nothing is produced the input has been freed.
//  - Result.fate names the packet's fate; the caller counts it (every packet ends in one counter).
//  - Reentrant: all state is in the arguments; many lcores may call it at once with their own
//    Output and Mapper. Allocates only mbufs (fragments), from Context.pool.
#pragma once

#include <cstdint>

#include "config.hpp"
#include "counters.hpp"
#include "mapper.hpp"

struct rte_mbuf;
struct rte_mempool;

namespace eamclat::xlat {

enum class Side : uint8_t { v4, v6 };  // where an emitted packet goes

struct Emitted {
    rte_mbuf *m;
    Side side;
};

struct Output {
    // An IPv4 packet of 65535 bytes cut to 1280-byte IPv6 fragments needs 53.
    static constexpr unsigned max = 64;
    Emitted pkts[max];
    unsigned n = 0;
};

struct Context {
    const Config *config;
    Mapper *mapper;
    rte_mempool *pool;  // for fragments (and nothing else)
};

struct Result {
    Fate fate;
    Path path = Path::none;  // path of the (outer) destination address when translated
};

// RFC 7915 §4: an IPv4 packet arriving on the IPv4 side.
Result translate_4to6(const Context &ctx, rte_mbuf *m, Output &out);
// RFC 7915 §5: an IPv6 packet arriving on the IPv6 side.
Result translate_6to4(const Context &ctx, rte_mbuf *m, Output &out);

}  // namespace eamclat::xlat
