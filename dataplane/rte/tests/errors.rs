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
