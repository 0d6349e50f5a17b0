//! `ControlPlane`: the authoritative participants and BIN routes, changed
//! only through validate → journal → publish.
//!
//! Every change builds a complete new `RouteSnapshot` (so the switch's own
//! whole-table checks run), records the change in the [`ChangeLog`], and
//! only then swaps the snapshot in with `Published::publish`: lcores pick it
//! up on their next burst and are never paused. A change that fails any
//! step leaves both the running snapshot and this state untouched.
//!
//! Participant indices are positions in the snapshot, and lcores keep
//! per-participant state by position, so participants are append-only:
//! "removing" one is suspending it.
//!
//! Changes are serialised by one mutex (operator changes are rare; a
//! 1,000,000-row import holds it for about a second). Lcores never take it.

use crate::error::ControlError;
use crate::keys::{self, KeyClock, TscClock};
use crate::participant::{apply_patch, check_id, to_participant};
use crate::sources::{Change, ChangeLog, ChangeLogError, ChangeRecord};
use crate::types::{
    ImportOutcome, KeyRotated, KeyRotation, MacSpec, ParticipantPatch, ParticipantSpec,
    ParticipantView, RoutePage, RouteRow, DEFAULT_KEY_OVERLAP_MS,
};
use auth::KeyRing;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use switch::bin_table::{BinTable, BinTableBuilder, BinTableError, MAX_PREFIX_LEN, MIN_PREFIX_LEN};
use switch::routes::{Participant, Published, RouteError, RouteSnapshot};
use switch::ParticipantIdx;

/// Largest page of `routes list`.
pub const MAX_ROUTE_PAGE: usize = 10_000;

#[derive(Debug)]
struct State {
    specs: Vec<ParticipantSpec>,
    revisions: Vec<u64>,
    index: HashMap<String, u32>,
    /// Sorted by prefix, unique prefixes.
    routes: Vec<(Box<str>, u32)>,
    /// Per participant: how many prefixes route to it.
    route_counts: Vec<u64>,
    /// Participants whose key could not be loaded at start-up (they fail
    /// closed), with why; cleared by a successful rotation.
    key_problems: HashMap<u32, String>,
}

/// Owns participants and routes and publishes them to the switch.
pub struct ControlPlane {
    state: Mutex<State>,
    published: Arc<Published>,
    log: Arc<dyn ChangeLog>,
    routes_dir: Option<PathBuf>,
    /// Mirrors `state.routes.len()` for readers that must not wait for an
    /// import holding the lock (metrics, status).
    route_count: AtomicUsize,
    /// The lcores' clock, for key rotation deadlines.
    key_clock: Arc<dyn KeyClock>,
}

impl std::fmt::Debug for ControlPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlPlane")
            .field("routes_dir", &self.routes_dir)
            .finish_non_exhaustive()
    }
}

fn route_error(e: RouteError) -> ControlError {
    match e {
        RouteError::BadInstitutionId { .. } | RouteError::TooManyParticipants { .. } => {
            ControlError::Invalid {
                field: "participants".into(),
                message: e.to_string(),
            }
        }
        RouteError::BinTargetNotIssuer { ref id } => ControlError::Conflict(format!(
            "participant {id} has BIN routes, so it must stay an issuer; delete its routes first"
        )),
        _ => ControlError::Conflict(e.to_string()),
    }
}

fn check_prefix(prefix: &str) -> Result<(), String> {
    if !(MIN_PREFIX_LEN..=MAX_PREFIX_LEN).contains(&prefix.len())
        || !prefix.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(format!(
            "prefix {prefix:?} must be {MIN_PREFIX_LEN}-{MAX_PREFIX_LEN} digits"
        ));
    }
    Ok(())
}

impl ControlPlane {
    /// Builds the first snapshot from the configuration and publishes it
    /// as version 1. The lcores get [`ControlPlane::published`].
    pub fn new(
        specs: Vec<ParticipantSpec>,
        routes: Vec<RouteRow>,
        log: Arc<dyn ChangeLog>,
    ) -> Result<Self, ControlError> {
        let (state, snapshot) = Self::initial(specs, routes)?;
        Ok(Self {
            route_count: AtomicUsize::new(state.routes.len()),
            state: Mutex::new(state),
            published: Arc::new(Published::new(snapshot)),
            log,
            routes_dir: None,
            key_clock: Arc::new(TscClock::default()),
        })
    }

