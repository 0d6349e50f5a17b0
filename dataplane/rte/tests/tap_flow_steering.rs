//! rte_flow steering seen from a real network stack: a net_tap port with two
//! rx queues and the rules "UDP to 8600 → queue 0", "UDP to 8601 → queue 1";
//! kernel UDP sockets with many different source ports (so the kernel's own
//! per-flow queue choice would spread them) send to both ports, and every
//! datagram must arrive on the queue its rule names.
//!
//! The tap PMD implements rte_flow with TC in the kernel (a multiq root
//! qdisc, flower filters, skbedit queue_mapping). The whole DPDK side runs
//! inside a namespace the test creates, because moving a tap into a
//! namespace afterwards would drop its qdiscs and leave the PMD's netlink
//! socket in the wrong namespace. A kernel without those TC parts is
//! reported and the test skips with the reason printed; any other refusal
//! fails. Needs root.

use std::net::{Ipv4Addr, UdpSocket};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rte::{Burst, Eal, FlowRule, Mempool, Port, PortConfig};

const TEST: &str = "udp_ports_arrive_on_the_queues_their_rte_flow_rules_name";
const ROLE: &str = "CLW_TAP_FLOW_ROLE";
const KERNEL_IP: Ipv4Addr = Ipv4Addr::new(10, 214, 0, 1);
const DPDK_IP: Ipv4Addr = Ipv4Addr::new(10, 214, 0, 2);
/// (UDP destination port, rx queue) as the rules map them.
const STEER: [(u16, u16); 2] = [(8600, 0), (8601, 1)];
/// Sockets per destination port, each with its own ephemeral source port.
const SOCKETS: u16 = 8;
const PER_SOCKET: u16 = 4;
const EXPECTED_PER_PORT: u32 = (SOCKETS * PER_SOCKET) as u32;
const MARKER: &[u8] = b"clw-steer";

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} is installed: {e}"));
    assert!(
        out.status.success(),
        "{program} {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Deletes the namespace however the test ends.
struct Namespace(String);
impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

#[test]
fn udp_ports_arrive_on_the_queues_their_rte_flow_rules_name() {
    if std::env::var(ROLE).is_ok() {
        return dpdk_side_in_namespace();
    }
    let tag = std::process::id();
    let ns = Namespace(format!("clwflow{tag}"));
    run("ip", &["netns", "add", &ns.0]);
    let dir = std::env::temp_dir().join(format!("clw-tap-flow-{tag}"));
    std::fs::create_dir_all(&dir).unwrap();
    let (out_path, err_path) = (dir.join("stdout"), dir.join("stderr"));
    let mut child = Command::new("ip")
        .args(["netns", "exec", &ns.0])
        .arg(std::env::current_exe().unwrap())
        .args([TEST, "--exact", "--nocapture"])
        .env(ROLE, "dpdk")
        .stdout(Stdio::from(std::fs::File::create(&out_path).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(&err_path).unwrap()))
        .spawn()
        .unwrap();
    // Bounded: the DPDK side gives up on traffic after 20 s by itself.
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    let status = status.unwrap_or_else(|| panic!("DPDK side hung:\n{stdout}\n{stderr}"));
    assert!(status.success(), "DPDK side failed:\n{stdout}\n{stderr}");
    for line in stdout
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("running") && !l.starts_with("test "))
    {
        println!("dpdk side: {line}");
    }
    if stdout.lines().any(|l| l.starts_with("SKIP:")) {
        return;
    }
    for (port, queue) in STEER {
        let line = format!("steered: udp {port} -> queue {queue} x{EXPECTED_PER_PORT}");
        assert!(stdout.contains(&line), "missing {line:?}:\n{stdout}");
    }
}

