//! Clearway's money state: reserve accounts, the lock-free per-lcore
//! escrow the switch checks them with, clearing windows, multilateral
//! netting, settlement files, and replay from the journal.
//!
//! How the parts fit:
//!
//! * [`Ledger`] is the control plane's state — per (participant, currency)
//!   [`ReserveAccount`]s with `available = reserve_balance + net_debit_cap −
//!   net_position − holds`, per-transaction and daily limits, the
//!   transactions by [`TxnKey`] (exactly-once under duplicates and
//!   retries), the open window and each window's entries. It changes only
//!   by applying journal records ([`Ledger::apply`]), so recovery is
//!   [`replay::recover`]: load the newest snapshot ([`snapshot`]) and
//!   replay the journal after it. It also keeps how the newest requests
//!   that changed money were answered ([`answers`]), from which a restarted
//!   switch rebuilds its duplicate filters.
//! * [`escrow`]: the lcores never touch the ledger. Each spends from its
//!   own slice of each account's spendable amount; the [`escrow::Refiller`]
//!   refills and rebalances the slices from the ledger and guarantees the
//!   slices never add up to more than the account may spend.
//! * [`epoch`]: the window number the lcores stamp, flipped by a cutoff
//!   without pausing anyone, and the cutoff schedule.
//! * [`netting`] and [`settlement`]: a closed window's multilateral and
//!   bilateral netting (zero-sum), the settlement records that move
//!   reserves by each net, and the CSV / JSON-lines files with checksums.
//! * [`desk::ClearingDesk`]: the control plane's loop — read the journal
//!   back into the ledger, refill escrow, expire holds, cut off on schedule
//!   or command, settle closed windows once their in-flight grace is over.
//! * `hooks` (feature `switch-hooks`, default): [`hooks::LcoreMoney`], the
//!   switch's `MoneyHooks` implementation.
//!
//! # Sign convention
//!
//! The rule is that an *acquirer's* money-moving request that would
//! take the acquirer below zero is declined. The ledger therefore treats the
//! originator of a request as the **payer** (Mojaloop's payer-FSP model):
//! its escrow is debited on the lcore, an approved 0100 adds to its
//! `holds`, and an approved 0200/0220 adds to its `net_position` (positive
//! = owes) while the issuer's (the **payee**'s) position falls by the same
//! amount. Reversals move it back. In a card scheme's purchase flow money
//! runs the other way (the issuer owes the acquirer); flipping that is a
//! change of which party [`Ledger`] posts as payer, not of the arithmetic.
//!
//! What this crate is not: the journal (crate `journal` writes and reads
//! records), the lcore pipeline (crate `switch` calls the hooks), or an API.
#![forbid(unsafe_code)]

pub mod account;
pub mod answers;
pub mod desk;
pub mod epoch;
pub mod escrow;
#[cfg(feature = "switch-hooks")]
pub mod hooks;
pub mod ledger;
pub mod netting;
pub mod replay;
pub mod settlement;
pub mod snapshot;
mod txn_table;
pub mod types;

pub use account::{ReserveAccount, Shortfall, UNLIMITED};
pub use answers::{AnsweredRequest, RecentAnswers, DEFAULT_RECENT_ANSWERS};
pub use desk::{ClearingDesk, DeskConfig, DeskError, TickReport};
pub use epoch::{CoarseClock, CutoffSchedule, EpochBoard, ScheduleError};
pub use escrow::{EscrowBoard, EscrowDecline, EscrowError, LcoreEscrow, RefillReport, Refiller};
pub use ledger::{Applied, ApplyError, CommandError, Ledger, TxnState, Window, FIRST_EPOCH};
pub use netting::{
    net, BilateralRow, ClearingEntry, CurrencyTotal, EntryKind, NetRow, NettingResult,
};
pub use replay::{catch_up, recover, recover_keeping, BatchApplier, ReplayError};
pub use settlement::{
    settle, verify_checksum, ChecksumError, SettleError, SettlementFile, SettlementRun,
};
pub use snapshot::SnapshotDecodeError;
pub use types::{AccountKey, Currency, Epoch, ParticipantId, RecordMeta, TxnKey};
