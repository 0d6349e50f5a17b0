//! The money state's record kinds and their fixed binary payload encodings.
//!
//! Every field is a fixed-size little-endian integer or a fixed-size byte
//! array, in declaration order; the only variable parts are the limit
//! change's reason text (length-prefixed, at most 128 bytes) and the opaque
//! participant-change bytes (the rest of the payload). Amounts are `u64`
//! minor units with an ISO 4217 numeric currency; there are no floats.
//!
//! The four records an lcore writes for an acquirer's request (Approved,
//! Hold, HoldComplete, Reversal) end with an optional [`Answer`]: how the
//! request itself was answered, so that recovery can rebuild the duplicate
//! filter and a retransmission after a restart gets the same answer instead
//! of a second forward. Its layout, after the record's other fields:
//!
//! ```text
//! tag:u8 (1 = without field 38, 2 = with) stan:[6] transmission:[10]
//! response_code:[2] auth_code:[6] (zeros without field 38)   = 25 bytes
//! ```
//!
//! Journals written before the answer existed hold these records without
//! it; they still decode (as `answer: None`) and apply, they only seed no
//! duplicate-filter entry. A build without the answer refuses the newer
//! records as `TrailingBytes` naming the kind and offset.
//!
//! The clearing epoch is not repeated in the payloads: it is in every
//! record's header (`RecordHeader::epoch`), stamped by the lcore that saw
//! the request, and the window a transaction belongs to.

use thiserror::Error;

/// A participant (acquirer or issuer) as numbered by the control plane.
pub type ParticipantId = u32;

/// Longest reason text a limit change may carry.
pub const MAX_REASON_LEN: usize = 128;

/// Record kinds as written in the header's `kind` field. The numbers are part
/// of the on-disk format: never renumber, only add.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum RecordKind {
    Approved = 1,
    Hold = 2,
    HoldComplete = 3,
    HoldRelease = 4,
    Reversal = 5,
    Deposit = 6,
    Withdrawal = 7,
    LimitChange = 8,
    Cutoff = 9,
    Settlement = 10,
    ParticipantChange = 11,
}

impl RecordKind {
    pub const ALL: [RecordKind; 11] = [
        RecordKind::Approved,
        RecordKind::Hold,
        RecordKind::HoldComplete,
        RecordKind::HoldRelease,
        RecordKind::Reversal,
        RecordKind::Deposit,
        RecordKind::Withdrawal,
        RecordKind::LimitChange,
        RecordKind::Cutoff,
        RecordKind::Settlement,
        RecordKind::ParticipantChange,
    ];

    pub fn from_u16(v: u16) -> Option<RecordKind> {
        RecordKind::ALL.into_iter().find(|k| *k as u16 == v)
    }
}

/// The key the duplicate filter and hold table use for one transaction:
/// field 11 (STAN), field 7 (transmission date and time, MMDDhhmmss as ASCII
/// digits) and field 37 (retrieval reference number, 12 characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TxnKey {
    pub stan: u32,
    pub transmission: [u8; 10],
    pub rrn: [u8; 12],
}

/// An ISO 8583 message type indicator as its four digits read as a decimal
/// number: `0200` is `Mti(200)`, `0420` is `Mti(420)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Mti(pub u16);

/// Field 39, two characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ResponseCode(pub [u8; 2]);

/// How the switch answered the acquirer's request that made a change: with
/// the record's `originator` and the key's RRN (field 37), the request's
/// duplicate-filter key and the answer a retransmission of it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// Field 11 of the request as received. For a completion or reversal it
    /// is the request's own STAN, not the original's the key names.
    pub stan: [u8; 6],
    /// Field 7 of the request as received (likewise its own).
    pub transmission: [u8; 10],
    /// Field 39 the acquirer got.
    pub response_code: ResponseCode,
    /// Field 38 the acquirer got, when the issuer sent one.
    pub auth_code: Option<[u8; 6]>,
}

