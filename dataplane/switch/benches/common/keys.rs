//! Cheap distinct keys for table benches: derived from a counter by a few
//! shifts, so generating one costs little next to the operation measured.
#![allow(dead_code)]

use switch::dedup::DedupKey;
use switch::pending::{PendingEntry, PendingKey};
use switch::ParticipantIdx;

pub fn pending_key(n: u64) -> PendingKey {
    let m = n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut rrn = [b'0'; 12];
    rrn[..8].copy_from_slice(&m.to_le_bytes());
    let mut stan = [0u8; 6];
    stan.copy_from_slice(&n.to_le_bytes()[..6]);
    PendingKey {
        issuer: ParticipantIdx((n % 7) as u32),
        stan,
        transmitted_at: *b"1127184500",
        rrn,
    }
}

pub fn pending_entry(n: u64) -> PendingEntry {
    PendingEntry {
        key: pending_key(n),
        originator: ParticipantIdx(1),
        mti: *b"0200",
        amount: n,
        currency: 978,
        started: 0,
        deadline: n,
        ..Default::default()
    }
}

pub fn dedup_key(n: u64) -> DedupKey {
    let k = pending_key(n);
    DedupKey {
        originator: k.issuer,
        stan: k.stan,
        transmitted_at: k.transmitted_at,
        rrn: k.rrn,
    }
}
