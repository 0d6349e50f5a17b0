//! One switch lcore, run to completion: rx burst → stage (decode every
//! message of the burst, prefetch the table lines its keys will touch,
//! BIN entry included) →
//! classify and process each message in its own mbuf → tx buffer; then
//! hand-offs from other lcores, expired timers, and the tx drain timer.
//!
//! Budget (one 2 GHz core, goal 4 M messages/s): 500 cycles a message for
//! header walk (~30), ISO index (~150), sender/route/dedup/pending lookups
//! (~4 × 30), in-place rewrite (~30) and rx/tx (~40). The lookups meet
//! their share only because the burst is staged: the duplicate filter and
//! pending index are too large for any cache, and one message at a time
//! each probe is a DRAM miss (see `stage`). Nothing here allocates, locks
//! or makes a system call once the lcore runs; every table was sized at
//! construction and the mbuf received is the mbuf sent.
//!
//! Keyed participants (a MAC key ring in their route snapshot entry): every
//! message they send is verified right after decode (bad or missing MAC →
//! `mac_fail` drop; a request is answered 39=63), and every message the
//! switch sends to one is sealed with its current key just before it
//! leaves: answers and declines, forwarded requests and responses, 0810s,
//! stand-ins and 0420s. That costs a MAC over the message twice (verify in,
//! seal out) plus one re-index of the outgoing message: 0.7–1 µs of CPU,
//! well above the 500-cycle budget, so a keyed message costs 2.5–3x an
//! unkeyed one (`cargo bench -p switch --bench mac_pipeline`; the MACs
//! alone: `cargo bench -p auth`). Unkeyed participants pay two participant
//! lookups.

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rte::{Burst, Consumer, Mbuf, Mempool, Producer, RxQueue, TxBuffer, TxQueue};
use wire::frame::HEADER_LEN as FRAME_HEADER_LEN;
use wire::iso8583::{self, apply_edits, build_response, Edits, FieldIndex, ResponsePolicy, Spec};
use wire::net::ethernet::Address;
use wire::net::headers::{Checks, Class, Headers};
use wire::net::rewrite::{self, Endpoints};
use wire::net::{arp, ErrorKind as NetErrorKind};

use super::admission::{Freshness, FreshnessCheck, RateBoard, WallClock};
use super::arp_table::ArpTable;
use super::config::SwitchConfig;
use super::emit::{self, Route as FrameRoute, MESSAGE_AT};
use super::handoff::HandoffEnds;
use super::hooks::{Commit, Durable, MoneyHooks, MoneyRequest, TxnRef, Verdict};
use super::rules::{code, network, Family, MessageKind};
use super::stage::{only_message, Stage};
use crate::counters::{CounterWriter, DropReason, Event, MtiClass, ResponseCode};
use crate::dedup::{DedupKey, DuplicateFilter, Outcome, Seen, WindowPos};
use crate::pending::{
    Endpoint, PendingConfig, PendingEntry, PendingKey, PendingSlot, PendingTable, ReversalState,
};
use crate::routes::{Published, Route, RouteSnapshot};
use crate::timer_wheel::{TimerWheel, TimerWheelConfig};
use crate::ParticipantIdx;
use auth::{KeyRing, MacFormat};

/// Most participants the sign-on board tracks.
pub const MAX_PARTICIPANTS: usize = 65_536;

/// Sign-on state set by 0800 messages, shared by all lcores. Indexed by
/// [`ParticipantIdx`]: the control plane keeps indices stable across
/// snapshots (participants are appended, never renumbered).
pub struct SessionBoard {
    signed_off: Box<[AtomicBool]>,
}

impl Default for SessionBoard {
    fn default() -> Self {
        SessionBoard {
            signed_off: (0..MAX_PARTICIPANTS)
                .map(|_| AtomicBool::new(false))
                .collect(),
        }
    }
}

impl SessionBoard {
    pub fn is_signed_off(&self, p: ParticipantIdx) -> bool {
        self.signed_off
            .get(p.0 as usize)
            .is_some_and(|f| f.load(Ordering::Relaxed))
    }
    fn set(&self, p: ParticipantIdx, off: bool) {
        if let Some(f) = self.signed_off.get(p.0 as usize) {
            f.store(off, Ordering::Relaxed);
        }
    }
}

/// What every switch lcore shares: configuration, the published routes and
/// the sign-on board.
pub struct Shared {
    pub config: SwitchConfig,
    pub spec: &'static Spec,
    pub routes: Arc<Published>,
    pub sessions: SessionBoard,
    /// Per-participant rate-limit state (shared: a participant's sources
    /// may land on several lcores).
    pub rates: RateBoard,
    /// Wall time from the TSC, for field 7 freshness. Public so tests with
    /// a fake TSC can pin it.
    pub wall: WallClock,
    pub lcores: u16,
    pub tsc_hz: u64,
}

impl Shared {
    pub fn new(
        config: SwitchConfig,
        routes: Arc<Published>,
        lcores: u16,
        tsc_hz: u64,
    ) -> Result<Shared, String> {
        config.validate(lcores as usize)?;
        let spec =
            Spec::builtin(&config.spec).ok_or_else(|| format!("unknown spec {:?}", config.spec))?;
        Ok(Shared {
            config,
            spec,
            routes,
            sessions: SessionBoard::default(),
            rates: RateBoard::new(MAX_PARTICIPANTS),
            wall: WallClock::now(rte::tsc::now(), tsc_hz),
            lcores,
            tsc_hz,
        })
    }

    fn ticks(&self, ms: u64) -> u64 {
        rte::tsc::micros_to_ticks(ms.saturating_mul(1000), self.tsc_hz)
    }
}

/// The queues one lcore owns on the service port.
pub struct LcoreQueues {
    pub rx: Vec<RxQueue>,
    pub tx: TxQueue,
    pub mac: [u8; 6],
}

/// Everything a switch lcore is built from.
pub struct LcoreParts {
    /// 0-based among switch lcores; picks the issuer-facing UDP port.
    pub index: u16,
    pub shared: Arc<Shared>,
    pub queues: LcoreQueues,
    pub handoff: HandoffEnds,
    /// For frames the switch creates (stand-ins, reversals, ARP requests).
    pub pool: Mempool,
    pub hooks: Box<dyn MoneyHooks>,
    pub counters: CounterWriter,
}

/// Why a message was not sent on.
type Dropped = DropReason;

/// What happens to an mbuf after processing.
enum Fate {
    /// Rewritten in place: transmit it.
    Send,
    /// Belongs to the lcore with this index (its pending entry is there).
    HandOff(u16),
    /// Free it, counting the reason.
    Drop(Dropped),
    /// Free it without counting (e.g. a 0810 answer to our echo).
    Done,
    /// An approval whose journal record is not durable yet: hold it.
    Hold(Held),
}

/// An answer waiting for its journal record (`durability = "sync"`).
#[derive(Debug, Clone, Copy)]
struct Held {
    ticket: u64,
    slot: PendingSlot,
    rc: [u8; 2],
    auth: Option<[u8; 6]>,
}

/// Answers one lcore may hold for durability at once (a few group commits'
/// worth at full rate); beyond it the lcore waits for the journal.
pub const HELD_CAPACITY: usize = 65_536;