/// Encoded length of an [`Answer`].
pub const ANSWER_LEN: usize = 25;
const ANSWER_WITHOUT_AUTH: u8 = 1;
const ANSWER_WITH_AUTH: u8 = 2;

/// An approved 0200 (or 0220 without a hold) that moves positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Approved {
    pub originator: ParticipantId,
    pub issuer: ParticipantId,
    pub mti: Mti,
    pub key: TxnKey,
    pub amount: u64,
    pub currency: u16,
    pub response_code: ResponseCode,
    /// How the request was answered (`None` in records written before).
    pub answer: Option<Answer>,
}

/// An approved 0100 that reserves funds until completion, release or expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hold {
    pub originator: ParticipantId,
    pub issuer: ParticipantId,
    pub key: TxnKey,
    pub amount: u64,
    pub currency: u16,
    /// Unix time in milliseconds after which the hold is released.
    pub expires_at_ms: u64,
    /// How the 0100 was answered (`None` in records written before).
    pub answer: Option<Answer>,
}

/// A 0220 completion converting (part of) a hold into a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldComplete {
    pub originator: ParticipantId,
    pub issuer: ParticipantId,
    pub key: TxnKey,
    /// The final amount, which may be lower than the held amount.
    pub amount: u64,
    pub currency: u16,
    /// How the 0220 was answered (`None` in records written before).
    pub answer: Option<Answer>,
}

/// Why a hold was released without completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ReleaseReason {
    Reversed = 1,
    Expired = 2,
    Declined = 3,
}

/// A hold released without moving money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldRelease {
    pub originator: ParticipantId,
    pub issuer: ParticipantId,
    pub key: TxnKey,
    pub amount: u64,
    pub currency: u16,
    pub reason: ReleaseReason,
}

/// A 0400/0420 reversal of an approved transaction's position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reversal {
    pub originator: ParticipantId,
    pub issuer: ParticipantId,
    pub mti: Mti,
    /// The key of the original transaction being reversed.
    pub key: TxnKey,
    pub amount: u64,
    pub currency: u16,
    pub response_code: ResponseCode,
    /// How the 0400/0420 itself was answered (`None` in records written
    /// before).
    pub answer: Option<Answer>,
}

/// A reserve deposit or withdrawal by a participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReserveMovement {
    pub participant: ParticipantId,
    pub currency: u16,
    pub amount: u64,
    /// The control plane's reference for the movement (exactly-once key).
    pub reference: u64,
}

/// Which limit a `LimitChange` sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum LimitKind {
    NetDebitCap = 1,
    PerTransaction = 2,
    Daily = 3,
}

/// A limit set by an operator, with the reason they gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitChange<'a> {
    pub participant: ParticipantId,
    pub currency: u16,
    pub limit: LimitKind,
    pub value: u64,
    /// At most [`MAX_REASON_LEN`] bytes of UTF-8.
    pub reason: &'a str,
}

/// A clearing-window cutoff: `closed_epoch` is closed, `opened_epoch` open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cutoff {
    pub closed_epoch: u32,
    pub opened_epoch: u32,
    pub at_unix_ms: u64,
}

/// One participant's settlement result for a closed window; the reserve
/// balance moves by `credit - debit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settlement {
    pub epoch: u32,
    pub participant: ParticipantId,
    pub currency: u16,
    pub debit: u64,
    pub credit: u64,
    pub count: u64,
}

/// Every state change of the money state, borrowing variable parts from the
/// payload it was decoded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoneyRecord<'a> {
    Approved(Approved),
    Hold(Hold),
    HoldComplete(HoldComplete),
    HoldRelease(HoldRelease),
    Reversal(Reversal),
    Deposit(ReserveMovement),
    Withdrawal(ReserveMovement),
    LimitChange(LimitChange<'a>),
    Cutoff(Cutoff),
    Settlement(Settlement),
    /// Opaque control-plane bytes (participant added, suspended, keys...).
    ParticipantChange(&'a [u8]),
}

/// Why a money record could not be encoded.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum MoneyEncodeError {
    #[error("{kind:?} needs {needed} payload bytes but only {available} are allowed/available")]
    TooLong {
        kind: RecordKind,
        needed: usize,
        available: usize,
    },
    #[error(
        "limit change reason is {len} bytes; at most {MAX_REASON_LEN} are recorded, shorten it"
    )]
    ReasonTooLong { len: usize },
}

