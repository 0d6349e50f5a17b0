//! Semantic checks of a parsed clearway.toml: every problem at once, each
//! with the path of the key it is about (the caller turns paths into line
//! numbers). The rules themselves live with their owners — nic-config for
//! `[dataplane]`, the control plane for participants and routes, the ledger
//! for cutoff schedules — this module only asks them, item by item, so that
//! each refusal can be pinned to the entry that caused it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use control::sources::{Change, ChangeLog, ChangeLogError};
use control::types::{ParticipantSpec, Role};
use control::{ControlError, ControlPlane};
use nic_config::layout::LayoutError;
use nic_config::plan::PlanError;
use switch::bin_table::{BinTableBuilder, BinTableError, MAX_PREFIX_LEN, MIN_PREFIX_LEN};
use switch::ParticipantIdx;

use super::locate::KeyPath;
use super::Config;

/// One problem: what is wrong, at which key, and optionally the other key
/// it clashes with (a duplicate's first occurrence).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub at: KeyPath,
    pub message: String,
    pub first: Option<KeyPath>,
}

fn issue(at: KeyPath, message: impl Into<String>) -> Issue {
    Issue {
        at,
        message: message.into(),
        first: None,
    }
}

fn root() -> KeyPath {
    KeyPath::root()
}

/// Checking changes nothing, so nothing is journaled.
struct CheckOnly;

impl ChangeLog for CheckOnly {
    fn record(&self, _change: &Change<'_>) -> Result<(), ChangeLogError> {
        Ok(())
    }
}

/// Every problem of `cfg`, in document order of the checks.
pub fn check(cfg: &Config) -> Vec<Issue> {
    let mut issues = Vec::new();
    if let Err(errors) = cfg.dataplane.validate() {
        issues.extend(errors.iter().map(|e| layout_issue(cfg, e)));
    }
    let names: HashSet<&str> = cfg
        .dataplane
        .ports
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    match (&cfg.switch, &cfg.forward) {
        (Some(_), Some(_)) => issues.push(issue(
            root().key("forward"),
            "give either [switch] or [forward], not both",
        )),
        (None, None) => issues.push(issue(
            root(),
            "nothing to run: add a [switch] table (or [forward] pairs)",
        )),
        (Some(sw), None) => {
            if !names.contains(sw.port.as_str()) {
                issues.push(issue(
                    root().key("switch").key("port"),
                    format!(
                        "[switch] port = {:?} is not in [[dataplane.ports]] (have: {})",
                        sw.port,
                        sorted(&names)
                    ),
                ));
            }
            check_participants_and_routes(cfg, &mut issues);
            check_money(cfg, &mut issues);
        }
        (None, Some(_)) => {}
    }
    check_forward(cfg, &names, &mut issues);
    if let Some(api) = &cfg.api {
        if api.tcp.is_some() && api.token_file.is_none() {
            issues.push(issue(
                root().key("api").key("tcp"),
                "[api] tcp needs token_file (a file holding the bearer token)",
            ));
        }
    }
    if cfg.daemon.stats_interval_ms == 0 {
        issues.push(issue(
            root().key("daemon").key("stats_interval_ms"),
            "[daemon] stats_interval_ms must be at least 1",
        ));
    }
    issues
}

