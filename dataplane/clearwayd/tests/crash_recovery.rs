//! Nothing that moved money is lost on `kill -9`: this test is the acquirer
//! and the issuer (a DPDK memif client in this process), clearwayd is the
//! switch with its journal on (a memif server in a child process). Under
//! load clearwayd is killed with SIGKILL at random moments and restarted,
//! ten times; then the journal is recovered and checked against what the
//! acquirer saw: every approval it received is in the ledger, and the
//! ledger holds nothing the acquirer did not ask for and the issuer did not
//! approve.

use std::collections::HashSet;
use std::net::SocketAddrV4;

use std::time::{Duration, Instant};

use ledger::TxnKey;
use rte::{Burst, Eal, Mempool, Port, PortConfig, RxQueue, TxQueue};
use switch::testkit::{answer, field7_now, parse_udp, request, udp_frame, Msg};

mod common;

use common::memif_net::{self, start, ACQ, ACQ_MAC, ISS, ISS_MAC, SWITCH, SWITCH_MAC};
const KILLS: usize = 10;

struct Peer {
    pool: Mempool,
    port: Port,
    rx: RxQueue,
    tx: TxQueue,
}

impl Peer {
    fn send(&mut self, frame: &[u8]) {
        let mut m = self.pool.alloc().unwrap();
        m.set_len(frame.len()).unwrap();
        m.data_mut().copy_from_slice(frame);
        let mut b = Burst::new();
        b.push(m).unwrap();
        // memif refuses when its ring is full: retry briefly, then give up
        // (an unsent request is simply not a transaction).
        for _ in 0..1000 {
            if self.tx.tx_burst(&mut b) == 1 {
                return;
            }
        }
    }

    fn receive(&mut self) -> Vec<(SocketAddrV4, Msg)> {
        let mut b = Burst::new();
        self.rx.rx_burst(&mut b);
        b.drain()
            .filter_map(|m| parse_udp(m.data()))
            .flat_map(|(flow, msgs)| msgs.into_iter().map(move |m| (flow.dst, m)))
            .collect()
    }
}

fn key(m: &Msg) -> (String, String) {
    (
        m.get(11).unwrap_or("").to_string(),
        m.get(37).unwrap_or("").to_string(),
    )
}

