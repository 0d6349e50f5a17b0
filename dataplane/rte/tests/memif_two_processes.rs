//! net_memif between two processes: a million packets from the client to
//! the server, none lost or corrupted, at a paced rate.
//!
//! The test spawns its own binary twice (once per role, each its own EAL),
//! selected by the `CLW_MEMIF_ROLE` environment variable.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rte::{Burst, Eal, Mempool, Port, PortConfig};

const PACKETS: u64 = 1_000_000;
const LEN: usize = 128;
/// Pacing: the sender keeps at most this many packets per millisecond.
const PER_MS: u64 = 1_000;
const TEST: &str = "million_packets_across_memif_between_two_processes";

fn byte(seq: u64, i: usize) -> u8 {
    (seq as u8) ^ (i as u8).wrapping_mul(7)
}

fn bring_up(role: &str, socket: &str, lcore: &str) -> (Eal, Mempool, Port) {
    let mut args = rte::test_eal_args(&format!("memif-{role}"));
    args.extend([
        "-l".into(),
        lcore.into(),
        format!("--vdev=net_memif0,role={role},socket={socket},socket-abstract=no,id=0"),
    ]);
    let eal = Eal::init(&args).expect("EAL");
    let pool = Mempool::create(&eal, "memif", 8191, 256, 2176, -1).unwrap();
    let port = Port::by_name(&eal, "net_memif0").unwrap();
    port.configure(&PortConfig::default(), &pool).unwrap();
    port.start().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !port.link().unwrap().up {
        assert!(
            Instant::now() < deadline,
            "{role}: memif link did not come up"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    (eal, pool, port)
}

fn run_client(socket: &str) {
    let (eal, pool, port) = bring_up("client", socket, "1");
    let mut tx = port.tx_queue(0).unwrap();
    let hz = eal.tsc_hz();
    let start = rte::tsc::now();
    let mut out = Burst::new();
    let mut seq = 0u64;
    while seq < PACKETS || !out.is_empty() {
        let allowed = (rte::tsc::now() - start) / (hz / 1000).max(1) * PER_MS + 32;
        if out.is_empty() && seq < allowed.min(PACKETS) {
            let n = (PACKETS - seq).min(32) as usize;
            pool.alloc_bulk(&mut out, n).unwrap();
            for m in out.as_mut_slice() {
                m.set_len(LEN).unwrap();
                let d = m.data_mut();
                d[..8].copy_from_slice(&seq.to_be_bytes());
                for (i, b) in d[8..].iter_mut().enumerate() {
                    *b = byte(seq, i);
                }
                seq += 1;
            }
        }
        // memif refuses what does not fit its ring; retry, never drop.
        tx.tx_burst(&mut out);
    }
    eprintln!("client: sent {seq}");
    // Keep the connection up until the server has drained everything.
    std::thread::sleep(Duration::from_secs(2));
}

fn run_server(socket: &str) {
    let (_eal, _pool, port) = bring_up("server", socket, "0");
    let mut rx = port.rx_queue(0).unwrap();
    let mut inn = Burst::new();
    let mut expect = 0u64;
    let deadline = Instant::now() + Duration::from_secs(120);
    while expect < PACKETS {
        assert!(
            Instant::now() < deadline,
            "server: only {expect} packets arrived"
        );
        rx.rx_burst(&mut inn);
        for m in inn.drain() {
            let d = m.data();
            assert_eq!(d.len(), LEN, "packet {expect} length");
            let seq = u64::from_be_bytes(d[..8].try_into().unwrap());
            assert_eq!(seq, expect, "packets arrive once, in order");
            for (i, b) in d[8..].iter().enumerate() {
                assert_eq!(*b, byte(seq, i), "packet {seq} byte {i}");
            }
            expect += 1;
        }
    }
    println!("server: received {expect} intact");
}

#[test]
fn million_packets_across_memif_between_two_processes() {
    if let Ok(role) = std::env::var("CLW_MEMIF_ROLE") {
        let socket = std::env::var("CLW_MEMIF_SOCKET").unwrap();
        match role.as_str() {
            "server" => run_server(&socket),
            _ => run_client(&socket),
        }
        return;
    }
    let dir = std::env::temp_dir().join(format!("clw-memif-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("memif.sock").display().to_string();
    let exe = std::env::current_exe().unwrap();
    let spawn = |role: &str| {
        Command::new(&exe)
            .args([TEST, "--exact", "--nocapture", "--test-threads=1"])
            .env("CLW_MEMIF_ROLE", role)
            .env("CLW_MEMIF_SOCKET", &socket)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let server = spawn("server");
    // The server creates the socket; give it a moment before the client.
    let wait = Instant::now() + Duration::from_secs(10);
    while !std::path::Path::new(&socket).exists() && Instant::now() < wait {
        std::thread::sleep(Duration::from_millis(20));
    }
    let client = spawn("client");
    let server = server.wait_with_output().unwrap();
    let client = client.wait_with_output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let show = |o: &std::process::Output| {
        format!(
            "{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    assert!(client.status.success(), "client failed:\n{}", show(&client));
    assert!(server.status.success(), "server failed:\n{}", show(&server));
    assert!(
        show(&server).contains(&format!("server: received {PACKETS} intact")),
        "{}",
        show(&server)
    );
}
