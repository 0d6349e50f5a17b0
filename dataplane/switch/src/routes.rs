//! `RouteSnapshot`: everything an lcore needs to authenticate a sender and
//! route a request, published by the control plane RCU-style.
//!
//! A snapshot is immutable. The control plane assembles a new one (checking
//! it as a whole: no source address claimed twice, BIN prefixes pointing only
//! at issuers, …) and [`Published::publish`] swaps it in with one atomic
//! pointer store (`arc-swap`). An lcore calls [`Published::load`] once per
//! burst and uses that guard for the whole burst, so every message of a burst
//! sees one snapshot, and the next burst sees the new one. Readers never wait
//! and are never paused.
//!
//! Freeing: an lcore must never be the one that drops a 50 MB table (a free
//! of that size is a syscall and milliseconds). [`Published`] therefore keeps
//! each replaced snapshot in a retired list and frees it on the control-plane
//! thread, in [`Published::reclaim`], once no reader holds it any more.

use crate::bin_table::{BinTable, PanError};
use crate::hash::Seed;
use crate::slot_index::SlotIndex;
use crate::ParticipantIdx;
use arc_swap::{ArcSwap, Guard};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use thiserror::Error;

/// Longest institution id in field 100 (LLVAR n..11).
pub const MAX_INSTITUTION_ID_LEN: usize = 11;

/// What a participant may do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Roles {
    /// Sends requests (0100, 0200, …) to the switch.
    pub acquirer: bool,
    /// Receives requests routed by field 100 or BIN.
    pub issuer: bool,
}

/// A bank or processor connected to the switch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Participant {
    /// Operator-facing identifier (as in config and journal).
    pub id: String,
    pub roles: Roles,
    /// Institution ids (ASCII digits, 1–11) it owns: field 32 of its
    /// requests must be one of them, and field 100 routes to it if it is an
    /// issuer.
    pub institution_ids: Vec<String>,
    /// Source address and port its messages must come from.
    pub sources: Vec<SocketAddrV4>,
    /// Where requests for it as an issuer are sent.
    pub next_hop: SocketAddrV4,
    /// Static MAC of the next hop; `None` means resolve it by ARP.
    pub next_hop_mac: Option<[u8; 6]>,
    /// Issuer timeout; `None` uses the switch default (5 s).
    pub timeout: Option<Duration>,
    /// Suspended by the operator: its messages are dropped.
    pub suspended: bool,
    /// Signed off (0800 with 70=002): as an issuer it gets no traffic.
    pub signed_off: bool,
    /// Most requests per second it may send as an acquirer.
    pub rate_limit: Option<RateLimit>,
    /// Its MAC keys: `Some` = every message it sends must carry a MAC in
    /// field 64/128 that verifies, and everything sent to it is sealed with
    /// the current key. Shared, immutable, keyed state precomputed: the
    /// lcore never runs a key schedule. `None` = unkeyed, no MAC checks.
    pub mac: Option<Arc<auth::KeyRing>>,
}

/// A sustained request rate and the burst allowed above it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub per_second: u32,
    pub burst: u32,
}