/// The path a plan error (host-dependent: lcores, queues, memory) is about.
pub fn plan_issue(cfg: &Config, e: &PlanError) -> Issue {
    let dp = root().key("dataplane");
    let eal = dp.key("eal");
    let at = match e {
        PlanError::Layout(errors) => match errors.first() {
            Some(first) => return issue(layout_issue(cfg, first).at, e.to_string()),
            None => dp,
        },
        PlanError::MainLcoreUnavailable { .. } => eal.key("main_lcore"),
        PlanError::WorkerLcoreUnavailable { lcore, .. } => {
            let workers = eal.key("worker_lcores");
            match cfg
                .dataplane
                .eal
                .worker_lcores
                .iter()
                .position(|w| w == lcore)
            {
                Some(i) => workers.index(i),
                None => workers,
            }
        }
        PlanError::NoCpus | PlanError::NoWorkerCpu { .. } | PlanError::IdleWorkers { .. } => {
            eal.key("worker_lcores")
        }
        PlanError::TooFewTxQueues { port, .. } => port_path(cfg, port).key("tx_queues"),
        PlanError::MempoolTooSmall { .. } => dp.key("mempool").key("mbufs"),
        PlanError::CacheTooLargeForPool { .. } => dp.key("mempool").key("cache_size"),
        PlanError::MemoryTooSmall { .. } => eal.key("memory_mb"),
    };
    issue(at, e.to_string())
}

fn port_path(cfg: &Config, name: &str) -> KeyPath {
    let ports = root().key("dataplane").key("ports");
    match cfg.dataplane.ports.iter().position(|p| p.name == name) {
        Some(i) => ports.index(i),
        None => ports,
    }
}

fn layout_issue(cfg: &Config, e: &LayoutError) -> Issue {
    let dp = root().key("dataplane");
    let ports = dp.key("ports");
    let eal = dp.key("eal");
    let mempool = dp.key("mempool");
    let at = match e {
        LayoutError::NoPorts => dp,
        LayoutError::EmptyName { index } => ports.index(*index).key("name"),
        LayoutError::DuplicateName { second, first, .. } => {
            return Issue {
                at: ports.index(*second).key("name"),
                message: e.to_string(),
                first: Some(ports.index(*first).key("name")),
            }
        }
        LayoutError::DuplicateDevice { second, .. } => port_path(cfg, second).key("device"),
        LayoutError::ShortPciAddress { port, .. } | LayoutError::BadDevice { port, .. } => {
            port_path(cfg, port).key("device")
        }
        LayoutError::ZeroQueues { port, field }
        | LayoutError::BadDescriptors { port, field, .. } => port_path(cfg, port).key(field),
        LayoutError::MtuTooLarge { port, .. } | LayoutError::MtuTooSmall { port, .. } => {
            port_path(cfg, port).key("mtu")
        }
        LayoutError::NoPciWithPciPort { .. } => eal.key("no_pci"),
        LayoutError::DuplicateWorker { .. } | LayoutError::WorkerIsMain { .. } => {
            eal.key("worker_lcores")
        }
        LayoutError::ZeroMemory => eal.key("memory_mb"),
        LayoutError::BadFilePrefix { .. } => eal.key("file_prefix"),
        LayoutError::CacheTooLarge { .. } => mempool.key("cache_size"),
        LayoutError::DataRoomTooSmall { .. } => mempool.key("data_room"),
        LayoutError::ZeroMbufs => mempool.key("mbufs"),
        // A rule nic-config adds later is still reported, at [dataplane].
        #[allow(unreachable_patterns)]
        _ => dp,
    };
    issue(at, e.to_string())
}

/// Keys of `[[participants]]` an error's `field` may name.
const PARTICIPANT_KEYS: &[&str] = &[
    "id",
    "roles",
    "institution_ids",
    "sources",
    "next_hop",
    "next_hop_mac",
    "timeout_ms",
    "suspended",
    "rate_limit",
    "mac",
];

/// Keys inside a participant's tables (`mac.key_file`, `rate_limit.burst`).
const PARTICIPANT_SUBKEYS: &[&str] = &["algorithm", "key_file", "key", "per_second", "burst"];

/// The path under a `[[participants]]` entry that an error's `field`
/// names: `sources`, or `mac.key_file`; `None` when it names no key.
fn participant_key(entry: &KeyPath, field: &str) -> Option<KeyPath> {
    let (top, sub) = match field.split_once('.') {
        Some((top, sub)) => (top, Some(sub)),
        None => (field, None),
    };
    let top = PARTICIPANT_KEYS.iter().copied().find(|k| *k == top)?;
    let path = entry.key(top);
    Some(
        match sub.and_then(|s| PARTICIPANT_SUBKEYS.iter().copied().find(|k| *k == s)) {
            Some(sub) => path.key(sub),
            None => path,
        },
    )
}

