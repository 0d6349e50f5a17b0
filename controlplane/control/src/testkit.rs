//! In-memory stand-ins for the daemon's sources, for tests and demos: a
//! change log that keeps records in a vector, a money state with simple
//! reserve arithmetic and cutoffs, a status source whose counters a test
//! moves by hand, and a journal with settable figures.
//!
//! These are fakes, not the ledger: netting here is "each account's net
//! position becomes its settlement line", enough to drive every API path.

use crate::api::{serve, ApiConfig, ServeError, Sources};
use crate::control_plane::ControlPlane;
use crate::sources::{
    Change, ChangeLog, ChangeLogError, JournalFigures, JournalSource, LatencyHistogram, MoneyError,
    MoneyState, StatusSource,
};
use crate::types::{
    Account, CutoffOutcome, LcoreStatus, LimitChange, LimitKind, NetPosition, ParticipantSpec,
    PortStatus, ReserveChange, Role, RouteRow, SettlementFile, SettlementFiles, WindowDetail,
    WindowState, WindowSummary,
};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use switch::counters::{CounterSnapshot, CounterWriter, LcoreCounters};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Keeps every change's encoded record; can be told to refuse.
#[derive(Debug, Default)]
pub struct MemoryChangeLog {
    records: Mutex<Vec<String>>,
    failing: AtomicBool,
}

impl MemoryChangeLog {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
    /// The records so far, as JSON text.
    pub fn records(&self) -> Vec<String> {
        lock(&self.records).clone()
    }
    /// From now on every `record` fails as a full disk would.
    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

impl ChangeLog for MemoryChangeLog {
    fn record(&self, change: &Change<'_>) -> Result<(), ChangeLogError> {
        let bytes = change.encode()?;
        if self.failing.load(Ordering::SeqCst) {
            return Err(ChangeLogError::Journal("no space left on device".into()));
        }
        lock(&self.records).push(String::from_utf8_lossy(&bytes).into_owned());
        Ok(())
    }
}

/// Switch counters moved by the test, plus settable ports and lcores.
#[derive(Debug)]
pub struct FakeStatus {
    writer: Mutex<CounterWriter>,
    counters: Arc<LcoreCounters>,
    ports: Mutex<Vec<PortStatus>>,
    lcores: Mutex<Vec<LcoreStatus>>,
    latency: Mutex<Option<LatencyHistogram>>,
}

impl Default for FakeStatus {
    fn default() -> Self {
        let (writer, counters) = LcoreCounters::new_pair();
        Self {
            writer: Mutex::new(writer),
            counters,
            ports: Mutex::new(vec![PortStatus {
                name: "demo0".into(),
                link_up: true,
                speed_mbps: 10_000,
                ..Default::default()
            }]),
            lcores: Mutex::new(vec![LcoreStatus {
                lcore: 1,
                ..Default::default()
            }]),
            latency: Mutex::new(None),
        }
    }
}

impl FakeStatus {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
    /// Moves counters as an lcore would.
    pub fn traffic(&self, f: impl FnOnce(&CounterWriter)) {
        f(&lock(&self.writer));
    }
    pub fn set_ports(&self, ports: Vec<PortStatus>) {
        *lock(&self.ports) = ports;
    }
    pub fn set_lcores(&self, lcores: Vec<LcoreStatus>) {
        *lock(&self.lcores) = lcores;
    }
    pub fn set_latency(&self, h: Option<LatencyHistogram>) {
        *lock(&self.latency) = h;
    }
}

impl StatusSource for FakeStatus {
    fn counters(&self) -> CounterSnapshot {
        self.counters.snapshot()
    }
    fn ports(&self) -> Vec<PortStatus> {
        lock(&self.ports).clone()
    }
    fn lcores(&self) -> Vec<LcoreStatus> {
        lock(&self.lcores).clone()
    }
    fn latency(&self) -> Option<LatencyHistogram> {
        lock(&self.latency).clone()
    }
}

/// Journal figures set by the test.
#[derive(Debug, Default)]
pub struct FakeJournal(Mutex<JournalFigures>);

impl FakeJournal {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
    pub fn set(&self, f: JournalFigures) {
        *lock(&self.0) = f;
    }
}

impl JournalSource for FakeJournal {
    fn figures(&self) -> JournalFigures {
        lock(&self.0).clone()
    }
}

#[derive(Debug)]
struct Window {
    summary: WindowSummary,
    positions: Vec<NetPosition>,
}

#[derive(Debug)]
struct Money {
    accounts: Vec<Account>,
    windows: Vec<Window>,
    journal: Vec<String>,
    last_cutoff: Option<f64>,
}

/// Reserve accounts and windows in memory.
#[derive(Debug)]
pub struct FakeMoney(Mutex<Money>);

/// Fixed clock for the fake's windows, so files are reproducible.
const EPOCH_MS: u64 = 1_800_000_000_000;

impl FakeMoney {
    /// One account per `(participant, currency, reserve, net debit cap)`;
    /// window 1 is open.
    pub fn new(accounts: &[(&str, u16, i64, i64)]) -> Arc<Self> {
        let accounts = accounts
            .iter()
            .map(|&(p, currency, reserve, cap)| {
                let mut a = Account {
                    participant: p.to_string(),
                    currency,
                    reserve_balance: reserve,
                    net_debit_cap: cap,
                    net_position: 0,
                    holds: 0,
                    available: 0,
                    per_transaction_limit: None,
                    daily_limit: None,
                };
                recompute(&mut a);
                a
            })
            .collect();
        Arc::new(Self(Mutex::new(Money {
            accounts,
            windows: vec![Window {
                summary: open_window(1),
                positions: Vec::new(),
            }],
            journal: Vec::new(),
            last_cutoff: None,
        })))
    }