impl Participant {
    /// Whether requests may be routed to it now.
    pub fn accepts_requests(&self) -> bool {
        self.roles.issuer && !self.suspended && !self.signed_off
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RouteError {
    #[error("participant {id}: source {addr} is already claimed by participant {other}; each source ip:port identifies one participant")]
    SourceClaimedTwice {
        id: String,
        other: String,
        addr: SocketAddrV4,
    },
    #[error("participant {id}: institution id {inst:?} is already routed to participant {other}; field 100 must route to one issuer")]
    InstitutionClaimedTwice {
        id: String,
        other: String,
        inst: String,
    },
    #[error("participant {id}: institution id {inst:?} must be 1-11 ASCII digits")]
    BadInstitutionId { id: String, inst: String },
    #[error("BIN table routes to participant index {idx}, but the snapshot has only {count} participants")]
    BinTargetMissing { idx: u32, count: usize },
    #[error("BIN table routes to participant {id}, which is not an issuer; fix the BIN import or the role")]
    BinTargetNotIssuer { id: String },
    #[error("participant ids must be unique: {id} appears twice")]
    DuplicateId { id: String },
    #[error("{count} participants exceed the limit of {max}", max = MAX_PARTICIPANTS)]
    TooManyParticipants { count: usize },
}

/// Limit on participants per snapshot (indices are `u32`, tables small).
pub const MAX_PARTICIPANTS: usize = 1 << 20;

/// An exact map from a 64-bit key to a participant, built once per snapshot
/// (open addressing over [`SlotIndex`]; lookups never allocate).
#[derive(Debug)]
struct ExactMap {
    entries: Vec<(u64, ParticipantIdx)>,
    index: SlotIndex,
    seed: Seed,
}

impl ExactMap {
    fn new(capacity: usize) -> Self {
        Self {
            entries: Vec::with_capacity(capacity),
            index: SlotIndex::new(capacity.max(1)),
            seed: Seed::random(),
        }
    }

    /// Inserts unless present; returns the existing value if there is one.
    fn insert(&mut self, key: u64, value: ParticipantIdx) -> Option<ParticipantIdx> {
        if let Some(existing) = self.get(key) {
            return Some(existing);
        }
        let pos = self.entries.len() as u32;
        self.entries.push((key, value));
        self.index.insert(self.seed.hash_u64(key), pos);
        None
    }

    #[inline]
    fn get(&self, key: u64) -> Option<ParticipantIdx> {
        self.index
            .find(self.seed.hash_u64(key), |pos| {
                self.entries[pos as usize].0 == key
            })
            .map(|pos| self.entries[pos as usize].1)
    }
}

#[inline(always)]
fn source_key(ip: Ipv4Addr, port: u16) -> u64 {
    (u64::from(u32::from(ip)) << 16) | u64::from(port)
}

/// Institution id as a number with its length (so "001" ≠ "1"); `None` if
/// not 1–11 ASCII digits.
#[inline(always)]
fn institution_key(id: &[u8]) -> Option<u64> {
    if id.is_empty() || id.len() > MAX_INSTITUTION_ID_LEN {
        return None;
    }
    let mut v = 0u64;
    for &b in id {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + u64::from(d);
    }
    Some(v * 16 + id.len() as u64)
}

/// Where a request goes, as decided by [`RouteSnapshot::route`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Forward to this issuer (check [`Participant::accepts_requests`]).
    Issuer(ParticipantIdx),
    /// Neither field 100 nor the PAN matched: answer 39=`15`.
    NoRoute,
    /// Field 2 is malformed: answer 39=`30`.
    BadPan(PanError),
}

/// One consistent view of participants and routes.
#[derive(Debug)]
pub struct RouteSnapshot {
    version: u64,
    participants: Vec<Participant>,
    senders: ExactMap,
    /// Source IPs alone, to tell a wrong UDP port from a stranger.
    sender_ips: ExactMap,
    institutions: ExactMap,
    bins: Arc<BinTable>,
}

impl RouteSnapshot {
    /// Checks and indexes `participants` (their positions become their
    /// [`ParticipantIdx`]) with `bins` routing PANs to those indices. The
    /// BIN table is shared, so a participant change need not rebuild it.
    pub fn new(participants: Vec<Participant>, bins: Arc<BinTable>) -> Result<Self, RouteError> {
        let count = participants.len();
        if count > MAX_PARTICIPANTS {
            return Err(RouteError::TooManyParticipants { count });
        }
        let mut ids: Vec<&str> = participants.iter().map(|p| p.id.as_str()).collect();
        ids.sort_unstable();
        if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(RouteError::DuplicateId {
                id: w[0].to_string(),
            });
        }
        let n_sources = participants.iter().map(|p| p.sources.len()).sum();
        let n_insts = participants.iter().map(|p| p.institution_ids.len()).sum();
        let mut senders = ExactMap::new(n_sources);
        let mut sender_ips = ExactMap::new(n_sources);
        let mut institutions = ExactMap::new(n_insts);
        for (i, p) in participants.iter().enumerate() {
            let idx = ParticipantIdx(i as u32);
            for addr in &p.sources {
                sender_ips.insert(u64::from(u32::from(*addr.ip())), idx);
                if let Some(other) = senders.insert(source_key(*addr.ip(), addr.port()), idx) {
                    return Err(RouteError::SourceClaimedTwice {
                        id: p.id.clone(),
                        other: participants[other.0 as usize].id.clone(),
                        addr: *addr,
                    });
                }
            }
            for inst in &p.institution_ids {
                let key = institution_key(inst.as_bytes()).ok_or_else(|| {
                    RouteError::BadInstitutionId {
                        id: p.id.clone(),
                        inst: inst.clone(),
                    }
                })?;
                if let Some(other) = institutions.insert(key, idx) {
                    return Err(RouteError::InstitutionClaimedTwice {
                        id: p.id.clone(),
                        other: participants[other.0 as usize].id.clone(),
                        inst: inst.clone(),
                    });
                }
            }
        }
        // Every BIN target must exist and be an issuer. Checked per distinct
        // target: a bitmap over participants keeps this O(prefixes).
        let mut checked = vec![false; count];
        for t in bins.targets() {
            let Some(p) = participants.get(t.0 as usize) else {
                return Err(RouteError::BinTargetMissing { idx: t.0, count });
            };
            if !checked[t.0 as usize] {
                if !p.roles.issuer {
                    return Err(RouteError::BinTargetNotIssuer { id: p.id.clone() });
                }
                checked[t.0 as usize] = true;
            }
        }
        Ok(Self {
            version: 0,
            participants,
            senders,
            sender_ips,
            institutions,
            bins,
        })
    }

    /// Publication number: 0 until published, then 1, 2, … in order.
    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn participants(&self) -> &[Participant] {
        &self.participants
    }

