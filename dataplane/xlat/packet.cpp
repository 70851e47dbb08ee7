// mbuf helpers shared by both directions.
#include <cstring>

#include "internal.hpp"

namespace eamclat::xlat {

uint8_t *pull_up_chain(rte_mbuf *m, uint32_t len) {
    if (rte_pktmbuf_pkt_len(m) < len) return nullptr;
    if (rte_pktmbuf_data_len(m) >= len) return rte_pktmbuf_mtod(m, uint8_t *);
    if (len > static_cast<uint32_t>(rte_pktmbuf_data_len(m)) + rte_pktmbuf_tailroom(m)) return nullptr;
    // Move bytes from the following segments to the end of the first one.
    while (rte_pktmbuf_data_len(m) < len) {
        rte_mbuf *next = m->next;
        uint32_t need = len - rte_pktmbuf_data_len(m);
        uint32_t take = need < next->data_len ? need : next->data_len;
        memcpy(rte_pktmbuf_mtod_offset(m, uint8_t *, m->data_len), rte_pktmbuf_mtod(next, uint8_t *), take);
        m->data_len = static_cast<uint16_t>(m->data_len + take);
        next->data_off = static_cast<uint16_t>(next->data_off + take);
        next->data_len = static_cast<uint16_t>(next->data_len - take);
        if (next->data_len == 0) {  // unlink the emptied segment
            m->next = next->next;
            m->nb_segs = static_cast<uint16_t>(m->nb_segs - 1);
            next->next = nullptr;
            next->nb_segs = 1;
            rte_pktmbuf_free_seg(next);
        }
    }
    return rte_pktmbuf_mtod(m, uint8_t *);
}

}  // namespace eamclat::xlat
