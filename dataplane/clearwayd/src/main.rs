//! clearwayd, the Clearway appliance.
//!
//! Starts the EAL from the plan nic-config derives from clearway.toml,
//! brings the ports up, launches one loop per worker lcore, prints a
//! per-port table every second and stops cleanly on SIGINT/SIGTERM (or
//! after `--run-seconds`) with final figures.
//!
//! Exit status: 0 after a clean stop, 2 for a configuration problem (bad
//! file, missing port, a vdev DPDK refuses, queues a driver cannot give),
//! 1 for any other failure.

mod api;
mod forward;
mod money;
mod network;
mod stats;
mod switching;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use clearwayd::config::{Config, DEFAULT_CONFIG};
use forward::{ForwardLcore, LcoreCounters};
use nic_config::host::HostModel;
use rte::{Eal, Mempool, Port, PortConfig, TxBuffer};

#[derive(Parser)]
#[command(
    name = "clearwayd",
    version,
    about = "The Clearway payment switch appliance"
)]
struct Cli {
    /// clearway.toml to run; without it the embedded default (virtual devices) runs.
    #[arg(long, short)]
    config: Option<String>,
    /// Check the configuration and print the plan, then exit.
    #[arg(long)]
    check_config: bool,
    /// Print the embedded default configuration and exit.
    #[arg(long)]
    print_default_config: bool,
    /// Stop by itself after this many seconds (demos, tests).
    #[arg(long)]
    run_seconds: Option<f64>,
}

/// Why clearwayd stopped early.
enum Failure {
    /// The operator must change the configuration or host: exit 2.
    Config(String),
    /// Anything else: exit 1.
    Runtime(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Runtime(e.into())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Config(msg)) => {
            // One line per problem, each naming its line in the file.
            for line in msg.lines() {
                eprintln!("clearwayd: configuration error: {line}");
            }
            ExitCode::from(2)
        }
        Err(Failure::Runtime(e)) => {
            eprintln!("clearwayd: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: &Cli) -> Result<(), Failure> {
    if cli.print_default_config {
        print!("{DEFAULT_CONFIG}");
        return Ok(());
    }
    let cfg = match &cli.config {
        Some(path) => Config::load(path),
        None => Config::parse(DEFAULT_CONFIG, "embedded default config"),
    }
    .map_err(|e| Failure::Config(e.to_string()))?;
    let host = HostModel::probe(std::path::Path::new("/"));
    let plan = cfg
        .plan(&host)
        .map_err(|e| Failure::Config(e.to_string()))?;
    if cli.check_config {
        println!("configuration OK");
        print!("{}", plan.render(&cfg.dataplane));
        return Ok(());
    }
    for w in &plan.warnings {
        eprintln!("clearwayd: warning: {w}");
    }

    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone())?;
    }

    prepare_socket_dirs(&cfg).map_err(Failure::Config)?;
    let eal = Eal::init(&plan.eal_args).map_err(|e| {
        Failure::Config(format!(
            "DPDK refused to start with EAL arguments {:?}: {e}",
            plan.eal_args.join(" ")
        ))
    })?;
    let socket = plan.mempool.socket.map_or(-1, |s| s as i32);
    let pool = Mempool::create(
        &eal,
        "clearway_pkts",
        plan.mempool.mbufs,
        plan.mempool.cache_size,
        plan.mempool.data_room,
        socket,
    )
    .map_err(|e| {
        Failure::Config(format!(
            "cannot create the packet mempool of {} mbufs: {e}",
            plan.mempool.mbufs
        ))
    })?;

    let mut ports = Vec::new();
    for spec in &cfg.dataplane.ports {
        let port = Port::by_name(&eal, spec.dpdk_name())
            .map_err(|e| Failure::Config(format!("port {:?} ({}): {e}", spec.name, spec.device)))?;
        let pc = PortConfig {
            rx_queues: spec.rx_queues,
            tx_queues: spec.tx_queues,
            rx_desc: spec.rx_desc,
            tx_desc: spec.tx_desc,
            mtu: spec.mtu,
            promiscuous: spec.promiscuous,
            rss: true,
        };
        port.configure(&pc, &pool)
            .map_err(|e| Failure::Config(format!("port {:?}: {e}", spec.name)))?;
        port.start()
            .map_err(|e| Failure::Config(format!("port {:?}: {e}", spec.name)))?;
        ports.push(port);
    }