/// Runs inside the namespace: DPDK, the tap and the kernel sockets.
fn dpdk_side_in_namespace() {
    // The sender starts before the EAL pins this thread to one CPU.
    let (go, wait_go) = mpsc::channel::<()>();
    let sender = std::thread::spawn(move || {
        if wait_go.recv().is_err() {
            return; // the DPDK side failed before traffic
        }
        for (port, _) in STEER {
            for k in 0..SOCKETS {
                let sock = UdpSocket::bind((KERNEL_IP, 0)).unwrap();
                for j in 0..PER_SOCKET {
                    let mut payload = MARKER.to_vec();
                    payload.extend_from_slice(&[k as u8, j as u8]);
                    sock.send_to(&payload, (DPDK_IP, port)).unwrap();
                }
            }
        }
    });

    let iface = format!("clwft{}", std::process::id());
    let mut args = rte::test_eal_args("tapflow");
    args.push(format!("--vdev=net_tap0,iface={iface}"));
    let eal = Eal::init(&args).expect("EAL with net_tap (run as root)");
    let pool = Mempool::create(&eal, "tapflow", 4095, 64, 2176, -1).unwrap();
    let port = Port::by_name(&eal, "net_tap0").unwrap();
    let cfg = PortConfig {
        rx_queues: 2,
        tx_queues: 2,
        rx_desc: 512,
        tx_desc: 512,
        ..PortConfig::default()
    };
    port.configure(&cfg, &pool).unwrap();
    port.start().unwrap();
    let mac = port
        .mac()
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":");
    run(
        "ip",
        &["addr", "add", &format!("{KERNEL_IP}/24"), "dev", &iface],
    );
    run("ip", &["link", "set", &iface, "up"]);
    let dpdk_ip = DPDK_IP.to_string();
    run(
        "ip",
        &["neigh", "add", &dpdk_ip, "lladdr", &mac, "dev", &iface],
    );

    let rules = STEER.map(|(p, q)| FlowRule::udp_to_queue(p, q).dst_ip(DPDK_IP));
    // Without rules the datagrams are still sent: the run then shows how
    // the kernel spreads them over the queues (what the hand-off absorbs).
    let refused = match port.flow_create_all(&rules) {
        Ok(flows) => {
            println!("installed: {}", rules.map(|r| r.to_string()).join(", "));
            Ok(flows)
        }
        Err(e) => {
            let gaps = kernel_tc_gaps(&iface);
            assert!(
                !gaps.is_empty(),
                "net_tap refused the rules although the kernel has multiq, flower and skbedit: {e}"
            );
            Err(format!(
                "SKIP: net_tap cannot steer on this kernel ({}); the driver said: {e}",
                gaps.join("; ")
            ))
        }
    };
    go.send(()).unwrap();

    // seen[i][q]: datagrams to STEER[i]'s port that arrived on queue q.
    let mut seen = [[0u32; 2]; 2];
    let mut rxq = [port.rx_queue(0).unwrap(), port.rx_queue(1).unwrap()];
    let mut burst = Burst::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while seen.iter().flatten().sum::<u32>() < 2 * EXPECTED_PER_PORT && Instant::now() < deadline {
        for (q, rx) in rxq.iter_mut().enumerate() {
            rx.rx_burst(&mut burst);
            for m in burst.drain() {
                if let Some(dst) = our_datagram_port(m.data()) {
                    let i = STEER.iter().position(|(p, _)| *p == dst).unwrap();
                    seen[i][q] += 1;
                }
            }
        }
    }
    sender.join().unwrap();
    println!("seen [port][queue]: {seen:?}");
    for (i, (port_no, _)) in STEER.iter().enumerate() {
        assert_eq!(
            seen[i][0] + seen[i][1],
            EXPECTED_PER_PORT,
            "udp {port_no}: every datagram reaches DPDK on some queue"
        );
    }
    let flows = match refused {
        Ok(flows) => flows,
        Err(skip) => {
            println!("{skip}");
            return;
        }
    };
    for (i, (port_no, queue)) in STEER.iter().enumerate() {
        let other = 1 - *queue as usize;
        assert_eq!(
            seen[i][other], 0,
            "udp {port_no}: datagrams on queue {other} despite the rule naming queue {queue}"
        );
        println!("steered: udp {port_no} -> queue {queue} x{EXPECTED_PER_PORT}");
    }
    for flow in flows {
        flow.destroy().expect("the kernel removes the TC filter");
    }
}

/// The UDP destination port of one of the sender's datagrams to DPDK_IP.
fn our_datagram_port(d: &[u8]) -> Option<u16> {
    if d.len() < 34 || d[12..14] != [0x08, 0x00] || d[23] != 17 || d[30..34] != DPDK_IP.octets() {
        return None;
    }
    let udp = 14 + (d[14] & 0x0f) as usize * 4;
    let payload = d.get(udp + 8..)?;
    if !payload.starts_with(MARKER) {
        return None;
    }
    Some(u16::from_be_bytes([d[udp + 2], d[udp + 3]]))
}

/// What the kernel lacks for the tap PMD's rte_flow, as far as it can be
/// seen: the multiq qdisc the PMD creates at probe, and the kernel config.
fn kernel_tc_gaps(iface: &str) -> Vec<String> {
    let mut gaps = Vec::new();
    let qdiscs = run("tc", &["qdisc", "show", "dev", iface]);
    if !qdiscs.contains("multiq") {
        gaps.push(format!(
            "no multiq root qdisc on {iface} (tc shows: {})",
            qdiscs.trim().replace('\n', " | ")
        ));
    }
    if let Ok(out) = Command::new("zcat").arg("/proc/config.gz").output() {
        let config = String::from_utf8_lossy(&out.stdout);
        for opt in [
            "CONFIG_NET_SCH_MULTIQ",
            "CONFIG_NET_CLS_FLOWER",
            "CONFIG_NET_ACT_SKBEDIT",
        ] {
            if config.contains(&format!("# {opt} is not set")) {
                gaps.push(format!("kernel built without {opt}"));
            }
        }
    }
    gaps
}
