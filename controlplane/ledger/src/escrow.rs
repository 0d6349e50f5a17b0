//! Per-lcore escrow: how the lcores check and debit reserves without locks.
//!
//! Each account's spendable amount is handed out in slices: every lcore
//! owns a slice it spends from with plain loads and stores of counters only
//! it writes, and a shared pool takes what the slices do not, from which an
//! lcore whose slice is short borrows with a bounded compare-and-swap (the
//! only contended operation, and only on a miss). The control plane's
//! [`Refiller`] tops slices up from the ledger and asks lcores holding too
//! much to surrender some.
//!
//! Never over-commit. Every counter is monotonic and has one writer:
//!
//! ```text
//! handed   = Σ granted[l] + pool_granted − pool_reclaimed     (control plane)
//! returned = Σ surrendered[l]                                   (each lcore)
//! resolved = Σ escrow-consuming debits the ledger has applied   (ledger)
//! outstanding = handed − returned − resolved
//!             = Σ free slices + pool left + debits in flight
//! ```
//!
//! The refiller hands out more only while `outstanding ≤ spendable`, where
//! spendable is the ledger's `min(available, daily remainder)` — which
//! already excludes every resolved debit. Reading an lcore's `surrendered`
//! late only overstates `outstanding`, so a race can make the refiller
//! hand out less, never more. The price is a possible decline while the
//! last of an account's money is spread over slices: each lcore may hold a
//! fragment smaller than the debit in front of it, with the pool empty.
//! The refiller's next pass moves such fragments (surrender, top-up).
//!
//! Budget (2 GHz): find the account (hash, one or two probes) ~10 ns, two
//! relaxed loads and two stores ~5 ns; the whole check-and-debit stays well
//! under the 50 ns the issue allows (see `benches/reserve.rs`).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use thiserror::Error;

use crate::account::UNLIMITED;
use crate::ledger::Ledger;
use crate::types::AccountKey;

/// Keeps each lcore's counters on its own cache line.
#[repr(align(64))]
#[derive(Debug, Default)]
struct Padded<T>(T);

/// One account × one lcore. `granted` and `reclaim_target` are written by
/// the control plane, the rest by the lcore (published for the refiller).
#[derive(Debug, Default)]
struct Cell {
    granted: AtomicU64,
    reclaim_target: AtomicU64,
    consumed: AtomicU64,
    refunded: AtomicU64,
    surrendered: AtomicU64,
    borrowed: AtomicU64,
}

/// One account's shared part, read by every lcore.
#[derive(Debug)]
struct Gate {
    per_transaction_limit: AtomicU64,
    /// Field 39 when escrow is short: `51`, or `61` when the daily limit binds.
    short_code: AtomicU32,
    pool_granted: AtomicU64,
    /// Taken from the pool by lcores (CAS) and by the refiller reclaiming.
    pool_taken: AtomicU64,
    pool_reclaimed: AtomicU64,
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            per_transaction_limit: AtomicU64::new(UNLIMITED),
            short_code: AtomicU32::new(code_to_u32(*b"51")),
            pool_granted: AtomicU64::new(0),
            pool_taken: AtomicU64::new(0),
            pool_reclaimed: AtomicU64::new(0),
        }
    }
}

fn code_to_u32(code: [u8; 2]) -> u32 {
    u32::from(u16::from_le_bytes(code))
}

fn u32_to_code(v: u32) -> [u8; 2] {
    (v as u16).to_le_bytes()
}

/// How many times an lcore retries the pool's compare-and-swap before
/// declining: bounded so a storm of borrowers cannot stall an lcore.
const POOL_CAS_TRIES: usize = 8;

/// Largest budget handed out for one account; keeps every counter sum far
/// from `u64` overflow even with an unlimited cap.
const MAX_BUDGET: u128 = 1 << 60;