    /// An approved transfer of `amount` from `payer`'s to `payee`'s account
    /// in the open window, as the switch would record it.
    pub fn transfer(&self, payer: &str, payee: &str, currency: u16, amount: i64) {
        let mut m = lock(&self.0);
        for a in m.accounts.iter_mut().filter(|a| a.currency == currency) {
            if a.participant == payer {
                a.net_position += amount;
            } else if a.participant == payee {
                a.net_position -= amount;
            }
            recompute(a);
        }
        if let Some(w) = m.windows.last_mut() {
            w.summary.transactions += 1;
        }
    }

    /// The journal lines of reserve and limit changes (with reasons).
    pub fn journal(&self) -> Vec<String> {
        lock(&self.0).journal.clone()
    }
}

fn open_window(number: u64) -> WindowSummary {
    WindowSummary {
        number,
        state: WindowState::Open,
        opened_at_ms: EPOCH_MS + number * 60_000,
        closed_at_ms: None,
        transactions: 0,
    }
}

/// As the ledger-backed state does: computed wide, shown clamped to i64
/// (a cap of i64::MAX is a valid "no cap", not an overflow).
fn recompute(a: &mut Account) {
    let wide = i128::from(a.reserve_balance) + i128::from(a.net_debit_cap)
        - i128::from(a.net_position)
        - i128::from(a.holds);
    a.available = wide.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
}

fn pick<'a>(
    accounts: &'a mut [Account],
    participant: &str,
    currency: Option<u16>,
) -> Result<&'a mut Account, MoneyError> {
    let mut matching = accounts
        .iter_mut()
        .filter(|a| a.participant == participant && currency.is_none_or(|c| c == a.currency));
    let first = matching.next().ok_or_else(|| MoneyError::NotFound {
        what: format!("account of {participant}"),
        list: "accounts list",
    })?;
    if currency.is_none() && matching.next().is_some() {
        return Err(MoneyError::Invalid {
            field: "currency".into(),
            message: format!("{participant} has several accounts; give --currency"),
        });
    }
    Ok(first)
}

impl MoneyState for FakeMoney {
    fn accounts(&self) -> Result<Vec<Account>, MoneyError> {
        Ok(lock(&self.0).accounts.clone())
    }

    fn account(&self, participant: &str) -> Result<Vec<Account>, MoneyError> {
        let found: Vec<Account> = lock(&self.0)
            .accounts
            .iter()
            .filter(|a| a.participant == participant)
            .cloned()
            .collect();
        if found.is_empty() {
            return Err(MoneyError::NotFound {
                what: format!("account of {participant}"),
                list: "accounts list",
            });
        }
        Ok(found)
    }

