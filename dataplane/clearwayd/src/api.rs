//! The operator API in the daemon: the control crate's HTTP/JSON API and
//! /metrics, fed from the running switch (counters, ports, lcores), the
//! journal and the ledger, on a thread of its own (never an lcore).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use control::sources::{
    Change, ChangeLog, ChangeLogError, JournalFigures, JournalSource, LatencyHistogram, MoneyError,
    MoneyState, StatusSource,
};
use control::types::{
    Account, CutoffOutcome, LcoreStatus, LimitChange, LimitKind, NetPosition, PortStatus,
    ReserveChange, SettlementFile, SettlementFiles, WindowDetail, WindowState, WindowSummary,
};
use journal::money::MoneyRecord;
use journal::{Journal, Producer, Release};
use ledger::{AccountKey, ClearingDesk};
use rte::Port;
use switch::counters::{CounterSnapshot, Event, LcoreCounters};

pub use clearwayd::config::ApiSection;

/// Counters, ports and lcores of the running switch.
pub struct DaemonStatus {
    pub counters: Vec<Arc<LcoreCounters>>,
    pub ports: Vec<(String, Port)>,
    pub lcores: Vec<u32>,
    pub started: Instant,
}

impl StatusSource for DaemonStatus {
    fn counters(&self) -> CounterSnapshot {
        LcoreCounters::sum(self.counters.iter().map(|c| c.as_ref()))
    }

    fn latency(&self) -> Option<LatencyHistogram> {
        Some(LatencyHistogram::from_counters(&self.counters()))
    }

    fn ports(&self) -> Vec<PortStatus> {
        self.ports
            .iter()
            .map(|(name, port)| {
                let s = port.stats().unwrap_or_default();
                let link = port.link().ok();
                PortStatus {
                    name: name.clone(),
                    port_id: port.id(),
                    link_up: link.is_some_and(|l| l.up),
                    speed_mbps: link.map_or(0, |l| l.speed_mbps),
                    rx_packets: s.rx_packets,
                    tx_packets: s.tx_packets,
                    rx_bytes: s.rx_bytes,
                    tx_bytes: s.tx_bytes,
                    rx_missed: s.rx_missed,
                    rx_errors: s.rx_errors,
                    tx_errors: s.tx_errors,
                    rx_nombuf: s.rx_no_mbuf,
                    xstats: port.xstats().unwrap_or_default().into_iter().collect(),
                }
            })
            .collect()
    }

    fn lcores(&self) -> Vec<LcoreStatus> {
        self.lcores
            .iter()
            .zip(&self.counters)
            .map(|(lcore, c)| {
                let s = c.snapshot();
                LcoreStatus {
                    lcore: *lcore,
                    busy_polls: s.event(Event::BusyPolls),
                    idle_polls: s.event(Event::IdlePolls),
                }
            })
            .collect()
    }

    fn uptime(&self) -> Option<Duration> {
        Some(self.started.elapsed())
    }
}

/// Journal figures for /metrics and `clearctl status`.
pub struct JournalFiguresSource(pub Option<Arc<Journal>>);

impl JournalSource for JournalFiguresSource {
    fn figures(&self) -> JournalFigures {
        let Some(j) = &self.0 else {
            return JournalFigures::default();
        };
        let s = j.stats();
        JournalFigures {
            lag_records: j.queued_records(),
            records: s.records,
            bytes: s.bytes,
            syncs: s.syncs,
            sync_seconds: s.sync_nanos as f64 / 1e9,
            failed: j.failure().is_some(),
            failure: j.failure().map(|f| f.to_string()),
        }
    }
}

/// Participant and route changes journaled before they are published.
pub struct JournalChangeLog {
    producer: Mutex<Producer>,
}

impl JournalChangeLog {
    pub fn new(producer: Producer) -> JournalChangeLog {
        JournalChangeLog {
            producer: Mutex::new(producer),
        }
    }
}

