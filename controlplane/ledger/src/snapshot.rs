//! The ledger's state as snapshot bytes, so recovery loads the newest
//! journal snapshot and replays only the records after it.
//!
//! Little-endian, fixed-size fields, counts before each list:
//!
//! ```text
//! "CWLS" version:u16 last_lsn:u64 open_epoch:u32 business_day:(u8,u64)
//! late_entries:u64
//! accounts:u32   × (participant:u32 currency:u16 reserve:i128 cap:u64
//!                   position:i128 holds:i128 per_txn:u64 daily:u64
//!                   daily_used:u128)
//! txns:u64       × (key, tag:u8, [payee:u32 currency:u16 amount:u64
//!                   [expires:u64 if held]] if held or posted)
//! movements:u64  × (participant:u32 reference:u64)
//! windows:u32    × (epoch:u32 closed_at:(u8,u64) settled:u32 × (u32,u16)
//!                   entries:u64 × (key payer:u32 payee:u32 amount:u64
//!                   currency:u16 kind:u8))
//! escrow:u32     × (participant:u32 currency:u16 lcore:u16 resolved:u128)
//! answers: capacity:u64 count:u64 × (originator:u32 stan:[6]
//!                   transmission:[10] rrn:[12] response_code:[2]
//!                   auth:(u8,[6]))                       (version 2 on)
//! key = originator:u32 stan:u32 transmission:[10] rrn:[12]
//! ```
//!
//! Version 1 snapshots (before the recent answers were kept) still load,
//! with no answers: the duplicate filters then start from the records
//! after the snapshot only.
//!
//! The journal's snapshot file adds its own CRC32C; decoding still checks
//! every length and tag and reports the offset of the first bad byte.

use thiserror::Error;

use crate::account::ReserveAccount;
use crate::answers::{AnsweredRequest, RecentAnswers};
use crate::ledger::{Ledger, TxnState, Window};
use crate::netting::{ClearingEntry, EntryKind};
use crate::types::{AccountKey, TxnKey};

const MAGIC: [u8; 4] = *b"CWLS";
const VERSION: u16 = 2;
/// Oldest version this build still reads.
const OLDEST_VERSION: u16 = 1;
/// Bytes of one recent answer.
const ANSWER_LEN: usize = 4 + 6 + 10 + 12 + 2 + 1 + 6;

/// Why snapshot bytes are not a ledger.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SnapshotDecodeError {
    #[error("ledger snapshot ends at byte {offset} while reading {what}; the snapshot is cut short — recover from the previous snapshot")]
    Truncated { offset: usize, what: &'static str },
    #[error("ledger snapshot has invalid {what} {value} at byte {offset}")]
    Invalid {
        offset: usize,
        what: &'static str,
        value: u64,
    },
    #[error("ledger snapshot format version {found}, this build reads {OLDEST_VERSION}..={VERSION}; recover with a matching clearwayd")]
    Version { found: u16 },
    #[error("ledger snapshot has {extra} bytes after its end at byte {offset}")]
    Trailing { offset: usize, extra: usize },
}

struct Out(Vec<u8>);

impl Out {
    fn b(&mut self, v: &[u8]) {
        self.0.extend_from_slice(v);
    }
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.b(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.b(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.b(&v.to_le_bytes());
    }
    fn u128(&mut self, v: u128) {
        self.b(&v.to_le_bytes());
    }
    fn i128(&mut self, v: i128) {
        self.b(&v.to_le_bytes());
    }
    fn opt(&mut self, v: Option<u64>) {
        self.u8(u8::from(v.is_some()));
        self.u64(v.unwrap_or(0));
    }
    fn key(&mut self, k: &TxnKey) {
        self.u32(k.originator);
        self.u32(k.stan);
        self.b(&k.transmission);
        self.b(&k.rrn);
    }
}

struct In<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> In<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], SnapshotDecodeError> {
        if self.buf.len() - self.pos < n {
            return Err(SnapshotDecodeError::Truncated {
                offset: self.buf.len(),
                what,
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn arr<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], SnapshotDecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, what)?);
        Ok(a)
    }
    fn u8(&mut self, what: &'static str) -> Result<u8, SnapshotDecodeError> {
        Ok(self.arr::<1>(what)?[0])
    }
    fn u16(&mut self, what: &'static str) -> Result<u16, SnapshotDecodeError> {
        Ok(u16::from_le_bytes(self.arr(what)?))
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, SnapshotDecodeError> {
        Ok(u32::from_le_bytes(self.arr(what)?))
    }
    fn u64(&mut self, what: &'static str) -> Result<u64, SnapshotDecodeError> {
        Ok(u64::from_le_bytes(self.arr(what)?))
    }
    fn u128(&mut self, what: &'static str) -> Result<u128, SnapshotDecodeError> {
        Ok(u128::from_le_bytes(self.arr(what)?))
    }
    fn i128(&mut self, what: &'static str) -> Result<i128, SnapshotDecodeError> {
        Ok(i128::from_le_bytes(self.arr(what)?))
    }
    fn opt(&mut self, what: &'static str) -> Result<Option<u64>, SnapshotDecodeError> {
        let at = self.pos;
        let flag = self.u8(what)?;
        let v = self.u64(what)?;
        match flag {
            0 => Ok(None),
            1 => Ok(Some(v)),
            f => Err(SnapshotDecodeError::Invalid {
                offset: at,
                what,
                value: f.into(),
            }),
        }
    }
    fn key(&mut self) -> Result<TxnKey, SnapshotDecodeError> {
        Ok(TxnKey {
            originator: self.u32("key originator")?,
            stan: self.u32("key stan")?,
            transmission: self.arr("key transmission")?,
            rrn: self.arr("key rrn")?,
        })
    }
    /// A count, refused when the bytes left cannot hold that many items of
    /// at least `min_item` bytes (so a flipped count cannot make us
    /// allocate gigabytes).
    fn count(
        &mut self,
        wide: bool,
        min_item: usize,
        what: &'static str,
    ) -> Result<usize, SnapshotDecodeError> {
        let at = self.pos;
        let n = if wide {
            self.u64(what)?
        } else {
            u64::from(self.u32(what)?)
        };
        let left = (self.buf.len() - self.pos) as u64;
        if n.saturating_mul(min_item as u64) > left {
            return Err(SnapshotDecodeError::Invalid {
                offset: at,
                what,
                value: n,
            });
        }
        Ok(n as usize)
    }
}