/// One switch lcore. Build it on the main thread, then run it on its lcore
/// with [`SwitchLcore::run`] (or drive [`SwitchLcore::poll`] directly in
/// tests, with a fake clock).
pub struct SwitchLcore {
    index: u16,
    shared: Arc<Shared>,
    rx: Vec<RxQueue>,
    tx: TxBuffer,
    our_mac: [u8; 6],
    handoff_in: Consumer<Mbuf>,
    handoff_out: Vec<Option<Producer<Mbuf>>>,
    pool: Mempool,
    pending: PendingTable,
    wheel: TimerWheel,
    dedup: DuplicateFilter,
    arp: ArpTable,
    hooks: Box<dyn MoneyHooks>,
    counters: CounterWriter,
    scratch: FieldIndex,
    /// The rx burst decoded ahead, its table lines warmed.
    stage: Stage,
    expired: Vec<PendingSlot>,
    held: VecDeque<(Mbuf, Held)>,
    policy: ResponsePolicy,
    retry_ticks: u64,
    default_timeout_ticks: u64,
    /// Pending entries above which new requests are answered 91.
    admission_limit: usize,
    ticks_per_us: u64,
    /// `tx.dropped()` already added to the `tx_full` drop counter.
    tx_drops_counted: u64,
    /// Field 7 checks with this year's calendar cached.
    freshness: FreshnessCheck,
    /// Where the spec puts MACs; `None` if it cannot carry them (keyed
    /// participants then fail closed: nothing verifies, nothing is sealed).
    mac_format: Option<MacFormat>,
    /// Who the message being handled goes to if it is sent: its sender
    /// (answers) unless a handler forwards it. Picks the key it is sealed
    /// with.
    recipient: Option<ParticipantIdx>,
}

/// Bytes of field 90 (original data elements): MTI, STAN, field 7 and two
/// 11-digit institution ids (zero when unknown).
const FIELD_90_LEN: usize = 42;

impl SwitchLcore {
    /// Builds lcore number `index` (0-based among switch lcores): every
    /// table is allocated here, at its configured capacity.
    pub fn new(parts: LcoreParts, now_tsc: u64) -> Result<SwitchLcore, String> {
        let LcoreParts {
            index,
            shared,
            queues,
            handoff,
            pool,
            hooks,
            counters,
        } = parts;
        let cfg = &shared.config;
        let pending = PendingTable::new(PendingConfig {
            capacity: cfg.pending_capacity,
            request_copy: cfg.request_copy,
        })
        .map_err(|e| format!("pending table: {e}"))?;
        let wheel_cfg = TimerWheelConfig::for_tsc_hz(cfg.pending_capacity, shared.tsc_hz);
        let max_expirations = wheel_cfg.max_expirations as usize;
        let wheel = TimerWheel::new(wheel_cfg, now_tsc).map_err(|e| format!("timer wheel: {e}"))?;
        let dedup = DuplicateFilter::new(cfg.dedup_capacity)
            .map_err(|e| format!("duplicate filter: {e}"))?;
        let drain = rte::tsc::micros_to_ticks(cfg.tx_drain_us, shared.tsc_hz);
        let mut arp = ArpTable::new();
        for p in shared.routes.load().participants() {
            if let Some(mac) = p.next_hop_mac {
                arp.set_static(*p.next_hop.ip(), mac);
            }
        }
        Ok(SwitchLcore {
            index,
            retry_ticks: shared.ticks(cfg.reversal_retry_ms),
            default_timeout_ticks: shared.ticks(cfg.timeout_ms),
            admission_limit: (cfg.pending_capacity as u64 * u64::from(cfg.admission_percent) / 100)
                .max(1) as usize,
            ticks_per_us: (shared.tsc_hz / 1_000_000).max(1),
            tx_drops_counted: 0,
            freshness: FreshnessCheck::new(cfg.freshness_window_s),
            mac_format: MacFormat::of(shared.spec).ok(),
            recipient: None,
            rx: queues.rx,
            tx: TxBuffer::new(queues.tx, drain),
            our_mac: queues.mac,
            handoff_in: handoff.inbox,
            handoff_out: handoff.peers,
            pool,
            pending,
            wheel,
            dedup,
            arp,
            hooks,
            counters,
            scratch: FieldIndex::EMPTY,
            stage: Stage::new(),
            expired: Vec::with_capacity(max_expirations),
            held: VecDeque::with_capacity(HELD_CAPACITY),
            policy: ResponsePolicy::default(),
            shared,
        })
    }

    /// Polls until `stop` is set, then flushes what is queued.
    pub fn run(&mut self, stop: &AtomicBool) {
        while !stop.load(Ordering::Relaxed) {
            self.poll(rte::tsc::now());
        }
        self.flush();
    }

    /// The lcore's duplicate filter: seeded at start, before the lcore runs,
    /// with the requests answered before a restart (`DuplicateFilter::seed`).
    pub fn duplicate_filter_mut(&mut self) -> &mut DuplicateFilter {
        &mut self.dedup
    }

    /// Sends whatever waits in the tx buffer now.
    pub fn flush(&mut self) {
        self.tx.flush();
        self.count_tx_drops();
    }

    /// Frames the NIC's full tx ring refused (freed by the tx buffer, so
    /// never leaked) become `tx_full` drops where operators look.
    fn count_tx_drops(&mut self) {
        let dropped = self.tx.dropped();
        if dropped != self.tx_drops_counted {
            self.counters
                .dropped_many(DropReason::TxFull, dropped - self.tx_drops_counted);
            self.tx_drops_counted = dropped;
        }
    }

    /// One turn of the loop at time `now` (TSC ticks). Returns how many
    /// packets it received (from the NIC and from other lcores).
    pub fn poll(&mut self, now: u64) -> usize {
        let started = rte::tsc::now();
        let received = self.poll_inner(now);
        // Busy vs idle polls, and the cycles the busy ones took: the lcore's
        // load and its cost per message, whatever drives it.
        if received > 0 {
            self.counters.add(Event::BusyPolls, 1);
            self.counters
                .add(Event::BusyCycles, rte::tsc::now().wrapping_sub(started));
        } else {
            self.counters.add(Event::IdlePolls, 1);
        }
        received
    }

    fn poll_inner(&mut self, now: u64) -> usize {
        let routes = self.shared.routes.load();
        self.hooks.tick();
        self.release_held(&routes, now);
        let mut burst = Burst::new();
        let mut received = 0;
        for q in 0..self.rx.len() {
            let n = self.rx[q].rx_burst(&mut burst);
            if n == 0 {
                continue;
            }
            received += n;
            self.counters.add(Event::Rx, n as u64);
            for m in burst.as_slice() {
                m.prefetch();
            }
            self.stage_burst(burst.as_slice(), &routes);
            for (i, m) in burst.drain().enumerate() {
                self.stage.begin(Some(i));
                self.process(m, &routes, now, true);
            }
            self.stage.begin(None);
        }
        let n = self.handoff_in.dequeue_burst(&mut burst);
        received += n;
        for m in burst.drain() {
            self.process(m, &routes, now, false);
        }
        self.expire(&routes, now);
        if received == 0 {
            // Idle: nothing to batch with, so do not hold what is queued.
            self.tx.flush();
        } else {
            self.tx.drain_if_due(now);
        }
        self.count_tx_drops();
        self.counters.set_pending(self.pending.len() as u64);
        received
    }

