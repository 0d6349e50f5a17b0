//! Error paths: each comes back as a typed error, never a crash.

use rte::{Burst, Eal, Error, Mempool, Port, PortConfig};

#[test]
fn second_eal_init_is_an_error_not_undefined_behaviour() {
    let _eal = Eal::init(&rte::test_eal_args("double")).expect("first init");
    match Eal::init(&rte::test_eal_args("double2")) {
        Err(Error::AlreadyInitialized) => {}
        other => panic!("expected AlreadyInitialized, got {other:?}"),
    }
}

#[test]
fn bad_vdev_string_fails_init_with_dpdk_message() {
    let mut args = rte::test_eal_args("badvdev");
    args.push("--vdev=net_nosuchdriver0,foo=bar".into());
    let err = Eal::init(&args).expect_err("an unknown driver cannot start");
    let text = err.to_string();
    assert!(text.contains("rte_eal_init"), "{text}");
}

#[test]
fn zero_ports_means_lookup_fails_with_a_hint() {
    let eal = Eal::init(&rte::test_eal_args("noports")).unwrap();
    assert_eq!(eal.port_count(), 0);
    let err = Port::by_name(&eal, "net_memif0").unwrap_err();
    assert!(matches!(err, Error::NoSuchPort { .. }));
    assert!(err.to_string().contains("--vdev"), "{err}");
}

#[test]
fn mempool_exhaustion_returns_an_error_and_recovers() {
    let eal = Eal::init(&rte::test_eal_args("exhaust")).unwrap();
    // No per-lcore cache, so the count is exact.
    let pool = Mempool::create(&eal, "tiny", 63, 0, 2176, -1).unwrap();
    let mut held = Vec::new();
    for _ in 0..63 {
        held.push(pool.alloc().expect("63 mbufs fit"));
    }
    assert!(matches!(pool.alloc(), Err(Error::PoolExhausted { .. })));
    let mut burst = Burst::new();
    assert!(pool.alloc_bulk(&mut burst, 32).is_err());
    assert!(burst.is_empty(), "bulk alloc is all or nothing");
    held.truncate(10);
    pool.alloc_bulk(&mut burst, 32).expect("53 free now");
    assert_eq!(burst.len(), 32);
    drop(burst);
    drop(held);
    assert_eq!(pool.in_use(), 0);
}

#[test]
fn queue_count_over_driver_limit_is_a_clear_error() {
    let eal = Eal::init(&rte::test_eal_args("qlimit")).unwrap();
    let pool = Mempool::create(&eal, "q", 1023, 0, 2176, -1).unwrap();
    let port = Port::ring_loopback(&eal, "net_ring_q", 1, 256).unwrap();
    let err = port
        .configure(
            &PortConfig {
                rx_queues: 64,
                tx_queues: 64,
                ..PortConfig::default()
            },
            &pool,
        )
        .unwrap_err();
    assert!(err.to_string().contains("gives at most"), "{err}");
}

#[test]
fn a_queue_has_one_owner() {
    let eal = Eal::init(&rte::test_eal_args("owner")).unwrap();
    let pool = Mempool::create(&eal, "o", 1023, 0, 2176, -1).unwrap();
    let port = Port::ring_loopback(&eal, "net_ring_o", 1, 256).unwrap();
    port.configure(&PortConfig::default(), &pool).unwrap();
    let _rx = port.rx_queue(0).unwrap();
    assert!(matches!(port.rx_queue(0), Err(Error::QueueTaken { .. })));
    assert!(port.tx_queue(1).is_err(), "unconfigured queue");
}

#[test]
fn ring_pair_port_delivers_injected_packets_and_collects_sent_ones() {
    let eal = Eal::init(&rte::test_eal_args("pair")).unwrap();
    let pool = Mempool::create(&eal, "pair", 1023, 0, 2176, -1).unwrap();
    let mut pair = Port::ring_pair(&eal, "net_ring_pair", 2, 256).unwrap();
    pair.port
        .configure(
            &PortConfig {
                rx_queues: 2,
                tx_queues: 2,
                rss: false,
                ..PortConfig::default()
            },
            &pool,
        )
        .unwrap();
    pair.port.start().unwrap();
    let mut rx1 = pair.port.rx_queue(1).unwrap();
    let mut tx0 = pair.port.tx_queue(0).unwrap();
    let mut m = pool.alloc().unwrap();
    m.set_len(3).unwrap();
    m.data_mut().copy_from_slice(b"abc");
    pair.inject[1].enqueue(m).unwrap();
    let mut burst = Burst::new();
    assert_eq!(
        rx1.rx_burst(&mut burst),
        1,
        "arrives on the rx queue it was injected for"
    );
    assert_eq!(burst.as_slice()[0].data(), b"abc");
    assert_eq!(tx0.tx_burst(&mut burst), 1);
    assert!(pair.collect[1].dequeue().is_none());
    let out = pair.collect[0].dequeue().expect("sent on tx queue 0");
    assert_eq!(out.data(), b"abc");
    drop(out);
    drop(pair);
    assert_eq!(pool.in_use(), 0);
}