    /// Takes over an already running `Published` (the daemon built it
    /// first) and publishes this configuration into it.
    pub fn attach(
        published: Arc<Published>,
        specs: Vec<ParticipantSpec>,
        routes: Vec<RouteRow>,
        log: Arc<dyn ChangeLog>,
    ) -> Result<Self, ControlError> {
        let (state, snapshot) = Self::initial(specs, routes)?;
        published.publish(snapshot);
        Ok(Self {
            route_count: AtomicUsize::new(state.routes.len()),
            state: Mutex::new(state),
            published,
            log,
            routes_dir: None,
            key_clock: Arc::new(TscClock::default()),
        })
    }

    /// The clock the lcores pass to key rings (default: the TSC, its rate
    /// measured on first use; the daemon gives the EAL's exact rate with
    /// `TscClock::with_hz`). Tests with a fake lcore clock give theirs.
    pub fn with_key_clock(mut self, clock: Arc<dyn KeyClock>) -> Self {
        self.key_clock = clock;
        self
    }

    /// Imports write the whole table into `dir` as
    /// [`ControlPlane::routes_file`] (temp file, fsync, rename) before
    /// journaling it, so recovery finds the table a journal record names.
    /// Files are named by checksum and never overwritten or deleted here: a
    /// failed journal write leaves an unreferenced file, never a wrong one.
    /// Prune files older than the newest journal snapshot.
    pub fn with_routes_dir(mut self, dir: PathBuf) -> Self {
        self.routes_dir = Some(dir);
        self
    }

    /// Where an imported table with checksum `crc32c` is kept.
    pub fn routes_file(dir: &Path, crc32c: u32) -> PathBuf {
        dir.join(format!("routes-{crc32c:08x}.csv"))
    }