#[test]
fn kill_9_under_load_loses_no_approval_the_acquirer_saw() {
    let tag = std::process::id();
    let dir = std::env::temp_dir().join(format!("clearwayd-crash-{tag}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("memif.sock");
    let cfg = dir.join("clearway.toml");
    std::fs::write(
        &cfg,
        memif_net::config(&dir, &socket, &format!("clw-crash-{tag}"), 8192),
    )
    .unwrap();

    let mut daemon = start(&cfg);
    let mut args = rte::test_eal_args("crash-peer");
    args.push(format!(
        "--vdev=net_memif0,role=client,socket={},socket-abstract=no,id=0",
        socket.display()
    ));
    let eal = Eal::init(&args).unwrap();
    let pool = Mempool::create(&eal, "peer", 8191, 64, 2176, -1).unwrap();
    let port = Port::by_name(&eal, "net_memif0").unwrap();
    port.configure(&PortConfig::default(), &pool).unwrap();
    port.start().unwrap();
    let mut peer = Peer {
        rx: port.rx_queue(0).unwrap(),
        tx: port.tx_queue(0).unwrap(),
        pool,
        port,
    };
    let acq: SocketAddrV4 = ACQ.parse().unwrap();
    let iss: SocketAddrV4 = ISS.parse().unwrap();
    let switch: SocketAddrV4 = format!("{SWITCH}:8583").parse().unwrap();

    let mut sent: HashSet<(String, String)> = HashSet::new();
    let mut approved_seen: HashSet<(String, String)> = HashSet::new();
    let mut stan = 0u32;
    // One transmission time for the run (the switch refuses stale ones;
    // the run is far shorter than its 300 s window).
    let field7 = field7_now();
    // A cheap deterministic "random" for kill moments.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ u64::from(tag);
    for round in 0..=KILLS {
        // A memif client connects when its port starts: restart ours until
        // the new clearwayd has accepted it.
        let link_deadline = Instant::now() + Duration::from_secs(20);
        let mut retry_at = Instant::now() + Duration::from_millis(300);
        while !peer.port.link().unwrap().up {
            assert!(
                Instant::now() < link_deadline,
                "memif reconnected after restart {round}"
            );
            if Instant::now() >= retry_at {
                let _ = peer.port.stop();
                let _ = peer.port.start();
                retry_at = Instant::now() + Duration::from_millis(300);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let run_for = Duration::from_millis(if round == KILLS { 1500 } else { 200 + x % 1300 });
        let until = Instant::now() + run_for;
        let mut next_send = Instant::now();
        while Instant::now() < until {
            if Instant::now() >= next_send {
                // About 2,000 transactions a second: enough in flight at
                // every kill, well below what the switch handles.
                stan += 1;
                let req = request("0200", stan, "4761730000000010").set(7, &field7);
                sent.insert(key(&req));
                peer.send(&udp_frame(acq, ACQ_MAC, switch, SWITCH_MAC, &req.encode()));
                next_send += Duration::from_micros(500);
            }
            for (to, m) in peer.receive() {
                if to == iss && m.mti_str() == "0200" {
                    let from_port = 8600;
                    let reply = answer(&m, "00");
                    let dst = SocketAddrV4::new(*switch.ip(), from_port);
                    peer.send(&udp_frame(iss, ISS_MAC, dst, SWITCH_MAC, &reply.encode()));
                } else if to == acq && m.mti_str() == "0210" && m.get(39) == Some("00") {
                    approved_seen.insert(key(&m));
                }
            }
        }
        if round < KILLS {
            daemon.kill9();
            daemon = start(&cfg);
        }
    }
    // Let the last answers arrive, then stop cleanly.
    let settle = Instant::now() + Duration::from_millis(500);
    while Instant::now() < settle {
        for (to, m) in peer.receive() {
            if to == acq && m.mti_str() == "0210" && m.get(39) == Some("00") {
                approved_seen.insert(key(&m));
            }
        }
    }
    let (_, _) = daemon.terminate();

    let (recovered, report) =
        ledger::recover(&dir.join("journal")).expect("the journal recovers after ten kill -9");
    let mut in_ledger: HashSet<(String, String)> = HashSet::new();
    for (_, w) in recovered.windows() {
        for e in &w.entries {
            let stan = format!("{:06}", e.key.stan);
            let rrn = String::from_utf8_lossy(&e.key.rrn).to_string();
            assert!(
                sent.contains(&(stan.clone(), rrn.clone())),
                "ledger entry {stan}/{rrn} was never requested by the acquirer"
            );
            in_ledger.insert((stan, rrn));
        }
    }
    let mut missing = Vec::new();
    for (stan, rrn) in &approved_seen {
        let k = TxnKey {
            originator: 0,
            stan: stan.parse().unwrap(),
            transmission: field7.as_bytes().try_into().unwrap(),
            rrn: rrn.as_bytes().try_into().unwrap(),
        };
        if recovered.transaction(&k).is_none() || !in_ledger.contains(&(stan.clone(), rrn.clone()))
        {
            missing.push(format!("{stan}/{rrn}"));
        }
    }
    println!(
        "kill -9 x{KILLS}: {} requests sent, {} approvals seen by the acquirer, {} transactions in the recovered ledger (last LSN {}, torn tail {:?})",
        sent.len(),
        approved_seen.len(),
        in_ledger.len(),
        report.last_lsn,
        report.torn_tail.as_ref().map(|t| t.bytes_dropped)
    );
    assert!(
        missing.is_empty(),
        "approvals the acquirer saw but the ledger lost: {missing:?}"
    );
    assert!(!approved_seen.is_empty(), "traffic flowed");
    let _ = std::fs::remove_dir_all(&dir);
}