/// Participants and routes as the control plane will build the lcores'
/// first snapshot. The whole set is tried first (the common, valid case
/// costs one build); only when it is refused are participants added one by
/// one to find every entry at fault, and routes checked against them.
fn check_participants_and_routes(cfg: &Config, issues: &mut Vec<Issue>) {
    let log: Arc<dyn ChangeLog> = Arc::new(CheckOnly);
    let whole = ControlPlane::new(cfg.participants.clone(), cfg.routes.clone(), log.clone());
    let Err(whole_error) = whole else { return };
    let before = issues.len();

    let parts = root().key("participants");
    let mut valid: HashMap<&str, &ParticipantSpec> = HashMap::new();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut refused: HashSet<&str> = HashSet::new();
    let plane = ControlPlane::new(Vec::new(), Vec::new(), log);
    for (i, spec) in cfg.participants.iter().enumerate() {
        let entry = parts.index(i);
        if let Some(&first) = seen.get(spec.id.as_str()) {
            issues.push(Issue {
                at: entry.key("id"),
                message: format!(
                    "participant id {:?} is used twice: ids must be unique",
                    spec.id
                ),
                first: Some(parts.index(first).key("id")),
            });
            continue;
        }
        seen.insert(&spec.id, i);
        let Ok(plane) = &plane else { break };
        match plane.add_participant(spec.clone()) {
            Ok(_) => {
                valid.insert(&spec.id, spec);
            }
            Err(e) => {
                refused.insert(&spec.id);
                let (at, message) = match &e {
                    ControlError::Invalid { field, message } => {
                        match participant_key(&entry, field) {
                            Some(at) => (at, format!("{field}: {message}")),
                            None => (entry, message.clone()),
                        }
                    }
                    other => {
                        let text = other.to_string();
                        let at = if text.contains(" source ") {
                            entry.key("sources")
                        } else if text.contains("institution id") {
                            entry.key("institution_ids")
                        } else {
                            entry
                        };
                        (at, text)
                    }
                };
                issues.push(issue(
                    at,
                    format!("[[participants]] {:?}: {message}", spec.id),
                ));
            }
        }
    }

    let routes = root().key("routes");
    let mut prefixes: BTreeMap<&str, (usize, &str)> = BTreeMap::new();
    for (i, row) in cfg.routes.iter().enumerate() {
        let entry = routes.index(i);
        if let Some(&(first, to)) = prefixes.get(row.prefix.as_str()) {
            if to != row.participant {
                issues.push(Issue {
                    at: entry.key("prefix"),
                    message: format!(
                        "prefix {:?} routes to {:?} here but to {to:?} in another entry: keep one",
                        row.prefix, row.participant
                    ),
                    first: Some(routes.index(first).key("prefix")),
                });
            }
            continue;
        }
        prefixes.insert(&row.prefix, (i, &row.participant));
        if refused.contains(row.participant.as_str()) {
            continue; // its participant's own error is reported already
        }
        let Some(spec) = valid.get(row.participant.as_str()) else {
            issues.push(issue(
                entry.key("participant"),
                format!(
                    "[[routes]] prefix {:?}: participant {:?} is not in [[participants]]",
                    row.prefix, row.participant
                ),
            ));
            continue;
        };
        if !spec.roles.contains(&Role::Issuer) {
            issues.push(issue(
                entry.key("participant"),
                format!(
                    "[[routes]] prefix {:?}: participant {:?} is not an issuer; only issuers receive routed requests",
                    row.prefix, row.participant
                ),
            ));
        }
        // The BIN table's own rule for a prefix, without building a table
        // (a build walks a million buckets; one per route would be slow).
        if let Err(e) =
            BinTableBuilder::with_capacity(1).insert(row.prefix.as_bytes(), ParticipantIdx(0))
        {
            let why = match e {
                BinTableError::Length { len, .. } => format!("has {len} digits"),
                BinTableError::NonDigit { byte, offset, .. } => {
                    format!("has {:?} at offset {offset}", char::from(byte))
                }
                other => other.to_string(),
            };
            issues.push(issue(
                entry.key("prefix"),
                format!(
                    "[[routes]] prefix {:?} {why}: BIN prefixes are {MIN_PREFIX_LEN}-{MAX_PREFIX_LEN} digits 0-9",
                    row.prefix
                ),
            ));
        }
    }

    if issues.len() == before {
        // Refused as a whole only (e.g. a limit on the whole table).
        issues.push(issue(parts, whole_error.to_string()));
    }
}

