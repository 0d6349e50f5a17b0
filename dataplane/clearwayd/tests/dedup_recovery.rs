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
use switch::testkit::{field7_now, request, Msg};

mod common;

use common::memif_net::{self, start, Peer, ACQ, ISS};

/// Participant numbers: their order in the config.
const ACQ_ID: u32 = 0;
const ISS_ID: u32 = 1;
const CNY: u16 = 156;
/// Field 4 of `switch::testkit::request`.
const AMOUNT: i128 = 12_345;

/// Sends `request` to the switch every 300 ms until the acquirer gets its
/// answer (at most 20 s), playing the issuer meanwhile: every request
/// reaching it is counted and approved. `None` if no answer came; `seen`
/// collects what else arrived, for the failure message.
fn transact(peer: &mut Peer, request: &[u8], seen: &mut Vec<String>) -> Option<Msg> {
    let (acq, iss): (SocketAddrV4, SocketAddrV4) = (ACQ.parse().unwrap(), ISS.parse().unwrap());
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut resend_at = Instant::now();
    while Instant::now() < deadline {
        if Instant::now() >= resend_at {
            peer.acquirer_sends(request);
            resend_at = Instant::now() + Duration::from_millis(300);
        }
        for (from, to, m) in peer.receive() {
            if to == iss && m.mti_str() == "0200" {
                peer.issuer_approves(&m, from);
            } else if to == acq && m.mti_str() == "0210" {
                return Some(m);
            } else if seen.len() < 20 {
                seen.push(format!("{from} -> {to}: {m:?}"));
            }
        }
    }
    None
}

#[test]
fn a_request_approved_before_a_kill_9_is_answered_again_after_the_restart_never_forwarded_twice() {
    let memif_net::Prepared { dir, socket, cfg } = memif_net::prepare("dedup", 1024);

    let mut daemon = start(&cfg);
    let mut peer = Peer::connect("dedup-peer", &socket);

    // The acquirer's 0200, byte for byte the same both times.
    let purchase = request("0200", 424_242, "4761730000000010")
        .set(7, &field7_now())
        .encode();
    assert!(peer.wait_link(), "memif link came up");
    let mut seen = Vec::new();
    let Some(first) = transact(&mut peer, &purchase, &mut seen) else {
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
    assert!(peer.wait_link(), "memif link came up");
    let Some(again) = transact(&mut peer, &purchase, &mut seen) else {
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
