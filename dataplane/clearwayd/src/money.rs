//! The money state in the daemon: the journal (recovered at start), the
//! ledger rebuilt from it, the per-lcore escrow and money hooks, the
//! duplicate-filter entries recovered for the lcores, and the clearing
//! desk's loop on a control-plane thread.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use journal::{Durability, Journal, JournalConfig};
use ledger::hooks::LcoreMoney;
use ledger::{
    AccountKey, ClearingDesk, CoarseClock, CutoffSchedule, DeskConfig, EpochBoard, EscrowBoard,
    Ledger, Refiller,
};
use switch::dedup::{DedupKey, Outcome};

pub use clearwayd::config::{AccountSection, ClearingSection, JournalSection};

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// What the daemon keeps of the money state while it runs.
pub struct MoneyState {
    pub journal: Arc<Journal>,
    pub desk: Arc<Mutex<ClearingDesk>>,
    pub hooks: Vec<LcoreMoney>,
    pub settlement_dir: PathBuf,
    /// For participant and route changes (taken by the control plane).
    pub control_producer: Option<journal::Producer>,
    pub journal_dir: PathBuf,
    /// How the newest money-moving requests were answered before this
    /// start, oldest first: every lcore's duplicate filter is seeded with
    /// them, so a retransmission is answered again, not forwarded again
    /// (taken by the switch's launch).
    pub duplicates: Vec<(DedupKey, Outcome)>,
}