    fn deposit(&self, participant: &str, change: &ReserveChange) -> Result<Account, MoneyError> {
        let mut m = lock(&self.0);
        let a = pick(&mut m.accounts, participant, change.currency)?;
        a.reserve_balance = a
            .reserve_balance
            .checked_add(change.amount)
            .ok_or_else(|| MoneyError::Invalid {
                field: "amount".into(),
                message: format!(
                    "{} would take the reserve past the largest balance; deposit less",
                    change.amount
                ),
            })?;
        recompute(a);
        let out = a.clone();
        m.journal.push(format!(
            "deposit {participant} {} {}",
            change.amount, change.reason
        ));
        Ok(out)
    }

    fn withdraw(&self, participant: &str, change: &ReserveChange) -> Result<Account, MoneyError> {
        let mut m = lock(&self.0);
        let a = pick(&mut m.accounts, participant, change.currency)?;
        if change.amount > a.available {
            return Err(MoneyError::Conflict(format!(
                "withdrawing {} would leave {participant} below zero available ({}); settle or lower the amount",
                change.amount, a.available
            )));
        }
        a.reserve_balance -= change.amount;
        recompute(a);
        let out = a.clone();
        m.journal.push(format!(
            "withdraw {participant} {} {}",
            change.amount, change.reason
        ));
        Ok(out)
    }

    fn set_limit(&self, participant: &str, change: &LimitChange) -> Result<Account, MoneyError> {
        let mut m = lock(&self.0);
        let a = pick(&mut m.accounts, participant, change.currency)?;
        match change.kind {
            LimitKind::NetDebitCap => a.net_debit_cap = change.amount,
            LimitKind::PerTransaction => a.per_transaction_limit = Some(change.amount),
            LimitKind::Daily => a.daily_limit = Some(change.amount),
        }
        recompute(a);
        let out = a.clone();
        m.journal.push(format!(
            "limit {participant} {:?} {} {}",
            change.kind, change.amount, change.reason
        ));
        Ok(out)
    }

    fn windows(&self) -> Result<Vec<WindowSummary>, MoneyError> {
        Ok(lock(&self.0)
            .windows
            .iter()
            .rev()
            .map(|w| w.summary.clone())
            .collect())
    }

    fn window(&self, number: u64) -> Result<WindowDetail, MoneyError> {
        let m = lock(&self.0);
        let w = m
            .windows
            .iter()
            .find(|w| w.summary.number == number)
            .ok_or_else(|| MoneyError::NotFound {
                what: format!("window {number}"),
                list: "windows list",
            })?;
        Ok(WindowDetail {
            window: w.summary.clone(),
            positions: w.positions.clone(),
        })
    }

    fn current_window(&self) -> Option<WindowSummary> {
        lock(&self.0).windows.last().map(|w| w.summary.clone())
    }

    fn cutoff(&self) -> Result<CutoffOutcome, MoneyError> {
        let mut m = lock(&self.0);
        let Money {
            accounts, windows, ..
        } = &mut *m;
        let positions = accounts
            .iter_mut()
            .map(|a| {
                let p = NetPosition {
                    participant: a.participant.clone(),
                    currency: a.currency,
                    debit: a.net_position.max(0),
                    credit: (-a.net_position).max(0),
                    net: -a.net_position,
                    count: 0,
                };
                a.reserve_balance -= a.net_position;
                a.net_position = 0;
                recompute(a);
                p
            })
            .collect();
        let closed = windows.len() as u64;
        if let Some(w) = windows.last_mut() {
            w.summary.state = WindowState::Settled;
            w.summary.closed_at_ms = Some(EPOCH_MS + (closed + 1) * 60_000);
            w.positions = positions;
        }
        windows.push(Window {
            summary: open_window(closed + 1),
            positions: Vec::new(),
        });
        m.last_cutoff = Some(0.004);
        Ok(CutoffOutcome {
            closed,
            opened: closed + 1,
            took_ms: 4,
        })
    }

