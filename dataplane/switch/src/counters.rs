//! `LcoreCounters`: what each lcore counts, readable by the control plane
//! without locks and without slowing the lcore.
//!
//! Each counter is an `AtomicU64` written only by its lcore with a plain
//! relaxed load and store (no `lock`-prefixed read-modify-write: with a single
//! writer there is no lost update, and a store costs what a normal store
//! costs). Readers on other threads load with `Relaxed` and see each counter's
//! latest value or a slightly older one, never a torn one. The single-writer
//! rule is enforced by types: only the one [`CounterWriter`] per lcore can
//! change counters; everyone else holds an `Arc<LcoreCounters>`.
//! The block is aligned to a cache line so two lcores' counters never share
//! one.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

macro_rules! labelled_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $label:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }
        impl $name {
            /// Every value, in index order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub const COUNT: usize = Self::ALL.len();
            /// Stable label for metrics and logs.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }
            #[inline(always)]
            fn index(self) -> usize { self as usize }
        }
    };
}

labelled_enum!(
    /// Message classes counted on receive (repeats `xx01` count with their
    /// original).
    MtiClass {
        Auth0100 => "0100", Auth0110 => "0110",
        Financial0200 => "0200", Financial0210 => "0210",
        Advice0220 => "0220", Advice0230 => "0230",
        Reversal0400 => "0400", Reversal0410 => "0410",
        ReversalAdvice0420 => "0420", ReversalAdvice0430 => "0430",
        Network0800 => "0800", Network0810 => "0810",
        Other => "other",
    }
);

impl MtiClass {
    /// Classifies an ASCII MTI; repeats (last digit 1) join their original.
    pub fn of(mti: &[u8; 4]) -> Self {
        match (mti[0], mti[1], mti[2], mti[3]) {
            (b'0', class, function, b'0' | b'1') => match (class, function) {
                (b'1', b'0') => Self::Auth0100,
                (b'1', b'1') => Self::Auth0110,
                (b'2', b'0') => Self::Financial0200,
                (b'2', b'1') => Self::Financial0210,
                (b'2', b'2') => Self::Advice0220,
                (b'2', b'3') => Self::Advice0230,
                (b'4', b'0') => Self::Reversal0400,
                (b'4', b'1') => Self::Reversal0410,
                (b'4', b'2') => Self::ReversalAdvice0420,
                (b'4', b'3') => Self::ReversalAdvice0430,
                (b'8', b'0') => Self::Network0800,
                (b'8', b'1') => Self::Network0810,
                _ => Self::Other,
            },
            _ => Self::Other,
        }
    }
}

labelled_enum!(
    /// Field 39 values counted on responses sent to acquirers.
    ResponseCode {
        Approved => "00", DoNotHonour => "05", NoSuchIssuer => "15",
        FormatError => "30", InsufficientFunds => "51", ExceedsLimit => "61",
        SecurityViolation => "63", IssuerUnavailable => "91",
        SystemMalfunction => "96", Other => "other",
    }
);

impl ResponseCode {
    pub fn of(field39: &[u8; 2]) -> Self {
        match field39 {
            b"00" => Self::Approved,
            b"05" => Self::DoNotHonour,
            b"15" => Self::NoSuchIssuer,
            b"30" => Self::FormatError,
            b"51" => Self::InsufficientFunds,
            b"61" => Self::ExceedsLimit,
            b"63" => Self::SecurityViolation,
            b"91" => Self::IssuerUnavailable,
            b"96" => Self::SystemMalfunction,
            _ => Self::Other,
        }
    }
}