fn check_money(cfg: &Config, issues: &mut Vec<Issue>) {
    match (&cfg.journal, &cfg.clearing) {
        (Some(_), None) => issues.push(issue(
            root().key("journal"),
            "[journal] and [clearing] go together: add [clearing] (money state on) or drop [journal]",
        )),
        (None, Some(_)) => issues.push(issue(
            root().key("clearing"),
            "[journal] and [clearing] go together: add [journal] (money state on) or drop [clearing]",
        )),
        _ => {}
    }
    if let Some(j) = &cfg.journal {
        if !matches!(j.durability.as_str(), "sync" | "async") {
            issues.push(issue(
                root().key("journal").key("durability"),
                format!(
                    "[journal] durability = {:?}: use \"sync\" or \"async\"",
                    j.durability
                ),
            ));
        }
    }
    if let Some(c) = &cfg.clearing {
        if let Err(e) = c.cutoff.parse::<ledger::CutoffSchedule>() {
            issues.push(issue(
                root().key("clearing").key("cutoff"),
                format!("[clearing] cutoff = {:?}: {e}", c.cutoff),
            ));
        }
    }
    let ids: HashSet<&str> = cfg.participants.iter().map(|p| p.id.as_str()).collect();
    for (i, a) in cfg.accounts.iter().enumerate() {
        if !ids.contains(a.participant.as_str()) {
            issues.push(issue(
                root().key("accounts").index(i).key("participant"),
                format!(
                    "[[accounts]] participant {:?} is not in [[participants]]",
                    a.participant
                ),
            ));
        }
    }
}

fn check_forward(cfg: &Config, names: &HashSet<&str>, issues: &mut Vec<Issue>) {
    let pairs = cfg
        .forward
        .as_ref()
        .map(|f| f.pairs.as_slice())
        .unwrap_or(&[]);
    let at = root().key("forward").key("pairs");
    let mut used: HashMap<&str, usize> = HashMap::new();
    for (i, [a, b]) in pairs.iter().enumerate() {
        let pair = at.index(i);
        for p in [a, b] {
            if !names.contains(p.as_str()) {
                issues.push(issue(
                    pair.clone(),
                    format!(
                        "[forward] pairs names port {p:?}, which is not in [[dataplane.ports]] (have: {})",
                        sorted(names)
                    ),
                ));
            }
        }
        if a == b {
            issues.push(issue(
                pair.clone(),
                format!("[forward] pair [{a:?}, {b:?}] pairs a port with itself"),
            ));
            continue;
        }
        for p in [a, b] {
            if let Some(&first) = used.get(p.as_str()) {
                issues.push(Issue {
                    at: pair.clone(),
                    message: format!(
                        "[forward] port {p:?} is in more than one pair: each port forwards to one peer"
                    ),
                    first: Some(at.index(first)),
                });
            } else {
                used.insert(p, i);
            }
        }
    }
}

fn sorted(names: &HashSet<&str>) -> String {
    let mut v: Vec<&str> = names.iter().copied().collect();
    v.sort_unstable();
    v.join(", ")
}