    println!(
        "clearwayd: {} port(s), {} worker lcore(s) {:?}, {} mbufs; Ctrl-C stops",
        ports.len(),
        plan.lcores.len(),
        plan.lcores.iter().map(|l| l.lcore).collect::<Vec<_>>(),
        plan.mempool.mbufs
    );
    let started = Instant::now();
    let interval = Duration::from_millis(cfg.daemon.stats_interval_ms);
    let deadline = cli
        .run_seconds
        .map(|s| started + Duration::from_secs_f64(s.max(0.0)));
    let wait_tick = |next: &mut Instant| -> bool {
        // True when an interval has passed; false once it is time to stop.
        loop {
            if stop.load(Ordering::Relaxed) || deadline.is_some_and(|d| Instant::now() >= d) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
            if Instant::now() >= *next {
                *next += interval;
                return true;
            }
        }
    };
    let mut next = started + interval;
    if let Some(sw) = cfg.switch.clone() {
        let index = cfg
            .dataplane
            .ports
            .iter()
            .position(|p| p.name == sw.port)
            .ok_or_else(|| {
                Failure::Config(format!(
                    "[switch] port {:?} is not a configured port",
                    sw.port
                ))
            })?;
        let mut money = match (&cfg.journal, &cfg.clearing) {
            (Some(j), Some(c)) => {
                let ids: Vec<&str> = cfg.participants.iter().map(|p| p.id.as_str()).collect();
                Some(
                    money::start(
                        j,
                        c,
                        &cfg.accounts,
                        |id| ids.iter().position(|x| *x == id).map(|i| i as u32),
                        plan.lcores.len(),
                        sw.dedup_capacity as usize,
                    )
                    .map_err(|e| Failure::Config(format!("{e:#}")))?,
                )
            }
            _ => None,
        };
        let hooks: Vec<Box<dyn switch::pipeline::MoneyHooks>> = match money.as_mut() {
            Some(m) => std::mem::take(&mut m.hooks)
                .into_iter()
                .map(|h| Box::new(h) as Box<dyn switch::pipeline::MoneyHooks>)
                .collect(),
            None => Vec::new(),
        };
        // One place builds the lcores' routes: the control plane, whose
        // later changes (API) are journaled and published RCU-style.
        let log: Arc<dyn control::sources::ChangeLog> =
            match money.as_mut().and_then(|m| m.control_producer.take()) {
                Some(p) => Arc::new(api::JournalChangeLog::new(p)),
                None => Arc::new(api::UnjournaledChanges),
            };
        let control = Arc::new(
            control::ControlPlane::new(cfg.participants.clone(), cfg.routes.clone(), log)
                .map_err(|e| Failure::Config(format!("participants and routes: {e}")))?
                // Key rotation deadlines in the lcores' clock, at its exact rate.
                .with_key_clock(Arc::new(control::keys::TscClock::with_hz(eal.tsc_hz()))),
        );
        if let Some(m) = &money {
            replay_changes(&control, m).map_err(Failure::Config)?;
        }
        for (id, why) in control.key_problems() {
            eprintln!("clearwayd: participant {id} has no usable MAC key, its messages are dropped until `clearctl participants rotate-key {id}`: {why}");
        }
        let routes = control.published();
        let desk_stop = Arc::new(AtomicBool::new(false));
        let lcores_stop = Arc::new(AtomicBool::new(false));
        let desk_thread = money.as_ref().map(|m| {
            let journal = m.journal.clone();
            money::run_desk(
                m.desk.clone(),
                move || journal.durable_lsn(),
                desk_stop.clone(),
            )
        });
        let running = switching::launch(
            &eal,
            &plan,
            (index, &ports[index]),
            &pool,
            switching::SwitchSetup {
                config: sw,
                routes,
                hooks,
                duplicates: money
                    .as_mut()
                    .map_or_else(Vec::new, |m| std::mem::take(&mut m.duplicates)),
            },
            // Not the signal flag: on SIGTERM the lcores keep running
            // until the closing cutoff has been passed and settled.
            lcores_stop.clone(),
        )
        .map_err(|e| Failure::Config(format!("{e:#}")))?;
        println!(
            "clearwayd: switch on {} at {}:{} ({} participants{})",
            cfg.dataplane.ports[index].name,
            running.shared.config.service_ip,
            running.shared.config.service_port,
            cfg.participants.len(),
            if money.is_some() {
                ", journal and reserve accounts on"
            } else {
                ", no money state"
            }
        );
        let api_stop = Arc::new(AtomicBool::new(false));
        let api_thread = match &cfg.api {
            Some(section) => {
                let sources = api_sources(
                    &cfg,
                    control.clone(),
                    money.as_ref(),
                    &running,
                    &ports,
                    &plan,
                );
                let handle = api::spawn(section, sources, api_stop.clone()).map_err(|e| {
                    Failure::Config(format!("[api] {}: {e:#}", section.socket.display()))
                })?;
                println!("clearwayd: API on {}", section.socket.display());
                Some(handle)
            }
            None => None,
        };
        let mut table = stats::SwitchTable::new(&running.counters);
        while wait_tick(&mut next) {
            table.print_interval(&running.counters);
        }
        // Cut off while the lcores still run: each must pass the flip
        // before the closed window can be netted and settled.
        let settled = money.as_ref().map(|m| {
            let journal = m.journal.clone();
            money::final_cutoff(m, move || journal.durable_lsn(), Duration::from_secs(10))
        });
        lcores_stop.store(true, Ordering::Relaxed);
        for h in running.handles {
            h.join()?;
        }
        api_stop.store(true, Ordering::Relaxed);
        if let Some(t) = api_thread {
            let _ = t.join();
        }
        desk_stop.store(true, Ordering::Relaxed);
        if let Some(t) = desk_thread {
            let _ = t.join();
        }
        if let (Some(m), Some(settled)) = (&money, settled) {
            match settled {
                Some(window) => print_settlement(&m.settlement_dir, window, &cfg.participants),
                None => eprintln!(
                    "clearwayd: the cutoff at stop did not settle within 10 s; the window settles on the next start"
                ),
            }
        }
        table.print_final(&running.counters, started.elapsed());
    } else {
        let peers = cfg.peer_table();
        let drain_ticks = rte::tsc::micros_to_ticks(cfg.daemon.tx_drain_us, eal.tsc_hz());
        let mut handles = Vec::new();
        let mut counters = Vec::new();
        for lp in &plan.lcores {
            let c = LcoreCounters::new(ports.len());
            let mut rx = Vec::new();
            for &(port, queue) in &lp.rx {
                rx.push((ports[port].rx_queue(queue)?, port, peers[port]));
            }
            let mut tx = Vec::new();
            for port in &ports {
                tx.push(TxBuffer::new(port.tx_queue(lp.tx_queue)?, drain_ticks));
            }
            let lcore = ForwardLcore {
                rx,
                tx,
                counters: c.clone(),
                stop: stop.clone(),
            };
            handles.push(rte::launch(rte::LcoreId(lp.lcore), move || lcore.run())?);
            counters.push(c);
        }
        let names: Vec<String> = cfg.dataplane.ports.iter().map(|p| p.name.clone()).collect();
        let mut table = stats::StatsTable::new(names, &ports, &counters);
        while wait_tick(&mut next) {
            table.print_interval(&ports, &counters);
        }
        stop.store(true, Ordering::Relaxed);
        for h in handles {
            h.join()?;
        }
        table.print_final(&ports, &counters, started.elapsed());
    }
    for port in &ports {
        port.stop()?;
    }
    Ok(())
}

