//! The switch lcore's money hooks: the reserve check before a request is
//! forwarded and the bookkeeping once its answer is known.
//!
//! `check` debits the acquirer's escrow slice for 0100 and 0200 (the
//! families that spend); completions and reversals only give money back or
//! turn a hold into a position, so they pass. The outcome refunds the slice
//! when the issuer (or the stand-in) did not approve, and journals the
//! approved change: a Hold (0100), an Approved (0200), a HoldComplete (0220)
//! or a Reversal (0400/0420).
//!
//! The switch calls `MoneyHooks::outcome_txn` with the transaction's key
//! (originator, STAN, field 7, RRN) and the window its request was stamped
//! with; the approved change is journaled and the answer waits for
//! `durable` under `durability = "sync"`. The plain `outcome` keeps the
//! escrow exact but records nothing. For 0400/0420 the key must be the
//! original transaction's (field 90's STAN and field 7, with its RRN),
//! since that is what the reversal moves back.
//!
//! With an [`EpochBoard`] attached, `check` (and [`LcoreMoney::tick`])
//! observe the open window, so the stamp `epoch()` gives the switch is the
//! one the check saw, and the control plane learns when this lcore has
//! passed a cutoff.

use std::sync::Arc;

use journal::money::{
    Answer, Approved, Hold, HoldComplete, MoneyRecord, Mti, ResponseCode, Reversal,
};
use journal::{AppendError, JournalState, Producer, Release, Seq};
use switch::dedup::{DedupKey, Outcome};
use switch::pipeline::hooks::{Commit, Durable, TxnRef};
use switch::pipeline::rules::Family;
use switch::pipeline::{MoneyHooks, MoneyRequest, Verdict};
use switch::ParticipantIdx;

use crate::answers::{AnsweredRequest, RecentAnswers};
use crate::epoch::{CoarseClock, EpochBoard};
use crate::escrow::LcoreEscrow;
use crate::types::{AccountKey, Epoch, TxnKey};

/// Field 39 values that approve money.
pub fn approves(response_code: [u8; 2]) -> bool {
    matches!(&response_code, b"00" | b"08" | b"10" | b"11")
}

/// 39=96: the switch cannot record the change.
const CANNOT_RECORD: [u8; 2] = *b"96";

fn spends(family: Family) -> bool {
    matches!(family, Family::Authorisation | Family::Financial)
}

/// One lcore's money hooks.
pub struct LcoreMoney {
    escrow: LcoreEscrow,
    producer: Option<Producer>,
    clock: Arc<CoarseClock>,
    hold_ttl_ms: u64,
    epochs: Option<Arc<EpochBoard>>,
    epoch: Epoch,
}

impl LcoreMoney {
    /// Hooks over the lcore's escrow; holds expire `hold_ttl_ms` after the
    /// approval. Without a journal producer nothing is recorded.
    pub fn new(escrow: LcoreEscrow, clock: Arc<CoarseClock>, hold_ttl_ms: u64) -> LcoreMoney {
        LcoreMoney {
            escrow,
            producer: None,
            clock,
            hold_ttl_ms,
            epochs: None,
            epoch: 0,
        }
    }

    /// Stamps requests with the open window of `epochs` and reports this
    /// lcore's progress through cutoffs to it.
    pub fn with_epochs(mut self, epochs: Arc<EpochBoard>) -> LcoreMoney {
        self.epoch = epochs.observe(self.escrow.lcore());
        self.epochs = Some(epochs);
        self
    }

    /// Once per poll: observe the open window (so an idle lcore still
    /// reports that it passed a cutoff) and surrender escrow if asked.
    pub fn tick(&mut self) {
        if let Some(epochs) = &self.epochs {
            self.epoch = epochs.observe(self.escrow.lcore());
        }
        self.escrow.poll();
    }

    /// The window requests are stamped with now.
    pub fn epoch(&self) -> Epoch {
        self.epoch
    }

