//! Message authentication through the switch, on real DPDK (an in-process
//! ring port): keyed participants' MACs verified on the way in, everything
//! sent to a keyed participant sealed with its key, unkeyed participants
//! untouched, and a key rotation's overlap.
//!
//! Each test is its own process under cargo-nextest (one EAL per process);
//! time is a fake TSC the test moves.

use std::sync::Arc;

use auth::{Algorithm, KeyRing, MacFormat, MacKey};
use switch::counters::{DropReason, Event, ResponseCode};
use switch::routes::{Published, RouteSnapshot};
use switch::testkit::*;
use wire::iso8583::{FieldIndex, Spec};

fn acquirer_key() -> MacKey {
    MacKey::new(Algorithm::HmacSha256x64, &[0x11; 32]).unwrap()
}

fn acquirer_key_2() -> MacKey {
    MacKey::new(Algorithm::HmacSha256x64, &[0x33; 32]).unwrap()
}

fn issuer_key() -> MacKey {
    MacKey::new(Algorithm::AesCmac64, &[0x22; 16]).unwrap()
}

fn spec() -> &'static Spec {
    Spec::builtin("default").unwrap()
}

/// `msg` encoded, with its MAC (field 64) made by `key`.
fn sealed(msg: &Msg, key: &MacKey) -> Vec<u8> {
    let mut bytes = msg.encode();
    let index = FieldIndex::decode(&bytes, spec()).unwrap();
    let len = bytes.len();
    bytes.resize(len + 8, 0);
    let format = MacFormat::of(spec()).unwrap();
    let n =
        auth::seal_or_append(&format, &mut bytes, len, &index, &KeyRing::new(key.clone())).unwrap();
    bytes.truncate(n);
    bytes
}

/// Whether `bytes`' MAC is `key`'s.
fn verifies(bytes: &[u8], key: &MacKey) -> bool {
    let format = MacFormat::of(spec()).unwrap();
    let index = FieldIndex::decode(bytes, spec()).unwrap();
    auth::verify(&format, bytes, &index, &KeyRing::new(key.clone()), 0).is_ok()
}

/// The fixture network (acquirer, issuer, issuer 2) on one switch lcore,
/// with the keys `keys` gives each participant (by index) at the fake
/// clock's start.
fn net(tag: &str, keys: impl Fn(usize, u64) -> Option<KeyRing>) -> RingNet {
    let fixture = snapshot(0);
    let mut participants = fixture.participants().to_vec();
    for (i, p) in participants.iter_mut().enumerate() {
        p.mac = keys(i, FAKE_TSC_START).map(Arc::new);
    }
    let routes = Arc::new(Published::new(
        RouteSnapshot::new(participants, fixture.bins_shared()).unwrap(),
    ));
    RingNet::builder(&format!("mac-{tag}"))
        .mempool_size(4095)
        .config(|c| {
            c.pending_capacity = 1024;
            c.dedup_capacity = 1024;
        })
        .routes(routes)
        .build()
}

/// Whether `msg` carries field `n` (binary fields are not text: no `get`).
fn has(msg: &Msg, n: u8) -> bool {
    msg.fields.iter().any(|(f, _)| *f == n)
}

fn to_acquirer(o: &Sent) -> bool {
    o.flow.dst == ACQUIRER
}

fn to_issuer(o: &Sent) -> bool {
    o.flow.dst == ISSUER
}

/// Acquirer (HMAC key) and issuer (AES-CMAC key) keyed; issuer 2 not.
fn both_keyed(i: usize, _now: u64) -> Option<KeyRing> {
    match i {
        0 => Some(KeyRing::new(acquirer_key())),
        1 => Some(KeyRing::new(issuer_key())),
        _ => None,
    }
}

#[test]
fn a_good_mac_is_forwarded_resealed_for_the_issuer_and_the_answer_sealed_for_the_acquirer() {
    let mut net = net("good", both_keyed);
    let req = request("0200", 1, PAN);
    net.acquirer_sends(&sealed(&req, &acquirer_key()));
    net.run();
    let out = net.out();
    assert_eq!(out.len(), 1, "{out:?}");
    assert!(to_issuer(&out[0]), "{out:?}");
    assert!(
        verifies(&out[0].bytes, &issuer_key()),
        "sealed with the issuer's key"
    );
    assert!(!verifies(&out[0].bytes, &acquirer_key()));
    let forwarded: Vec<_> = out[0].msg.fields.iter().filter(|(n, _)| *n != 64).collect();
    let sent: Vec<_> = req.fields.iter().collect();
    assert_eq!(forwarded, sent, "every other field forwarded as sent");

    net.issuer_sends(&sealed(&answer(&req, "00"), &issuer_key()));
    net.run();
    let out = net.out();
    assert_eq!(out.len(), 1, "{out:?}");
    assert!(to_acquirer(&out[0]));
    assert_eq!(out[0].msg.get(39), Some("00"));
    assert!(
        verifies(&out[0].bytes, &acquirer_key()),
        "sealed for the acquirer"
    );
    let c = net.counters();
    assert_eq!(c.dropped(DropReason::MacFail), 0);
    assert_eq!(c.dropped_total(), 0);
}

