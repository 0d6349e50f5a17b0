//! Plan maths: lcore choice, queue ownership, tx queue per worker, mempool size, EAL argv.

use nic_config::layout::{EalOptions, Layout, MempoolSpec, PortSpec};
use nic_config::plan::{default_mbufs, plan, PlanError};
use nic_config::HostModel;

fn port(name: &str, device: &str, rx: u16, tx: u16) -> PortSpec {
    PortSpec {
        name: name.into(),
        device: device.into(),
        rx_queues: rx,
        tx_queues: tx,
        rx_desc: 1024,
        tx_desc: 1024,
        mtu: None,
        promiscuous: false,
    }
}

fn layout(ports: Vec<PortSpec>) -> Layout {
    Layout {
        eal: EalOptions::default(),
        ports,
        mempool: MempoolSpec::default(),
    }
}

#[test]
fn two_core_vdev_demo_plans_main_0_and_worker_1() {
    let mut l = layout(vec![port(
        "demo0",
        "net_memif0,role=server,socket=/run/x.sock,socket-abstract=no",
        1,
        1,
    )]);
    l.eal.hugepages = false;
    l.eal.file_prefix = Some("demo".into());
    l.eal.no_shconf = true;
    let p = plan(&l, &HostModel::uniform(2)).unwrap();
    assert_eq!(p.main_lcore, 0);
    assert_eq!(p.lcores.len(), 1);
    assert_eq!(
        (
            p.lcores[0].lcore,
            p.lcores[0].tx_queue,
            p.lcores[0].rx.clone()
        ),
        (1, 0, vec![(0, 0)])
    );
    assert_eq!(
        p.eal_args,
        [
            "-l",
            "0-1",
            "--main-lcore",
            "0",
            "--no-huge",
            "-m",
            "512",
            "--file-prefix",
            "demo",
            "--no-pci",
            "--no-shconf",
            "--vdev",
            "net_memif0,role=server,socket=/run/x.sock,socket-abstract=no"
        ]
    );
    assert_eq!(p.mempool.socket, None, "vdevs have no NUMA node");
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
}

#[test]
fn rx_queues_round_robin_and_each_worker_owns_a_tx_queue() {
    let l = layout(vec![
        port("a", "0000:3b:00.0", 3, 2),
        port("b", "0000:3b:00.1", 2, 2),
    ]);
    let host = HostModel::uniform(8)
        .with_pci("0000:3b:00.0", Some(0), Some("vfio-pci"))
        .with_pci("0000:3b:00.1", Some(0), Some("vfio-pci"));
    let p = plan(&l, &host).unwrap();
    // auto: min(5 rx queues, 2 tx queues per port) = 2 workers, the first CPUs after main 0
    let lcores: Vec<u32> = p.lcores.iter().map(|l| l.lcore).collect();
    assert_eq!(lcores, [1, 2]);
    assert_eq!(p.lcores[0].rx, [(0, 0), (0, 2), (1, 1)]);
    assert_eq!(p.lcores[1].rx, [(0, 1), (1, 0)]);
    assert_eq!((p.lcores[0].tx_queue, p.lcores[1].tx_queue), (0, 1));
    let mut owned: Vec<(usize, u16)> = p.lcores.iter().flat_map(|l| l.rx.clone()).collect();
    owned.sort_unstable();
    assert_eq!(
        owned,
        [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)],
        "every rx queue has exactly one owner"
    );
    assert!(p.eal_args.windows(2).any(|w| w == ["-a", "0000:3b:00.0"]));
    assert!(p.eal_args.windows(2).any(|w| w == ["-a", "0000:3b:00.1"]));
    assert!(!p.eal_args.contains(&"--no-pci".to_string()));
}

#[test]
fn too_few_tx_queues_names_the_port_and_the_count() {
    let mut l = layout(vec![
        port("a", "0000:3b:00.0", 4, 4),
        port("b", "0000:3b:00.1", 4, 2),
    ]);
    l.eal.worker_lcores = vec![1, 2, 3];
    let err = plan(&l, &HostModel::uniform(4)).unwrap_err();
    assert_eq!(
        err,
        PlanError::TooFewTxQueues {
            port: "b".into(),
            has: 2,
            needs: 3
        }
    );
    assert!(err.to_string().contains("set tx_queues = 3"));
}

#[test]
fn workers_prefer_the_nic_node_and_warn_when_told_otherwise() {
    let host = HostModel::uniform(8)
        .with_node(1, &[4, 5, 6, 7])
        .with_node(0, &[0, 1, 2, 3]);
    let host = host.with_pci("0000:af:00.0", Some(1), Some("vfio-pci"));
    let l = layout(vec![port("up", "0000:af:00.0", 2, 2)]);
    let p = plan(&l, &host).unwrap();
    assert_eq!(p.lcores.iter().map(|l| l.lcore).collect::<Vec<_>>(), [4, 5]);
    assert!(p.lcores.iter().all(|l| l.socket == Some(1)));
    assert_eq!(p.mempool.socket, Some(1));
    assert!(p.warnings.is_empty());

    let mut pinned = l.clone();
    pinned.eal.worker_lcores = vec![1, 2];
    let p = plan(&pinned, &host).unwrap();
    assert_eq!(p.warnings.len(), 2, "{:?}", p.warnings);
    assert!(p.warnings[0].contains("node 1 (4-7)"), "{}", p.warnings[0]);
}