    #[inline]
    pub fn participant(&self, idx: ParticipantIdx) -> Option<&Participant> {
        self.participants.get(idx.0 as usize)
    }

    /// Index of the participant with operator id `id` (linear; control plane).
    pub fn find_id(&self, id: &str) -> Option<ParticipantIdx> {
        self.participants
            .iter()
            .position(|p| p.id == id)
            .map(|i| ParticipantIdx(i as u32))
    }

    /// The participant whose configured source is `ip:port` (sender check).
    #[inline]
    pub fn sender(&self, ip: Ipv4Addr, port: u16) -> Option<ParticipantIdx> {
        self.senders.get(source_key(ip, port))
    }

    /// Whether some participant sends from `ip` (on another port): a
    /// request from a known host on the wrong port is spoofing or a
    /// misconfiguration, worth its own counter.
    pub fn is_known_host(&self, ip: Ipv4Addr) -> bool {
        self.sender_ips.get(u64::from(u32::from(ip))).is_some()
    }

    /// The participant owning institution id `id` (field 32 or 100).
    #[inline]
    pub fn by_institution(&self, id: &[u8]) -> Option<ParticipantIdx> {
        self.institutions.get(institution_key(id)?)
    }

    /// Field 100 exact match first (to an issuer; an acquirer's own id
    /// routes nowhere), else the longest PAN prefix.
    #[inline]
    pub fn route(&self, field100: Option<&[u8]>, pan: Option<&[u8]>) -> Route {
        if let Some(f100) = field100 {
            if let Some(idx) = self.by_institution(f100) {
                if self.participant(idx).is_some_and(|p| p.roles.issuer) {
                    return Route::Issuer(idx);
                }
                return Route::NoRoute;
            }
        }
        match pan.map(|p| self.bins.lookup(p)) {
            Some(Ok(Some(idx))) => Route::Issuer(idx),
            Some(Err(e)) => Route::BadPan(e),
            Some(Ok(None)) | None => Route::NoRoute,
        }
    }

    /// Asks for the table lines [`RouteSnapshot::route`] will read for a
    /// request without field 100 (a field 100 route reads the small
    /// institution map instead). Changes nothing.
    #[inline]
    pub fn warm_route(&self, field100: Option<&[u8]>, pan: Option<&[u8]>) {
        if let (None, Some(pan)) = (field100, pan) {
            self.bins.warm(pan);
        }
    }

    pub fn bins(&self) -> &BinTable {
        &self.bins
    }

    /// The shared BIN table, to build the next snapshot without rebuilding it.
    pub fn bins_shared(&self) -> Arc<BinTable> {
        Arc::clone(&self.bins)
    }
}

/// The current snapshot, swapped in by the control plane and read by lcores.
#[derive(Debug)]
pub struct Published {
    current: ArcSwap<RouteSnapshot>,
    /// Control-plane side only: serialises publishers and holds replaced
    /// snapshots until no reader has them. Lcores never touch it.
    retired: Mutex<Vec<Arc<RouteSnapshot>>>,
}

impl Published {
    /// Publishes `initial` as version 1.
    pub fn new(mut initial: RouteSnapshot) -> Self {
        initial.version = 1;
        Self {
            current: ArcSwap::from_pointee(initial),
            retired: Mutex::new(Vec::new()),
        }
    }

    /// The current snapshot, for one burst. Lock-free and wait-free in the
    /// common case; hold the guard for the burst, not longer.
    #[inline]
    pub fn load(&self) -> Guard<Arc<RouteSnapshot>> {
        self.current.load()
    }

    /// The current snapshot as an owned `Arc` (control plane, tests).
    pub fn load_full(&self) -> Arc<RouteSnapshot> {
        self.current.load_full()
    }

    /// Swaps in `next` (numbered one after the current version) and retires
    /// the replaced snapshot. Readers see it from their next `load`. Returns
    /// the new version. Also reclaims what no reader holds any more.
    pub fn publish(&self, mut next: RouteSnapshot) -> u64 {
        let mut retired = self.retired.lock().unwrap_or_else(|p| p.into_inner());
        next.version = self.current.load().version + 1;
        let version = next.version;
        let old = self.current.swap(Arc::new(next));
        retired.push(old);
        reclaim_locked(&mut retired);
        version
    }

    /// Frees retired snapshots that no reader holds; returns how many are
    /// still waiting for readers. Call from the control plane now and then.
    pub fn reclaim(&self) -> usize {
        let mut retired = self.retired.lock().unwrap_or_else(|p| p.into_inner());
        reclaim_locked(&mut retired);
        retired.len()
    }
}

fn reclaim_locked(retired: &mut Vec<Arc<RouteSnapshot>>) {
    // A reader's guard, once the pointer has been swapped, holds a real
    // reference (arc-swap pays its debts on swap), so a count of one means
    // only this list holds the snapshot.
    retired.retain(|s| Arc::strong_count(s) > 1);
}