    fn initial(
        specs: Vec<ParticipantSpec>,
        rows: Vec<RouteRow>,
    ) -> Result<(State, RouteSnapshot), ControlError> {
        let mut state = State {
            specs: Vec::with_capacity(specs.len()),
            revisions: Vec::new(),
            index: HashMap::new(),
            routes: Vec::new(),
            route_counts: Vec::new(),
            key_problems: HashMap::new(),
        };
        let mut participants = Vec::with_capacity(specs.len());
        for spec in specs {
            let mut p = to_participant(&spec, false)?;
            // clearway.toml is the operator's own: a key that does not load
            // stops the start, with the file and the reason.
            if let Some(mac) = &spec.mac {
                p.mac = Some(Arc::new(KeyRing::new(keys::load_key(&spec.id, mac)?)));
            }
            participants.push(p);
            let spec = spec.without_key_material();
            if state
                .index
                .insert(spec.id.clone(), state.specs.len() as u32)
                .is_some()
            {
                return Err(ControlError::Conflict(format!(
                    "participant id {:?} appears twice",
                    spec.id
                )));
            }
            state.specs.push(spec);
            state.revisions.push(1);
            state.route_counts.push(0);
        }
        let mut routes = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            let idx = resolve_route(&state, &row.prefix, &row.participant).map_err(|message| {
                ControlError::Invalid {
                    field: format!("[[routes]] entry {}", i + 1),
                    message,
                }
            })?;
            routes.push((row.prefix.as_str().into(), idx, i + 1));
        }
        let routes = sort_unique(routes)?;
        let bins = build_bins(&routes)?;
        let snapshot = RouteSnapshot::new(participants, Arc::new(bins)).map_err(route_error)?;
        state.routes = routes;
        recount(&mut state);
        Ok((state, snapshot))
    }

    /// Re-applies a journaled change at start-up (after building from the
    /// config) without journaling it again. A `RoutesReplaced` record is
    /// reloaded from its file in the routes directory, checked by CRC32C.
    pub fn replay(&self, record: &ChangeRecord) -> Result<(), ControlError> {
        let log = &Replaying;
        match record {
            ChangeRecord::ParticipantAdded { spec } => {
                self.add_participant_with(spec.clone(), log, true)?;
            }
            ChangeRecord::ParticipantUpdated { spec, revision } => {
                let mut state = self.lock();
                let i = find(&state, &spec.id)? as usize;
                let mut participants = self.current_participants();
                let keys = participants[i].mac.take();
                participants[i] = to_participant(spec, participants[i].signed_off)?;
                participants[i].mac = keys;
                self.commit(
                    log,
                    participants,
                    None,
                    &Change::ParticipantUpdated {
                        spec,
                        revision: *revision,
                    },
                )?;
                state.specs[i] = spec.clone();
                state.revisions[i] = *revision;
            }
            ChangeRecord::ParticipantSuspended { id } => {
                self.set_suspended_with(id, true, log)?;
            }
            ChangeRecord::ParticipantResumed { id } => {
                self.set_suspended_with(id, false, log)?;
            }
            ChangeRecord::RouteAdded {
                prefix,
                participant,
            } => {
                let row = RouteRow {
                    prefix: prefix.clone(),
                    participant: participant.clone(),
                };
                self.add_route_with(&row, log)?;
            }
            ChangeRecord::RouteDeleted { prefix } => {
                self.delete_route_with(prefix, log)?;
            }
            ChangeRecord::RoutesReplaced { crc32c, .. } => {
                let Some(dir) = &self.routes_dir else {
                    return Err(ControlError::Conflict(
                        "the journal replaces the route table, but no routes directory is configured; configure the one the imports were written to".into(),
                    ));
                };
                let path = Self::routes_file(dir, *crc32c);
                let csv = std::fs::read(&path).map_err(|source| ControlError::StateFile {
                    path: path.display().to_string(),
                    source,
                })?;
                self.import_routes_with(&csv, log, Some(*crc32c))?;
            }
            ChangeRecord::ParticipantKeyRotated {
                id,
                mac,
                key_id,
                overlap_ms,
                at_ms,
            } => {
                let rotation = Rotation {
                    mac: mac.clone(),
                    overlap_ms: *overlap_ms,
                    at_ms: *at_ms,
                    journaled_key_id: Some(key_id),
                };
                self.rotate_key_with(id, &rotation, log)?;
            }
        }
        Ok(())
    }

    /// What the lcores read (`load()` once per burst).
    pub fn published(&self) -> Arc<Published> {
        Arc::clone(&self.published)
    }

    /// The running snapshot's version.
    pub fn version(&self) -> u64 {
        self.published.load().version()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-applied change
        // (state is only written after publish succeeded), so continue.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn participants(&self) -> Vec<ParticipantView> {
        let state = self.lock();
        let snapshot = self.published.load();
        (0..state.specs.len())
            .map(|i| view(&state, &snapshot, i, &*self.key_clock))
            .collect()
    }

    pub fn participant(&self, id: &str) -> Result<ParticipantView, ControlError> {
        let state = self.lock();
        let i = find(&state, id)?;
        Ok(view(
            &state,
            &self.published.load(),
            i as usize,
            &*self.key_clock,
        ))
    }

    /// Participants in the running snapshot (no lock: safe during an import).
    pub fn participant_count(&self) -> usize {
        self.published.load().participants().len()
    }

    /// Routes in the running table (no lock: safe during an import).
    pub fn route_count(&self) -> usize {
        self.route_count.load(Ordering::Relaxed)
    }

    /// Adds a participant at the next index.
    pub fn add_participant(&self, spec: ParticipantSpec) -> Result<u64, ControlError> {
        if spec.mac.as_ref().is_some_and(|m| m.key.is_some()) {
            return Err(ControlError::Invalid {
                field: "mac.key".into(),
                message: "the API takes no key material: write the key as hex to a file on the switch host (chmod 600) and give mac.key_file".into(),
            });
        }
        self.add_participant_with(spec, &*self.log, false)
    }

    /// Adds `spec`. Its key file must load, except on replay: a key file
    /// changed since the record was written leaves the participant keyed
    /// but without a usable key (fail closed) rather than stopping the start.
    fn add_participant_with(
        &self,
        spec: ParticipantSpec,
        log: &dyn ChangeLog,
        replaying: bool,
    ) -> Result<u64, ControlError> {
        let mut state = self.lock();
        check_id(&spec.id)?;
        if state.index.contains_key(&spec.id) {
            return Err(ControlError::Conflict(format!(
                "participant {:?} exists; change it with `clearctl participants update`",
                spec.id
            )));
        }
        let mut participant = to_participant(&spec, false)?;
        let mut key_problem = None;
        if let Some(mac) = &spec.mac {
            if let Some(path) = &mac.key_file {
                keys::check_key_file(path)?;
            }
            let ring = match keys::load_key(&spec.id, mac) {
                Ok(key) => KeyRing::new(key),
                Err(e) if replaying => {
                    key_problem = Some(e.to_string());
                    KeyRing::unavailable()
                }
                Err(e) => return Err(e),
            };
            participant.mac = Some(Arc::new(ring));
        }
        let spec = spec.without_key_material();
        let mut participants = self.current_participants();
        participants.push(participant);
        let version = self.commit(
            log,
            participants,
            None,
            &Change::ParticipantAdded { spec: &spec },
        )?;
        let idx = state.specs.len() as u32;
        if let Some(problem) = key_problem {
            state.key_problems.insert(idx, problem);
        }
        state.index.insert(spec.id.clone(), idx);
        state.specs.push(spec);
        state.revisions.push(1);
        state.route_counts.push(0);
        Ok(version)
    }

    /// Changes the fields `patch` names (not `suspended`: see
    /// [`ControlPlane::set_suspended`]).
    pub fn update_participant(
        &self,
        id: &str,
        patch: &ParticipantPatch,
    ) -> Result<u64, ControlError> {
        let mut state = self.lock();
        let i = find(&state, id)? as usize;
        if let Some(expected) = patch.if_revision {
            if expected != state.revisions[i] {
                return Err(ControlError::Conflict(format!(
                    "participant {id:?} is at revision {}, not {expected}: someone changed it; show it again and retry",
                    state.revisions[i]
                )));
            }
        }
        let next = apply_patch(&state.specs[i], patch);
        let mut participants = self.current_participants();
        // A patch never touches keys: they change only by rotation.
        let keys = participants[i].mac.take();
        participants[i] = to_participant(&next, participants[i].signed_off)?;
        participants[i].mac = keys;
        let revision = state.revisions[i] + 1;
        let version = self.commit(
            &*self.log,
            participants,
            None,
            &Change::ParticipantUpdated {
                spec: &next,
                revision,
            },
        )?;
        state.specs[i] = next;
        state.revisions[i] = revision;
        Ok(version)
    }

    /// Makes the key in `rotation.key_file` the participant's current key
    /// (sealing everything sent to it from the next burst on); the previous
    /// key keeps verifying its messages for the overlap. Journaled as the
    /// key file and key id, never the key. A participant without a key
    /// becomes keyed (give the algorithm).
    pub fn rotate_key(&self, id: &str, rotation: &KeyRotation) -> Result<KeyRotated, ControlError> {
        keys::check_key_file(&rotation.key_file)?;
        let overlap_ms = rotation.overlap_ms.unwrap_or(DEFAULT_KEY_OVERLAP_MS);
        if overlap_ms > keys::MAX_KEY_OVERLAP_MS {
            return Err(ControlError::Invalid {
                field: "overlap_ms".into(),
                message: format!(
                    "{overlap_ms} ms is over the longest overlap, a week ({} ms)",
                    keys::MAX_KEY_OVERLAP_MS
                ),
            });
        }
        let algorithm = {
            let state = self.lock();
            let i = find(&state, id)? as usize;
            rotation
                .algorithm
                .or(state.specs[i].mac.as_ref().map(|m| m.algorithm))
                .ok_or_else(|| ControlError::Invalid {
                    field: "algorithm".into(),
                    message: format!(
                        "participant {id} has no key yet: give the algorithm (hmac-sha256-64 or aes-cmac-64)"
                    ),
                })?
        };
        let rotation = Rotation {
            mac: MacSpec {
                algorithm,
                key_file: Some(rotation.key_file.clone()),
                key: None,
            },
            overlap_ms,
            at_ms: keys::unix_now_ms(),
            journaled_key_id: None,
        };
        let version = self.rotate_key_with(id, &rotation, &*self.log)?;
        let state = self.lock();
        let i = find(&state, id)? as usize;
        let snapshot = self.published.load();
        let mac = view(&state, &snapshot, i, &*self.key_clock)
            .mac
            .ok_or_else(|| ControlError::Conflict(format!("participant {id} lost its key")))?;
        Ok(KeyRotated { version, mac })
    }

    /// Live (`journaled_key_id` = None): the key must load and differ from
    /// the current one. Replay: the key file must still hold the journaled
    /// key, else the participant fails closed until rotated again; what is
    /// left of the overlap (by wall clock) is restored.
    fn rotate_key_with(
        &self,
        id: &str,
        rotation: &Rotation<'_>,
        log: &dyn ChangeLog,
    ) -> Result<u64, ControlError> {
        let mut state = self.lock();
        let i = find(&state, id)? as usize;
        let mut participants = self.current_participants();
        let loaded = keys::load_key(id, &rotation.mac);
        let key = match (loaded, rotation.journaled_key_id) {
            (Ok(key), None) => key,
            (Err(e), None) => return Err(e),
            (Ok(key), Some(journaled)) if key.id().to_string() == journaled => key,
            (Ok(key), Some(journaled)) => {
                return self.fail_closed(
                    &mut state,
                    participants,
                    i,
                    &rotation.mac,
                    format!(
                        "key file {} now holds key {}, but key {journaled} was rotated in; keep each key in its own file, and rotate a key in again",
                        rotation.mac.key_file.as_deref().unwrap_or("?"),
                        key.id()
                    ),
                    log,
                    rotation,
                );
            }
            (Err(e), Some(_)) => {
                return self.fail_closed(
                    &mut state,
                    participants,
                    i,
                    &rotation.mac,
                    e.to_string(),
                    log,
                    rotation,
                );
            }
        };
        let old = participants[i].mac.clone();
        if rotation.journaled_key_id.is_none()
            && old
                .as_ref()
                .and_then(|r| r.current())
                .is_some_and(|k| *k == key)
        {
            return Err(ControlError::Conflict(format!(
                "{} holds the key participant {id} already uses (id {}); write the new key to a new file",
                rotation.mac.key_file.as_deref().unwrap_or("the key file"),
                key.id()
            )));
        }
        let ends_at_ms = rotation.at_ms.saturating_add(rotation.overlap_ms);
        let left_ms = ends_at_ms.saturating_sub(keys::unix_now_ms());
        let key_id = key.id().to_string();
        let ring = match old {
            Some(old) if left_ms > 0 => {
                let until = self.key_clock.now().saturating_add(
                    self.key_clock
                        .ticks(std::time::Duration::from_millis(left_ms)),
                );
                old.rotate(key, until)
            }
            _ => KeyRing::new(key),
        };
        participants[i].mac = Some(Arc::new(ring));
        let version = self.commit(
            log,
            participants,
            None,
            &Change::ParticipantKeyRotated {
                id,
                mac: &rotation.mac,
                key_id: &key_id,
                overlap_ms: rotation.overlap_ms,
                at_ms: rotation.at_ms,
            },
        )?;
        state.specs[i].mac = Some(rotation.mac.clone());
        state.revisions[i] += 1;
        state.key_problems.remove(&(i as u32));
        Ok(version)
    }

    /// Replay found a rotation whose key cannot be had: the participant
    /// stays keyed with no usable key, so its messages are dropped and
    /// nothing is sent to it unsigned, until an operator rotates again.
    #[allow(clippy::too_many_arguments)]
    fn fail_closed(
        &self,
        state: &mut State,
        mut participants: Vec<Participant>,
        i: usize,
        mac: &MacSpec,
        problem: String,
        log: &dyn ChangeLog,
        rotation: &Rotation<'_>,
    ) -> Result<u64, ControlError> {
        participants[i].mac = Some(Arc::new(KeyRing::unavailable()));
        let version = self.commit(
            log,
            participants,
            None,
            &Change::ParticipantKeyRotated {
                id: &state.specs[i].id.clone(),
                mac,
                key_id: rotation.journaled_key_id.unwrap_or(""),
                overlap_ms: rotation.overlap_ms,
                at_ms: rotation.at_ms,
            },
        )?;
        state.specs[i].mac = Some(mac.clone());
        state.revisions[i] += 1;
        state.key_problems.insert(i as u32, problem);
        Ok(version)
    }

    /// Participants whose key could not be loaded at start-up: id and why.
    /// They fail closed; the daemon should say so at start.
    pub fn key_problems(&self) -> Vec<(String, String)> {
        let state = self.lock();
        let mut out: Vec<(String, String)> = state
            .key_problems
            .iter()
            .map(|(i, why)| (state.specs[*i as usize].id.clone(), why.clone()))
            .collect();
        out.sort();
        out
    }

    /// Suspends (its messages are dropped) or resumes a participant. Asking
    /// for the state it is already in changes nothing.
    pub fn set_suspended(&self, id: &str, suspended: bool) -> Result<u64, ControlError> {
        self.set_suspended_with(id, suspended, &*self.log)
    }

    fn set_suspended_with(
        &self,
        id: &str,
        suspended: bool,
        log: &dyn ChangeLog,
    ) -> Result<u64, ControlError> {
        let mut state = self.lock();
        let i = find(&state, id)? as usize;
        if state.specs[i].suspended == suspended {
            return Ok(self.version());
        }
        let mut participants = self.current_participants();
        participants[i].suspended = suspended;
        let change = if suspended {
            Change::ParticipantSuspended { id }
        } else {
            Change::ParticipantResumed { id }
        };
        let version = self.commit(log, participants, None, &change)?;
        state.specs[i].suspended = suspended;
        state.revisions[i] += 1;
        Ok(version)
    }

    /// Routes `prefix` to `participant`. The same route again changes
    /// nothing; the prefix routed elsewhere is a conflict.
    pub fn add_route(&self, row: &RouteRow) -> Result<u64, ControlError> {
        self.add_route_with(row, &*self.log)
    }

    fn add_route_with(&self, row: &RouteRow, log: &dyn ChangeLog) -> Result<u64, ControlError> {
        let mut state = self.lock();
        let idx = resolve_route(&state, &row.prefix, &row.participant).map_err(|message| {
            if state.index.contains_key(&row.participant) {
                ControlError::Invalid {
                    field: "route".into(),
                    message,
                }
            } else {
                ControlError::UnknownParticipant {
                    id: row.participant.clone(),
                }
            }
        })?;
        let pos = match state
            .routes
            .binary_search_by(|(p, _)| (**p).cmp(row.prefix.as_str()))
        {
            Ok(pos) if state.routes[pos].1 == idx => return Ok(self.version()),
            Ok(pos) => {
                return Err(ControlError::Conflict(format!(
                    "prefix {} already routes to {}; delete it first or import a new table",
                    row.prefix, state.specs[state.routes[pos].1 as usize].id
                )))
            }
            Err(pos) => pos,
        };
        let mut routes = state.routes.clone();
        routes.insert(pos, (row.prefix.as_str().into(), idx));
        let bins = build_bins(&routes)?;
        let version = self.commit(
            log,
            self.current_participants(),
            Some(bins),
            &Change::RouteAdded {
                prefix: &row.prefix,
                participant: &row.participant,
            },
        )?;
        state.routes = routes;
        state.route_counts[idx as usize] += 1;
        self.route_count
            .store(state.routes.len(), Ordering::Relaxed);
        Ok(version)
    }

    pub fn delete_route(&self, prefix: &str) -> Result<u64, ControlError> {
        self.delete_route_with(prefix, &*self.log)
    }

    fn delete_route_with(&self, prefix: &str, log: &dyn ChangeLog) -> Result<u64, ControlError> {
        let mut state = self.lock();
        let pos = state
            .routes
            .binary_search_by(|(p, _)| (**p).cmp(prefix))
            .map_err(|_| ControlError::UnknownRoute {
                prefix: prefix.to_string(),
            })?;
        let mut routes = state.routes.clone();
        let (_, idx) = routes.remove(pos);
        let bins = build_bins(&routes)?;
        let version = self.commit(
            log,
            self.current_participants(),
            Some(bins),
            &Change::RouteDeleted { prefix },
        )?;
        state.routes = routes;
        state.route_counts[idx as usize] -= 1;
        self.route_count
            .store(state.routes.len(), Ordering::Relaxed);
        Ok(version)
    }

    /// A page of routes in prefix order, after `after`, optionally only
    /// those of one participant.
    pub fn routes(
        &self,
        after: Option<&str>,
        limit: usize,
        participant: Option<&str>,
    ) -> Result<RoutePage, ControlError> {
        let state = self.lock();
        let only = participant.map(|id| find(&state, id)).transpose()?;
        let start = match after {
            Some(a) => state.routes.partition_point(|(p, _)| &**p <= a),
            None => 0,
        };
        let limit = limit.clamp(1, MAX_ROUTE_PAGE);
        let mut out = Vec::with_capacity(limit.min(1024));
        let mut next = None;
        for (prefix, idx) in state.routes[start..]
            .iter()
            .filter(|(_, idx)| only.is_none_or(|o| o == *idx))
        {
            if out.len() == limit {
                next = out.last().map(|r: &RouteRow| r.prefix.clone());
                break;
            }
            out.push(RouteRow {
                prefix: prefix.to_string(),
                participant: state.specs[*idx as usize].id.clone(),
            });
        }
        Ok(RoutePage {
            total: match only {
                Some(o) => state.route_counts[o as usize],
                None => state.routes.len() as u64,
            },
            routes: out,
            next,
        })
    }

    /// Replaces the whole BIN table with `csv` (`prefix,participant` lines,
    /// an optional header, blank lines ignored) in one publish: lcores see
    /// either the old table or the new one.
    pub fn import_routes(&self, csv: &[u8]) -> Result<ImportOutcome, ControlError> {
        self.import_routes_with(csv, &*self.log, None)
    }

    fn import_routes_with(
        &self,
        csv: &[u8],
        log: &dyn ChangeLog,
        expect_crc: Option<u32>,
    ) -> Result<ImportOutcome, ControlError> {
        let started = Instant::now();
        let mut state = self.lock();
        let routes = parse_csv(&state, csv)?;
        if routes.is_empty() {
            // An import replaces the whole table: an empty file would stop
            // all BIN routing, which is never what an operator meant.
            return Err(ControlError::Invalid {
                field: "routes".into(),
                message: "the file holds no routes; an import replaces the whole table, so check you picked the right file".into(),
            });
        }
        let routes = sort_unique(routes)?;
        let bins = build_bins(&routes)?;
        let crc = table_crc(&state, &routes);
        if let Some(expected) = expect_crc {
            if expected != crc {
                return Err(ControlError::Conflict(format!(
                    "the route table file has crc32c {crc:08x} but the journal recorded {expected:08x}; restore the routes file that matches the journal"
                )));
            }
        } else {
            self.write_routes_file(&state, &routes, crc)?;
        }
        let version = self.commit(
            log,
            self.current_participants(),
            Some(bins),
            &Change::RoutesReplaced {
                rows: routes.len() as u64,
                crc32c: crc,
            },
        )?;
        state.routes = routes;
        recount(&mut state);
        self.route_count
            .store(state.routes.len(), Ordering::Relaxed);
        Ok(ImportOutcome {
            rows: state.routes.len() as u64,
            crc32c: crc,
            version,
            took_ms: started.elapsed().as_millis() as u64,
        })
    }

    fn current_participants(&self) -> Vec<Participant> {
        self.published.load().participants().to_vec()
    }

    /// Builds the snapshot (all checks), journals, publishes.
    fn commit(
        &self,
        log: &dyn ChangeLog,
        participants: Vec<Participant>,
        bins: Option<BinTable>,
        change: &Change<'_>,
    ) -> Result<u64, ControlError> {
        let bins = match bins {
            Some(b) => Arc::new(b),
            None => self.published.load().bins_shared(),
        };
        let snapshot = RouteSnapshot::new(participants, bins).map_err(route_error)?;
        log.record(change)?;
        Ok(self.published.publish(snapshot))
    }

    fn write_routes_file(
        &self,
        state: &State,
        routes: &[(Box<str>, u32)],
        crc: u32,
    ) -> Result<(), ControlError> {
        let Some(dir) = &self.routes_dir else {
            return Ok(());
        };
        let path = &Self::routes_file(dir, crc);
        let err = |source| ControlError::StateFile {
            path: path.display().to_string(),
            source,
        };
        let tmp = path.with_extension("csv.tmp");
        let file = std::fs::File::create(&tmp).map_err(err)?;
        let mut w = std::io::BufWriter::new(file);
        for (prefix, idx) in routes {
            writeln!(w, "{prefix},{}", state.specs[*idx as usize].id).map_err(err)?;
        }
        let file = w.into_inner().map_err(|e| err(e.into_error()))?;
        file.sync_all().map_err(err)?;
        std::fs::rename(&tmp, path).map_err(err)?;
        // The rename is durable only once the directory is synced.
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(err)
    }
}