    fn settlement_files(&self, window: u64) -> Result<SettlementFiles, MoneyError> {
        let detail = self.window(window)?;
        if detail.window.state != WindowState::Settled {
            return Err(MoneyError::Conflict(format!(
                "window {window} is still open; run `clearctl cutoff` first"
            )));
        }
        let mut csv = String::from("participant,currency,debit,credit,net,count\n");
        for p in &detail.positions {
            csv.push_str(&format!(
                "{},{},{},{},{},{}\n",
                p.participant, p.currency, p.debit, p.credit, p.net, p.count
            ));
        }
        let json = serde_json::to_string_pretty(&detail.positions)
            .map_err(|e| MoneyError::Unavailable(e.to_string()))?;
        Ok(SettlementFiles {
            window,
            files: vec![
                SettlementFile {
                    name: format!("settlement-{window:06}.csv"),
                    contents: csv,
                },
                SettlementFile {
                    name: format!("settlement-{window:06}.json"),
                    contents: json + "\n",
                },
            ],
        })
    }

    fn last_cutoff_seconds(&self) -> Option<f64> {
        lock(&self.0).last_cutoff
    }
}

/// A control plane over the fakes: `bank-a` (acquirer, 978 account) and
/// `bank-b` (issuer for institution 77001 and BIN 476173, 978 account).
pub struct Fakes {
    pub control: Arc<ControlPlane>,
    pub log: Arc<MemoryChangeLog>,
    pub money: Arc<FakeMoney>,
    pub status: Arc<FakeStatus>,
    pub journal: Arc<FakeJournal>,
}

/// The demo participants (as in clearwayd's embedded default config).
pub fn demo_participants() -> Vec<ParticipantSpec> {
    vec![
        ParticipantSpec {
            id: "bank-a".into(),
            roles: vec![Role::Acquirer],
            institution_ids: vec![],
            sources: vec!["10.99.0.10:40000".into()],
            next_hop: None,
            next_hop_mac: Some("02:00:00:00:00:10".into()),
            timeout_ms: None,
            suspended: false,
            rate_limit: None,
            mac: None,
        },
        ParticipantSpec {
            id: "bank-b".into(),
            roles: vec![Role::Issuer],
            institution_ids: vec!["77001".into()],
            sources: vec!["10.99.0.20:9100".into()],
            next_hop: None,
            next_hop_mac: Some("02:00:00:00:00:20".into()),
            timeout_ms: None,
            suspended: false,
            rate_limit: None,
            mac: None,
        },
    ]
}

impl Fakes {
    pub fn demo() -> Self {
        let log = MemoryChangeLog::new();
        let routes = vec![RouteRow {
            prefix: "476173".into(),
            participant: "bank-b".into(),
        }];
        let control = ControlPlane::new(demo_participants(), routes, log.clone())
            .unwrap_or_else(|e| panic!("the demo configuration is valid: {e}"));
        Self {
            control: Arc::new(control),
            log,
            money: FakeMoney::new(&[
                ("bank-a", 978, 1_000_000, 500_000),
                ("bank-b", 978, 2_000_000, 0),
            ]),
            status: FakeStatus::new(),
            journal: FakeJournal::new(),
        }
    }

    pub fn sources(&self) -> Sources {
        Sources {
            control: Arc::clone(&self.control),
            money: self.money.clone(),
            status: self.status.clone(),
            journal: self.journal.clone(),
        }
    }
}

/// The API served on its own thread and runtime, as clearwayd runs it;
/// stopped when dropped.
pub struct TestServer {
    pub socket: PathBuf,
    pub tcp: Option<SocketAddr>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    pub fn start(config: ApiConfig, sources: Sources) -> Result<Self, ServeError> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    let _ = ready_tx.send(Err(ServeError::Socket {
                        path: config.socket.display().to_string(),
                        source: e,
                    }));
                    return;
                }
            };
            runtime.block_on(async move {
                match serve(config, sources).await {
                    Ok(server) => {
                        let _ = ready_tx
                            .send(Ok((server.socket_path().to_path_buf(), server.tcp_addr())));
                        let _ = stop_rx.await;
                        server.shutdown().await;
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            });
        });
        let (socket, tcp) = ready_rx.recv().map_err(|_| ServeError::Socket {
            path: String::new(),
            source: std::io::Error::other("API thread ended before binding"),
        })??;
        Ok(Self {
            socket,
            tcp,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