impl ChangeLog for JournalChangeLog {
    fn record(&self, change: &Change<'_>) -> Result<(), ChangeLogError> {
        let bytes = change.encode()?;
        let mut producer = self.producer.lock().unwrap_or_else(|p| p.into_inner());
        let seq = producer
            .append(0, &MoneyRecord::ParticipantChange(&bytes))
            .map_err(|e| ChangeLogError::Journal(e.to_string()))?;
        // The change is applied only once it is durable (a few fsyncs).
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match producer.release(seq) {
                Release::Now => return Ok(()),
                Release::Decline => {
                    return Err(ChangeLogError::Journal(
                        "the journal failed before the change was durable".into(),
                    ))
                }
                Release::Wait if Instant::now() > deadline => {
                    return Err(ChangeLogError::Journal("not durable within 10 s".into()))
                }
                Release::Wait => std::thread::sleep(Duration::from_millis(1)),
            }
        }
    }
}

/// Without a journal, changes apply at once and do not survive a restart.
pub struct UnjournaledChanges;

impl ChangeLog for UnjournaledChanges {
    fn record(&self, _change: &Change<'_>) -> Result<(), ChangeLogError> {
        Ok(())
    }
}

/// The ledger behind `clearctl accounts|windows|cutoff|settlement`.
pub struct LedgerMoney {
    pub desk: Arc<Mutex<ClearingDesk>>,
    pub ids: Vec<String>,
    pub settlement_dir: PathBuf,
    pub next_reference: AtomicU64,
}

