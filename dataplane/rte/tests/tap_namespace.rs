//! net_tap meets a real kernel stack: the test moves the tap interface into
//! a network namespace it creates, an ordinary UDP socket inside it sends a
//! datagram to the DPDK side, DPDK reflects it, and the socket gets it back.
//!
//! Needs root (CI and the README's test command run as root); traffic stays
//! inside the namespace.

use std::net::UdpSocket;
use std::process::Command;
use std::time::{Duration, Instant};

use rte::{Burst, Eal, Mempool, Port, PortConfig};

const TEST: &str = "datagram_from_kernel_socket_in_namespace_is_reflected_by_dpdk";
const KERNEL_IP: &str = "10.213.0.1";
const DPDK_IP: &str = "10.213.0.2";

fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("iproute2 `ip` is installed");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Deletes the namespace even when the test fails.
struct Namespace(String);
impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

/// Runs inside the namespace: send one datagram, wait for its echo.
fn kernel_peer() {
    let sock = UdpSocket::bind(format!("{KERNEL_IP}:40000")).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut buf = [0u8; 1500];
    for _ in 0..50 {
        sock.send_to(b"clearway-tap-probe", format!("{DPDK_IP}:40001"))
            .unwrap();
        if let Ok((n, from)) = sock.recv_from(&mut buf) {
            assert_eq!(&buf[..n], b"clearway-tap-probe");
            assert_eq!(from.to_string(), format!("{DPDK_IP}:40001"));
            println!("kernel: echo received");
            return;
        }
    }
    panic!("kernel: no echo from the DPDK side");
}

#[test]
fn datagram_from_kernel_socket_in_namespace_is_reflected_by_dpdk() {
    if std::env::var("CLW_TAP_ROLE").is_ok() {
        return kernel_peer();
    }
    let tag = std::process::id();
    let iface = format!("clwtap{tag}");
    let ns = Namespace(format!("clwns{tag}"));
    let mut args = rte::test_eal_args("tap");
    args.push(format!("--vdev=net_tap0,iface={iface}"));
    let eal = Eal::init(&args).expect("EAL with net_tap (run as root)");
    let pool = Mempool::create(&eal, "tap", 2047, 64, 2176, -1).unwrap();
    let port = Port::by_name(&eal, "net_tap0").unwrap();
    port.configure(&PortConfig::default(), &pool).unwrap();
    port.start().unwrap();
    let mac = port.mac().unwrap();
    let mac = mac
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":");

    ip(&["netns", "add", &ns.0]);
    ip(&["link", "set", &iface, "netns", &ns.0]);
    ip(&[
        "-n",
        &ns.0,
        "addr",
        "add",
        &format!("{KERNEL_IP}/24"),
        "dev",
        &iface,
    ]);
    ip(&["-n", &ns.0, "link", "set", &iface, "up"]);
    ip(&[
        "-n", &ns.0, "neigh", "add", DPDK_IP, "lladdr", &mac, "dev", &iface,
    ]);

    let mut peer = Command::new("ip")
        .args(["netns", "exec", &ns.0])
        .arg(std::env::current_exe().unwrap())
        .args([TEST, "--exact", "--nocapture"])
        .env("CLW_TAP_ROLE", "kernel")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();

    let mut rx = port.rx_queue(0).unwrap();
    let mut tx = port.tx_queue(0).unwrap();
    let mut inn = Burst::new();
    let mut out = Burst::new();
    let (mut udp_seen, mut other_seen) = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Some(status) = peer.try_wait().unwrap() {
            assert!(status.success(), "kernel peer failed");
            break;
        }
        rx.rx_burst(&mut inn);
        for mut m in inn.drain() {
            let d = m.data_mut();
            // IPv4 (0x0800), protocol UDP (17), no options (IHL 5)?
            let is_udp = d.len() >= 42 && d[12..14] == [0x08, 0x00] && d[14] == 0x45 && d[23] == 17;
            if !is_udp {
                other_seen += 1; // IPv6 neighbour discovery and the like
                continue;
            }
            udp_seen += 1;
            // Reflect: swap MACs, IPs and ports. Checksums are sums of
            // 16-bit words, so swapping words leaves them valid.
            for (a, b) in [(0..6, 6..12), (26..30, 30..34), (34..36, 36..38)] {
                let (x, y) = (d[a.clone()].to_vec(), d[b.clone()].to_vec());
                d[a].copy_from_slice(&y);
                d[b].copy_from_slice(&x);
            }
            out.push(m).unwrap();
        }
        tx.tx_burst(&mut out);
    }
    let output = peer.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "kernel peer: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("kernel: echo received"));
    assert!(
        udp_seen >= 1,
        "DPDK saw the kernel's datagram ({other_seen} other frames)"
    );
}