/// memif sockets live in a directory that may not exist yet (e.g.
/// /run/clearway after a reboot): create it, as systemd's unit would. A
/// socket file left by a process that died (kill -9) is removed; one a
/// live process still serves is a configuration error, not a silent clash.
fn prepare_socket_dirs(cfg: &Config) -> Result<(), String> {
    for p in cfg.dataplane.ports.iter().filter(|p| p.is_vdev()) {
        let is_server = p.device.split(',').any(|kv| kv == "role=server");
        for kv in p.device.split(',') {
            let Some(path) = kv.strip_prefix("socket=") else {
                continue;
            };
            let path = std::path::Path::new(path);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| {
                    format!("port {:?}: cannot create {}: {e}", p.name, dir.display())
                })?;
            }
            if is_server && path.exists() {
                if std::os::unix::net::UnixStream::connect(path).is_ok() {
                    return Err(format!(
                        "port {:?}: memif socket {} is served by another running process (another clearwayd?); stop it or use another socket",
                        p.name,
                        path.display()
                    ));
                }
                std::fs::remove_file(path).map_err(|e| {
                    format!(
                        "port {:?}: cannot remove stale socket {}: {e}",
                        p.name,
                        path.display()
                    )
                })?;
            }
        }
    }
    Ok(())
}