    /// Outstanding transactions on this lcore.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Decodes the burst's single-frame datagrams to this lcore's ports and
    /// asks for the table lines their keys will touch, message by message,
    /// so the misses overlap with the decoding of the rest (see `stage`).
    /// What it skips is handled unstaged; it decides and counts nothing.
    fn stage_burst(&mut self, burst: &[Mbuf], routes: &RouteSnapshot) {
        let cfg = &self.shared.config;
        let issuer_port = cfg.issuer_port_base + self.index;
        let mut requests = 0;
        for (i, m) in burst.iter().enumerate() {
            let index = self.stage.slot(i);
            let data = m.data();
            let Ok(h) = Headers::parse(data) else {
                continue;
            };
            let Class::Udp(flow) = h.class else {
                continue;
            };
            let port = flow.dst.port();
            if *flow.dst.ip() != cfg.service_ip || (port != cfg.service_port && port != issuer_port)
            {
                continue;
            }
            let payload = h.payload(data);
            let framed = wire::frame::read_header(payload).map(|len| FRAME_HEADER_LEN + len);
            if framed != Some(payload.len()) {
                continue; // several frames, or a bad one
            }
            let span = only_message(&h);
            let msg = &data[span.0..span.1];
            if index.decode_into(msg, self.shared.spec).is_err() {
                continue;
            }
            let Some(sender) = routes.sender(*flow.src.ip(), flow.src.port()) else {
                continue;
            };
            let (stan, transmitted_at, rrn) = Self::transaction_keys(index, msg);
            // The issuer is not hashed: a request's pending position is
            // known before it is routed.
            let pending_key = PendingKey {
                issuer: sender,
                stan,
                transmitted_at,
                rrn,
            };
            match MessageKind::of(Self::mti(index, msg)) {
                MessageKind::Request(_) => {
                    self.dedup.warm_eviction(requests);
                    requests += 1;
                    self.dedup.warm(&[DedupKey {
                        originator: sender,
                        stan,
                        transmitted_at,
                        rrn,
                    }]);
                    self.pending.warm(&[pending_key]);
                    routes.warm_route(Self::field(index, msg, 100), Self::field(index, msg, 2));
                }
                MessageKind::Response(_) => self.pending.warm(&[pending_key]),
                _ => {}
            }
            self.stage.keep(i, h);
        }
    }

    fn process(&mut self, mut m: Mbuf, routes: &RouteSnapshot, now: u64, from_nic: bool) {
        match self.classify_and_handle(&mut m, routes, now, from_nic) {
            Fate::Send => {
                self.counters.add(Event::Tx, 1);
                self.tx.push(m, now);
            }
            Fate::HandOff(owner) => match self.handoff_out.get_mut(owner as usize) {
                Some(Some(ring)) => {
                    if ring.enqueue(m).is_err() {
                        self.counters.dropped(DropReason::TxFull);
                    } else {
                        self.counters.add(Event::HandedOff, 1);
                    }
                }
                _ => self.counters.dropped(DropReason::NotForUs),
            },
            Fate::Done => {}
            Fate::Drop(reason) => self.counters.dropped(reason),
            Fate::Hold(held) => {
                if self.held.len() == HELD_CAPACITY {
                    // Back-pressure: wait for the journal rather than grow
                    // or release an approval that is not on disk.
                    let routes = self.shared.routes.load();
                    while self.held.len() == HELD_CAPACITY {
                        self.release_held(&routes, now);
                        rte::tsc::pause();
                    }
                }
                self.held.push_back((m, held));
            }
        }
    }

    /// Sends held answers whose records are durable, in order; an answer
    /// whose record failed becomes 39=96 and its transaction is reversed.
    fn release_held(&mut self, routes: &RouteSnapshot, now: u64) {
        while let Some((_, held)) = self.held.front() {
            let held = *held;
            let verdict = self.hooks.durable(held.ticket);
            if verdict == Durable::NotYet {
                return;
            }
            let Some((mut m, _)) = self.held.pop_front() else {
                return;
            };
            let Some(entry) = self.pending.get(held.slot).copied() else {
                continue;
            };
            self.record_latency(&entry, now);
            if verdict == Durable::Yes {
                self.pending.remove_slot(held.slot);
                self.record_answer(
                    &entry,
                    Outcome::Answered {
                        response_code: held.rc,
                        auth_code: held.auth,
                    },
                );
                self.counters.response(ResponseCode::of(&held.rc));
            } else {
                if !self.set_response_code(&mut m, code::SYSTEM_MALFUNCTION) {
                    self.counters.dropped(DropReason::BadFrame);
                    continue;
                }
                self.record_answer(
                    &entry,
                    Outcome::Answered {
                        response_code: *code::SYSTEM_MALFUNCTION,
                        auth_code: None,
                    },
                );
                self.counters.response(ResponseCode::SystemMalfunction);
                self.send_reversal(held.slot, entry, 0, routes, now);
            }
            // Sealed now, not when held: the 96 path above rewrites it.
            if !self.seal_for(&mut m, routes, entry.originator) {
                self.counters.dropped(DropReason::MacFail);
                continue;
            }
            self.counters.add(Event::Tx, 1);
            self.tx.push(m, now);
        }
    }

    /// Seals the one message in `m` for participant `to` if it is keyed:
    /// its MAC field replaced, or appended (frame, UDP and IP lengths and
    /// both checksums redone). False when `to` is keyed and the message
    /// could not be sealed: it must not be sent.
    fn seal_for(&mut self, m: &mut Mbuf, routes: &RouteSnapshot, to: ParticipantIdx) -> bool {
        match routes.participant(to).and_then(|p| p.mac.as_deref()) {
            None => true,
            Some(ring) => self.seal_with(m, ring),
        }
    }

    fn seal_with(&mut self, m: &mut Mbuf, ring: &KeyRing) -> bool {
        let Some(format) = self.mac_format else {
            return false;
        };
        self.edit_message(m, |msg, len, index| {
            auth::seal_or_append(&format, msg, len, index, ring).ok()
        })
    }

    /// Rewrites field 39 of the one message in `m` (checksums recomputed).
    fn set_response_code(&mut self, m: &mut Mbuf, rc: &[u8; 2]) -> bool {
        let mut edits = Edits::new();
        if edits.set(39, rc).is_err() {
            return false;
        }
        let spec = self.shared.spec;
        self.edit_message(m, |msg, _, index| {
            apply_edits(msg, index, spec, &edits).ok()
        })
    }

    /// Rewrites the one message in `m` in place: `edit` gets the buffer
    /// from the message's start to the mbuf's end, the message's length and
    /// its index, and returns the new length; the frame header, UDP and
    /// IPv4 lengths and both checksums follow. False (the mbuf cut back to
    /// the datagram) if the message does not index or `edit` fails.
    fn edit_message(
        &mut self,
        m: &mut Mbuf,
        edit: impl FnOnce(&mut [u8], usize, &FieldIndex) -> Option<usize>,
    ) -> bool {
        let Ok(h) = Headers::parse_with(m.data(), Checks::NONE) else {
            return false;
        };
        let msg_at = h.payload + FRAME_HEADER_LEN;
        // Handlers may have rebuilt the message (answers, edits): index it
        // afresh rather than trust an earlier index.
        if msg_at > h.end
            || self
                .scratch
                .decode_into(&m.data()[msg_at..h.end], self.shared.spec)
                .is_err()
        {
            return false;
        }
        let msg_len = h.end - msg_at;
        let room = m.len() + m.tailroom();
        if m.set_len(room).is_err() {
            return false;
        }
        let d = m.data_mut();
        let edited = edit(&mut d[msg_at..], msg_len, &self.scratch).and_then(|len| {
            d[msg_at - FRAME_HEADER_LEN..msg_at].copy_from_slice(&(len as u16).to_be_bytes());
            let end = msg_at + len;
            // Recomputes both checksums: the payload changed under them.
            rewrite::set_udp_payload_len(&mut d[..end], &h, FRAME_HEADER_LEN + len)
                .ok()
                .map(|_| end)
        });
        match edited {
            Some(end) => m.set_len(end).is_ok(),
            None => {
                let _ = m.set_len(h.end);
                false
            }
        }
    }