/// The change log of a replay: the change is already in the journal.
struct Replaying;

impl ChangeLog for Replaying {
    fn record(&self, _change: &Change<'_>) -> Result<(), ChangeLogError> {
        Ok(())
    }
}

fn find(state: &State, id: &str) -> Result<u32, ControlError> {
    state
        .index
        .get(id)
        .copied()
        .ok_or_else(|| ControlError::UnknownParticipant { id: id.to_string() })
}

fn view(
    state: &State,
    snapshot: &RouteSnapshot,
    i: usize,
    clock: &dyn KeyClock,
) -> ParticipantView {
    let running = snapshot.participant(ParticipantIdx(i as u32));
    // State specs carry no inline key; strip again so no future path can
    // put one in an API answer.
    let spec = state.specs[i].without_key_material();
    ParticipantView {
        index: i as u32,
        revision: state.revisions[i],
        signed_off: running.is_some_and(|p| p.signed_off),
        routes: state.route_counts[i],
        mac: spec.mac.as_ref().map(|m| {
            keys::view(
                m,
                running.and_then(|p| p.mac.as_deref()),
                clock,
                state.key_problems.get(&(i as u32)).map(String::as_str),
            )
        }),
        spec,
    }
}

/// A rotation to apply: live (from the API) or replayed (from the journal,
/// with the key id it recorded).
struct Rotation<'a> {
    mac: MacSpec,
    overlap_ms: u64,
    at_ms: u64,
    journaled_key_id: Option<&'a str>,
}

