//! Whatever arrives on the wire, in whatever mix within a burst, the lcore
//! never panics and keeps switching: bursts of random bytes, valid frames
//! with a byte changed, truncated or with their length fields rewritten,
//! mixed with good traffic; after each burst a fresh transaction still
//! completes, and every frame the switch sends is well-formed. (The lcore
//! decodes a whole burst before handling any of it, so the mix within one
//! burst matters, not just each frame alone.)

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::net::SocketAddrV4;
use switch::testkit::*;

/// How one frame of a burst is made hostile.
#[derive(Debug, Clone)]
enum Hostile {
    /// Bytes off the wire, nothing valid about them.
    Noise(Vec<u8>),
    /// A good request with the byte at `at` (mod its length) set to `to`.
    Flipped { at: usize, to: u8 },
    /// A good request cut to `keep` bytes (mod its length).
    Truncated { keep: usize },
    /// A good request whose IPv4 total length and UDP length claim these.
    Lengths { ip: u16, udp: u16 },
    /// Well-formed Ethernet/IPv4/UDP from the acquirer to the service
    /// port carrying these bytes as its payload (empty, one byte, a frame
    /// header promising more or less than follows).
    Payload(Vec<u8>),
    /// Well-formed transport carrying a good framed request with the
    /// payload byte at `at` (mod its length, frame header included) set to
    /// `to`.
    PayloadFlipped { at: usize, to: u8 },
    /// A good request, unchanged.
    Good,
}

fn hostile() -> impl Strategy<Value = Hostile> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200).prop_map(Hostile::Noise),
        (any::<usize>(), any::<u8>()).prop_map(|(at, to)| Hostile::Flipped { at, to }),
        any::<usize>().prop_map(|keep| Hostile::Truncated { keep }),
        (any::<u16>(), any::<u16>()).prop_map(|(ip, udp)| Hostile::Lengths { ip, udp }),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(Hostile::Payload),
        (any::<usize>(), any::<u8>()).prop_map(|(at, to)| Hostile::PayloadFlipped { at, to }),
        Just(Hostile::Good),
    ]
}

fn request_frame(stan: u32) -> Vec<u8> {
    udp_frame(
        ACQUIRER,
        ACQUIRER_MAC,
        SocketAddrV4::new(SWITCH_IP, SERVICE_PORT),
        SWITCH_MAC,
        &request("0200", stan, PAN).encode(),
    )
}

fn make(h: &Hostile, stan: u32) -> Vec<u8> {
    let mut f = request_frame(stan);
    match h {
        Hostile::Noise(bytes) => return bytes.clone(),
        Hostile::Payload(bytes) => return acquirer_udp(bytes),
        Hostile::PayloadFlipped { at, to } => {
            let mut payload = f[42..].to_vec();
            let n = payload.len();
            payload[at % n] = *to;
            return acquirer_udp(&payload);
        }
        Hostile::Flipped { at, to } => {
            let n = f.len();
            f[at % n] = *to;
        }
        Hostile::Truncated { keep } => {
            let n = f.len();
            f.truncate(keep % n);
        }
        Hostile::Lengths { ip, udp } => {
            f[16..18].copy_from_slice(&ip.to_be_bytes());
            f[38..40].copy_from_slice(&udp.to_be_bytes());
        }
        Hostile::Good => {}
    }
    f
}

#[test]
fn hostile_bursts_never_stop_the_lcore() {
    // TestRunner takes a Fn: the network and the STAN counter live in cells.
    let net = std::cell::RefCell::new(RingNet::builder("sw-hostile").build());
    let stan = std::cell::Cell::new(1u32);
    let mut runner = TestRunner::new(Config {
        cases: 300,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&prop::collection::vec(hostile(), 1..32), |burst| {
            let mut net = net.borrow_mut();
            let next_stan = || {
                stan.set(stan.get() + 1);
                stan.get()
            };
            for h in &burst {
                net.inject(0, &make(h, next_stan()));
            }
            net.run();
            // Whatever went in, what comes out is well-formed (out() checks).
            net.out();
            // The lcore still switches: a new request reaches the issuer,
            // its answer reaches the acquirer.
            let stan = next_stan();
            let probe = request("0200", stan, PAN);
            net.acquirer_sends(&probe);
            net.run();
            let forwarded = net.out();
            prop_assert!(
                forwarded
                    .iter()
                    .any(|o| o.flow.dst == ISSUER && o.msg.get(11) == probe.get(11)),
                "probe {stan} not forwarded after {burst:?}: {:?}",
                forwarded.iter().map(|o| o.flow).collect::<Vec<_>>()
            );
            net.issuer_sends(&answer(&probe, "00"));
            net.run();
            let answered = net.out();
            prop_assert!(
                answered
                    .iter()
                    .any(|o| o.flow.dst == ACQUIRER && o.msg.get(39) == Some("00")),
                "probe {stan} not answered after {burst:?}"
            );
            Ok(())
        })
        .unwrap();
    let c = net.borrow().counters();
    assert!(
        c.dropped_total() > 0,
        "hostile frames were counted as drops"
    );
}