    /// Remembers how the transaction of `entry` was answered, for repeats.
    fn record_answer(&mut self, entry: &PendingEntry, outcome: Outcome) {
        let key = DedupKey {
            originator: entry.originator,
            stan: entry.key.stan,
            transmitted_at: entry.key.transmitted_at,
            rrn: entry.key.rrn,
        };
        self.dedup.record_outcome_at(entry.dedup_pos, &key, outcome);
    }

    fn classify_and_handle(
        &mut self,
        m: &mut Mbuf,
        routes: &RouteSnapshot,
        now: u64,
        from_nic: bool,
    ) -> Fate {
        let parsed = match self.stage.headers() {
            Some(h) => Ok(h),
            None => Headers::parse(m.data()),
        };
        let h = match parsed {
            Ok(h) => h,
            Err(e) => {
                return Fate::Drop(match e.kind() {
                    NetErrorKind::Fragmented => DropReason::Fragment,
                    NetErrorKind::BadChecksum => DropReason::BadChecksum,
                    _ => DropReason::NotIpv4,
                })
            }
        };
        let me = self.shared.config.service_ip;
        match h.class {
            Class::Arp { operation, target } => {
                if let Ok(p) = arp::Packet::new_checked(&m.data()[h.l3..]) {
                    self.arp
                        .learn(p.source_protocol_addr(), p.source_hardware_addr().0);
                }
                if operation == arp::Operation::Request && target == me {
                    match rewrite::answer_arp(m.data_mut(), &h, Address(self.our_mac)) {
                        Ok(()) => Fate::Send,
                        Err(_) => Fate::Drop(DropReason::NotForUs),
                    }
                } else {
                    Fate::Done
                }
            }
            Class::IcmpEcho {
                request: true, dst, ..
            } if dst == me => match rewrite::answer_echo(m.data_mut(), &h, Address(self.our_mac)) {
                Ok(()) => {
                    let _ = m.set_len(h.end);
                    Fate::Send
                }
                Err(_) => Fate::Drop(DropReason::BadChecksum),
            },
            Class::Udp(flow) if *flow.dst.ip() == me => {
                let src_mac = m.data()[6..12].try_into().unwrap_or([0; 6]);
                self.arp.learn(*flow.src.ip(), src_mac);
                let cfg = &self.shared.config;
                let port = flow.dst.port();
                if port == cfg.service_port {
                    self.handle_datagram(m, &h, flow.src, src_mac, routes, now)
                } else if let Some(owner) = port
                    .checked_sub(cfg.issuer_port_base)
                    .filter(|&o| o < self.shared.lcores)
                {
                    if owner != self.index && from_nic {
                        return Fate::HandOff(owner);
                    }
                    self.handle_datagram(m, &h, flow.src, src_mac, routes, now)
                } else {
                    Fate::Drop(DropReason::NotForUs)
                }
            }
            _ => Fate::Drop(DropReason::NotForUs),
        }
    }

    /// A UDP datagram from `src` on one of our ports: check the sender,
    /// split frames, handle each message.
    fn handle_datagram(
        &mut self,
        m: &mut Mbuf,
        h: &Headers,
        src: SocketAddrV4,
        src_mac: [u8; 6],
        routes: &RouteSnapshot,
        now: u64,
    ) -> Fate {
        let Some(sender) = routes.sender(*src.ip(), src.port()) else {
            return Fate::Drop(if routes.is_known_host(*src.ip()) {
                DropReason::WrongPort
            } else {
                DropReason::UnknownSender
            });
        };
        let Some(participant) = routes.participant(sender) else {
            return Fate::Drop(DropReason::UnknownSender);
        };
        if participant.suspended {
            return Fate::Drop(DropReason::Suspended);
        }
        // One frame per datagram is handled in place; a datagram carrying
        // several is split into one mbuf per frame first.
        let payload = h.payload(m.data());
        let Some(first_len) = wire::frame::read_header(payload) else {
            return Fate::Drop(DropReason::BadFrame);
        };
        let first_end = FRAME_HEADER_LEN + first_len;
        if first_len == 0
            || first_len > self.shared.config.max_message as usize
            || first_end > payload.len()
        {
            return Fate::Drop(DropReason::BadFrame);
        }
        if first_end == payload.len() {
            return self.handle_message(m, h, sender, src, src_mac, routes, now);
        }
        if let Err(reason) =
            self.split_extra_frames(m, h, first_end, sender, src, src_mac, routes, now)
        {
            return Fate::Drop(reason);
        }
        // Keep only the first frame in this mbuf.
        match rewrite::set_udp_payload_len(&mut m.data_mut()[..h.payload + first_end], h, first_end)
        {
            Ok(_) => {
                let _ = m.set_len(h.payload + first_end);
            }
            Err(_) => return Fate::Drop(DropReason::BadFrame),
        }
        let h = match Headers::parse_with(m.data(), Checks::NONE) {
            Ok(h) => h,
            Err(_) => return Fate::Drop(DropReason::BadFrame),
        };
        self.handle_message(m, &h, sender, src, src_mac, routes, now)
    }

    /// Copies frames after the first into mbufs of their own and handles
    /// each as if it had come alone.
    #[allow(clippy::too_many_arguments)]
    fn split_extra_frames(
        &mut self,
        m: &Mbuf,
        h: &Headers,
        first_end: usize,
        sender: ParticipantIdx,
        src: SocketAddrV4,
        src_mac: [u8; 6],
        routes: &RouteSnapshot,
        now: u64,
    ) -> Result<(), DropReason> {
        let max = self.shared.config.max_message;
        let payload = h.payload(m.data());
        for frame in wire::frame::Frames::new(&payload[first_end..], max) {
            let Ok(message) = frame else {
                return Err(DropReason::BadFrame);
            };
            let Ok(mut extra) = self.pool.alloc() else {
                return Err(DropReason::TxFull);
            };
            let len = h.payload + FRAME_HEADER_LEN + message.len();
            if extra.set_len(len).is_err() {
                return Err(DropReason::BadFrame);
            }
            let d = extra.data_mut();
            d[..h.payload].copy_from_slice(&m.data()[..h.payload]);
            d[h.payload..h.payload + FRAME_HEADER_LEN]
                .copy_from_slice(&(message.len() as u16).to_be_bytes());
            d[h.payload + FRAME_HEADER_LEN..].copy_from_slice(message);
            let Ok(eh) = rewrite::set_udp_payload_len(d, h, FRAME_HEADER_LEN + message.len())
            else {
                return Err(DropReason::BadFrame);
            };
            match self.handle_message(&mut extra, &eh, sender, src, src_mac, routes, now) {
                Fate::Send => {
                    self.counters.add(Event::Tx, 1);
                    self.tx.push(extra, now);
                }
                Fate::Drop(r) => self.counters.dropped(r),
                Fate::Hold(held) => self.held.push_back((extra, held)),
                Fate::HandOff(_) | Fate::Done => {}
            }
        }
        Ok(())
    }

