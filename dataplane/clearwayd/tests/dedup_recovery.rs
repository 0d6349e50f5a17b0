//! A retransmission after a crash is answered, not forwarded again: this
//! test is the acquirer and the issuer (a DPDK memif client in this
//! process), clearwayd the switch with its journal on (a memif server in a
//! child process). An approved 0200 is answered (39=00, 38 from the issuer);
//! clearwayd is killed with SIGKILL and restarted; the identical 0200 is
//! sent again. The acquirer gets the same 39 and 38, the issuer sees the
//! request exactly once in total, and the recovered ledger counts it once.

use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

use ledger::AccountKey;
use rte::{Burst, Eal, Mempool, Port, PortConfig, RxQueue, TxQueue};
use switch::testkit::{answer, field7_now, parse_udp, request, udp_frame, Msg};

mod common;

use common::memif_net::{self, start, ACQ, ACQ_MAC, ISS, ISS_MAC, SWITCH, SWITCH_MAC};

/// Participant numbers: their order in the config.
const ACQ_ID: u32 = 0;
const ISS_ID: u32 = 1;
const CNY: u16 = 156;
/// Field 4 of `switch::testkit::request`.
const AMOUNT: i128 = 12_345;

struct Peer {
    pool: Mempool,
    port: Port,
    rx: RxQueue,
    tx: TxQueue,
    /// Requests that reached the issuer, over every clearwayd run.
    issuer_saw: usize,
}

impl Peer {
    fn send(&mut self, frame: &[u8]) {
        let mut m = self.pool.alloc().unwrap();
        m.set_len(frame.len()).unwrap();
        m.data_mut().copy_from_slice(frame);
        let mut b = Burst::new();
        b.push(m).unwrap();
        for _ in 0..1000 {
            if self.tx.tx_burst(&mut b) == 1 {
                return;
            }
        }
    }

    /// Waits for the memif link (a restarted server needs the client to
    /// reconnect: restart our port until it has).
    fn wait_link(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut retry_at = Instant::now() + Duration::from_millis(300);
        while !self.port.link().unwrap().up {
            assert!(Instant::now() < deadline, "memif link came up");
            if Instant::now() >= retry_at {
                let _ = self.port.stop();
                let _ = self.port.start();
                retry_at = Instant::now() + Duration::from_millis(300);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Sends `request` to the switch every 300 ms until the acquirer gets
    /// its answer (at most 20 s), playing the issuer meanwhile: every
    /// request reaching it is counted and approved. `None` if no answer
    /// came; `seen` collects what else arrived, for the failure message.
    fn transact(&mut self, request: &[u8], seen: &mut Vec<String>) -> Option<Msg> {
        let (acq, iss): (SocketAddrV4, SocketAddrV4) = (ACQ.parse().unwrap(), ISS.parse().unwrap());
        let switch: SocketAddrV4 = format!("{SWITCH}:8583").parse().unwrap();
        let frame = udp_frame(acq, ACQ_MAC, switch, SWITCH_MAC, request);
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut resend_at = Instant::now();
        while Instant::now() < deadline {
            if Instant::now() >= resend_at {
                self.send(&frame);
                resend_at = Instant::now() + Duration::from_millis(300);
            }
            let mut b = Burst::new();
            self.rx.rx_burst(&mut b);
            let received: Vec<(SocketAddrV4, SocketAddrV4, Msg)> = b
                .drain()
                .filter_map(|m| parse_udp(m.data()))
                .flat_map(|(flow, msgs)| msgs.into_iter().map(move |m| (flow.src, flow.dst, m)))
                .collect();
            for (from, to, m) in received {
                if to == iss && m.mti_str() == "0200" {
                    self.issuer_saw += 1;
                    let reply = answer(&m, "00").encode();
                    self.send(&udp_frame(iss, ISS_MAC, from, SWITCH_MAC, &reply));
                } else if to == acq && m.mti_str() == "0210" {
                    return Some(m);
                } else if seen.len() < 20 {
                    seen.push(format!("{from} -> {to}: {m:?}"));
                }
            }
        }
        None
    }
}

#[test]
fn a_request_approved_before_a_kill_9_is_answered_again_after_the_restart_never_forwarded_twice() {
    let tag = std::process::id();
    let dir = std::env::temp_dir().join(format!("clearwayd-dedup-{tag}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("memif.sock");
    let cfg = dir.join("clearway.toml");
    std::fs::write(
        &cfg,
        memif_net::config(&dir, &socket, &format!("clw-dedup-{tag}"), 1024),
    )
    .unwrap();

    let mut daemon = start(&cfg);
    let mut args = rte::test_eal_args("dedup-peer");
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
        issuer_saw: 0,
    };

    // The acquirer's 0200, byte for byte the same both times.
    let purchase = request("0200", 424_242, "4761730000000010")
        .set(7, &field7_now())
        .encode();
    peer.wait_link();
    let mut seen = Vec::new();
    let Some(first) = peer.transact(&purchase, &mut seen) else {
        panic!(
            "no answer to the first 0200; also received {seen:#?}; clearwayd said:\n{}",
            daemon.said()
        );
    };
    assert_eq!(first.get(39), Some("00"), "approved: {first:?}");
    assert_eq!(first.get(38), Some("A1B2C3"), "the issuer's field 38");
    assert_eq!(peer.issuer_saw, 1);

    // The approval is durable (sync journal) before the answer left: crash.
    daemon.kill9();
    let mut daemon = start(&cfg);
    assert!(
        daemon
            .said()
            .contains("1 answered requests for the duplicate filters"),
        "clearwayd rebuilt its duplicate filters from the journal:\n{}",
        daemon.said()
    );
    peer.wait_link();
    let Some(again) = peer.transact(&purchase, &mut seen) else {
        panic!(
            "no answer to the retransmission; also received {seen:#?}; clearwayd said:\n{}",
            daemon.said()
        );
    };
    assert_eq!(
        (again.get(39), again.get(38), again.get(11), again.get(37)),
        (first.get(39), first.get(38), first.get(11), first.get(37)),
        "the retransmission gets the recorded answer"
    );
    assert_eq!(
        peer.issuer_saw, 1,
        "the issuer saw the request once in total, never after the restart"
    );

    // Crash again and look at the journal: one transaction, counted once.
    daemon.kill9();
    let (recovered, _) =
        ledger::recover(&dir.join("journal")).expect("the journal recovers after kill -9");
    let entries: usize = recovered.windows().map(|(_, w)| w.entries.len()).sum();
    assert_eq!(entries, 1, "one clearing entry for the one transaction");
    let position = |p| {
        recovered
            .account(AccountKey::new(p, CNY))
            .map(|a| a.net_position)
    };
    assert_eq!(position(ACQ_ID), Some(AMOUNT), "acquirer owes it once");
    assert_eq!(position(ISS_ID), Some(-AMOUNT), "issuer is owed it once");
    drop(daemon);
    let _ = std::fs::remove_dir_all(&dir);
}