/// Why the escrow board refused an account.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum EscrowError {
    #[error("the escrow board holds {capacity} accounts and is full; raise `max_accounts` in the reserve configuration and restart")]
    Full { capacity: usize },
    #[error("an escrow board needs at least one lcore and one account slot, got {lcores} lcores and {capacity} accounts")]
    BadSize { lcores: usize, capacity: usize },
    #[error("lcore {lcore} is not one of the board's {lcores} lcores")]
    NoSuchLcore { lcore: usize, lcores: usize },
    #[error("lcore {lcore}'s escrow handle was already taken; each lcore has exactly one")]
    LcoreTaken { lcore: usize },
}

/// The shared, preallocated escrow state of every account and lcore.
#[derive(Debug)]
pub struct EscrowBoard {
    lcores: usize,
    capacity: usize,
    mask: usize,
    /// Open-addressing index: packed account key + 1 (0 = empty).
    index_keys: Box<[AtomicU64]>,
    index_slots: Box<[AtomicU32]>,
    registered: AtomicU32,
    gates: Box<[Padded<Gate>]>,
    cells: Box<[Padded<Cell>]>,
    /// Bumped when any lcore should look at its reclaim targets.
    reclaim_generation: AtomicU64,
    /// Whether each lcore's handle has been handed out.
    taken: Box<[std::sync::atomic::AtomicBool]>,
}

fn pack(key: AccountKey) -> u64 {
    ((u64::from(key.participant) << 16) | u64::from(key.currency)) + 1
}

fn hash(packed: u64) -> usize {
    (packed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize
}

impl EscrowBoard {
    /// A board for `lcores` lcores and up to `capacity` accounts, all
    /// memory allocated here.
    pub fn new(lcores: usize, capacity: usize) -> Result<EscrowBoard, EscrowError> {
        if lcores == 0 || capacity == 0 {
            return Err(EscrowError::BadSize { lcores, capacity });
        }
        let table = (capacity * 2).next_power_of_two();
        Ok(EscrowBoard {
            lcores,
            capacity,
            mask: table - 1,
            index_keys: (0..table).map(|_| AtomicU64::new(0)).collect(),
            index_slots: (0..table).map(|_| AtomicU32::new(0)).collect(),
            registered: AtomicU32::new(0),
            gates: (0..capacity).map(|_| Padded::default()).collect(),
            cells: (0..capacity * lcores).map(|_| Padded::default()).collect(),
            reclaim_generation: AtomicU64::new(0),
            taken: (0..lcores)
                .map(|_| std::sync::atomic::AtomicBool::new(false))
                .collect(),
        })
    }

    pub fn lcores(&self) -> usize {
        self.lcores
    }

    /// The account's slot, if registered. Lock-free, bounded by the table.
    pub fn find(&self, key: AccountKey) -> Option<usize> {
        let want = pack(key);
        let mut i = hash(want) & self.mask;
        for _ in 0..=self.mask {
            match self.index_keys[i].load(Ordering::Acquire) {
                k if k == want => return Some(self.index_slots[i].load(Ordering::Relaxed) as usize),
                0 => return None,
                _ => i = (i + 1) & self.mask,
            }
        }
        None
    }

    /// Registers an account (control plane only: one refiller registers).
    /// The slot is written before the key is published, so an lcore that
    /// finds the key finds its slot.
    fn register(&self, key: AccountKey) -> Result<usize, EscrowError> {
        if let Some(slot) = self.find(key) {
            return Ok(slot);
        }
        let slot = self.registered.load(Ordering::Relaxed) as usize;
        if slot >= self.capacity {
            return Err(EscrowError::Full {
                capacity: self.capacity,
            });
        }
        let want = pack(key);
        let mut i = hash(want) & self.mask;
        while self.index_keys[i].load(Ordering::Relaxed) != 0 {
            i = (i + 1) & self.mask;
        }
        self.index_slots[i].store(slot as u32, Ordering::Relaxed);
        self.index_keys[i].store(want, Ordering::Release);
        self.registered.store(slot as u32 + 1, Ordering::Release);
        Ok(slot)
    }

    fn cell(&self, slot: usize, lcore: usize) -> &Cell {
        &self.cells[slot * self.lcores + lcore].0
    }

    /// The lcore's handle, once per lcore: its counters must have exactly
    /// one writer.
    pub fn lcore(self: &Arc<Self>, lcore: usize) -> Result<LcoreEscrow, EscrowError> {
        let taken = self.taken.get(lcore).ok_or(EscrowError::NoSuchLcore {
            lcore,
            lcores: self.lcores,
        })?;
        if taken.swap(true, Ordering::AcqRel) {
            return Err(EscrowError::LcoreTaken { lcore });
        }
        Ok(LcoreEscrow {
            board: Arc::clone(self),
            lcore,
            local: vec![Local::default(); self.capacity].into_boxed_slice(),
            seen_generation: 0,
        })
    }
}

/// Why the escrow declined a debit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EscrowDecline {
    /// The payer has no reserve account in this currency: 51.
    NoAccount,
    /// Over the per-transaction limit: 61.
    OverTransactionLimit,
    /// Slice and pool short: 51, or 61 when the daily limit binds.
    Short([u8; 2]),
}

