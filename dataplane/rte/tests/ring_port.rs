//! A million packets through an in-process ring port: every one arrives
//! once, in order, intact, and the pool gets every mbuf back.

use rte::{Burst, Eal, Mempool, Port, PortConfig};

const PACKETS: u64 = 1_000_000;
const LEN: usize = 64;

fn payload_byte(seq: u64, i: usize) -> u8 {
    (seq as u8).wrapping_mul(31).wrapping_add(i as u8)
}

#[test]
fn million_packets_through_net_ring_arrive_once_in_order_intact() {
    let eal = Eal::init(&rte::test_eal_args("ring")).expect("EAL init");
    let pool = Mempool::create(&eal, "ring_pool", 8191, 256, 2176, -1).unwrap();
    let port = Port::ring_loopback(&eal, "net_ring_test", 1, 1024).unwrap();
    port.configure(
        &PortConfig {
            rx_desc: 1024,
            tx_desc: 1024,
            ..PortConfig::default()
        },
        &pool,
    )
    .unwrap();
    port.start().unwrap();
    assert!(port.link().unwrap().up, "ring port link is up once started");
    let mut rx = port.rx_queue(0).unwrap();
    let mut tx = port.tx_queue(0).unwrap();

    let (mut next_tx, mut next_rx) = (0u64, 0u64);
    let mut out = Burst::new();
    let mut inn = Burst::new();
    while next_rx < PACKETS {
        if next_tx < PACKETS && out.is_empty() {
            let n = (PACKETS - next_tx).min(32) as usize;
            pool.alloc_bulk(&mut out, n)
                .expect("pool has room: packets are returned each loop");
            for m in out.as_mut_slice() {
                m.set_len(LEN).unwrap();
                let d = m.data_mut();
                d[..8].copy_from_slice(&next_tx.to_be_bytes());
                for (i, b) in d[8..].iter_mut().enumerate() {
                    *b = payload_byte(next_tx, i);
                }
                next_tx += 1;
            }
        }
        tx.tx_burst(&mut out);
        rx.rx_burst(&mut inn);
        for m in inn.drain() {
            let d = m.data();
            assert_eq!(d.len(), LEN);
            let seq = u64::from_be_bytes(d[..8].try_into().unwrap());
            assert_eq!(seq, next_rx, "packets arrive once and in order");
            for (i, b) in d[8..].iter().enumerate() {
                assert_eq!(*b, payload_byte(seq, i), "packet {seq} byte {i} intact");
            }
            next_rx += 1;
        }
    }
    assert_eq!(next_rx, PACKETS);
    rx.rx_burst(&mut inn);
    assert!(inn.is_empty(), "nothing arrives twice");
    let stats = port.stats().unwrap();
    assert_eq!(stats.tx_packets, PACKETS);
    assert_eq!(stats.rx_packets, PACKETS);
    drop(out);
    drop(inn);
    assert_eq!(pool.in_use(), 0, "every mbuf is back in the pool");
    assert_eq!(pool.available(), pool.capacity());
}