const KEY_LEN: usize = 30;

impl Ledger {
    /// The ledger as snapshot bytes, and the LSN they cover (pass both to
    /// `journal::Journal::snapshot`).
    pub fn to_snapshot(&self) -> (u64, Vec<u8>) {
        let p = self;
        let mut o = Out(Vec::with_capacity(64 + p.txns.len() * 56));
        o.b(&MAGIC);
        o.u16(VERSION);
        o.u64(p.last_lsn);
        o.u32(p.open_epoch);
        o.opt(p.business_day);
        o.u64(p.late_entries);
        o.u32(p.accounts.len() as u32);
        for (k, a) in p.accounts.iter() {
            o.u32(k.participant);
            o.u16(k.currency);
            o.i128(a.reserve_balance);
            o.u64(a.net_debit_cap);
            o.i128(a.net_position);
            o.i128(a.holds);
            o.u64(a.per_transaction_limit);
            o.u64(a.daily_limit);
            o.u128(a.daily_used);
        }
        o.u64(p.txns.len() as u64);
        for (k, t) in p.txns.iter() {
            o.key(k);
            match *t {
                TxnState::Held {
                    payee,
                    currency,
                    amount,
                    expires_at_ms,
                } => {
                    o.u8(1);
                    o.u32(payee);
                    o.u16(currency);
                    o.u64(amount);
                    o.u64(expires_at_ms);
                }
                TxnState::Posted {
                    payee,
                    currency,
                    amount,
                } => {
                    o.u8(2);
                    o.u32(payee);
                    o.u16(currency);
                    o.u64(amount);
                }
                TxnState::Released => o.u8(3),
                TxnState::Reversed => o.u8(4),
            }
        }
        o.u64(p.movements.len() as u64);
        for (participant, reference) in p.movements.iter() {
            o.u32(*participant);
            o.u64(*reference);
        }
        o.u32(p.windows.len() as u32);
        for (epoch, w) in p.windows.iter() {
            o.u32(*epoch);
            o.opt(w.closed_at_ms);
            o.u32(w.settled.len() as u32);
            for k in &w.settled {
                o.u32(k.participant);
                o.u16(k.currency);
            }
            o.u64(w.entries.len() as u64);
            for e in &w.entries {
                o.key(&e.key);
                o.u32(e.payer);
                o.u32(e.payee);
                o.u64(e.amount);
                o.u16(e.currency);
                o.u8(e.kind as u8);
            }
        }
        o.u32(p.escrow_resolved.len() as u32);
        for ((k, lcore), v) in p.escrow_resolved.iter() {
            o.u32(k.participant);
            o.u16(k.currency);
            o.u16(*lcore);
            o.u128(*v);
        }
        o.u64(p.answers.capacity() as u64);
        o.u64(p.answers.len() as u64);
        for a in p.answers.iter() {
            o.u32(a.originator);
            o.b(&a.stan);
            o.b(&a.transmission);
            o.b(&a.rrn);
            o.b(&a.response_code);
            o.u8(u8::from(a.auth_code.is_some()));
            o.b(&a.auth_code.unwrap_or([0; 6]));
        }
        (p.last_lsn, o.0)
    }