impl EscrowDecline {
    pub fn response_code(&self) -> [u8; 2] {
        match self {
            EscrowDecline::NoAccount => *b"51",
            EscrowDecline::OverTransactionLimit => *b"61",
            EscrowDecline::Short(code) => *code,
        }
    }
}

/// The lcore's own copies of the counters it writes.
#[derive(Debug, Clone, Copy, Default)]
struct Local {
    consumed: u64,
    refunded: u64,
    surrendered: u64,
    borrowed: u64,
    reclaim_seen: u64,
}

/// One lcore's side of the escrow: no locks, no allocation, bounded work.
#[derive(Debug)]
pub struct LcoreEscrow {
    board: Arc<EscrowBoard>,
    lcore: usize,
    local: Box<[Local]>,
    seen_generation: u64,
}

impl LcoreEscrow {
    pub fn lcore(&self) -> usize {
        self.lcore
    }

    /// What this lcore can still debit from `key` without borrowing.
    pub fn free(&self, key: AccountKey) -> u64 {
        self.board.find(key).map_or(0, |slot| self.free_in(slot))
    }

    fn free_in(&self, slot: usize) -> u64 {
        let l = &self.local[slot];
        let granted = self
            .board
            .cell(slot, self.lcore)
            .granted
            .load(Ordering::Acquire);
        (granted + l.borrowed + l.refunded) - (l.consumed + l.surrendered)
    }

    /// Checks and debits `amount` from the payer's escrow.
    #[inline]
    pub fn reserve(&mut self, key: AccountKey, amount: u64) -> Result<(), EscrowDecline> {
        let Some(slot) = self.board.find(key) else {
            return Err(EscrowDecline::NoAccount);
        };
        let gate = &self.board.gates[slot].0;
        if amount > gate.per_transaction_limit.load(Ordering::Relaxed) {
            return Err(EscrowDecline::OverTransactionLimit);
        }
        let free = self.free_in(slot);
        if amount > free {
            let need = amount - free;
            if !borrow(gate, need) {
                return Err(EscrowDecline::Short(u32_to_code(
                    gate.short_code.load(Ordering::Relaxed),
                )));
            }
            let l = &mut self.local[slot];
            l.borrowed += need;
            self.board
                .cell(slot, self.lcore)
                .borrowed
                .store(l.borrowed, Ordering::Release);
        }
        let l = &mut self.local[slot];
        l.consumed += amount;
        self.board
            .cell(slot, self.lcore)
            .consumed
            .store(l.consumed, Ordering::Release);
        Ok(())
    }

    /// Gives back a debit that did not happen (declined by the issuer,
    /// stand-in, not journaled). Only call it for a successful `reserve`.
    #[inline]
    pub fn refund(&mut self, key: AccountKey, amount: u64) {
        let Some(slot) = self.board.find(key) else {
            return;
        };
        let l = &mut self.local[slot];
        debug_assert!(
            l.refunded + amount <= l.consumed,
            "refund of an unreserved debit"
        );
        l.refunded += amount;
        self.board
            .cell(slot, self.lcore)
            .refunded
            .store(l.refunded, Ordering::Release);
    }

