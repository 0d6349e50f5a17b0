//! Where the money state plugs into the lcore: the reserve check before a
//! request is forwarded, and the outcome once the issuer (or the stand-in)
//! has answered. The reserve-accounts work supplies the real implementation;
//! until then [`AlwaysAllow`] approves everything and records nothing.

use super::rules::Family;
use crate::ParticipantIdx;

/// A money-moving request as the reserve check sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MoneyRequest {
    pub acquirer: ParticipantIdx,
    pub issuer: ParticipantIdx,
    pub family: Family,
    /// Field 4, minor units.
    pub amount: u64,
    /// Field 49, ISO 4217 numeric (0 when absent).
    pub currency: u16,
}

/// The reserve check's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Forward to the issuer.
    Allow,
    /// Answer the acquirer with this field 39 without reaching the issuer
    /// (`51` insufficient reserve, `61` over a limit, `96` cannot record).
    Decline([u8; 2]),
}

/// Which transaction an outcome belongs to, as the journal keys it: the
/// acquirer's STAN (11), transmission date/time (7) and RRN (37), and the
/// clearing window (epoch) its request was stamped with when forwarded.
/// For a completion or reversal `stan` and `transmitted_at` are the
/// original's (field 90); `request_stan` and `request_transmitted_at` are
/// always the request's own. With `originator` and `rrn` those are the
/// request's duplicate-filter key, journaled with `auth_code` so that after
/// a restart a retransmission is answered again, not forwarded again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnRef {
    pub originator: ParticipantIdx,
    pub stan: [u8; 6],
    pub transmitted_at: [u8; 10],
    pub rrn: [u8; 12],
    pub epoch: u32,
    pub request_stan: [u8; 6],
    pub request_transmitted_at: [u8; 10],
    /// Field 38 of the answer, when the issuer sent one.
    pub auth_code: Option<[u8; 6]>,
}

/// What the switch may do with an answer once its outcome is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// Nothing to wait for (not approved, or `durability = "async"`): send.
    Now,
    /// Recorded as `ticket`; send once [`MoneyHooks::durable`] says so.
    Wait(u64),
    /// Not recorded (journal failed or full): the acquirer gets 39=96 and
    /// the issuer a reversal, rather than money moving unrecorded.
    Failed,
}

/// Whether a [`Commit::Wait`] ticket is on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durable {
    Yes,
    NotYet,
    /// The journal failed before it got there.
    Failed,
}

/// The lcore's hooks into the money state. Called on the lcore, so an
/// implementation must not block or allocate.
pub trait MoneyHooks: Send {
    /// Before forwarding `req`.
    fn check(&mut self, req: &MoneyRequest) -> Verdict;
    /// Once the request's outcome is known (`response_code` = field 39 the
    /// acquirer gets: the issuer's, or the stand-in's `91`).
    fn outcome(&mut self, req: &MoneyRequest, response_code: [u8; 2]);
    /// The outcome with the transaction's journal key; records approved
    /// money. The default records nothing and releases at once.
    fn outcome_txn(&mut self, req: &MoneyRequest, _txn: &TxnRef, response_code: [u8; 2]) -> Commit {
        self.outcome(req, response_code);
        Commit::Now
    }
    /// Whether the record behind `ticket` is durable.
    fn durable(&mut self, _ticket: u64) -> Durable {
        Durable::Yes
    }
    /// The clearing window requests are stamped with now.
    fn epoch(&self) -> u32 {
        0
    }
    /// Once per poll, before the burst (e.g. take escrow refills).
    fn tick(&mut self) {}
}

/// Approves everything, records nothing (until reserve accounts exist).
#[derive(Debug, Default, Clone, Copy)]
pub struct AlwaysAllow;

impl MoneyHooks for AlwaysAllow {
    fn check(&mut self, _req: &MoneyRequest) -> Verdict {
        Verdict::Allow
    }
    fn outcome(&mut self, _req: &MoneyRequest, _response_code: [u8; 2]) {}
}