labelled_enum!(
    /// Why a packet or message was dropped.
    DropReason {
        NotIpv4 => "not_ipv4", Fragment => "fragment", BadChecksum => "bad_checksum",
        NotForUs => "not_for_us", UnknownSender => "unknown_sender",
        Suspended => "suspended", BadFrame => "bad_frame", BadIso => "bad_iso",
        Duplicate => "dup", UnmatchedResponse => "unmatched_response",
        LateResponse => "late_response", PendingFull => "pending_full",
        MacFail => "mac_fail", RateLimited => "rate_limited", TxFull => "tx_full",
        Stale => "stale", SpoofedInstitution => "spoofed_institution",
        WrongPort => "wrong_port", Overloaded => "overloaded",
    }
);

labelled_enum!(
    /// Single event counters.
    Event {
        Rx => "rx", Tx => "tx", Timeouts => "timeouts",
        ReversalsSent => "reversals_sent", ReversalsConfirmed => "reversals_confirmed",
        ReversalsGivenUp => "reversals_given_up", DupesAnswered => "dupes_answered",
        BusyPolls => "busy_polls", IdlePolls => "idle_polls", BusyCycles => "busy_cycles",
        HandedOff => "handed_off",
    }
);

/// Upper bounds (µs, inclusive) of the transaction latency histogram's
/// buckets: request in → issuer's response out, as the switch sees it. The
/// last bucket (`+Inf`) is implied. Prometheus-style cumulative buckets are
/// made from these counts by the exporter.
pub const LATENCY_BOUNDS_US: [u64; 16] = [
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000,
];
/// Buckets including `+Inf`.
pub const LATENCY_BUCKETS: usize = LATENCY_BOUNDS_US.len() + 1;

/// The counters of one lcore (read side).
#[derive(Debug, Default)]
#[repr(align(64))]
pub struct LcoreCounters {
    events: [AtomicU64; Event::COUNT],
    mti: [AtomicU64; MtiClass::COUNT],
    responses: [AtomicU64; ResponseCode::COUNT],
    drops: [AtomicU64; DropReason::COUNT],
    /// Gauge: entries in the pending table.
    pending: AtomicU64,
    /// Transaction latency: count per bucket (not cumulative) and sum in µs.
    latency: [AtomicU64; LATENCY_BUCKETS],
    latency_sum_us: AtomicU64,
}

impl LcoreCounters {
    /// A fresh block, its single writer (for the lcore) and a reader handle
    /// (for the control plane; clone the `Arc` freely).
    pub fn new_pair() -> (CounterWriter, Arc<LcoreCounters>) {
        let shared = Arc::new(LcoreCounters::default());
        (
            CounterWriter {
                counters: Arc::clone(&shared),
            },
            shared,
        )
    }

    /// Current values as plain numbers.
    pub fn snapshot(&self) -> CounterSnapshot {
        let read = |to: &mut [u64], from: &[AtomicU64]| {
            to.iter_mut()
                .zip(from)
                .for_each(|(t, f)| *t = f.load(Relaxed))
        };
        let mut s = CounterSnapshot::default();
        read(&mut s.events, &self.events);
        read(&mut s.mti, &self.mti);
        read(&mut s.responses, &self.responses);
        read(&mut s.drops, &self.drops);
        read(&mut s.latency, &self.latency);
        s.latency_sum_us = self.latency_sum_us.load(Relaxed);
        s.pending = self.pending.load(Relaxed);
        s
    }

    /// Totals over several lcores.
    pub fn sum<'a>(lcores: impl IntoIterator<Item = &'a LcoreCounters>) -> CounterSnapshot {
        lcores
            .into_iter()
            .fold(CounterSnapshot::default(), |acc, c| acc.plus(&c.snapshot()))
    }
}

/// The only handle that changes an lcore's counters. Not `Clone`: one writer.
#[derive(Debug)]
pub struct CounterWriter {
    counters: Arc<LcoreCounters>,
}

#[inline(always)]
fn bump(c: &AtomicU64, n: u64) {
    // Single writer: load + store, no atomic read-modify-write.
    c.store(c.load(Relaxed).wrapping_add(n), Relaxed);
}

