/*
 * The plain C loop that the Rust layer is measured against (benchmark
 * baseline, not used by the product): on one port, alloc-bulk 32 -> tx
 * burst -> rx burst -> free-bulk, `bursts` times. Returns packets received.
 */
#include <rte_config.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "shim.h"

uint64_t clw_baseline_ring_loop(uint16_t port, uint16_t queue, struct rte_mempool *mp, uint64_t bursts)
{
	struct rte_mbuf *out[32];
	struct rte_mbuf *in[32];
	uint64_t received = 0;

	for (uint64_t i = 0; i < bursts; i++) {
		if (rte_pktmbuf_alloc_bulk(mp, out, 32) != 0)
			break;
		for (int k = 0; k < 32; k++) {
			out[k]->data_len = 64;
			out[k]->pkt_len = 64;
		}
		uint16_t sent = rte_eth_tx_burst(port, queue, out, 32);
		if (sent < 32)
			rte_pktmbuf_free_bulk(out + sent, 32 - sent);
		uint16_t got = rte_eth_rx_burst(port, queue, in, 32);
		received += got;
		rte_pktmbuf_free_bulk(in, got);
	}
	return received;
}