/// Lists a settled window's files and prints its net positions, with the
/// participants' ids beside the numbers the files use.
fn print_settlement(
    dir: &std::path::Path,
    window: u32,
    participants: &[control::types::ParticipantSpec],
) {
    let files = money::settlement_files(dir, window);
    println!("clearwayd: cutoff at stop: window {window} closed and settled; files:");
    for f in &files {
        println!("  {}", f.display());
    }
    let net = files
        .iter()
        .find(|f| f.to_string_lossy().ends_with("-net.csv"));
    let Some(text) = net.and_then(|f| std::fs::read_to_string(f).ok()) else {
        return;
    };
    println!("clearing summary of window {window} (minor units; the nets sum to zero):");
    for line in text.lines() {
        let mut cols = line.splitn(2, ',');
        let first = cols.next().unwrap_or_default();
        let name = first
            .parse::<usize>()
            .ok()
            .and_then(|i| participants.get(i))
            .map(|p| format!(" ({})", p.id))
            .unwrap_or_default();
        match cols.next() {
            Some(rest) if !line.starts_with('#') => println!("  {first}{name},{rest}"),
            _ => println!("  {line}"),
        }
    }
}

/// Applies the participant and route changes journaled by earlier runs
/// (the configuration is the starting point; the journal has what
/// operators changed since).
fn replay_changes(control: &control::ControlPlane, m: &money::MoneyState) -> Result<(), String> {
    let kind = journal::RecordKind::ParticipantChange as u16;
    journal::read_records(&m.journal_dir, 1, m.journal.durable_lsn(), |r| {
        if r.header.kind != kind {
            return Ok::<(), String>(());
        }
        let change =
            control::sources::ChangeRecord::decode(r.payload).map_err(|e| e.to_string())?;
        control.replay(&change).map_err(|e| e.to_string())
    })
    .map(|_| ())
    .map_err(|e| format!("replaying participant changes from the journal: {e}"))
}

/// The API's view of this daemon: the control plane, the ledger, the
/// switch's counters and the ports.
fn api_sources(
    cfg: &Config,
    control: Arc<control::ControlPlane>,
    money: Option<&money::MoneyState>,
    running: &switching::Running,
    ports: &[Port],
    plan: &nic_config::plan::Plan,
) -> control::api::Sources {
    let money_state: Arc<dyn control::sources::MoneyState> = match money {
        Some(m) => Arc::new(api::LedgerMoney {
            desk: m.desk.clone(),
            ids: cfg.participants.iter().map(|p| p.id.clone()).collect(),
            settlement_dir: m.settlement_dir.clone(),
            next_reference: std::sync::atomic::AtomicU64::new(money::now_ms()),
        }),
        None => Arc::new(api::NoMoney),
    };
    let status = Arc::new(api::DaemonStatus {
        counters: running.counters.clone(),
        ports: cfg
            .dataplane
            .ports
            .iter()
            .map(|p| p.name.clone())
            .zip(ports.iter().cloned())
            .collect(),
        lcores: plan.lcores.iter().map(|l| l.lcore).collect(),
        started: Instant::now(),
    });
    control::api::Sources {
        control,
        money: money_state,
        status,
        journal: Arc::new(api::JournalFiguresSource(money.map(|m| m.journal.clone()))),
    }
}
