/*
 * Exported wrappers for DPDK's static-inline fast path. DPDK keeps these
 * inline for speed, so bindgen cannot see them as symbols; each wrapper is a
 * one-line forward so that LTO-less Rust callers pay one direct call.
 */
#ifndef CLEARWAY_SHIM_H
#define CLEARWAY_SHIM_H

#include <stdint.h>

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;

uint16_t clw_eth_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
uint16_t clw_eth_tx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);

struct rte_mbuf *clw_pktmbuf_alloc(struct rte_mempool *mp);
int clw_pktmbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **mbufs, unsigned int count);
void clw_pktmbuf_free(struct rte_mbuf *m);
void clw_pktmbuf_free_bulk(struct rte_mbuf **mbufs, unsigned int count);

uint8_t *clw_pktmbuf_prepend(struct rte_mbuf *m, uint16_t len);
uint8_t *clw_pktmbuf_append(struct rte_mbuf *m, uint16_t len);
uint8_t *clw_pktmbuf_adj(struct rte_mbuf *m, uint16_t len);
int clw_pktmbuf_trim(struct rte_mbuf *m, uint16_t len);
void clw_pktmbuf_reset(struct rte_mbuf *m);
uint32_t clw_pktmbuf_rss_hash(const struct rte_mbuf *m);

unsigned int clw_ring_enqueue_burst(struct rte_ring *r, void *const *objs, unsigned int n);
unsigned int clw_ring_dequeue_burst(struct rte_ring *r, void **objs, unsigned int n);
unsigned int clw_ring_count(const struct rte_ring *r);

unsigned int clw_lcore_id(void);
uint64_t clw_rdtsc(void);
int clw_errno(void);
void clw_pause(void);

/* Flag words that DPDK defines with function-like macros bindgen cannot evaluate. */
uint64_t clw_rss_hf_ip_udp(void);
uint64_t clw_rx_offload_rss_hash(void);

/* Offsets of buf_addr, data_off, nb_segs, pkt_len, data_len, buf_len (layout check). */
void clw_mbuf_field_offsets(uint32_t *out);

/* rte_flow item layouts the safe layer fills as raw header bytes (layout check):
 * sizeof ipv4 item, offset of its hdr.dst_addr, sizeof udp item, offset of its
 * hdr.dst_port, sizeof rte_flow_action_queue. */
void clw_flow_item_layout(uint32_t *out);

/* Benchmark baseline (shim/baseline.c). */
uint64_t clw_baseline_ring_loop(uint16_t port, uint16_t queue, struct rte_mempool *mp, uint64_t bursts);

#endif