/// Why a payload is not a valid money record. Offsets are within the payload.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum PayloadError {
    #[error("unknown record kind {kind}; this build knows kinds 1..=11")]
    UnknownKind { kind: u16 },
    #[error("{kind:?} payload ends at byte {available} while reading `{field}` ({needed} bytes at byte {offset})")]
    Truncated {
        kind: RecordKind,
        field: &'static str,
        offset: usize,
        needed: usize,
        available: usize,
    },
    #[error("{kind:?} payload has {extra} unexpected bytes after byte {offset}")]
    TrailingBytes {
        kind: RecordKind,
        offset: usize,
        extra: usize,
    },
    #[error("{kind:?} field `{field}` at byte {offset} has invalid value {value}")]
    InvalidValue {
        kind: RecordKind,
        field: &'static str,
        offset: usize,
        value: u64,
    },
    #[error("limit change reason at byte {offset} is not UTF-8")]
    ReasonNotUtf8 { offset: usize },
}

/// Bounded writer over a caller-supplied buffer (no allocation).
struct Out<'b> {
    buf: &'b mut [u8],
    pos: usize,
    kind: RecordKind,
}

impl Out<'_> {
    fn bytes(&mut self, b: &[u8]) -> Result<(), MoneyEncodeError> {
        let end = self.pos + b.len();
        if end > self.buf.len() {
            return Err(MoneyEncodeError::TooLong {
                kind: self.kind,
                needed: end,
                available: self.buf.len(),
            });
        }
        self.buf[self.pos..end].copy_from_slice(b);
        self.pos = end;
        Ok(())
    }
    fn u8(&mut self, v: u8) -> Result<(), MoneyEncodeError> {
        self.bytes(&[v])
    }
    fn u16(&mut self, v: u16) -> Result<(), MoneyEncodeError> {
        self.bytes(&v.to_le_bytes())
    }
    fn u32(&mut self, v: u32) -> Result<(), MoneyEncodeError> {
        self.bytes(&v.to_le_bytes())
    }
    fn u64(&mut self, v: u64) -> Result<(), MoneyEncodeError> {
        self.bytes(&v.to_le_bytes())
    }
    fn key(&mut self, k: &TxnKey) -> Result<(), MoneyEncodeError> {
        self.u32(k.stan)?;
        self.bytes(&k.transmission)?;
        self.bytes(&k.rrn)
    }
    fn answer(&mut self, a: &Option<Answer>) -> Result<(), MoneyEncodeError> {
        let Some(a) = a else {
            return Ok(());
        };
        self.u8(if a.auth_code.is_some() {
            ANSWER_WITH_AUTH
        } else {
            ANSWER_WITHOUT_AUTH
        })?;
        self.bytes(&a.stan)?;
        self.bytes(&a.transmission)?;
        self.bytes(&a.response_code.0)?;
        self.bytes(&a.auth_code.unwrap_or([0; 6]))
    }
}

/// Cursor over a payload that names the field being read in its errors.
struct In<'a> {
    buf: &'a [u8],
    pos: usize,
    kind: RecordKind,
}