    /// The ISO 8583 message in this datagram's only frame; what is sent
    /// because of it is sealed for its recipient when that one is keyed.
    #[allow(clippy::too_many_arguments)]
    fn handle_message(
        &mut self,
        m: &mut Mbuf,
        h: &Headers,
        sender: ParticipantIdx,
        src: SocketAddrV4,
        src_mac: [u8; 6],
        routes: &RouteSnapshot,
        now: u64,
    ) -> Fate {
        self.recipient = Some(sender);
        let fate = self.handle_decoded(m, h, sender, src, src_mac, routes, now);
        let to = self.recipient.take();
        if let (Fate::Send, Some(to)) = (&fate, to) {
            if !self.seal_for(m, routes, to) {
                return Fate::Drop(DropReason::MacFail);
            }
        }
        fate
    }

    #[allow(clippy::too_many_arguments)]
    fn handle_decoded(
        &mut self,
        m: &mut Mbuf,
        h: &Headers,
        sender: ParticipantIdx,
        src: SocketAddrV4,
        src_mac: [u8; 6],
        routes: &RouteSnapshot,
        now: u64,
    ) -> Fate {
        let spec = self.shared.spec;
        let msg_at = h.payload + FRAME_HEADER_LEN;
        let msg_end = h.end;
        if let Some(staged) = self.stage.take((msg_at, msg_end)) {
            std::mem::swap(&mut self.scratch, staged);
        } else if let Err(e) = self.scratch.decode_into(&m.data()[msg_at..msg_end], spec) {
            return self.answer_malformed(m, h, msg_at, msg_end, e);
        }
        let mti = Self::mti(&self.scratch, &m.data()[msg_at..msg_end]);
        self.counters.mti(MtiClass::of(&mti));
        // A keyed sender's MAC is checked before anything else reads the
        // message: nothing unverified is routed, matched or forwarded.
        if let Some(ring) = routes.participant(sender).and_then(|p| p.mac.as_deref()) {
            let verified = self.mac_format.is_some_and(|f| {
                auth::verify(&f, &m.data()[msg_at..msg_end], &self.scratch, ring, now).is_ok()
            });
            if !verified {
                self.counters.dropped(DropReason::MacFail);
                return match MessageKind::of(mti) {
                    MessageKind::Request(_) | MessageKind::NetworkRequest => {
                        self.answer(m, h, msg_at, code::SECURITY_VIOLATION, None)
                    }
                    _ => Fate::Done,
                };
            }
        }
        match MessageKind::of(mti) {
            MessageKind::Request(family) => {
                self.request(m, h, msg_at, family, sender, src, src_mac, routes, now)
            }
            MessageKind::Response(family) => {
                self.response(m, h, msg_at, family, sender, routes, now)
            }
            MessageKind::NetworkRequest => self.network(m, h, msg_at, sender),
            MessageKind::NetworkResponse => Fate::Done,
            MessageKind::Unsupported => self.answer(m, h, msg_at, code::FORMAT_ERROR, None),
        }
    }

    fn mti(index: &FieldIndex, msg: &[u8]) -> [u8; 4] {
        msg.get(index.mti().range())
            .and_then(|b| b.try_into().ok())
            .unwrap_or(*b"0000")
    }