    /// Records approved changes through this lcore's journal producer.
    pub fn with_journal(mut self, producer: Producer) -> LcoreMoney {
        self.producer = Some(producer);
        self
    }

    pub fn escrow_mut(&mut self) -> &mut LcoreEscrow {
        &mut self.escrow
    }

    pub fn producer(&self) -> Option<&Producer> {
        self.producer.as_ref()
    }

    /// The reserve check (see the module documentation).
    #[inline]
    pub fn check(&mut self, req: &MoneyRequest) -> Verdict {
        if let Some(epochs) = &self.epochs {
            // One load and one store to this lcore's own line.
            self.epoch = epochs.observe(self.escrow.lcore());
        }
        if !spends(req.family) {
            return Verdict::Allow;
        }
        if self
            .producer
            .as_ref()
            .is_some_and(|p| p.state() != JournalState::Running)
        {
            return Verdict::Decline(CANNOT_RECORD);
        }
        let payer = AccountKey::new(req.acquirer.0, req.currency);
        match self.escrow.reserve(payer, req.amount) {
            Ok(()) => Verdict::Allow,
            Err(decline) => Verdict::Decline(decline.response_code()),
        }
    }

    /// Gives the escrow back when a spending request was not approved.
    #[inline]
    fn settle_escrow(&mut self, req: &MoneyRequest, response_code: [u8; 2]) {
        if spends(req.family) && !approves(response_code) {
            let payer = AccountKey::new(req.acquirer.0, req.currency);
            self.escrow.refund(payer, req.amount);
        }
    }

    /// The outcome with what the journal needs: `key` of the transaction
    /// (for a completion or reversal, the key of the original it completes
    /// or reverses, from field 90) and the `epoch` its request was stamped
    /// with. Returns the record's sequence number when one was appended:
    /// with `durability = "sync"` release the approval when
    /// `Producer::release(seq)` says so. An error means the change is not
    /// recorded: answer 39=96 (the escrow debit has been refunded).
    pub fn outcome_keyed(
        &mut self,
        key: &TxnKey,
        epoch: Epoch,
        req: &MoneyRequest,
        response_code: [u8; 2],
    ) -> Result<Option<Seq>, AppendError> {
        self.outcome_answered(key, epoch, req, response_code, None)
    }

    /// [`LcoreMoney::outcome_keyed`] that also journals how the request was
    /// answered (its own field 11 and 7, field 39 and 38), from which
    /// recovery rebuilds the duplicate filter.
    pub fn outcome_answered(
        &mut self,
        key: &TxnKey,
        epoch: Epoch,
        req: &MoneyRequest,
        response_code: [u8; 2],
        answer: Option<Answer>,
    ) -> Result<Option<Seq>, AppendError> {
        self.settle_escrow(req, response_code);
        if !approves(response_code) {
            return Ok(None);
        }
        let Some(producer) = self.producer.as_mut() else {
            return Ok(None);
        };
        let (originator, issuer, jkey) = (req.acquirer.0, req.issuer.0, key.journal_key());
        let rc = ResponseCode(response_code);
        let record = match req.family {
            Family::Authorisation => MoneyRecord::Hold(Hold {
                originator,
                issuer,
                key: jkey,
                amount: req.amount,
                currency: req.currency,
                expires_at_ms: self.clock.now_ms().saturating_add(self.hold_ttl_ms),
                answer,
            }),
            Family::Financial => MoneyRecord::Approved(Approved {
                originator,
                issuer,
                mti: Mti(200),
                key: jkey,
                amount: req.amount,
                currency: req.currency,
                response_code: rc,
                answer,
            }),
            Family::Completion => MoneyRecord::HoldComplete(HoldComplete {
                originator,
                issuer,
                key: jkey,
                amount: req.amount,
                currency: req.currency,
                answer,
            }),
            Family::Reversal | Family::ReversalAdvice => MoneyRecord::Reversal(Reversal {
                originator,
                issuer,
                mti: Mti(if req.family == Family::Reversal {
                    400
                } else {
                    420
                }),
                key: jkey,
                amount: req.amount,
                currency: req.currency,
                response_code: rc,
                answer,
            }),
        };
        match producer.append(epoch, &record) {
            Ok(seq) => Ok(Some(seq)),
            Err(e) => {
                if spends(req.family) {
                    let payer = AccountKey::new(originator, req.currency);
                    self.escrow.refund(payer, req.amount);
                }
                Err(e)
            }
        }
    }
}

