// Translator internals shared by the two directions (not part of the public API).
#pragma once

#include <rte_mbuf.h>

#include "translator.hpp"

namespace eamclat::xlat {

// Options of one 4->6 pass.
struct Pass4to6 {
    // RFC 7757 §4.2.2: second pass of intrinsic hairpinning: apply the simple-hairpinning
    // rules of §4.2.1 and do not decrement the hop limit.
    bool hairpin_second_pass = false;
};

// The 4->6 translation with options; translate_4to6() is this with default options.
// Used by the 6->4 code for intrinsic hairpinning (implemented in xlat_4to6.cpp).
Result translate_4to6_pass(const Context &ctx, rte_mbuf *m, Output &out, const Pass4to6 &pass);

inline bool emit(Output &out, rte_mbuf *m, Side side) {
    if (out.n >= Output::max) return false;
    out.pkts[out.n++] = {m, side};
    return true;
}

// Makes the first `len` bytes of the packet contiguous in the first segment (moving bytes from
// following segments into its tailroom when a chain splits headers). Returns a pointer to the
// packet's first byte, or nullptr when the packet is shorter than len or the first segment
// cannot hold len bytes. Never allocates.
uint8_t *pull_up_chain(rte_mbuf *m, uint32_t len);
inline uint8_t *pull_up(rte_mbuf *m, uint32_t len) {
    if (rte_pktmbuf_data_len(m) >= len) return rte_pktmbuf_mtod(m, uint8_t *);  // the usual case
    return pull_up_chain(m, len);
}

}  // namespace eamclat::xlat