impl<'a> In<'a> {
    fn take(&mut self, field: &'static str, n: usize) -> Result<&'a [u8], PayloadError> {
        if self.buf.len() - self.pos < n {
            return Err(PayloadError::Truncated {
                kind: self.kind,
                field,
                offset: self.pos,
                needed: n,
                available: self.buf.len(),
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn arr<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], PayloadError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(field, N)?);
        Ok(a)
    }
    fn u8(&mut self, field: &'static str) -> Result<u8, PayloadError> {
        Ok(self.arr::<1>(field)?[0])
    }
    fn u16(&mut self, field: &'static str) -> Result<u16, PayloadError> {
        Ok(u16::from_le_bytes(self.arr(field)?))
    }
    fn u32(&mut self, field: &'static str) -> Result<u32, PayloadError> {
        Ok(u32::from_le_bytes(self.arr(field)?))
    }
    fn u64(&mut self, field: &'static str) -> Result<u64, PayloadError> {
        Ok(u64::from_le_bytes(self.arr(field)?))
    }
    fn key(&mut self) -> Result<TxnKey, PayloadError> {
        Ok(TxnKey {
            stan: self.u32("stan")?,
            transmission: self.arr("transmission")?,
            rrn: self.arr("rrn")?,
        })
    }
    /// The optional answer at the end of a request's record: absent when
    /// the payload ends here (records written before it existed).
    fn answer(&mut self) -> Result<Option<Answer>, PayloadError> {
        if self.pos == self.buf.len() {
            return Ok(None);
        }
        let tag = self.u8("answer_tag")?;
        if tag != ANSWER_WITH_AUTH && tag != ANSWER_WITHOUT_AUTH {
            return Err(self.invalid("answer_tag", 1, tag.into()));
        }
        let stan = self.arr("answer_stan")?;
        let transmission = self.arr("answer_transmission")?;
        let response_code = ResponseCode(self.arr("answer_response_code")?);
        let auth = self.arr("answer_auth_code")?;
        Ok(Some(Answer {
            stan,
            transmission,
            response_code,
            auth_code: (tag == ANSWER_WITH_AUTH).then_some(auth),
        }))
    }
    fn invalid(&self, field: &'static str, width: usize, value: u64) -> PayloadError {
        PayloadError::InvalidValue {
            kind: self.kind,
            field,
            offset: self.pos - width,
            value,
        }
    }
    fn finish(&self) -> Result<(), PayloadError> {
        if self.pos != self.buf.len() {
            return Err(PayloadError::TrailingBytes {
                kind: self.kind,
                offset: self.pos,
                extra: self.buf.len() - self.pos,
            });
        }
        Ok(())
    }
}

impl<'a> MoneyRecord<'a> {
    pub fn kind(&self) -> RecordKind {
        match self {
            MoneyRecord::Approved(_) => RecordKind::Approved,
            MoneyRecord::Hold(_) => RecordKind::Hold,
            MoneyRecord::HoldComplete(_) => RecordKind::HoldComplete,
            MoneyRecord::HoldRelease(_) => RecordKind::HoldRelease,
            MoneyRecord::Reversal(_) => RecordKind::Reversal,
            MoneyRecord::Deposit(_) => RecordKind::Deposit,
            MoneyRecord::Withdrawal(_) => RecordKind::Withdrawal,
            MoneyRecord::LimitChange(_) => RecordKind::LimitChange,
            MoneyRecord::Cutoff(_) => RecordKind::Cutoff,
            MoneyRecord::Settlement(_) => RecordKind::Settlement,
            MoneyRecord::ParticipantChange(_) => RecordKind::ParticipantChange,
        }
    }

    /// Encodes the payload into `out` and returns its length. Never allocates.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, MoneyEncodeError> {
        let mut o = Out {
            buf: out,
            pos: 0,
            kind: self.kind(),
        };
        match self {
            MoneyRecord::Approved(a) => {
                o.u32(a.originator)?;
                o.u32(a.issuer)?;
                o.u16(a.mti.0)?;
                o.key(&a.key)?;
                o.u64(a.amount)?;
                o.u16(a.currency)?;
                o.bytes(&a.response_code.0)?;
                o.answer(&a.answer)?;
            }
            MoneyRecord::Hold(h) => {
                o.u32(h.originator)?;
                o.u32(h.issuer)?;
                o.key(&h.key)?;
                o.u64(h.amount)?;
                o.u16(h.currency)?;
                o.u64(h.expires_at_ms)?;
                o.answer(&h.answer)?;
            }
            MoneyRecord::HoldComplete(h) => {
                o.u32(h.originator)?;
                o.u32(h.issuer)?;
                o.key(&h.key)?;
                o.u64(h.amount)?;
                o.u16(h.currency)?;
                o.answer(&h.answer)?;
            }
            MoneyRecord::HoldRelease(h) => {
                o.u32(h.originator)?;
                o.u32(h.issuer)?;
                o.key(&h.key)?;
                o.u64(h.amount)?;
                o.u16(h.currency)?;
                o.u8(h.reason as u8)?;
            }
            MoneyRecord::Reversal(r) => {
                o.u32(r.originator)?;
                o.u32(r.issuer)?;
                o.u16(r.mti.0)?;
                o.key(&r.key)?;
                o.u64(r.amount)?;
                o.u16(r.currency)?;
                o.bytes(&r.response_code.0)?;
                o.answer(&r.answer)?;
            }
            MoneyRecord::Deposit(m) | MoneyRecord::Withdrawal(m) => {
                o.u32(m.participant)?;
                o.u16(m.currency)?;
                o.u64(m.amount)?;
                o.u64(m.reference)?;
            }
            MoneyRecord::LimitChange(l) => {
                if l.reason.len() > MAX_REASON_LEN {
                    return Err(MoneyEncodeError::ReasonTooLong {
                        len: l.reason.len(),
                    });
                }
                o.u32(l.participant)?;
                o.u16(l.currency)?;
                o.u8(l.limit as u8)?;
                o.u64(l.value)?;
                o.u8(l.reason.len() as u8)?;
                o.bytes(l.reason.as_bytes())?;
            }
            MoneyRecord::Cutoff(c) => {
                o.u32(c.closed_epoch)?;
                o.u32(c.opened_epoch)?;
                o.u64(c.at_unix_ms)?;
            }
            MoneyRecord::Settlement(s) => {
                o.u32(s.epoch)?;
                o.u32(s.participant)?;
                o.u16(s.currency)?;
                o.u64(s.debit)?;
                o.u64(s.credit)?;
                o.u64(s.count)?;
            }
            MoneyRecord::ParticipantChange(bytes) => o.bytes(bytes)?,
        }
        Ok(o.pos)
    }

    /// Decodes a payload of header kind `kind`. Borrows from `payload`.
    pub fn decode(kind: u16, payload: &'a [u8]) -> Result<MoneyRecord<'a>, PayloadError> {
        let kind = RecordKind::from_u16(kind).ok_or(PayloadError::UnknownKind { kind })?;
        let mut i = In {
            buf: payload,
            pos: 0,
            kind,
        };
        let rec = match kind {
            RecordKind::Approved => MoneyRecord::Approved(Approved {
                originator: i.u32("originator")?,
                issuer: i.u32("issuer")?,
                mti: Mti(i.u16("mti")?),
                key: i.key()?,
                amount: i.u64("amount")?,
                currency: i.u16("currency")?,
                response_code: ResponseCode(i.arr("response_code")?),
                answer: i.answer()?,
            }),
            RecordKind::Hold => MoneyRecord::Hold(Hold {
                originator: i.u32("originator")?,
                issuer: i.u32("issuer")?,
                key: i.key()?,
                amount: i.u64("amount")?,
                currency: i.u16("currency")?,
                expires_at_ms: i.u64("expires_at_ms")?,
                answer: i.answer()?,
            }),
            RecordKind::HoldComplete => MoneyRecord::HoldComplete(HoldComplete {
                originator: i.u32("originator")?,
                issuer: i.u32("issuer")?,
                key: i.key()?,
                amount: i.u64("amount")?,
                currency: i.u16("currency")?,
                answer: i.answer()?,
            }),
            RecordKind::HoldRelease => {
                let originator = i.u32("originator")?;
                let issuer = i.u32("issuer")?;
                let key = i.key()?;
                let amount = i.u64("amount")?;
                let currency = i.u16("currency")?;
                let reason = match i.u8("reason")? {
                    1 => ReleaseReason::Reversed,
                    2 => ReleaseReason::Expired,
                    3 => ReleaseReason::Declined,
                    v => return Err(i.invalid("reason", 1, v.into())),
                };
                MoneyRecord::HoldRelease(HoldRelease {
                    originator,
                    issuer,
                    key,
                    amount,
                    currency,
                    reason,
                })
            }
            RecordKind::Reversal => MoneyRecord::Reversal(Reversal {
                originator: i.u32("originator")?,
                issuer: i.u32("issuer")?,
                mti: Mti(i.u16("mti")?),
                key: i.key()?,
                amount: i.u64("amount")?,
                currency: i.u16("currency")?,
                response_code: ResponseCode(i.arr("response_code")?),
                answer: i.answer()?,
            }),
            RecordKind::Deposit | RecordKind::Withdrawal => {
                let m = ReserveMovement {
                    participant: i.u32("participant")?,
                    currency: i.u16("currency")?,
                    amount: i.u64("amount")?,
                    reference: i.u64("reference")?,
                };
                if kind == RecordKind::Deposit {
                    MoneyRecord::Deposit(m)
                } else {
                    MoneyRecord::Withdrawal(m)
                }
            }
            RecordKind::LimitChange => {
                let participant = i.u32("participant")?;
                let currency = i.u16("currency")?;
                let limit = match i.u8("limit")? {
                    1 => LimitKind::NetDebitCap,
                    2 => LimitKind::PerTransaction,
                    3 => LimitKind::Daily,
                    v => return Err(i.invalid("limit", 1, v.into())),
                };
                let value = i.u64("value")?;
                let len = i.u8("reason_len")? as usize;
                if len > MAX_REASON_LEN {
                    return Err(i.invalid("reason_len", 1, len as u64));
                }
                let at = i.pos;
                let bytes = i.take("reason", len)?;
                let reason = std::str::from_utf8(bytes)
                    .map_err(|_| PayloadError::ReasonNotUtf8 { offset: at })?;
                MoneyRecord::LimitChange(LimitChange {
                    participant,
                    currency,
                    limit,
                    value,
                    reason,
                })
            }
            RecordKind::Cutoff => MoneyRecord::Cutoff(Cutoff {
                closed_epoch: i.u32("closed_epoch")?,
                opened_epoch: i.u32("opened_epoch")?,
                at_unix_ms: i.u64("at_unix_ms")?,
            }),
            RecordKind::Settlement => MoneyRecord::Settlement(Settlement {
                epoch: i.u32("epoch")?,
                participant: i.u32("participant")?,
                currency: i.u16("currency")?,
                debit: i.u64("debit")?,
                credit: i.u64("credit")?,
                count: i.u64("count")?,
            }),
            RecordKind::ParticipantChange => {
                let all = i.take("bytes", payload.len())?;
                MoneyRecord::ParticipantChange(all)
            }
        };
        i.finish()?;
        Ok(rec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_truncated_approval_names_the_field_it_could_not_read() {
        let rec = MoneyRecord::Approved(Approved {
            originator: 1,
            issuer: 2,
            mti: Mti(200),
            key: TxnKey::default(),
            amount: 10_000,
            currency: 978,
            response_code: ResponseCode(*b"00"),
            answer: None,
        });
        let mut buf = [0u8; 64];
        let n = rec.encode(&mut buf).unwrap();
        let err = MoneyRecord::decode(RecordKind::Approved as u16, &buf[..n - 3]).unwrap_err();
        assert!(
            matches!(
                err,
                PayloadError::Truncated {
                    field: "currency",
                    offset: 44,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    fn approval(answer: Option<Answer>) -> MoneyRecord<'static> {
        MoneyRecord::Approved(Approved {
            originator: 1,
            issuer: 2,
            mti: Mti(200),
            key: TxnKey {
                stan: 123,
                transmission: *b"1127181300",
                rrn: *b"000000000123",
            },
            amount: 10_000,
            currency: 978,
            response_code: ResponseCode(*b"00"),
            answer,
        })
    }

    #[test]
    fn the_answer_with_and_without_field_38_round_trips() {
        for auth_code in [Some(*b"A1B2C3"), None] {
            let rec = approval(Some(Answer {
                stan: *b"000123",
                transmission: *b"1127181300",
                response_code: ResponseCode(*b"00"),
                auth_code,
            }));
            let mut buf = [0u8; 128];
            let n = rec.encode(&mut buf).unwrap();
            assert_eq!(n, 48 + ANSWER_LEN);
            assert_eq!(
                MoneyRecord::decode(RecordKind::Approved as u16, &buf[..n]),
                Ok(rec)
            );
        }
    }

    #[test]
    fn a_record_written_before_the_answer_existed_decodes_without_one() {
        // The 48-byte approval of format 1's first journals.
        let rec = approval(None);
        let mut buf = [0u8; 128];
        let n = rec.encode(&mut buf).unwrap();
        assert_eq!(n, 48);
        let decoded = MoneyRecord::decode(RecordKind::Approved as u16, &buf[..n]).unwrap();
        assert!(matches!(
            decoded,
            MoneyRecord::Approved(Approved { answer: None, .. })
        ));
    }

    #[test]
    fn a_cut_or_mistagged_answer_is_refused_with_its_field() {
        let rec = approval(Some(Answer {
            stan: *b"000123",
            transmission: *b"1127181300",
            response_code: ResponseCode(*b"00"),
            auth_code: None,
        }));
        let mut buf = [0u8; 128];
        let n = rec.encode(&mut buf).unwrap();
        let err = MoneyRecord::decode(RecordKind::Approved as u16, &buf[..n - 1]).unwrap_err();
        assert!(
            matches!(
                err,
                PayloadError::Truncated {
                    field: "answer_auth_code",
                    ..
                }
            ),
            "{err:?}"
        );
        buf[48] = 7;
        let err = MoneyRecord::decode(RecordKind::Approved as u16, &buf[..n]).unwrap_err();
        assert_eq!(
            err,
            PayloadError::InvalidValue {
                kind: RecordKind::Approved,
                field: "answer_tag",
                offset: 48,
                value: 7
            }
        );
    }

    #[test]
    fn an_unknown_release_reason_is_refused_with_its_offset() {
        let rec = MoneyRecord::HoldRelease(HoldRelease {
            originator: 1,
            issuer: 2,
            key: TxnKey::default(),
            amount: 5,
            currency: 840,
            reason: ReleaseReason::Expired,
        });
        let mut buf = [0u8; 64];
        let n = rec.encode(&mut buf).unwrap();
        buf[n - 1] = 9;
        let err = MoneyRecord::decode(RecordKind::HoldRelease as u16, &buf[..n]).unwrap_err();
        assert_eq!(
            err,
            PayloadError::InvalidValue {
                kind: RecordKind::HoldRelease,
                field: "reason",
                offset: n - 1,
                value: 9
            }
        );
    }

    #[test]
    fn a_reason_longer_than_128_bytes_is_refused() {
        let reason = "x".repeat(MAX_REASON_LEN + 1);
        let rec = MoneyRecord::LimitChange(LimitChange {
            participant: 1,
            currency: 978,
            limit: LimitKind::Daily,
            value: 1,
            reason: &reason,
        });
        let mut buf = [0u8; 512];
        assert_eq!(
            rec.encode(&mut buf),
            Err(MoneyEncodeError::ReasonTooLong { len: 129 })
        );
    }

    #[test]
    fn trailing_bytes_and_unknown_kinds_are_errors() {
        let rec = MoneyRecord::Cutoff(Cutoff {
            closed_epoch: 1,
            opened_epoch: 2,
            at_unix_ms: 3,
        });
        let mut buf = [0u8; 64];
        let n = rec.encode(&mut buf).unwrap();
        let err = MoneyRecord::decode(RecordKind::Cutoff as u16, &buf[..n + 2]).unwrap_err();
        assert!(matches!(err, PayloadError::TrailingBytes { extra: 2, .. }));
        assert_eq!(
            MoneyRecord::decode(99, &buf[..n]),
            Err(PayloadError::UnknownKind { kind: 99 })
        );
    }
}
