//! The switch seen from a real network stack: clearwayd runs the switch on a
//! net_tap port that the test moves into a network namespace it creates;
//! ordinary kernel UDP sockets inside it play the acquirer and the issuer.
//! Needs root (CI and `make test` run as root); all traffic stays inside
//! the namespace.

use std::net::{SocketAddrV4, UdpSocket};
use std::process::Command;
use std::time::Duration;

use switch::testkit::{answer, field7_now, request, Msg, ACQUIRER_INSTITUTION};

mod common;

use common::{ip, Daemon};
const TEST: &str = "kernel_sockets_as_acquirer_and_issuer_through_clearwayd";
const SWITCH: &str = "10.213.7.1";
const ACQ: &str = "10.213.7.10:40000";
const ISS: &str = "10.213.7.20:9100";

/// Deletes the test's namespace however the test ends.
struct Namespace(String);

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

fn framed(m: &Msg) -> Vec<u8> {
    let body = m.encode();
    let mut v = (body.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(&body);
    v
}

fn recv_msg(sock: &UdpSocket) -> (Msg, SocketAddrV4) {
    let mut buf = [0u8; 4096];
    let (n, from) = sock
        .recv_from(&mut buf)
        .expect("an answer within the timeout");
    let len = u16::from_be_bytes([buf[0], buf[1]]) as usize;
    assert_eq!(len + 2, n, "one frame per datagram");
    let std::net::SocketAddr::V4(from) = from else {
        panic!("IPv4")
    };
    (Msg::decode(&buf[2..n]), from)
}

/// Runs inside the namespace: the acquirer and the issuer.
fn participants() {
    let acq = UdpSocket::bind(ACQ).unwrap();
    let iss = UdpSocket::bind(ISS).unwrap();
    for s in [&acq, &iss] {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    }
    let switch = format!("{SWITCH}:8583");
    // The issuer signs on first (the switch learns its MAC from it).
    let sign_on = Msg::new("0800")
        .set(7, &field7_now())
        .set(11, "000001")
        .set(70, "001");
    iss.send_to(&framed(&sign_on), &switch).unwrap();
    let (m, from) = recv_msg(&iss);
    assert_eq!((m.mti_str(), m.get(39)), ("0810", Some("00")));
    assert_eq!(from.to_string(), switch);

    for stan in 1..=20u32 {
        let req = request("0200", stan, "4761730000000010").set(7, &field7_now());
        acq.send_to(&framed(&req), &switch).unwrap();
        let (fwd, from) = recv_msg(&iss);
        assert_eq!(fwd.mti_str(), "0200");
        assert_eq!(fwd.get(11), req.get(11));
        assert_eq!(from.ip().to_string(), SWITCH);
        assert_eq!(from.port(), 8600, "the switch lcore's issuer-facing port");
        iss.send_to(&framed(&answer(&fwd, "00")), from).unwrap();
        let (resp, from) = recv_msg(&acq);
        assert_eq!((resp.mti_str(), resp.get(39)), ("0210", Some("00")));
        assert_eq!(resp.get(11), req.get(11));
        assert_eq!(from.to_string(), switch);
    }
    // No route for this card: the switch answers 15 itself.
    let no_route = request("0200", 99, "9999990000000000").set(7, &field7_now());
    acq.send_to(&framed(&no_route), &switch).unwrap();
    let (resp, _) = recv_msg(&acq);
    assert_eq!(resp.get(39), Some("15"));
    println!("participants: all answered");
}

#[test]
fn kernel_sockets_as_acquirer_and_issuer_through_clearwayd() {
    if std::env::var("CLW_ROLE").is_ok() {
        return participants();
    }
    let tag = std::process::id();
    let iface = format!("clwsw{tag}");
    let guard = Namespace(format!("clwswns{tag}"));
    let dir = std::env::temp_dir().join(format!("clearwayd-tap-{tag}"));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("clearway.toml");
    let eal = common::eal_toml(&format!("clwsw-{tag}"));
    std::fs::write(
        &cfg,
        format!(
            r#"
{eal}
[[dataplane.ports]]
name = "tap0"
device = "net_tap0,iface={iface}"

[dataplane.mempool]
mbufs = 8191

[switch]
service_ip = "{SWITCH}"
# The tap's own MAC is the kernel side's; the switch is another host.
service_mac = "02:c1:ea:00:00:01"
port = "tap0"
pending_capacity = 4096
dedup_capacity = 4096

[[participants]]
id = "acq"
roles = ["acquirer"]
sources = ["{ACQ}"]
institution_ids = ["{ACQUIRER_INSTITUTION}"]

[[participants]]
id = "iss"
roles = ["issuer"]
sources = ["{ISS}"]

[[routes]]
prefix = "476173"
participant = "iss"
"#
        ),
    )
    .unwrap();
    // Move the tap only once the port is started: DPDK configures the
    // interface by name in its own namespace while starting it.
    let daemon = Daemon::start(
        &["-c", cfg.to_str().unwrap(), "--run-seconds", "60"],
        &dir.join("clearwayd.stderr"),
        "clearwayd: switch on",
    );
    let ns = guard.0.clone();
    ip(&["netns", "add", &ns]);
    ip(&["link", "set", &iface, "netns", &ns]);
    for addr in ["10.213.7.10/24", "10.213.7.20/24"] {
        ip(&["-n", &ns, "addr", "add", addr, "dev", &iface]);
    }
    ip(&["-n", &ns, "link", "set", &iface, "up"]);
    ip(&["-n", &ns, "link", "set", "lo", "up"]);

    let peer = Command::new("ip")
        .args(["netns", "exec", &ns])
        .arg(std::env::current_exe().unwrap())
        .args([TEST, "--exact", "--nocapture"])
        .env("CLW_ROLE", "participants")
        .output()
        .unwrap();
    let peer_out = format!(
        "{}{}",
        String::from_utf8_lossy(&peer.stdout),
        String::from_utf8_lossy(&peer.stderr)
    );

    let (_, daemon_out) = daemon.terminate();
    assert!(
        peer.status.success(),
        "participants failed:\n{peer_out}\nclearwayd:\n{daemon_out}"
    );
    assert!(
        peer_out.contains("participants: all answered"),
        "{peer_out}"
    );
    assert!(
        daemon_out.contains("stopped after"),
        "clean stop:\n{daemon_out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