fn to_i64(v: i128) -> i64 {
    v.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

fn limit(v: u64) -> Option<i64> {
    (v != ledger::UNLIMITED).then(|| v.min(i64::MAX as u64) as i64)
}

impl LedgerMoney {
    fn index(&self, participant: &str) -> Result<u32, MoneyError> {
        self.ids
            .iter()
            .position(|id| id == participant)
            .map(|i| i as u32)
            .ok_or_else(|| MoneyError::NotFound {
                what: format!("participant {participant:?}"),
                list: "participants list",
            })
    }

    fn name(&self, p: u32) -> String {
        self.ids
            .get(p as usize)
            .cloned()
            .unwrap_or_else(|| format!("#{p}"))
    }

    fn desk(&self) -> std::sync::MutexGuard<'_, ClearingDesk> {
        self.desk.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn account_of(&self, desk: &ClearingDesk, key: AccountKey) -> Option<Account> {
        let a = desk.ledger().account(key)?;
        Some(Account {
            participant: self.name(key.participant),
            currency: key.currency,
            reserve_balance: to_i64(a.reserve_balance),
            net_debit_cap: a.net_debit_cap.min(i64::MAX as u64) as i64,
            net_position: to_i64(a.net_position),
            holds: to_i64(a.holds),
            available: to_i64(a.available()),
            per_transaction_limit: limit(a.per_transaction_limit),
            daily_limit: limit(a.daily_limit),
        })
    }

    /// The participant's account in `currency`, or its only one.
    fn key(
        &self,
        desk: &ClearingDesk,
        participant: &str,
        currency: Option<u16>,
    ) -> Result<AccountKey, MoneyError> {
        let p = self.index(participant)?;
        if let Some(c) = currency {
            return Ok(AccountKey::new(p, c));
        }
        let mine: Vec<AccountKey> = desk
            .ledger()
            .accounts()
            .map(|(k, _)| *k)
            .filter(|k| k.participant == p)
            .collect();
        match mine.as_slice() {
            [one] => Ok(*one),
            [] => Err(MoneyError::Invalid {
                field: "currency".into(),
                message: format!("{participant} has no account yet: give --currency to open one"),
            }),
            _ => Err(MoneyError::Invalid {
                field: "currency".into(),
                message: format!(
                    "{participant} has accounts in several currencies: give --currency"
                ),
            }),
        }
    }

    fn refused(e: ledger::DeskError) -> MoneyError {
        match e {
            ledger::DeskError::Command(c) => MoneyError::Conflict(c.to_string()),
            other => MoneyError::Unavailable(other.to_string()),
        }
    }

    fn summary(&self, desk: &ClearingDesk, epoch: u32) -> WindowSummary {
        let w = desk.ledger().window(epoch);
        let state = match w {
            _ if epoch == desk.ledger().open_epoch() => WindowState::Open,
            Some(w) if w.settlement_started() => WindowState::Settled,
            _ => WindowState::Closing,
        };
        WindowSummary {
            number: u64::from(epoch),
            state,
            opened_at_ms: 0,
            closed_at_ms: w.and_then(|w| w.closed_at_ms),
            transactions: w.map_or(0, |w| w.entries.len() as u64),
        }
    }
}

impl MoneyState for LedgerMoney {
    fn accounts(&self) -> Result<Vec<Account>, MoneyError> {
        let desk = self.desk();
        Ok(desk
            .ledger()
            .accounts()
            .filter_map(|(k, _)| self.account_of(&desk, *k))
            .collect())
    }

    fn account(&self, participant: &str) -> Result<Vec<Account>, MoneyError> {
        let p = self.index(participant)?;
        let desk = self.desk();
        Ok(desk
            .ledger()
            .accounts()
            .filter(|(k, _)| k.participant == p)
            .filter_map(|(k, _)| self.account_of(&desk, *k))
            .collect())
    }

    fn deposit(&self, participant: &str, change: &ReserveChange) -> Result<Account, MoneyError> {
        let mut desk = self.desk();
        let key = match change.currency {
            Some(c) => AccountKey::new(self.index(participant)?, c),
            None => self.key(&desk, participant, None)?,
        };
        let reference = self.next_reference.fetch_add(1, Ordering::Relaxed);
        desk.deposit(
            key.participant,
            key.currency,
            change.amount.max(0) as u64,
            reference,
        )
        .map_err(Self::refused)?;
        self.account_of(&desk, key).ok_or_else(|| {
            MoneyError::Unavailable("deposit journaled; the account appears once applied".into())
        })
    }

    fn withdraw(&self, participant: &str, change: &ReserveChange) -> Result<Account, MoneyError> {
        let mut desk = self.desk();
        let key = self.key(&desk, participant, change.currency)?;
        let reference = self.next_reference.fetch_add(1, Ordering::Relaxed);
        desk.withdraw(
            key.participant,
            key.currency,
            change.amount.max(0) as u64,
            reference,
        )
        .map_err(Self::refused)?;
        self.account_of(&desk, key)
            .ok_or_else(|| MoneyError::Unavailable("no such account".into()))
    }

    fn set_limit(&self, participant: &str, change: &LimitChange) -> Result<Account, MoneyError> {
        let mut desk = self.desk();
        let key = self.key(&desk, participant, change.currency)?;
        let kind = match change.kind {
            LimitKind::NetDebitCap => journal::money::LimitKind::NetDebitCap,
            LimitKind::PerTransaction => journal::money::LimitKind::PerTransaction,
            LimitKind::Daily => journal::money::LimitKind::Daily,
        };
        desk.set_limit(
            key.participant,
            key.currency,
            kind,
            change.amount.max(0) as u64,
            &change.reason,
        )
        .map_err(Self::refused)?;
        self.account_of(&desk, key)
            .ok_or_else(|| MoneyError::Unavailable("no such account".into()))
    }

    fn windows(&self) -> Result<Vec<WindowSummary>, MoneyError> {
        let desk = self.desk();
        let mut epochs: Vec<u32> = desk.ledger().windows().map(|(e, _)| *e).collect();
        if !epochs.contains(&desk.ledger().open_epoch()) {
            epochs.push(desk.ledger().open_epoch());
        }
        Ok(epochs.into_iter().map(|e| self.summary(&desk, e)).collect())
    }

    fn window(&self, number: u64) -> Result<WindowDetail, MoneyError> {
        let desk = self.desk();
        let epoch = u32::try_from(number)
            .ok()
            .filter(|e| *e <= desk.ledger().open_epoch())
            .ok_or(MoneyError::NotFound {
                what: format!("window {number}"),
                list: "windows list",
            })?;
        let entries = desk
            .ledger()
            .window(epoch)
            .map(|w| w.entries.clone())
            .unwrap_or_default();
        let result = ledger::net(epoch, &entries);
        Ok(WindowDetail {
            window: self.summary(&desk, epoch),
            positions: result
                .rows
                .iter()
                .map(|r| NetPosition {
                    participant: self.name(r.participant),
                    currency: r.currency,
                    debit: to_i64(r.debit as i128),
                    credit: to_i64(r.credit as i128),
                    net: to_i64(r.net()),
                    count: r.count,
                })
                .collect(),
        })
    }

    fn current_window(&self) -> Option<WindowSummary> {
        let desk = self.desk();
        Some(self.summary(&desk, desk.ledger().open_epoch()))
    }

    fn cutoff(&self) -> Result<CutoffOutcome, MoneyError> {
        let started = Instant::now();
        let (closed, opened) = self
            .desk()
            .cutoff_now(crate::money::now_ms())
            .map_err(Self::refused)?;
        Ok(CutoffOutcome {
            closed: u64::from(closed),
            opened: u64::from(opened),
            took_ms: started.elapsed().as_millis() as u64,
        })
    }

    fn settlement_files(&self, window: u64) -> Result<SettlementFiles, MoneyError> {
        let files = u32::try_from(window)
            .map(|w| crate::money::settlement_files(&self.settlement_dir, w))
            .unwrap_or_default();
        if files.is_empty() {
            return Err(MoneyError::NotFound {
                what: format!("settlement files of window {window} (is it settled?)"),
                list: "windows list",
            });
        }
        Ok(SettlementFiles {
            window,
            files: files
                .iter()
                .filter_map(|f| {
                    Some(SettlementFile {
                        name: f.file_name()?.to_string_lossy().into_owned(),
                        contents: std::fs::read_to_string(f).ok()?,
                    })
                })
                .collect(),
        })
    }

    fn last_cutoff_seconds(&self) -> Option<f64> {
        None
    }
}

/// Money commands when the daemon runs without a journal.
pub struct NoMoney;

impl NoMoney {
    fn off<T>() -> Result<T, MoneyError> {
        Err(MoneyError::Unavailable(
            "the money state is off: add [journal] and [clearing] to clearway.toml".into(),
        ))
    }
}

impl MoneyState for NoMoney {
    fn accounts(&self) -> Result<Vec<Account>, MoneyError> {
        Self::off()
    }
    fn account(&self, _: &str) -> Result<Vec<Account>, MoneyError> {
        Self::off()
    }
    fn deposit(&self, _: &str, _: &ReserveChange) -> Result<Account, MoneyError> {
        Self::off()
    }
    fn withdraw(&self, _: &str, _: &ReserveChange) -> Result<Account, MoneyError> {
        Self::off()
    }
    fn set_limit(&self, _: &str, _: &LimitChange) -> Result<Account, MoneyError> {
        Self::off()
    }
    fn windows(&self) -> Result<Vec<WindowSummary>, MoneyError> {
        Self::off()
    }
    fn window(&self, _: u64) -> Result<WindowDetail, MoneyError> {
        Self::off()
    }
    fn current_window(&self) -> Option<WindowSummary> {
        None
    }
    fn cutoff(&self) -> Result<CutoffOutcome, MoneyError> {
        Self::off()
    }
    fn settlement_files(&self, _: u64) -> Result<SettlementFiles, MoneyError> {
        Self::off()
    }
    fn last_cutoff_seconds(&self) -> Option<f64> {
        None
    }
}

/// Serves the API on a thread with its own tokio runtime until `stop`.
pub fn spawn(
    section: &ApiSection,
    sources: control::api::Sources,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<std::thread::JoinHandle<()>> {
    let mut config = control::api::ApiConfig::unix(section.socket.clone());
    if let Some(addr) = section.tcp {
        let token_file = section.token_file.clone().ok_or_else(|| {
            anyhow::anyhow!("[api] tcp needs token_file (a file holding the bearer token)")
        })?;
        config.tcp = Some(control::api::TcpConfig { addr, token_file });
    }
    if let Some(dir) = section.socket.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // Bind now, so a bad socket or token is a start-up error, not a log line.
    let server = runtime.block_on(control::api::serve(config, sources))?;
    Ok(std::thread::Builder::new()
        .name("api".into())
        .spawn(move || {
            runtime.block_on(async move {
                while !stop.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                server.shutdown().await;
            });
        })?)
}