impl CounterWriter {
    #[inline(always)]
    pub fn add(&self, event: Event, n: u64) {
        bump(&self.counters.events[event.index()], n);
    }
    #[inline(always)]
    pub fn mti(&self, class: MtiClass) {
        bump(&self.counters.mti[class.index()], 1);
    }
    #[inline(always)]
    pub fn response(&self, code: ResponseCode) {
        bump(&self.counters.responses[code.index()], 1);
    }
    #[inline(always)]
    pub fn dropped(&self, reason: DropReason) {
        bump(&self.counters.drops[reason.index()], 1);
    }
    #[inline(always)]
    pub fn dropped_many(&self, reason: DropReason, n: u64) {
        bump(&self.counters.drops[reason.index()], n);
    }
    /// One matched transaction that took `micros` from request to response.
    #[inline]
    pub fn latency_us(&self, micros: u64) {
        let bucket = LATENCY_BOUNDS_US
            .iter()
            .position(|&bound| micros <= bound)
            .unwrap_or(LATENCY_BOUNDS_US.len());
        bump(&self.counters.latency[bucket], 1);
        bump(&self.counters.latency_sum_us, micros);
    }
    #[inline(always)]
    pub fn set_pending(&self, entries: u64) {
        self.counters.pending.store(entries, Relaxed);
    }
    /// The read side of this writer's block.
    pub fn reader(&self) -> Arc<LcoreCounters> {
        Arc::clone(&self.counters)
    }
}

/// Counter values at one moment, as plain numbers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CounterSnapshot {
    events: [u64; Event::COUNT],
    mti: [u64; MtiClass::COUNT],
    responses: [u64; ResponseCode::COUNT],
    drops: [u64; DropReason::COUNT],
    latency: [u64; LATENCY_BUCKETS],
    /// Sum of all transaction latencies recorded, µs.
    pub latency_sum_us: u64,
    pub pending: u64,
}

impl CounterSnapshot {
    pub fn event(&self, e: Event) -> u64 {
        self.events[e.index()]
    }
    pub fn mti(&self, c: MtiClass) -> u64 {
        self.mti[c.index()]
    }
    pub fn response(&self, r: ResponseCode) -> u64 {
        self.responses[r.index()]
    }
    pub fn dropped(&self, r: DropReason) -> u64 {
        self.drops[r.index()]
    }
    /// Transactions per latency bucket (not cumulative); the last is `+Inf`.
    pub fn latency_buckets(&self) -> &[u64; LATENCY_BUCKETS] {
        &self.latency
    }
    /// Transactions whose latency was recorded.
    pub fn latency_count(&self) -> u64 {
        self.latency.iter().sum()
    }
    /// All drops, whatever the reason.
    pub fn dropped_total(&self) -> u64 {
        self.drops.iter().sum()
    }

    /// Element-wise sum (counters and the pending gauge alike).
    pub fn plus(&self, other: &CounterSnapshot) -> CounterSnapshot {
        let add = |a: &mut [u64], b: &[u64]| a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        let mut s = self.clone();
        add(&mut s.events, &other.events);
        add(&mut s.mti, &other.mti);
        add(&mut s.responses, &other.responses);
        add(&mut s.drops, &other.drops);
        add(&mut s.latency, &other.latency);
        s.latency_sum_us += other.latency_sum_us;
        s.pending += other.pending;
        s
    }

    /// Every value with a metric-style name (`rx`, `mti_0200`,
    /// `response_91`, `drop_unknown_sender`, `pending`), for exporters.
    pub fn for_each(&self, mut f: impl FnMut(&str, u64)) {
        for e in Event::ALL {
            f(e.label(), self.event(*e));
        }
        for c in MtiClass::ALL {
            f(&format!("mti_{}", c.label()), self.mti(*c));
        }
        for r in ResponseCode::ALL {
            f(&format!("response_{}", r.label()), self.response(*r));
        }
        for d in DropReason::ALL {
            f(&format!("drop_{}", d.label()), self.dropped(*d));
        }
        f("pending", self.pending);
    }
}
