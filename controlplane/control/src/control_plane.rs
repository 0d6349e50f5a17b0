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
use crate::participant::{apply_patch, check_id, to_participant};
use crate::sources::{Change, ChangeLog, ChangeLogError, ChangeRecord};
use crate::types::{
    ImportOutcome, ParticipantPatch, ParticipantSpec, ParticipantView, RoutePage, RouteRow,
};
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
        })
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
        };
        let mut participants = Vec::with_capacity(specs.len());
        for spec in specs {
            participants.push(to_participant(&spec, false)?);
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
                self.add_participant_with(spec.clone(), log)?;
            }
            ChangeRecord::ParticipantUpdated { spec, revision } => {
                let mut state = self.lock();
                let i = find(&state, &spec.id)? as usize;
                let mut participants = self.current_participants();
                participants[i] = to_participant(spec, participants[i].signed_off)?;
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
            .map(|i| view(&state, &snapshot, i))
            .collect()
    }

    pub fn participant(&self, id: &str) -> Result<ParticipantView, ControlError> {
        let state = self.lock();
        let i = find(&state, id)?;
        Ok(view(&state, &self.published.load(), i as usize))
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
        self.add_participant_with(spec, &*self.log)
    }

    fn add_participant_with(
        &self,
        spec: ParticipantSpec,
        log: &dyn ChangeLog,
    ) -> Result<u64, ControlError> {
        let mut state = self.lock();
        check_id(&spec.id)?;
        if state.index.contains_key(&spec.id) {
            return Err(ControlError::Conflict(format!(
                "participant {:?} exists; change it with `clearctl participants update`",
                spec.id
            )));
        }
        let mut participants = self.current_participants();
        participants.push(to_participant(&spec, false)?);
        let version = self.commit(
            log,
            participants,
            None,
            &Change::ParticipantAdded { spec: &spec },
        )?;
        let idx = state.specs.len() as u32;
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
        participants[i] = to_participant(&next, participants[i].signed_off)?;
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

fn view(state: &State, snapshot: &RouteSnapshot, i: usize) -> ParticipantView {
    ParticipantView {
        index: i as u32,
        revision: state.revisions[i],
        spec: state.specs[i].clone(),
        signed_off: snapshot
            .participant(ParticipantIdx(i as u32))
            .is_some_and(|p| p.signed_off),
        routes: state.route_counts[i],
    }
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