fn recount(state: &mut State) {
    state.route_counts.iter_mut().for_each(|c| *c = 0);
    for (_, idx) in &state.routes {
        state.route_counts[*idx as usize] += 1;
    }
}

/// The participant a route may point at: it exists and is an issuer.
fn resolve_route(state: &State, prefix: &str, participant: &str) -> Result<u32, String> {
    check_prefix(prefix)?;
    let idx = *state.index.get(participant).ok_or_else(|| {
        format!("participant {participant:?} does not exist; add it first with `clearctl participants add`")
    })?;
    if !state.specs[idx as usize]
        .roles
        .contains(&crate::types::Role::Issuer)
    {
        return Err(format!(
            "participant {participant:?} is not an issuer; only issuers receive routed requests"
        ));
    }
    Ok(idx)
}

fn parse_csv(state: &State, csv: &[u8]) -> Result<Vec<(Box<str>, u32, usize)>, ControlError> {
    let text = std::str::from_utf8(csv).map_err(|e| ControlError::ImportLine {
        line: 1 + csv[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count(),
        message: "not UTF-8 text".into(),
    })?;
    // Rows are ~20 bytes; reserving up front keeps a 1 M import to one
    // allocation for the row vector.
    let mut rows = Vec::with_capacity(csv.len() / 16);
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        let line = line.trim();
        if line.is_empty() || (line_no == 1 && line.eq_ignore_ascii_case("prefix,participant")) {
            continue;
        }
        let bad = |message: String| ControlError::ImportLine {
            line: line_no,
            message,
        };
        let (prefix, participant) = line
            .split_once(',')
            .ok_or_else(|| bad(format!("{line:?} is not `prefix,participant`")))?;
        let (prefix, participant) = (prefix.trim(), participant.trim());
        if participant.contains(',') {
            return Err(bad(format!("{line:?} has more than two columns")));
        }
        let idx = resolve_route(state, prefix, participant).map_err(bad)?;
        rows.push((prefix.into(), idx, line_no));
    }
    Ok(rows)
}