    fn field<'a>(index: &FieldIndex, msg: &'a [u8], n: u8) -> Option<&'a [u8]> {
        index.get(n).and_then(|s| msg.get(s.range()))
    }

    /// The fields that name a transaction and that the issuer echoes: 11
    /// (STAN), 7 (transmission date/time) and 37 (RRN).
    #[inline(always)]
    fn transaction_keys(index: &FieldIndex, msg: &[u8]) -> ([u8; 6], [u8; 10], [u8; 12]) {
        (
            Self::fixed(index, msg, 11),
            Self::fixed(index, msg, 7),
            Self::fixed(index, msg, 37),
        )
    }

    /// Field `n` as exactly `N` bytes: cut, or padded with '0' (absent
    /// fields are all '0'). The usual case, a field of its spec length, is
    /// one fixed-size copy.
    #[inline(always)]
    fn fixed<const N: usize>(index: &FieldIndex, msg: &[u8], n: u8) -> [u8; N] {
        let Some(v) = Self::field(index, msg, n) else {
            return [b'0'; N];
        };
        if let Ok(exact) = <[u8; N]>::try_from(v) {
            return exact;
        }
        let mut out = [b'0'; N];
        let k = v.len().min(N);
        out[..k].copy_from_slice(&v[..k]);
        out
    }

    fn digits_u64(v: Option<&[u8]>) -> u64 {
        v.map_or(0, |d| {
            d.iter().take(19).fold(0u64, |acc, b| {
                acc.saturating_mul(10)
                    .saturating_add(u64::from(b.wrapping_sub(b'0') % 10))
            })
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn request(
        &mut self,
        m: &mut Mbuf,
        h: &Headers,
        msg_at: usize,
        family: Family,
        acquirer: ParticipantIdx,
        src: SocketAddrV4,
        src_mac: [u8; 6],
        routes: &RouteSnapshot,
        now: u64,
    ) -> Fate {
        let present = self.scratch.fields();
        if !family.required().difference(present).is_empty()
            || !(present.contains(2) || present.contains(100))
        {
            return self.answer(m, h, msg_at, code::FORMAT_ERROR, None);
        }
        let Some(acq) = routes.participant(acquirer).filter(|p| p.roles.acquirer) else {
            return Fate::Drop(DropReason::UnknownSender);
        };
        let msg = &m.data()[msg_at..h.end];
        // Field 32 names the acquiring institution: it must be the sender's
        // own, or someone is sending in another's name.
        if let Some(f32) = Self::field(&self.scratch, msg, 32) {
            if routes.by_institution(f32) != Some(acquirer) {
                return Fate::Drop(DropReason::SpoofedInstitution);
            }
        }
        // Refusals below are not remembered by the duplicate filter: the
        // same request may be retried once the cause has passed.
        let window = self.shared.config.freshness_window_s;
        if window > 0 {
            let now_unix = self.shared.wall.unix_secs(now);
            let freshness = &mut self.freshness;
            let f7 = Self::field(&self.scratch, msg, 7).unwrap_or(&[]);
            match freshness.check(f7, now_unix) {
                Freshness::Fresh => {}
                Freshness::Stale { .. } => {
                    self.counters.dropped(DropReason::Stale);
                    return self.answer(m, h, msg_at, code::SECURITY_VIOLATION, None);
                }
                Freshness::Invalid => return self.answer(m, h, msg_at, code::FORMAT_ERROR, None),
            }
        }
        if let Some(limit) = acq.rate_limit {
            if !self
                .shared
                .rates
                .admit(acquirer, limit, now, self.shared.tsc_hz)
            {
                self.counters.dropped(DropReason::RateLimited);
                return self.answer(m, h, msg_at, code::ISSUER_UNAVAILABLE, None);
            }
        }
        if self.pending.len() >= self.admission_limit {
            self.counters.dropped(DropReason::Overloaded);
            return self.answer(m, h, msg_at, code::ISSUER_UNAVAILABLE, None);
        }
        let msg = &m.data()[msg_at..h.end];
        let (stan, at, rrn) = Self::transaction_keys(&self.scratch, msg);
        let dedup_key = DedupKey {
            originator: acquirer,
            stan,
            transmitted_at: at,
            rrn,
        };
        let dedup_pos = match self.dedup.check_and_insert(&dedup_key) {
            Seen::New(pos) => pos,
            Seen::Duplicate(Outcome::Pending) => return Fate::Drop(DropReason::Duplicate),
            Seen::Duplicate(Outcome::Answered {
                response_code,
                auth_code,
            }) => {
                self.counters.add(Event::DupesAnswered, 1);
                return self.answer(
                    m,
                    h,
                    msg_at,
                    &response_code,
                    auth_code.as_ref().map(|a| &a[..]),
                );
            }
        };
        let issuer = match routes.route(
            Self::field(&self.scratch, msg, 100),
            Self::field(&self.scratch, msg, 2),
        ) {
            Route::Issuer(i) => i,
            Route::NoRoute => {
                return self.answer_recorded(
                    m,
                    h,
                    msg_at,
                    dedup_pos,
                    &dedup_key,
                    code::NO_SUCH_ISSUER,
                )
            }
            Route::BadPan(_) => {
                return self.answer_recorded(
                    m,
                    h,
                    msg_at,
                    dedup_pos,
                    &dedup_key,
                    code::FORMAT_ERROR,
                )
            }
        };
        let Some(target) = routes.participant(issuer) else {
            return self.answer_recorded(m, h, msg_at, dedup_pos, &dedup_key, code::NO_SUCH_ISSUER);
        };
        if !target.accepts_requests()
            || self.shared.sessions.is_signed_off(issuer)
            || target.mac.as_deref().is_some_and(|r| r.current().is_none())
        {
            // (A keyed issuer without a usable key could not be sent to.)
            return self.answer_recorded(
                m,
                h,
                msg_at,
                dedup_pos,
                &dedup_key,
                code::ISSUER_UNAVAILABLE,
            );
        }
        let money = MoneyRequest {
            acquirer,
            issuer,
            family,
            amount: Self::digits_u64(Self::field(&self.scratch, msg, 4)),
            currency: Self::digits_u64(Self::field(&self.scratch, msg, 49)) as u16,
        };
        if let Verdict::Decline(rc) = self.hooks.check(&money) {
            return self.answer_recorded(m, h, msg_at, dedup_pos, &dedup_key, &rc);
        }
        let Some(issuer_mac) = self.arp.lookup(*target.next_hop.ip()) else {
            self.send_arp_request(*target.next_hop.ip(), now);
            return self.answer_recorded(
                m,
                h,
                msg_at,
                dedup_pos,
                &dedup_key,
                code::ISSUER_UNAVAILABLE,
            );
        };
        let timeout = target.timeout.map_or(self.default_timeout_ticks, |t| {
            rte::tsc::micros_to_ticks(t.as_micros() as u64, self.shared.tsc_hz)
        });
        let entry = PendingEntry {
            key: PendingKey {
                issuer,
                stan,
                transmitted_at: at,
                rrn,
            },
            originator: acquirer,
            origin: Endpoint {
                ip: *src.ip(),
                port: src.port(),
                mac: src_mac,
            },
            mti: Self::mti(&self.scratch, msg),
            amount: money.amount,
            currency: money.currency,
            epoch: self.hooks.epoch(),
            started: now,
            deadline: now.wrapping_add(timeout),
            reversal: if family.reverse_on_timeout() {
                ReversalState::Due
            } else {
                ReversalState::NotRequired
            },
            dedup_pos,
        };
        let slot = match self.pending.insert(entry, msg) {
            Ok(slot) => slot,
            Err(crate::pending::PendingError::Full { .. }) => {
                self.counters.dropped(DropReason::PendingFull);
                self.hooks.outcome(&money, *code::ISSUER_UNAVAILABLE);
                return self.answer_recorded(
                    m,
                    h,
                    msg_at,
                    dedup_pos,
                    &dedup_key,
                    code::ISSUER_UNAVAILABLE,
                );
            }
            Err(_) => {
                // Too long to keep a copy of, or the issuer already holds an
                // identical key from another acquirer: refuse rather than
                // forward what could not be reversed or matched.
                self.hooks.outcome(&money, *code::FORMAT_ERROR);
                return self.answer_recorded(
                    m,
                    h,
                    msg_at,
                    dedup_pos,
                    &dedup_key,
                    code::FORMAT_ERROR,
                );
            }
        };
        if self.wheel.schedule(slot, entry.deadline).is_err() {
            self.pending.remove_slot(slot);
            return self.answer_recorded(
                m,
                h,
                msg_at,
                dedup_pos,
                &dedup_key,
                code::SYSTEM_MALFUNCTION,
            );
        }
        let to = Endpoints {
            src_mac: Address(self.our_mac),
            dst_mac: Address(issuer_mac),
            src: SocketAddrV4::new(self.shared.config.service_ip, self.issuer_port()),
            dst: target.next_hop,
        };
        match rewrite::readdress_udp(m.data_mut(), h, &to) {
            Ok(_) => {
                let _ = m.set_len(h.end);
                self.recipient = Some(issuer);
                Fate::Send
            }
            Err(_) => Fate::Drop(DropReason::BadFrame),
        }
    }

    fn issuer_port(&self) -> u16 {
        self.shared.config.issuer_port_base + self.index
    }

    #[allow(clippy::too_many_arguments)]
    fn response(
        &mut self,
        m: &mut Mbuf,
        h: &Headers,
        msg_at: usize,
        family: Family,
        issuer: ParticipantIdx,
        routes: &RouteSnapshot,
        now: u64,
    ) -> Fate {
        let msg = &m.data()[msg_at..h.end];
        let (stan, transmitted_at, rrn) = Self::transaction_keys(&self.scratch, msg);
        let key = PendingKey {
            issuer,
            stan,
            transmitted_at,
            rrn,
        };
        let Some(slot) = self.pending.find(&key) else {
            return Fate::Drop(DropReason::UnmatchedResponse);
        };
        let Some(entry) = self.pending.get(slot).copied() else {
            return Fate::Drop(DropReason::UnmatchedResponse);
        };
        let rc: [u8; 2] = Self::field(&self.scratch, msg, 39)
            .and_then(|v| v.try_into().ok())
            .unwrap_or(*code::SYSTEM_MALFUNCTION);
        match entry.reversal {
            ReversalState::Committing => return Fate::Drop(DropReason::Duplicate),
            ReversalState::Sent { .. } => {
                // The acquirer already has its stand-in; only our 0420's answer counts.
                if family == Family::ReversalAdvice {
                    let _ = self.wheel.cancel(slot);
                    self.pending.remove_slot(slot);
                    self.counters.add(Event::ReversalsConfirmed, 1);
                    return Fate::Done;
                }
                return Fate::Drop(DropReason::LateResponse);
            }
            _ => {}
        }
        let _ = self.wheel.cancel(slot);
        let auth: Option<[u8; 6]> =
            Self::field(&self.scratch, msg, 38).and_then(|v| v.try_into().ok());
        // A completion or reversal moves the money of the transaction it
        // names in field 90 (original MTI, STAN, field 7): key it by that.
        let (mut stan, mut transmitted_at) = (key.stan, key.transmitted_at);
        if matches!(
            family,
            Family::Completion | Family::Reversal | Family::ReversalAdvice
        ) {
            if let Some(request) = self.pending.request(slot) {
                if self.scratch.decode_into(request, self.shared.spec).is_ok() {
                    let f90 = self.scratch.get(90).and_then(|s| request.get(s.range()));
                    if let Some(f90) = f90.filter(|f| f.len() >= 20) {
                        stan.copy_from_slice(&f90[4..10]);
                        transmitted_at.copy_from_slice(&f90[10..20]);
                    }
                }
            }
        }
        let txn = TxnRef {
            originator: entry.originator,
            stan,
            transmitted_at,
            rrn: key.rrn,
            epoch: entry.epoch,
            request_stan: entry.key.stan,
            request_transmitted_at: entry.key.transmitted_at,
            auth_code: auth,
        };
        let commit = self
            .hooks
            .outcome_txn(&Self::money_of(&entry, family), &txn, rc);
        let to = Endpoints {
            src_mac: Address(self.our_mac),
            dst_mac: Address(entry.origin.mac),
            src: SocketAddrV4::new(
                self.shared.config.service_ip,
                self.shared.config.service_port,
            ),
            dst: SocketAddrV4::new(entry.origin.ip, entry.origin.port),
        };
        if rewrite::readdress_udp(m.data_mut(), h, &to).is_err() {
            return Fate::Drop(DropReason::BadFrame);
        }
        let _ = m.set_len(h.end);
        self.recipient = Some(entry.originator);
        if !matches!(commit, Commit::Wait(_)) {
            self.record_latency(&entry, now);
        }
        match commit {
            Commit::Now => {
                self.pending.remove_slot(slot);
                self.record_answer(
                    &entry,
                    Outcome::Answered {
                        response_code: rc,
                        auth_code: auth,
                    },
                );
                self.counters.response(ResponseCode::of(&rc));
                Fate::Send
            }
            Commit::Wait(ticket) => {
                if let Some(e) = self.pending.get_mut(slot) {
                    e.reversal = ReversalState::Committing;
                }
                Fate::Hold(Held {
                    ticket,
                    slot,
                    rc,
                    auth,
                })
            }
            Commit::Failed => {
                // Money the switch cannot record must not move: 96 to the
                // acquirer, a 0420 to the issuer.
                if !self.set_response_code(m, code::SYSTEM_MALFUNCTION) {
                    return Fate::Drop(DropReason::BadFrame);
                }
                self.record_answer(
                    &entry,
                    Outcome::Answered {
                        response_code: *code::SYSTEM_MALFUNCTION,
                        auth_code: None,
                    },
                );
                self.counters.response(ResponseCode::SystemMalfunction);
                self.send_reversal(slot, entry, 0, routes, rte::tsc::now());
                Fate::Send
            }
        }
    }

    /// Request in → response out for a matched transaction (a held answer
    /// counts when it is released: durability is part of its latency).
    fn record_latency(&self, entry: &PendingEntry, now: u64) {
        let ticks = now.saturating_sub(entry.started);
        self.counters.latency_us(ticks / self.ticks_per_us);
    }

    fn money_of(entry: &PendingEntry, family: Family) -> MoneyRequest {
        MoneyRequest {
            acquirer: entry.originator,
            issuer: entry.key.issuer,
            family,
            amount: entry.amount,
            currency: entry.currency,
        }
    }

    /// 0800: sign-on, sign-off, echo; always answered 0810 39=00.
    fn network(
        &mut self,
        m: &mut Mbuf,
        h: &Headers,
        msg_at: usize,
        sender: ParticipantIdx,
    ) -> Fate {
        let msg = &m.data()[msg_at..h.end];
        match Self::field(&self.scratch, msg, 70) {
            Some(network::SIGN_ON) => self.shared.sessions.set(sender, false),
            Some(network::SIGN_OFF) => self.shared.sessions.set(sender, true),
            Some(network::ECHO) | None | Some(_) => {}
        }
        self.answer(m, h, msg_at, code::APPROVED, None)
    }

    /// Answers and remembers the answer for duplicates.
    fn answer_recorded(
        &mut self,
        m: &mut Mbuf,
        h: &Headers,
        msg_at: usize,
        pos: WindowPos,
        key: &DedupKey,
        rc: &[u8; 2],
    ) -> Fate {
        self.dedup.record_outcome_at(
            pos,
            key,
            Outcome::Answered {
                response_code: *rc,
                auth_code: None,
            },
        );
        self.answer(m, h, msg_at, rc, None)
    }

    /// Turns the request in `m` into its response with field 39 = `rc`, in
    /// place, and sends it back where it came from.
    fn answer(
        &mut self,
        m: &mut Mbuf,
        h: &Headers,
        msg_at: usize,
        rc: &[u8; 2],
        auth: Option<&[u8]>,
    ) -> Fate {
        let room = m.len() + m.tailroom();
        if m.set_len(room).is_err() {
            return Fate::Drop(DropReason::BadFrame);
        }
        let d = m.data_mut();
        let Ok(len) = build_response(
            &mut d[msg_at..],
            &self.scratch,
            self.shared.spec,
            rc,
            auth,
            &self.policy,
        ) else {
            let _ = m.set_len(h.end);
            return Fate::Drop(DropReason::BadIso);
        };
        d[msg_at - FRAME_HEADER_LEN..msg_at].copy_from_slice(&(len as u16).to_be_bytes());
        let end = msg_at + len;
        let Ok(back) = rewrite::reflect_udp(d, h) else {
            return Fate::Drop(DropReason::BadFrame);
        };
        if rewrite::set_udp_payload_len(&mut d[..end], &back, FRAME_HEADER_LEN + len).is_err() {
            return Fate::Drop(DropReason::BadFrame);
        }
        let _ = m.set_len(end);
        self.counters.response(ResponseCode::of(rc));
        Fate::Send
    }

    /// A message that does not decode: a known participant's request gets
    /// a bare response (MTI + 39=30) when at least its MTI was readable;
    /// anything else is a counted drop.
    fn answer_malformed(
        &mut self,
        m: &mut Mbuf,
        h: &Headers,
        msg_at: usize,
        msg_end: usize,
        _e: iso8583::Error,
    ) -> Fate {
        let msg = &m.data()[msg_at..msg_end];
        let Some(mti) = msg.get(..4).and_then(|b| <[u8; 4]>::try_from(b).ok()) else {
            return Fate::Drop(DropReason::BadIso);
        };
        if !matches!(
            MessageKind::of(mti),
            MessageKind::Request(_) | MessageKind::NetworkRequest
        ) {
            return Fate::Drop(DropReason::BadIso);
        }
        let Ok(resp) = iso8583::response_mti(mti) else {
            return Fate::Drop(DropReason::BadIso);
        };
        let mut values = iso8583::FieldValues::new();
        if values.set(39, code::FORMAT_ERROR).is_err() {
            return Fate::Drop(DropReason::BadIso);
        }
        let room = m.len() + m.tailroom();
        if m.set_len(room).is_err() {
            return Fate::Drop(DropReason::BadIso);
        }
        let d = m.data_mut();
        let Ok(len) = iso8583::encode(self.shared.spec, &resp, &values, &mut d[msg_at..]) else {
            return Fate::Drop(DropReason::BadIso);
        };
        self.counters.dropped(DropReason::BadIso);
        d[msg_at - FRAME_HEADER_LEN..msg_at].copy_from_slice(&(len as u16).to_be_bytes());
        let end = msg_at + len;
        let Ok(back) = rewrite::reflect_udp(d, h) else {
            return Fate::Drop(DropReason::BadFrame);
        };
        if rewrite::set_udp_payload_len(&mut d[..end], &back, FRAME_HEADER_LEN + len).is_err() {
            return Fate::Drop(DropReason::BadFrame);
        }
        let _ = m.set_len(end);
        self.counters.response(ResponseCode::FormatError);
        Fate::Send
    }

    /// Fires due timers: stand-in 91 to the acquirer, then 0420s to the
    /// issuer with back-off until a 0430 or the attempt bound.
    fn expire(&mut self, routes: &RouteSnapshot, now: u64) {
        let mut due = std::mem::take(&mut self.expired);
        due.clear();
        self.wheel.expire(now, |slot| due.push(slot));
        for &slot in &due {
            let Some(entry) = self.pending.get(slot).copied() else {
                continue;
            };
            match entry.reversal {
                ReversalState::Sent { attempts }
                    if attempts >= self.shared.config.reversal_attempts =>
                {
                    self.pending.remove_slot(slot);
                    self.counters.add(Event::ReversalsGivenUp, 1);
                }
                ReversalState::Sent { attempts } => {
                    self.send_reversal(slot, entry, attempts, routes, now)
                }
                first => {
                    self.counters.add(Event::Timeouts, 1);
                    self.stand_in(slot, &entry, routes, now);
                    if first == ReversalState::Due {
                        self.send_reversal(slot, entry, 0, routes, now);
                    } else {
                        self.pending.remove_slot(slot);
                    }
                }
            }
        }
        self.expired = due;
    }

    /// The acquirer's stand-in answer, 39=91, built from the stored request.
    fn stand_in(
        &mut self,
        slot: PendingSlot,
        entry: &PendingEntry,
        routes: &RouteSnapshot,
        now: u64,
    ) {
        self.record_answer(
            entry,
            Outcome::Answered {
                response_code: *code::ISSUER_UNAVAILABLE,
                auth_code: None,
            },
        );
        let family = match MessageKind::of(entry.mti) {
            MessageKind::Request(f) => f,
            _ => Family::Financial,
        };
        self.hooks
            .outcome(&Self::money_of(entry, family), *code::ISSUER_UNAVAILABLE);
        let route = FrameRoute {
            src_mac: self.our_mac,
            dst_mac: entry.origin.mac,
            src: SocketAddrV4::new(
                self.shared.config.service_ip,
                self.shared.config.service_port,
            ),
            dst: SocketAddrV4::new(entry.origin.ip, entry.origin.port),
        };
        let spec = self.shared.spec;
        let policy = self.policy;
        let built = self.build_from_stored(slot, &route, |buf, index| {
            build_response(buf, index, spec, code::ISSUER_UNAVAILABLE, None, &policy).ok()
        });
        match built {
            Some(mut m) => {
                if !self.seal_for(&mut m, routes, entry.originator) {
                    self.counters.dropped(DropReason::MacFail);
                    return;
                }
                self.counters.response(ResponseCode::IssuerUnavailable);
                self.counters.add(Event::Tx, 1);
                self.tx.push(m, now);
            }
            None => self.counters.dropped(DropReason::TxFull),
        }
    }

    /// Sends (or re-sends) the 0420 for `entry` and schedules the next try.
    fn send_reversal(
        &mut self,
        slot: PendingSlot,
        mut entry: PendingEntry,
        attempts: u8,
        routes: &RouteSnapshot,
        now: u64,
    ) {
        let Some(issuer) = routes.participant(entry.key.issuer) else {
            self.pending.remove_slot(slot);
            self.counters.add(Event::ReversalsGivenUp, 1);
            return;
        };
        let dst_mac = self.arp.lookup(*issuer.next_hop.ip()).unwrap_or([0xff; 6]);
        let route = FrameRoute {
            src_mac: self.our_mac,
            dst_mac,
            src: SocketAddrV4::new(self.shared.config.service_ip, self.issuer_port()),
            dst: issuer.next_hop,
        };
        let mut original = [b'0'; FIELD_90_LEN];
        original[..4].copy_from_slice(&entry.mti);
        original[4..10].copy_from_slice(&entry.key.stan);
        original[10..20].copy_from_slice(&entry.key.transmitted_at);
        let spec = self.shared.spec;
        let dropped = self.policy.dropped();
        let built = self.build_from_stored(slot, &route, |buf, index| {
            let mut edits = Edits::new();
            edits.set_mti(*b"0420");
            edits.drop_fields(dropped);
            edits.drop_field(38).drop_field(39);
            edits.set(90, &original).ok()?;
            apply_edits(buf, index, spec, &edits).ok()
        });
        if let Some(mut m) = built {
            // A reversal the issuer could not authenticate is worthless:
            // count it and let the retry timer try again (a rotated-in key
            // may seal the next one).
            if self.seal_for(&mut m, routes, entry.key.issuer) {
                self.counters.add(Event::ReversalsSent, 1);
                self.counters.add(Event::Tx, 1);
                self.tx.push(m, now);
            } else {
                self.counters.dropped(DropReason::MacFail);
            }
        }
        // Back-off doubles each attempt (1 s, 2 s, 4 s, ... by default).
        let wait = self.retry_ticks.saturating_mul(1u64 << attempts.min(16));
        entry.reversal = ReversalState::Sent {
            attempts: attempts + 1,
        };
        entry.deadline = now.wrapping_add(wait);
        if let Some(e) = self.pending.get_mut(slot) {
            *e = entry;
        }
        if self.wheel.schedule(slot, entry.deadline).is_err() {
            self.pending.remove_slot(slot);
            self.counters.add(Event::ReversalsGivenUp, 1);
        }
    }

    /// A new mbuf holding the stored request of `slot`, edited by `edit`
    /// (given the message buffer with room to grow and its index), wrapped
    /// in headers for `route`.
    fn build_from_stored(
        &mut self,
        slot: PendingSlot,
        route: &FrameRoute,
        edit: impl FnOnce(&mut [u8], &FieldIndex) -> Option<usize>,
    ) -> Option<Mbuf> {
        let stored = self.pending.request(slot)?;
        let mut m = self.pool.alloc().ok()?;
        let room = m.len() + m.tailroom();
        m.set_len(room).ok()?;
        let d = m.data_mut();
        if d.len() < MESSAGE_AT + stored.len() {
            return None;
        }
        d[MESSAGE_AT..MESSAGE_AT + stored.len()].copy_from_slice(stored);
        self.scratch
            .decode_into(&d[MESSAGE_AT..MESSAGE_AT + stored.len()], self.shared.spec)
            .ok()?;
        let len = edit(&mut d[MESSAGE_AT..], &self.scratch)?;
        let total = emit::wrap_message(d, route, len)?;
        m.set_len(total).ok()?;
        Some(m)
    }

    /// Asks who has `ip` (a next hop with no static MAC, not yet seen).
    fn send_arp_request(&mut self, ip: Ipv4Addr, now: u64) {
        let Ok(mut m) = self.pool.alloc() else {
            return;
        };
        let len = wire::net::ethernet::field::HEADER_LEN + arp::field::PACKET_LEN;
        if m.set_len(len).is_err() {
            return;
        }
        let frame = m.data_mut();
        let eth = wire::net::ethernet::Repr {
            src_addr: Address(self.our_mac),
            dst_addr: Address([0xff; 6]),
            vlan: None,
            ethertype: wire::net::ethernet::EtherType::Arp,
        };
        eth.emit(&mut wire::net::ethernet::Frame::new_unchecked(
            &mut frame[..],
        ));
        let repr = arp::Repr {
            operation: arp::Operation::Request,
            source_hardware_addr: Address(self.our_mac),
            source_protocol_addr: self.shared.config.service_ip,
            target_hardware_addr: Address([0; 6]),
            target_protocol_addr: ip,
        };
        repr.emit(&mut arp::Packet::new_unchecked(
            &mut frame[wire::net::ethernet::field::HEADER_LEN..],
        ));
        self.counters.add(Event::Tx, 1);
        self.tx.push(m, now);
    }
}