/// Recovers the journal and the ledger, opens configured accounts on first
/// start, and builds one set of hooks per lcore. `dedup_window` is the
/// lcores' duplicate window (`[switch] dedup_capacity`): that many of the
/// newest answered requests are kept for seeding their filters.
pub fn start(
    journal_cfg: &JournalSection,
    clearing: &ClearingSection,
    accounts: &[AccountSection],
    participant_index: impl Fn(&str) -> Option<u32>,
    lcores: usize,
    dedup_window: usize,
) -> anyhow::Result<MoneyState> {
    let dir = &journal_cfg.dir;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the journal directory {}", dir.display()))?;
    std::fs::create_dir_all(&clearing.settlement_dir).with_context(|| {
        format!(
            "creating the settlement directory {}",
            clearing.settlement_dir.display()
        )
    })?;
    let (ledger, report) = ledger::recover_keeping(dir, dedup_window)
        .with_context(|| format!("recovering the journal in {}", dir.display()))?;
    let duplicates = ledger::hooks::duplicate_seed(ledger.recent_answers());
    println!(
        "clearwayd: journal {}: recovered up to LSN {} ({} records{}); open window {}; {} answered requests for the duplicate filters",
        dir.display(),
        report.next_lsn.saturating_sub(1),
        report.records_replayed,
        match &report.torn_tail {
            Some(t) => format!(
                "; torn tail truncated: {} bytes at {} offset {}",
                t.bytes_dropped,
                t.segment.display(),
                t.offset
            ),
            None => String::new(),
        },
        ledger.open_epoch(),
        duplicates.len()
    );
    // One producer per lcore, one for the clearing desk, one for the
    // control plane's participant and route changes.
    let mut config = JournalConfig::new(dir.clone(), (lcores + 2) as u16);
    config.durability = match journal_cfg.durability.as_str() {
        "sync" => Durability::Sync,
        "async" => Durability::Async,
        other => anyhow::bail!("[journal] durability = {other:?}: use \"sync\" or \"async\""),
    };
    let (journal, mut producers) = start_journal(config, &report)?;
    let control_producer = producers
        .pop()
        .context("journal gave no producer for the control plane")?;
    let desk_producer = producers
        .pop()
        .context("journal gave no producer for the desk")?;

    let board =
        Arc::new(EscrowBoard::new(lcores, 4096).map_err(|e| anyhow::anyhow!("escrow: {e}"))?);
    let refiller = Refiller::new(board.clone());
    let epochs = Arc::new(EpochBoard::new(lcores, ledger.open_epoch()));
    let clock = Arc::new(CoarseClock::new(now_ms()));
    let schedule: CutoffSchedule = clearing
        .cutoff
        .parse()
        .map_err(|e| anyhow::anyhow!("[clearing] {e}"))?;
    let missing: Vec<(u32, &AccountSection)> = accounts
        .iter()
        .map(|a| {
            participant_index(&a.participant)
                .map(|p| (p, a))
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "[[accounts]] participant {:?} is not in [[participants]]",
                        a.participant
                    )
                })
        })
        .collect::<anyhow::Result<Vec<_>>>()?
        .into_iter()
        .filter(|(p, a)| ledger_lacks(&ledger, *p, a.currency))
        .collect();
    let mut desk = ClearingDesk::new(
        ledger,
        refiller,
        epochs.clone(),
        clock.clone(),
        desk_producer,
        dir.clone(),
        DeskConfig {
            schedule,
            in_flight_grace_ms: clearing.in_flight_grace_ms,
            expiry_batch: 1024,
            settlement_dir: clearing.settlement_dir.clone(),
        },
        now_ms(),
    );
    // First start: open the configured accounts (journaled like any deposit).
    for (p, a) in missing {
        desk.deposit(p, a.currency, a.reserve, 1)
            .context("opening a reserve account")?;
        if a.net_debit_cap > 0 {
            desk.set_limit(
                p,
                a.currency,
                journal::money::LimitKind::NetDebitCap,
                a.net_debit_cap,
                "initial configuration",
            )
            .context("setting a net debit cap")?;
        }
    }
    let hooks = producers
        .into_iter()
        .enumerate()
        .map(|(i, producer)| {
            let escrow = board.lcore(i).map_err(|e| anyhow::anyhow!("escrow: {e}"))?;
            Ok(LcoreMoney::new(escrow, clock.clone(), clearing.hold_ttl_ms)
                .with_journal(producer)
                .with_epochs(epochs.clone()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(MoneyState {
        journal: log_journal_failure(Arc::new(journal)),
        desk: Arc::new(Mutex::new(desk)),
        hooks,
        settlement_dir: clearing.settlement_dir.clone(),
        control_producer: Some(control_producer),
        journal_dir: dir.clone(),
        duplicates,
    })
}

fn ledger_lacks(ledger: &Ledger, participant: u32, currency: u16) -> bool {
    ledger
        .account(AccountKey::new(participant, currency))
        .is_none()
}

/// Runs the desk every 5 ms until `stop`: applies durable records, refills
/// escrow, expires holds, cuts off on schedule, settles closed windows.
pub fn run_desk(
    desk: Arc<Mutex<ClearingDesk>>,
    journal_durable: impl Fn() -> u64 + Send + 'static,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("clearing-desk".into())
        .spawn(move || {
            let mut last_error = String::new();
            while !stop.load(Ordering::Relaxed) {
                let result = desk
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .tick(now_ms(), journal_durable());
                match result {
                    Ok(report) => {
                        if let Some((closed, opened)) = report.cutoff {
                            println!(
                                "clearwayd: cutoff: window {closed} closed, window {opened} open"
                            );
                        }
                        for w in report.settled {
                            println!("clearwayd: window {w} settled");
                        }
                    }
                    Err(e) => {
                        let text = e.to_string();
                        if text != last_error {
                            eprintln!("clearwayd: clearing desk: {text}");
                            last_error = text;
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
        .expect("spawning the clearing desk thread")
}

/// Cuts off now, waits until the closed window is netted and its files are
/// written (bounded), and prints its summary: the demo's last act.
pub fn final_cutoff(
    state: &MoneyState,
    journal_durable: impl Fn() -> u64,
    wait: Duration,
) -> Option<u32> {
    let closed = {
        let mut desk = state.desk.lock().unwrap_or_else(|p| p.into_inner());
        desk.cutoff_now(now_ms()).ok()?.0
    };
    let deadline = std::time::Instant::now() + wait;
    while std::time::Instant::now() < deadline {
        let done = {
            let mut desk = state.desk.lock().unwrap_or_else(|p| p.into_inner());
            let _ = desk.tick(now_ms(), journal_durable());
            desk.window_settled(closed)
        };
        if done {
            return Some(closed);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// The settlement files of a window in `dir`.
pub fn settlement_files(dir: &Path, epoch: u32) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(&format!("window-{epoch:010}-")))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// TEST-ONLY fault injection: the environment variable that makes the
/// journal's storage fail on purpose, so the reliability tests can watch a
/// real clearwayd meet an `fdatasync` error (a full disk is made for real,
/// with a small tmpfs). Never set it in production: clearwayd prints a
/// warning at start when it is set.
///
/// `fsync-fails-at-sync:N`: the N-th `fdatasync` of this run fails with EIO.
/// `disk-full-after-bytes:N`: writes fail with ENOSPC after N more bytes.
pub const TEST_JOURNAL_FAULT_ENV: &str = "CLEARWAYD_TEST_JOURNAL_FAULT";

/// Starts the journal writer on the real file system, or on the
/// fault-injecting storage when [`TEST_JOURNAL_FAULT_ENV`] asks for it.
fn start_journal(
    config: JournalConfig,
    report: &journal::RecoveryReport,
) -> anyhow::Result<(Journal, Vec<journal::Producer>)> {
    let Ok(spec) = std::env::var(TEST_JOURNAL_FAULT_ENV) else {
        return Journal::start(config, report).context("starting the journal writer");
    };
    let plan = journal::storage::fault::FaultPlan::new();
    let (kind, n) = spec
        .split_once(':')
        .and_then(|(k, n)| Some((k, n.trim().parse::<u64>().ok()?)))
        .with_context(|| {
            format!("{TEST_JOURNAL_FAULT_ENV}={spec:?}: use fsync-fails-at-sync:N or disk-full-after-bytes:N")
        })?;
    match kind {
        "fsync-fails-at-sync" => plan.fail_sync_number(n),
        "disk-full-after-bytes" => plan.disk_full_after(n),
        other => anyhow::bail!(
            "{TEST_JOURNAL_FAULT_ENV}: unknown fault {other:?}: use fsync-fails-at-sync or disk-full-after-bytes"
        ),
    }
    eprintln!("clearwayd: WARNING: TEST FAULT INJECTION ACTIVE ({TEST_JOURNAL_FAULT_ENV}={spec}): the journal will fail on purpose");
    let storage = journal::storage::fault::FaultyStorage::new(plan);
    Journal::start_with_storage(config, report, storage).context("starting the journal writer")
}

/// Says once, in the log, why the journal stopped (disk full, fsync
/// error) and what to do: from then on money-moving requests get 39=96,
/// and an operator reading the log must not have to guess why.
fn log_journal_failure(journal: Arc<Journal>) -> Arc<Journal> {
    let weak = Arc::downgrade(&journal);
    let _ = std::thread::Builder::new()
        .name("journal-health".into())
        .spawn(move || {
            while let Some(j) = weak.upgrade() {
                if let Some(f) = j.failure() {
                    eprintln!("clearwayd: JOURNAL FAILED: {f}");
                    return;
                }
                drop(j);
                std::thread::sleep(Duration::from_millis(20));
            }
        });
    journal
}