    /// Once per burst: surrender what the refiller asked for. Scans the
    /// accounts only when a reclaim was posted since the last poll.
    pub fn poll(&mut self) {
        let generation = self.board.reclaim_generation.load(Ordering::Acquire);
        if generation == self.seen_generation {
            return;
        }
        self.seen_generation = generation;
        let registered = self.board.registered.load(Ordering::Acquire) as usize;
        for slot in 0..registered {
            let cell = self.board.cell(slot, self.lcore);
            let target = cell.reclaim_target.load(Ordering::Acquire);
            let seen = self.local[slot].reclaim_seen;
            if target <= seen {
                continue;
            }
            // What cannot be given now is forgiven, not owed: a later grant
            // must not vanish into an old request.
            let give = (target - seen).min(self.free_in(slot));
            let l = &mut self.local[slot];
            l.reclaim_seen = target;
            l.surrendered += give;
            cell.surrendered.store(l.surrendered, Ordering::Release);
        }
    }
}

/// Takes `need` from the account's pool, bounded retries.
fn borrow(gate: &Gate, need: u64) -> bool {
    let mut taken = gate.pool_taken.load(Ordering::Relaxed);
    for _ in 0..POOL_CAS_TRIES {
        let granted = gate.pool_granted.load(Ordering::Acquire);
        // Saturating: a garbage amount near u64::MAX must decline, not wrap.
        if taken.saturating_add(need) > granted {
            return false;
        }
        match gate.pool_taken.compare_exchange_weak(
            taken,
            taken + need,
            Ordering::AcqRel,
            Ordering::Relaxed,
        ) {
            Ok(_) => return true,
            Err(now) => taken = now,
        }
    }
    false
}

/// What one refill pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RefillReport {
    pub accounts: usize,
    /// Added to lcore slices and pools.
    pub handed_out: u128,
    /// Accounts whose outstanding escrow exceeded what they may spend (a
    /// cap was lowered, a completion exceeded its hold): surrender asked.
    pub over_committed: usize,
}

/// The control plane's side: registers accounts and keeps slices filled
/// from the ledger. One refiller per board.
#[derive(Debug)]
pub struct Refiller {
    board: Arc<EscrowBoard>,
    /// The ledger's resolved debits per lcore when the account was
    /// registered: the board starts empty after a restart while the
    /// replayed ledger remembers the history.
    baselines: rustc_hash::FxHashMap<AccountKey, Vec<u128>>,
    /// Money the refiller must not hand out: withdrawals journaled but not
    /// yet applied, or waiting for the lcores to surrender.
    held_back: rustc_hash::FxHashMap<AccountKey, u128>,
}

impl Refiller {
    pub fn new(board: Arc<EscrowBoard>) -> Refiller {
        Refiller {
            board,
            baselines: rustc_hash::FxHashMap::default(),
            held_back: rustc_hash::FxHashMap::default(),
        }
    }

    /// Keeps `amount` of `key` out of every later refill (replaces the
    /// previous figure; 0 clears it).
    pub fn set_held_back(&mut self, key: AccountKey, amount: u128) {
        if amount == 0 {
            self.held_back.remove(&key);
        } else {
            self.held_back.insert(key, amount);
        }
    }

    /// Takes the account's pool back at once and asks every lcore to
    /// surrender its free slice on its next burst (before a withdrawal).
    pub fn reclaim(&self, key: AccountKey) {
        if let Some(slot) = self.board.find(key) {
            self.reclaim_everything(slot);
        }
    }

    pub fn board(&self) -> &Arc<EscrowBoard> {
        &self.board
    }

    /// Escrow handed out for `key` and not yet resolved by the ledger:
    /// money the ledger's `available` still shows but the lcores may
    /// spend. A withdrawal must leave this much.
    pub fn outstanding(&self, ledger: &Ledger, key: AccountKey) -> u128 {
        let Some(slot) = self.board.find(key) else {
            return 0;
        };
        let gate = &self.board.gates[slot].0;
        let mut handed = u128::from(gate.pool_granted.load(Ordering::Acquire))
            - u128::from(gate.pool_reclaimed.load(Ordering::Acquire));
        let mut returned = 0u128;
        let mut resolved = 0u128;
        let base = self.baselines.get(&key);
        for l in 0..self.board.lcores {
            let cell = self.board.cell(slot, l);
            handed += u128::from(cell.granted.load(Ordering::Acquire));
            returned += u128::from(cell.surrendered.load(Ordering::Acquire));
            let b = base.and_then(|b| b.get(l)).copied().unwrap_or(0);
            resolved += ledger.escrow_resolved(key, l as u16).saturating_sub(b);
        }
        handed.saturating_sub(returned + resolved)
    }