/// Sorts by prefix; drops exact repeats; refuses a prefix with two targets.
fn sort_unique(
    mut rows: Vec<(Box<str>, u32, usize)>,
) -> Result<Vec<(Box<str>, u32)>, ControlError> {
    rows.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.2.cmp(&b.2)));
    let mut out: Vec<(Box<str>, u32)> = Vec::with_capacity(rows.len());
    let mut prev_line = 0;
    for (prefix, idx, line) in rows {
        if let Some(last) = out.last() {
            if last.0 == prefix {
                if last.1 != idx {
                    return Err(ControlError::ImportLine {
                        line,
                        message: format!(
                            "prefix {prefix} is routed differently on line {prev_line}; keep one row"
                        ),
                    });
                }
                continue;
            }
        }
        prev_line = line;
        out.push((prefix, idx));
    }
    Ok(out)
}

fn build_bins(routes: &[(Box<str>, u32)]) -> Result<BinTable, ControlError> {
    let mut builder = BinTableBuilder::with_capacity(routes.len());
    let invalid = |e: BinTableError| ControlError::Invalid {
        field: "routes".into(),
        message: e.to_string(),
    };
    for (prefix, idx) in routes {
        builder
            .insert(prefix.as_bytes(), ParticipantIdx(*idx))
            .map_err(invalid)?;
    }
    builder.build().map_err(invalid)
}

/// CRC32C of the canonical table: sorted `prefix,participant\n` lines
/// (the routes file's exact bytes).
fn table_crc(state: &State, routes: &[(Box<str>, u32)]) -> u32 {
    let mut crc = 0;
    let mut line = String::with_capacity(MAX_PREFIX_LEN + 80);
    for (prefix, idx) in routes {
        line.clear();
        line.push_str(prefix);
        line.push(',');
        line.push_str(&state.specs[*idx as usize].id);
        line.push('\n');
        crc = crc32c::crc32c_append(crc, line.as_bytes());
    }
    crc
}