#[test]
fn a_bad_mac_is_dropped_counted_and_answered_63_sealed_for_the_sender() {
    let mut net = net("bad", both_keyed);
    let req = request("0200", 2, PAN);
    let mut bytes = sealed(&req, &acquirer_key());
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01; // one bit of the MAC
    net.acquirer_sends(&bytes);
    net.run();
    let out = net.out();
    assert_eq!(
        out.len(),
        1,
        "only the answer, nothing to the issuer: {out:?}"
    );
    assert!(to_acquirer(&out[0]));
    assert_eq!(out[0].msg.mti_str(), "0210");
    assert_eq!(out[0].msg.get(39), Some("63"));
    assert_eq!(out[0].msg.get(11), req.get(11));
    assert!(verifies(&out[0].bytes, &acquirer_key()));
    let c = net.counters();
    assert_eq!(c.dropped(DropReason::MacFail), 1);
    assert_eq!(c.response(ResponseCode::SecurityViolation), 1);
    assert_eq!(net.lcores[0].pending_len(), 0);

    // A changed amount under the original MAC: the same.
    let mut tampered = sealed(&req, &acquirer_key());
    let at = tampered
        .windows(12)
        .position(|w| w == b"000000012345")
        .expect("field 4");
    tampered[at..at + 12].copy_from_slice(b"000000099999");
    net.acquirer_sends(&tampered);
    net.run();
    let out = net.out();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].msg.get(39), Some("63"));
    assert_eq!(net.counters().dropped(DropReason::MacFail), 2);
}

#[test]
fn a_keyed_participant_without_a_mac_is_refused_like_a_bad_one() {
    let mut net = net("missing", both_keyed);
    net.acquirer_sends(&request("0200", 3, PAN).encode());
    net.run();
    let out = net.out();
    assert_eq!(out.len(), 1, "{out:?}");
    assert!(to_acquirer(&out[0]));
    assert_eq!(out[0].msg.get(39), Some("63"));
    assert!(verifies(&out[0].bytes, &acquirer_key()));
    assert_eq!(net.counters().dropped(DropReason::MacFail), 1);

    // A response without a MAC from a keyed issuer: dropped, never
    // forwarded; the acquirer gets its stand-in, sealed, at the timeout,
    // and the issuer a sealed 0420.
    let req = request("0200", 4, PAN);
    net.acquirer_sends(&sealed(&req, &acquirer_key()));
    net.run();
    assert_eq!(net.out().len(), 1);
    net.issuer_sends(&answer(&req, "00").encode());
    net.run();
    assert!(
        net.out().is_empty(),
        "an unverified response is not forwarded"
    );
    assert_eq!(net.counters().dropped(DropReason::MacFail), 2);
    net.advance_ms(5_100);
    let out = net.out();
    let stand_in = out.iter().find(|o| to_acquirer(o)).expect("stand-in");
    assert_eq!(stand_in.msg.get(39), Some("91"));
    assert!(verifies(&stand_in.bytes, &acquirer_key()));
    let reversal = out.iter().find(|o| to_issuer(o)).expect("0420");
    assert_eq!(reversal.msg.mti_str(), "0420");
    assert!(verifies(&reversal.bytes, &issuer_key()));
}

#[test]
fn unkeyed_participants_are_forwarded_byte_for_byte() {
    let mut net = net("unkeyed", |_, _| None);
    let req = request("0200", 5, PAN).set(64, "ABCDEFGH");
    let bytes = req.encode();
    net.acquirer_sends(&bytes);
    net.run();
    let out = net.out();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].bytes, bytes, "not verified, not resealed");
    net.issuer_sends(&answer(&req, "00").encode());
    net.run();
    let out = net.out();
    assert!(to_acquirer(&out[0]));
    assert!(
        out[0].msg.get(64).is_none(),
        "no MAC added for an unkeyed acquirer"
    );
    assert_eq!(net.counters().dropped_total(), 0);
}

#[test]
fn only_the_keyed_side_of_a_mixed_pair_is_checked_and_sealed() {
    // Issuer keyed, acquirer not: the request gains a MAC for the issuer.
    let mut net = net("mixed", |i, _| (i == 1).then(|| KeyRing::new(issuer_key())));
    let req = request("0200", 6, PAN);
    net.acquirer_sends(&req.encode());
    net.run();
    let out = net.out();
    assert_eq!(out.len(), 1);
    assert!(
        verifies(&out[0].bytes, &issuer_key()),
        "appended for the issuer"
    );
    net.issuer_sends(&sealed(&answer(&req, "00"), &issuer_key()));
    net.run();
    let out = net.out();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].msg.get(39), Some("00"));
    // Issuer 2 (unkeyed) routes as before, nothing added.
    let req2 = request("0200", 7, PAN2);
    net.acquirer_sends(&req2.encode());
    net.run();
    let out = net.out();
    assert_eq!(out[0].flow.dst, ISSUER2);
    assert_eq!(out[0].bytes, req2.encode());
    assert_eq!(net.counters().dropped_total(), 0);
}