    /// One pass over every ledger account: publish limits, top slices up to
    /// an even share of what may be spent, put the rest in the pool, and ask
    /// for surrender where escrow exceeds what may be spent.
    pub fn refill(&mut self, ledger: &Ledger) -> Result<RefillReport, EscrowError> {
        let mut report = RefillReport::default();
        for (&key, account) in ledger.accounts() {
            let slot = match self.board.find(key) {
                Some(slot) => slot,
                None => {
                    let slot = self.board.register(key)?;
                    let base = (0..self.board.lcores)
                        .map(|l| ledger.escrow_resolved(key, l as u16))
                        .collect();
                    self.baselines.insert(key, base);
                    slot
                }
            };
            report.accounts += 1;
            let gate = &self.board.gates[slot].0;
            gate.per_transaction_limit
                .store(account.per_transaction_limit, Ordering::Relaxed);
            gate.short_code
                .store(code_to_u32(account.binding_code()), Ordering::Relaxed);
            let held_back = self.held_back.get(&key).copied().unwrap_or(0);
            let budget = account
                .spendable()
                .min(MAX_BUDGET)
                .saturating_sub(held_back);
            let outstanding = self.outstanding(ledger, key);
            if outstanding > budget {
                report.over_committed += 1;
                self.reclaim_everything(slot);
                continue;
            }
            let mut headroom = budget - outstanding;
            let share = budget / (self.board.lcores as u128 + 1);
            for l in 0..self.board.lcores {
                let cell = self.board.cell(slot, l);
                let free = estimated_free(cell);
                if free < share / 2 {
                    let top_up = (share - free).min(headroom);
                    cell.granted.fetch_add(top_up as u64, Ordering::Release);
                    headroom -= top_up;
                    report.handed_out += top_up;
                } else if free > share.saturating_mul(2) {
                    self.ask_surrender(cell, (free - share) as u64);
                }
            }
            if headroom > 0 {
                gate.pool_granted
                    .fetch_add(headroom as u64, Ordering::Release);
                report.handed_out += headroom;
            }
        }
        Ok(report)
    }

    fn ask_surrender(&self, cell: &Cell, amount: u64) {
        cell.reclaim_target.fetch_add(amount, Ordering::Release);
        self.board
            .reclaim_generation
            .fetch_add(1, Ordering::Release);
    }

    /// Takes back the pool and asks every lcore for its whole slice.
    fn reclaim_everything(&self, slot: usize) {
        let gate = &self.board.gates[slot].0;
        let mut taken = gate.pool_taken.load(Ordering::Acquire);
        loop {
            let granted = gate.pool_granted.load(Ordering::Acquire);
            if taken >= granted {
                break;
            }
            match gate.pool_taken.compare_exchange(
                taken,
                granted,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    gate.pool_reclaimed
                        .fetch_add(granted - taken, Ordering::Release);
                    break;
                }
                Err(now) => taken = now,
            }
        }
        for l in 0..self.board.lcores {
            let cell = self.board.cell(slot, l);
            let free = estimated_free(cell);
            if free > 0 {
                self.ask_surrender(cell, free as u64);
            }
        }
    }
}

/// The refiller's estimate of an lcore's free slice from its published
/// counters (possibly a little stale).
fn estimated_free(cell: &Cell) -> u128 {
    let plus = u128::from(cell.granted.load(Ordering::Acquire))
        + u128::from(cell.borrowed.load(Ordering::Acquire))
        + u128::from(cell.refunded.load(Ordering::Acquire));
    let minus = u128::from(cell.consumed.load(Ordering::Acquire))
        + u128::from(cell.surrendered.load(Ordering::Acquire));
    plus.saturating_sub(minus)
}
