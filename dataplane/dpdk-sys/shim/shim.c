#include <stddef.h>

#include <rte_config.h>
#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_flow.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_prefetch.h>
#include <rte_ring.h>

#include "shim.h"

uint16_t clw_eth_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n)
{
	return rte_eth_rx_burst(port, queue, pkts, n);
}

uint16_t clw_eth_tx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n)
{
	return rte_eth_tx_burst(port, queue, pkts, n);
}

struct rte_mbuf *clw_pktmbuf_alloc(struct rte_mempool *mp) { return rte_pktmbuf_alloc(mp); }

int clw_pktmbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **mbufs, unsigned int count)
{
	return rte_pktmbuf_alloc_bulk(mp, mbufs, count);
}

void clw_pktmbuf_free(struct rte_mbuf *m) { rte_pktmbuf_free(m); }

void clw_pktmbuf_free_bulk(struct rte_mbuf **mbufs, unsigned int count)
{
	rte_pktmbuf_free_bulk(mbufs, count);
}


uint8_t *clw_pktmbuf_prepend(struct rte_mbuf *m, uint16_t len)
{
	return (uint8_t *)rte_pktmbuf_prepend(m, len);
}

uint8_t *clw_pktmbuf_append(struct rte_mbuf *m, uint16_t len)
{
	return (uint8_t *)rte_pktmbuf_append(m, len);
}

uint8_t *clw_pktmbuf_adj(struct rte_mbuf *m, uint16_t len) { return (uint8_t *)rte_pktmbuf_adj(m, len); }
int clw_pktmbuf_trim(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_trim(m, len); }
void clw_pktmbuf_reset(struct rte_mbuf *m) { rte_pktmbuf_reset(m); }
uint32_t clw_pktmbuf_rss_hash(const struct rte_mbuf *m) { return m->hash.rss; }

unsigned int clw_ring_enqueue_burst(struct rte_ring *r, void *const *objs, unsigned int n)
{
	return rte_ring_enqueue_burst(r, objs, n, NULL);
}

unsigned int clw_ring_dequeue_burst(struct rte_ring *r, void **objs, unsigned int n)
{
	return rte_ring_dequeue_burst(r, objs, n, NULL);
}

unsigned int clw_ring_count(const struct rte_ring *r) { return rte_ring_count(r); }

unsigned int clw_lcore_id(void) { return rte_lcore_id(); }
uint64_t clw_rdtsc(void) { return rte_rdtsc(); }
int clw_errno(void) { return rte_errno; }
void clw_pause(void) { rte_pause(); }

uint64_t clw_rss_hf_ip_udp(void) { return RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP; }
uint64_t clw_rx_offload_rss_hash(void) { return RTE_ETH_RX_OFFLOAD_RSS_HASH; }

void clw_mbuf_field_offsets(uint32_t *out)
{
	out[0] = offsetof(struct rte_mbuf, buf_addr);
	out[1] = offsetof(struct rte_mbuf, data_off);
	out[2] = offsetof(struct rte_mbuf, nb_segs);
	out[3] = offsetof(struct rte_mbuf, pkt_len);
	out[4] = offsetof(struct rte_mbuf, data_len);
	out[5] = offsetof(struct rte_mbuf, buf_len);
}

void clw_flow_item_layout(uint32_t *out)
{
	out[0] = sizeof(struct rte_flow_item_ipv4);
	out[1] = offsetof(struct rte_flow_item_ipv4, hdr.dst_addr);
	out[2] = sizeof(struct rte_flow_item_udp);
	out[3] = offsetof(struct rte_flow_item_udp, hdr.dst_port);
	out[4] = sizeof(struct rte_flow_action_queue);
}