#[test]
fn network_messages_of_a_keyed_participant_are_verified_and_answered_sealed() {
    let mut net = net("network", both_keyed);
    let echo = Msg::new("0800")
        .set(7, FIXTURE_FIELD7)
        .set(11, "000009")
        .set(70, "301");
    net.acquirer_sends(&sealed(&echo, &acquirer_key()));
    net.run();
    let out = net.out();
    assert_eq!(out[0].msg.mti_str(), "0810");
    assert_eq!(out[0].msg.get(39), Some("00"));
    assert!(verifies(&out[0].bytes, &acquirer_key()));
    net.acquirer_sends(&sealed(&echo, &issuer_key()));
    net.run();
    let out = net.out();
    assert_eq!(out[0].msg.get(39), Some("63"), "someone else's key");
}

#[test]
fn during_a_rotation_both_keys_verify_until_the_overlap_ends_and_answers_use_the_new_key() {
    // The acquirer rotated from key 1 to key 2; key 1 verifies for 1 s.
    let mut net = net("rotation", |i, now| match i {
        0 => Some(KeyRing::new(acquirer_key()).rotate(acquirer_key_2(), now + 1_000_000_000)),
        1 => Some(KeyRing::new(issuer_key())),
        _ => None,
    });
    for (stan, key) in [(10, acquirer_key()), (11, acquirer_key_2())] {
        let req = request("0200", stan, PAN);
        net.acquirer_sends(&sealed(&req, &key));
        net.run();
        let out = net.out();
        assert_eq!(out.len(), 1, "stan {stan}: {out:?}");
        assert!(to_issuer(&out[0]), "stan {stan} forwarded");
        net.issuer_sends(&sealed(&answer(&req, "00"), &issuer_key()));
        net.run();
        let out = net.out();
        assert!(
            verifies(&out[0].bytes, &acquirer_key_2()),
            "answers use the new key"
        );
        assert!(!verifies(&out[0].bytes, &acquirer_key()));
    }
    // At the deadline (1e9 ticks after the start) the old key is refused.
    let deadline = FAKE_TSC_START + 1_000_000_000;
    assert!(
        net.now < deadline,
        "the round trips above ran inside the overlap"
    );
    net.now = deadline;
    let req = request("0200", 12, PAN);
    net.acquirer_sends(&sealed(&req, &acquirer_key()));
    net.run();
    let out = net.out();
    assert_eq!(out.len(), 1);
    assert!(to_acquirer(&out[0]));
    assert_eq!(out[0].msg.get(39), Some("63"));
    let req = request("0200", 13, PAN);
    net.acquirer_sends(&sealed(&req, &acquirer_key_2()));
    net.run();
    assert!(to_issuer(&net.out()[0]), "the new key still works");
    let c = net.counters();
    assert_eq!(c.dropped(DropReason::MacFail), 1);
    assert_eq!(c.event(Event::Rx), c.event(Event::Tx));
}

#[test]
fn with_a_secondary_bitmap_the_mac_is_field_128_both_ways() {
    let mut net = net("f128", both_keyed);
    // Field 100 (secondary bitmap) routes to the issuer's institution.
    let req = request("0200", 20, PAN).set(100, "77001");
    let bytes = sealed(&req, &acquirer_key());
    assert!(has(&Msg::decode(&bytes), 128), "the sender puts it in 128");
    net.acquirer_sends(&bytes);
    net.run();
    let out = net.out();
    assert_eq!(out.len(), 1, "{out:?}");
    assert!(to_issuer(&out[0]));
    assert!(has(&out[0].msg, 128) && !has(&out[0].msg, 64));
    assert!(verifies(&out[0].bytes, &issuer_key()));
    // A MAC in 64 does not count when the message has a secondary bitmap.
    let misplaced = req.clone().set(11, "000021").set(37, "000000000021");
    let mut wrong = misplaced.encode();
    let index = FieldIndex::decode(&wrong, spec()).unwrap();
    let tag = acquirer_key().tag(&wrong[..index.message_len()]);
    let mut with_64 = misplaced.clone();
    with_64.fields.push((64, tag.to_vec()));
    wrong = with_64.encode();
    net.acquirer_sends(&wrong);
    net.run();
    let out = net.out();
    assert_eq!(out[0].msg.get(39), Some("63"), "{out:?}");
    assert_eq!(net.counters().dropped(DropReason::MacFail), 1);
}