#[test]
fn socket_mem_goes_to_the_nic_node_on_multi_node_hosts() {
    let host = HostModel::uniform(4)
        .with_node(1, &[2, 3])
        .with_pci("0000:af:00.0", Some(1), None);
    let mut l = layout(vec![port("up", "0000:af:00.0", 1, 1)]);
    l.eal.memory_mb = Some(2048);
    let p = plan(&l, &host).unwrap();
    assert!(
        p.eal_args
            .windows(2)
            .any(|w| w == ["--socket-mem", "0,2048"]),
        "{:?}",
        p.eal_args
    );
}

#[test]
fn mempool_default_covers_rings_caches_and_bursts() {
    // 2 ports x (2 rx x 1024 + 2 tx x 1024) = 8192 descriptors
    // 3 lcores (2 workers + main) x (256 cache + 64 bursts) = 960
    // 2 workers x 2 ports x 32 tx buffer = 128, + 1024 generated = 10304 → 16383
    let l = layout(vec![
        port("a", "0000:3b:00.0", 2, 2),
        port("b", "0000:3b:00.1", 2, 2),
    ]);
    assert_eq!(default_mbufs(&l, 2), 16_383);
    let p = plan(&l, &HostModel::uniform(4)).unwrap();
    assert_eq!(p.mempool.mbufs, 16_383);
    assert_eq!(p.mempool.bytes(), 16_383 * (2176 + 192));
    // exactly 2^n - 1 stays put
    let one = layout(vec![port("a", "0000:3b:00.0", 1, 1)]);
    assert_eq!(default_mbufs(&one, 1), 4095); // 2048 + 2*320 + 32 + 1024 = 3744
}

#[test]
fn configured_sizes_that_cannot_work_are_refused() {
    let mut l = layout(vec![port("a", "0000:3b:00.0", 1, 1)]);
    l.mempool.mbufs = Some(1000);
    assert!(matches!(
        plan(&l, &HostModel::uniform(2)),
        Err(PlanError::MempoolTooSmall { rx_desc: 1024, .. })
    ));
    l.mempool.mbufs = Some(2047);
    let p = plan(&l, &HostModel::uniform(2)).unwrap();
    assert!(p
        .warnings
        .iter()
        .any(|w| w.contains("below the computed 4095")));
    l.mempool.mbufs = None;
    l.eal.memory_mb = Some(64);
    assert!(matches!(
        plan(&l, &HostModel::uniform(2)),
        Err(PlanError::MemoryTooSmall { configured: 64, .. })
    ));
}

#[test]
fn lcores_outside_the_allowed_set_are_refused() {
    let mut l = layout(vec![port("a", "net_null0", 1, 1)]);
    l.eal.main_lcore = Some(5);
    assert!(matches!(
        plan(&l, &HostModel::uniform(2)),
        Err(PlanError::MainLcoreUnavailable { lcore: 5, .. })
    ));
    l.eal.main_lcore = None;
    assert!(matches!(
        plan(&l, &HostModel::uniform(1)),
        Err(PlanError::NoWorkerCpu { main: 0, .. })
    ));
    l.eal.worker_lcores = vec![9];
    assert!(matches!(
        plan(&l, &HostModel::uniform(2)),
        Err(PlanError::WorkerLcoreUnavailable { lcore: 9, .. })
    ));
    l.eal.worker_lcores = vec![1, 2, 3];
    l.ports[0].tx_queues = 3;
    assert!(matches!(
        plan(&l, &HostModel::uniform(4)),
        Err(PlanError::IdleWorkers { idle: 2, .. })
    ));
}

#[test]
fn the_plan_is_the_same_inside_the_unit_that_pins_it() {
    // clearwayd re-plans at start under CPUAffinity = plan.all_lcores(); it must get the same map.
    let host = HostModel::uniform(16).with_node(1, &[8, 9, 10, 11, 12, 13, 14, 15]);
    let host = host.with_pci("0000:af:00.0", Some(1), Some("vfio-pci"));
    let l = layout(vec![port("up", "0000:af:00.0", 4, 4)]);
    let outside = plan(&l, &host).unwrap();
    let mut pinned = host.clone();
    pinned.allowed = outside.all_lcores();
    pinned.allowed.sort_unstable();
    let inside = plan(&l, &pinned).unwrap();
    assert_eq!(inside, outside);
    assert_eq!(outside.all_lcores(), [0, 8, 9, 10, 11]);
}

#[test]
fn hyperthread_siblings_are_the_last_choice() {
    let mut host = HostModel::uniform(8);
    // cores: (0,4) (1,5) (2,6) (3,7)
    for cpu in &mut host.cpus {
        let first = cpu.id % 4;
        cpu.siblings = vec![first, first + 4];
    }
    let l = layout(vec![port("a", "net_null0", 4, 4)]);
    let p = plan(&l, &host).unwrap();
    assert_eq!(
        p.lcores.iter().map(|l| l.lcore).collect::<Vec<_>>(),
        [1, 2, 3, 5],
        "one thread per core first, and 4 (main's sibling) last"
    );
}

#[test]
fn numa_warnings_are_one_per_lcore_and_port() {
    let host = HostModel::uniform(4)
        .with_node(1, &[2, 3])
        .with_pci("0000:af:00.0", Some(1), None);
    let mut l = layout(vec![port("up", "0000:af:00.0", 4, 4)]);
    l.eal.worker_lcores = vec![1];
    let p = plan(&l, &host).unwrap();
    assert_eq!(
        p.warnings,
        ["lcore 1 (node 0) polls port \"up\" (node 1) rx queues 0,1,2,3: every packet crosses the interconnect; list worker_lcores from node 1 (2-3)"]
    );
}
