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
use switch::testkit::{field7_now, request, Msg};

mod common;

use common::memif_net::{self, start, Peer, ACQ, ISS, SWITCH};
const KILLS: usize = 10;

fn key(m: &Msg) -> (String, String) {
    (
        m.get(11).unwrap_or("").to_string(),
        m.get(37).unwrap_or("").to_string(),
    )
}

#[test]
fn kill_9_under_load_loses_no_approval_the_acquirer_saw() {
    let memif_net::Prepared { dir, socket, cfg } = memif_net::prepare("crash", 8192);

    let mut daemon = start(&cfg);
    let mut peer = Peer::connect("crash-peer", &socket);
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
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ u64::from(std::process::id());
    for round in 0..=KILLS {
        // The new clearwayd must have accepted our memif client.
        assert!(peer.wait_link(), "memif reconnected after restart {round}");
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
                peer.acquirer_sends(&req.encode());
                next_send += Duration::from_micros(500);
            }
            for (_, to, m) in peer.receive() {
                if to == iss && m.mti_str() == "0200" {
                    let from_port = 8600;
                    peer.issuer_approves(&m, SocketAddrV4::new(*switch.ip(), from_port));
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
        for (_, to, m) in peer.receive() {
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
