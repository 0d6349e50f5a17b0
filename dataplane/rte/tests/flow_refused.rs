//! Drivers without rte_flow (net_ring, net_null, net_memif) refuse a
//! steering rule with a typed FlowError (DPDK's errno, type and message, and
//! what to do), never a crash; the switch then steers replies in software.

use rte::{Eal, FlowErrorKind, FlowRule, Mempool, Port, PortConfig};

const ENOSYS: i32 = 38;
const EINVAL: i32 = 22;

fn two_queues() -> PortConfig {
    PortConfig {
        rx_queues: 2,
        tx_queues: 2,
        rx_desc: 256,
        tx_desc: 256,
        rss: false,
        ..PortConfig::default()
    }
}

/// Every way of installing the per-lcore rules on `port` is refused as
/// "no flow API", naming the driver and saying what to do.
fn assert_no_flow_api(port: &Port, driver: &str) {
    let rules = [
        FlowRule::udp_to_queue(8600, 0).dst_ip("10.0.0.1".parse().unwrap()),
        FlowRule::udp_to_queue(8601, 1),
    ];
    let err = port.flow_validate(&rules[0]).expect_err("no rte_flow here");
    assert_eq!(err.driver, driver);
    assert_eq!(err.op, "rte_flow_validate");
    assert_eq!(err.code, ENOSYS, "{err}");
    assert!(err.no_flow_api(), "{err}");
    assert_eq!(err.kind, FlowErrorKind::Unspecified);
    assert_eq!(err.rule, rules[0]);
    assert!(!err.message.is_empty());
    let line = err.to_string();
    assert!(line.contains("hand-off"), "says what to do: {line}");
    assert!(line.contains("udp dst 8600 -> queue 0"), "{line}");

    let err = port.flow_create(&rules[1]).expect_err("no rte_flow here");
    assert_eq!(err.op, "rte_flow_create");
    assert_eq!(err.code, ENOSYS, "{err}");

    let err = port.flow_create_all(&rules).expect_err("all or none");
    assert!(err.no_flow_api(), "{err}");
}

#[test]
fn ring_port_refuses_flow_rules_with_a_typed_error() {
    let eal = Eal::init(&rte::test_eal_args("flowring")).unwrap();
    let pool = Mempool::create(&eal, "flowring", 1023, 0, 2176, -1).unwrap();
    let port = Port::ring_loopback(&eal, "net_ring_flow", 2, 256).unwrap();
    port.configure(&two_queues(), &pool).unwrap();
    port.start().unwrap();
    assert_no_flow_api(&port, "net_ring");
    // The port still works after the refusals.
    assert!(port.link().is_ok());
}

#[test]
fn null_port_refuses_flow_rules_with_a_typed_error() {
    let mut args = rte::test_eal_args("flownull");
    args.push("--vdev=net_null0,size=64".into());
    let eal = Eal::init(&args).unwrap();
    let pool = Mempool::create(&eal, "flownull", 1023, 0, 2176, -1).unwrap();
    let port = Port::by_name(&eal, "net_null0").unwrap();
    port.configure(&two_queues(), &pool).unwrap();
    port.start().unwrap();
    assert_no_flow_api(&port, "net_null");
}

#[test]
fn rule_for_a_queue_the_port_lacks_is_refused_before_the_driver_sees_it() {
    let eal = Eal::init(&rte::test_eal_args("flowq")).unwrap();
    let pool = Mempool::create(&eal, "flowq", 1023, 0, 2176, -1).unwrap();
    let port = Port::ring_loopback(&eal, "net_ring_flowq", 1, 256).unwrap();
    let rule = FlowRule::udp_to_queue(8601, 1);

    let err = port.flow_validate(&rule).expect_err("not configured yet");
    assert_eq!(err.kind, FlowErrorKind::ActionConf);
    assert_eq!(err.code, EINVAL);
    assert!(err.message.contains("0 rx queues"), "{err}");

    port.configure(&PortConfig::default(), &pool).unwrap();
    assert_eq!(port.rx_queues_configured(), 1);
    let err = port.flow_create(&rule).expect_err("queue 1 of 1");
    assert_eq!(err.kind, FlowErrorKind::ActionConf);
    assert!(
        err.message.contains("rx queue 1 is not configured"),
        "{err}"
    );
}

#[test]
fn memif_port_refuses_flow_rules_with_a_typed_error() {
    let socket = std::env::temp_dir().join(format!("clw-flow-memif-{}.sock", std::process::id()));
    let mut args = rte::test_eal_args("flowmemif");
    args.push(format!(
        "--vdev=net_memif0,role=server,socket={},socket-abstract=no",
        socket.display()
    ));
    let eal = Eal::init(&args).unwrap();
    let pool = Mempool::create(&eal, "flowmemif", 1023, 0, 2176, -1).unwrap();
    let port = Port::by_name(&eal, "net_memif0").unwrap();
    port.configure(&two_queues(), &pool).unwrap();
    port.start().unwrap();
    // No peer is needed: the refusal comes before any link.
    assert_no_flow_api(&port, "net_memif");
    drop(port);
    let _ = std::fs::remove_file(&socket);
}