/// Field 11 as a number: six ASCII digits by the standard. Anything else
/// maps, deterministically, above every valid STAN so it cannot collide
/// with one.
pub fn stan_number(stan: &[u8; 6]) -> u32 {
    if stan.iter().all(u8::is_ascii_digit) {
        stan.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0'))
    } else {
        0x8000_0000 | (crc32c::crc32c(stan) & 0x7FFF_FFFF)
    }
}

/// How the request behind `txn` was answered, for the journal.
pub fn answer_of(txn: &TxnRef, response_code: [u8; 2]) -> Answer {
    Answer {
        stan: txn.request_stan,
        transmission: txn.request_transmitted_at,
        response_code: ResponseCode(response_code),
        auth_code: txn.auth_code,
    }
}

/// An answered request as the switch's duplicate filter keeps it.
pub fn duplicate_entry(a: &AnsweredRequest) -> (DedupKey, Outcome) {
    (
        DedupKey {
            originator: ParticipantIdx(a.originator),
            stan: a.stan,
            transmitted_at: a.transmission,
            rrn: a.rrn,
        },
        Outcome::Answered {
            response_code: a.response_code,
            auth_code: a.auth_code,
        },
    )
}

/// What every lcore's `DuplicateFilter::seed` takes after a restart: the
/// ledger's recent answers, oldest first.
pub fn duplicate_seed(answers: &RecentAnswers) -> Vec<(DedupKey, Outcome)> {
    answers.iter().map(duplicate_entry).collect()
}

/// The ledger's key of the switch's transaction reference.
pub fn txn_key(txn: &TxnRef) -> TxnKey {
    TxnKey {
        originator: txn.originator.0,
        stan: stan_number(&txn.stan),
        transmission: txn.transmitted_at,
        rrn: txn.rrn,
    }
}

fn durable_of(release: Release) -> Durable {
    match release {
        Release::Now => Durable::Yes,
        Release::Wait => Durable::NotYet,
        Release::Decline => Durable::Failed,
    }
}

impl MoneyHooks for LcoreMoney {
    fn check(&mut self, req: &MoneyRequest) -> Verdict {
        LcoreMoney::check(self, req)
    }

    fn outcome(&mut self, req: &MoneyRequest, response_code: [u8; 2]) {
        self.settle_escrow(req, response_code);
    }

    fn outcome_txn(&mut self, req: &MoneyRequest, txn: &TxnRef, response_code: [u8; 2]) -> Commit {
        let answer = Some(answer_of(txn, response_code));
        match self.outcome_answered(&txn_key(txn), txn.epoch, req, response_code, answer) {
            Ok(None) => Commit::Now,
            Ok(Some(seq)) => match self.producer.as_ref().map(|p| p.release(seq)) {
                Some(Release::Now) | None => Commit::Now,
                Some(Release::Wait) => Commit::Wait(seq.0),
                Some(Release::Decline) => Commit::Failed,
            },
            Err(_) => Commit::Failed,
        }
    }

    fn durable(&mut self, ticket: u64) -> Durable {
        match &self.producer {
            Some(p) => durable_of(p.release(Seq(ticket))),
            None => Durable::Yes,
        }
    }

    fn epoch(&self) -> u32 {
        self.epoch
    }

    fn tick(&mut self) {
        LcoreMoney::tick(self)
    }
}