    /// Rebuilds a ledger from [`Ledger::to_snapshot`] bytes.
    pub fn from_snapshot(bytes: &[u8]) -> Result<Ledger, SnapshotDecodeError> {
        let mut i = In { buf: bytes, pos: 0 };
        let magic: [u8; 4] = i.arr("magic")?;
        if magic != MAGIC {
            return Err(SnapshotDecodeError::Invalid {
                offset: 0,
                what: "magic",
                value: u64::from(u32::from_le_bytes(magic)),
            });
        }
        let version = i.u16("version")?;
        if !(OLDEST_VERSION..=VERSION).contains(&version) {
            return Err(SnapshotDecodeError::Version { found: version });
        }
        let mut l = Ledger::new();
        let p = &mut l;
        p.last_lsn = i.u64("last_lsn")?;
        p.open_epoch = i.u32("open_epoch")?;
        p.business_day = i.opt("business_day")?;
        p.late_entries = i.u64("late_entries")?;
        let n = i.count(false, 6 + 16 * 4 + 8 * 3, "account count")?;
        for _ in 0..n {
            let key = AccountKey::new(i.u32("participant")?, i.u16("currency")?);
            let account = ReserveAccount {
                reserve_balance: i.i128("reserve")?,
                net_debit_cap: i.u64("cap")?,
                net_position: i.i128("position")?,
                holds: i.i128("holds")?,
                per_transaction_limit: i.u64("per-transaction limit")?,
                daily_limit: i.u64("daily limit")?,
                daily_used: i.u128("daily used")?,
            };
            p.accounts.insert(key, account);
        }
        let n = i.count(true, KEY_LEN + 1, "transaction count")?;
        p.txns.reserve(n);
        for _ in 0..n {
            let key = i.key()?;
            let at = i.pos;
            let state = match i.u8("transaction state")? {
                1 => {
                    let (payee, currency, amount) =
                        (i.u32("payee")?, i.u16("currency")?, i.u64("amount")?);
                    let expires_at_ms = i.u64("expiry")?;
                    p.expiries.insert((expires_at_ms, key));
                    TxnState::Held {
                        payee,
                        currency,
                        amount,
                        expires_at_ms,
                    }
                }
                2 => TxnState::Posted {
                    payee: i.u32("payee")?,
                    currency: i.u16("currency")?,
                    amount: i.u64("amount")?,
                },
                3 => TxnState::Released,
                4 => TxnState::Reversed,
                v => {
                    return Err(SnapshotDecodeError::Invalid {
                        offset: at,
                        what: "transaction state",
                        value: v.into(),
                    })
                }
            };
            p.txns.insert(key, state);
        }
        let n = i.count(true, 12, "movement count")?;
        for _ in 0..n {
            p.movements
                .insert((i.u32("participant")?, i.u64("reference")?));
        }
        let n = i.count(false, 4 + 9 + 4 + 8, "window count")?;
        for _ in 0..n {
            let epoch = i.u32("epoch")?;
            let mut w = Window {
                closed_at_ms: i.opt("closed_at")?,
                ..Window::default()
            };
            let settled = i.count(false, 6, "settled count")?;
            for _ in 0..settled {
                w.settled
                    .insert(AccountKey::new(i.u32("participant")?, i.u16("currency")?));
            }
            let entries = i.count(true, KEY_LEN + 19, "entry count")?;
            w.entries.reserve_exact(entries);
            for _ in 0..entries {
                let key = i.key()?;
                let (payer, payee, amount, currency) = (
                    i.u32("payer")?,
                    i.u32("payee")?,
                    i.u64("amount")?,
                    i.u16("currency")?,
                );
                let at = i.pos;
                let kind = match i.u8("entry kind")? {
                    1 => EntryKind::Financial,
                    2 => EntryKind::Completion,
                    3 => EntryKind::Reversal,
                    v => {
                        return Err(SnapshotDecodeError::Invalid {
                            offset: at,
                            what: "entry kind",
                            value: v.into(),
                        })
                    }
                };
                w.entries.push(ClearingEntry {
                    key,
                    payer,
                    payee,
                    amount,
                    currency,
                    kind,
                });
            }
            p.windows.insert(epoch, w);
        }
        let n = i.count(false, 24, "escrow count")?;
        for _ in 0..n {
            let key = AccountKey::new(i.u32("participant")?, i.u16("currency")?);
            let lcore = i.u16("lcore")?;
            p.escrow_resolved.insert((key, lcore), i.u128("resolved")?);
        }
        if version >= 2 {
            let capacity = i.u64("answer capacity")?;
            p.answers = RecentAnswers::new(usize::try_from(capacity).unwrap_or(usize::MAX));
            let n = i.count(true, ANSWER_LEN, "answer count")?;
            for _ in 0..n {
                let mut a = AnsweredRequest {
                    originator: i.u32("answer originator")?,
                    stan: i.arr("answer stan")?,
                    transmission: i.arr("answer transmission")?,
                    rrn: i.arr("answer rrn")?,
                    response_code: i.arr("answer response code")?,
                    auth_code: None,
                };
                let at = i.pos;
                let tag = i.u8("answer auth flag")?;
                let auth = i.arr("answer auth code")?;
                a.auth_code = match tag {
                    0 => None,
                    1 => Some(auth),
                    v => {
                        return Err(SnapshotDecodeError::Invalid {
                            offset: at,
                            what: "answer auth flag",
                            value: v.into(),
                        })
                    }
                };
                p.answers.push(a);
            }
        }
        if i.pos != bytes.len() {
            return Err(SnapshotDecodeError::Trailing {
                offset: i.pos,
                extra: bytes.len() - i.pos,
            });
        }
        Ok(l)
    }
}
