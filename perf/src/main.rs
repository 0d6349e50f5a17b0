//! clearway-perf: load generator + issuer simulator against a Clearway
//! switch, with a reflector baseline measured on the same plumbing.
//!
//! `clearway-perf [run] ...` generates; `clearway-perf reflect ...` is the
//! reflector the harness spawns for `--baseline` (or that you start yourself).

#![forbid(unsafe_code)]

use std::io::Read;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use clearway_perf::driver::{self, Link, Stop, Trial, TrialSettings};
use clearway_perf::engine::{Engine, EngineOptions};
use clearway_perf::latency::us_to_ticks;
use clearway_perf::plot;
use clearway_perf::profile::{self, Profile};
use clearway_perf::rate::{Pacer, TokenBucket};
use clearway_perf::reflect;
use clearway_perf::report::{PdrSummary, Report, RunSummary, BASELINE, TARGET};
use clearway_perf::sweep::{find_pdr, Step, SweepPlan};
use rte::{Eal, Mempool, Port};
use wire::net::ethernet::Address;

#[derive(Parser)]
#[command(
    name = "clearway-perf",
    version,
    about = "Drive a Clearway switch over memif or a NIC; report TPS, latency and loss against a reflector baseline"
)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Cmd {
    /// Generate load (the default when no subcommand is given).
    Run(Box<RunArgs>),
    /// Reflect every UDP datagram back, answering as a plain "switch" would (the baseline).
    Reflect(ReflectArgs),
}

#[derive(Args, Clone)]
struct RunArgs {
    /// Load profile (TOML); the built-in one (perf/profiles/default.toml) otherwise.
    #[arg(long)]
    profile: Option<PathBuf>,
    /// The switch's service IP.
    #[arg(long)]
    switch_ip: Option<Ipv4Addr>,
    /// The switch's service UDP port.
    #[arg(long)]
    switch_port: Option<u16>,
    /// The switch's MAC (aa:bb:cc:dd:ee:ff); learnt by ARP otherwise.
    #[arg(long)]
    switch_mac: Option<String>,
    /// Simulated acquirer IP:PORT (repeat; replaces the profile's acquirers).
    #[arg(long = "acquirer")]
    acquirers: Vec<String>,
    /// Simulated issuer IP:PORT:BIN[/BIN..] (repeat; replaces the profile's issuers).
    #[arg(long = "issuer")]
    issuers: Vec<String>,
    /// Response delay of every issuer, microseconds.
    #[arg(long)]
    issuer_delay_us: Option<u64>,
    /// Share (0..1) of requests every issuer leaves unanswered.
    #[arg(long)]
    silent_share: Option<f64>,
    /// Message mix, e.g. 0200:70,0100:10,0220:10,0400:5,0800:5.
    #[arg(long)]
    mix: Option<String>,
    /// Request frame size in bytes (field 48 pads).
    #[arg(long)]
    frame_size: Option<u16>,
    /// Unanswered this long after sending = lost (ms).
    #[arg(long)]
    deadline_ms: Option<u64>,
    /// Open loop at this many transactions per second.
    #[arg(long, conflicts_with = "outstanding")]
    rate: Option<u64>,
    /// Open loop: tokens the bucket keeps, in microseconds of the rate (at
    /// least 64), so a generator descheduled for less than this catches up.
    #[arg(long, default_value_t = 1000)]
    burst_us: u64,
    /// Closed loop with this many transactions outstanding (default 256).
    #[arg(long)]
    outstanding: Option<u64>,
    /// Seconds of sending per run (default 10; 3 per sweep step).
    #[arg(long)]
    seconds: Option<f64>,
    /// Stop each run after this many transactions.
    #[arg(long)]
    transactions: Option<u64>,
    /// Search the highest rate with loss <= 0.01% (PDR).
    #[arg(long)]
    sweep: bool,
    /// First sweep rate (tps).
    #[arg(long, default_value_t = 100_000)]
    sweep_start: u64,
    /// Highest sweep rate (tps).
    #[arg(long, default_value_t = 50_000_000)]
    sweep_max: u64,
    /// Also measure the reflector baseline (spawned on --reflector-lcore) in the same run.
    #[arg(long)]
    baseline: bool,
    /// Measure only the reflector baseline (no switch needed).
    #[arg(long)]
    baseline_only: bool,
    /// Alternate baseline and target runs this many times; figures are medians.
    #[arg(long, default_value_t = 1)]
    repeat: u32,
    /// memif socket of the target (clearwayd's memif server).
    #[arg(long, default_value = "/tmp/clearway-memif.sock")]
    socket: PathBuf,
    /// Target port instead of memif: a vdev spec (net_...) or a PCI address.
    #[arg(long)]
    port: Option<String>,
    /// Generator lcore.
    #[arg(long, default_value_t = 0)]
    lcore: u32,
    /// Reflector lcore (with --baseline).
    #[arg(long, default_value_t = 1)]
    reflector_lcore: u32,
    /// Use hugepages (real NICs); default is --no-huge for virtual devices.
    #[arg(long)]
    hugepages: bool,
    /// Extra EAL argument (repeat).
    #[arg(long = "eal-arg", allow_hyphen_values = true)]
    eal_args: Vec<String>,
    /// Write the JSON report here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write SVG charts (latency CDF, throughput) into this directory.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// No progress line.
    #[arg(long)]
    quiet: bool,
    /// Verify IPv4/UDP checksums of everything received.
    #[arg(long)]
    verify: bool,
    /// Send requests without a UDP checksum (zero).
    #[arg(long)]
    no_udp_checksum: bool,
    /// In-flight table slots (power of two).
    #[arg(long, default_value_t = 1 << 21)]
    window: usize,
    /// Issuer answers that may wait for their delay at once.
    #[arg(long, default_value_t = 16_384)]
    delay_capacity: usize,
    /// Mbufs in the generator's pool.
    #[arg(long, default_value_t = 32_767)]
    mbufs: u32,
    /// Seconds to wait for ARP answers and link-up.
    #[arg(long, default_value_t = 10)]
    wait_s: u64,
}

#[derive(Args)]
struct ReflectArgs {
    /// memif socket to serve.
    #[arg(long, default_value = "/tmp/clearway-reflector.sock")]
    socket: PathBuf,
    /// memif role.
    #[arg(long, default_value = "server")]
    role: String,
    /// A port instead of memif: a vdev spec (net_...) or a PCI address.
    #[arg(long)]
    port: Option<String>,
    #[arg(long, default_value_t = 1)]
    lcore: u32,
    #[arg(long)]
    hugepages: bool,
    #[arg(long = "eal-arg", allow_hyphen_values = true)]
    eal_args: Vec<String>,
    /// Stop when stdin closes (how the harness stops the reflector it spawned).
    #[arg(long)]
    stop_on_stdin_eof: bool,
    /// Stop after this many seconds.
    #[arg(long)]
    run_seconds: Option<u64>,
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Some(Cmd::Reflect(a)) => run_reflector(a),
        Some(Cmd::Run(a)) => run_generator(*a),
        None => run_generator(cli.run),
    };
    if let Err(e) = result {
        eprintln!("clearway-perf: {e:#}");
        std::process::exit(1);
    }
}

fn interrupt_flag() -> Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, flag.clone()).context("installing the signal handler")?;
    }
    Ok(flag)
}

/// EAL arguments common to both roles.
fn eal_base(
    tag: &str,
    lcore: u32,
    hugepages: bool,
    pci: Option<&str>,
    extra: &[String],
) -> Vec<String> {
    let mut args = vec![
        "-l".to_string(),
        lcore.to_string(),
        format!("--file-prefix=clw-{tag}-{}", std::process::id()),
        "--log-level=lib.eal:warning".into(),
        "--no-telemetry".into(),
    ];
    if !hugepages {
        args.extend([
            "--no-huge".into(),
            "-m".into(),
            "1024".into(),
            "--no-shconf".into(),
        ]);
    }
    match pci {
        Some(addr) => args.extend(["-a".into(), addr.to_string()]),
        None => args.push("--no-pci".into()),
    }
    args.extend(extra.iter().cloned());
    args
}

/// A `--port` value: a vdev spec (its name is before the first comma) or a PCI address.
enum PortSpec {
    Vdev { spec: String, name: String },
    Pci(String),
}

fn port_spec(s: &str) -> PortSpec {
    if s.starts_with("net_") {
        let name = s.split(',').next().unwrap_or(s).to_string();
        PortSpec::Vdev {
            spec: s.to_string(),
            name,
        }
    } else {
        PortSpec::Pci(s.to_string())
    }
}

fn memif(name: &str, role: &str, socket: &Path) -> String {
    format!(
        "{name},role={role},socket={},socket-abstract=no,id=0",
        socket.display()
    )
}

fn run_reflector(a: ReflectArgs) -> Result<()> {
    let stop = interrupt_flag()?;
    if a.stop_on_stdin_eof {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
            stop.store(true, Ordering::Relaxed);
        });
    }
    if let Some(secs) = a.run_seconds {
        let stop = stop.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(secs));
            stop.store(true, Ordering::Relaxed);
        });
    }
    let spec = a.port.as_deref().map(port_spec);
    let pci = match &spec {
        Some(PortSpec::Pci(p)) => Some(p.as_str()),
        _ => None,
    };
    let mut args = eal_base("reflect", a.lcore, a.hugepages, pci, &a.eal_args);
    let name = match &spec {
        Some(PortSpec::Vdev { spec, name }) => {
            args.push(format!("--vdev={spec}"));
            name.clone()
        }
        Some(PortSpec::Pci(p)) => p.clone(),
        None => {
            let _ = std::fs::remove_file(&a.socket);
            args.push(format!(
                "--vdev={}",
                memif("net_memif0", &a.role, &a.socket)
            ));
            "net_memif0".into()
        }
    };
    let eal = Eal::init(&args).context("EAL init for the reflector")?;
    let pool = Mempool::create(&eal, "reflect", 16_383, 256, 2176, -1)?;
    let port = Port::by_name(&eal, &name).with_context(|| format!("port {name}"))?;
    port.configure(&rte::PortConfig::default(), &pool)?;
    port.start()?;
    let mut link = Link {
        mac: Address(port.mac()?),
        rx: port.rx_queue(0)?,
        tx: port.tx_queue(0)?,
        port,
    };
    eprintln!("reflector: serving on {name}");
    let counts = reflect::run(&mut link, &stop);
    println!(
        "reflector: reflected {} arp {} dropped {}",
        counts.reflected, counts.arp_answered, counts.dropped
    );
    // DPDK's memif driver removes its socket file when the process exits.
    Ok(())
}

/// The reflector child and where it serves.
struct ReflectorChild {
    child: Child,
    socket: PathBuf,
    dir: PathBuf,
}

impl ReflectorChild {
    fn spawn(lcore: u32, hugepages: bool) -> Result<ReflectorChild> {
        let dir = std::env::temp_dir().join(format!("clearway-perf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let socket = dir.join("reflector.sock");
        let exe = std::env::current_exe().context("finding our own binary")?;
        let mut cmd = Command::new(exe);
        cmd.args([
            "reflect",
            "--stop-on-stdin-eof",
            "--lcore",
            &lcore.to_string(),
            "--socket",
        ])
        .arg(&socket)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
        if hugepages {
            cmd.arg("--hugepages");
        }
        let child = cmd.spawn().context("spawning the reflector")?;
        let mut me = ReflectorChild { child, socket, dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !me.socket.exists() {
            if let Some(status) = me.child.try_wait()? {
                bail!("the reflector exited before serving ({status})");
            }
            if Instant::now() > deadline {
                bail!(
                    "the reflector did not create {} within 30 s",
                    me.socket.display()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(me)
    }

    /// Closes its stdin (its stop signal) and returns what it printed; an
    /// unclean exit (a crash, a signal) is an error saying how it ended.
    fn finish(mut self) -> Result<String> {
        drop(self.child.stdin.take());
        let out = self
            .child
            .wait_with_output()
            .context("waiting for the reflector")?;
        let _ = std::fs::remove_dir_all(&self.dir);
        let said = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !out.status.success() {
            bail!(
                "the reflector ended with {} (it printed: {said:?})",
                out.status
            );
        }
        Ok(said)
    }
}

fn apply_overrides(p: &mut Profile, a: &RunArgs) -> Result<()> {
    if let Some(ip) = a.switch_ip {
        p.target.switch_ip = ip;
    }
    if let Some(port) = a.switch_port {
        p.target.switch_port = port;
    }
    if let Some(mac) = &a.switch_mac {
        p.target.switch_mac = Some(mac.clone());
    }
    if !a.acquirers.is_empty() {
        p.acquirers = a
            .acquirers
            .iter()
            .map(|s| profile::parse_acquirer(s))
            .collect::<Result<_, _>>()
            .map_err(anyhow::Error::msg)?;
    }
    if !a.issuers.is_empty() {
        p.issuers = a
            .issuers
            .iter()
            .map(|s| profile::parse_issuer(s))
            .collect::<Result<_, _>>()
            .map_err(anyhow::Error::msg)?;
    }
    for i in &mut p.issuers {
        if let Some(d) = a.issuer_delay_us {
            i.delay_us = d;
        }
        if let Some(s) = a.silent_share {
            i.silent_share = s;
        }
    }
    if let Some(m) = &a.mix {
        p.load.mix = m.clone();
    }
    if let Some(f) = a.frame_size {
        p.load.frame_size = f;
    }
    if let Some(d) = a.deadline_ms {
        p.load.deadline_ms = d;
    }
    p.validate()?;
    Ok(())
}

/// One side of the run: its link and what the engine needs to know about it.
struct Side {
    name: &'static str,
    link: Link,
    peer_mac: Option<Address>,
    /// ARP sent from every simulated address (once per side).
    greeted: bool,
}

struct Ctx<'a> {
    args: &'a RunArgs,
    profile: &'a Profile,
    pool: &'a Mempool,
    hz: u64,
    our_seq: u64,
    unix_start: u64,
    interrupted: &'a AtomicBool,
}

impl Ctx<'_> {
    fn engine(&self, side: &Side) -> Result<Engine> {
        Ok(Engine::new(
            self.profile,
            &EngineOptions {
                our_mac: side.link.mac,
                switch_mac: side.peer_mac,
                hz: self.hz,
                udp_checksum: !self.args.no_udp_checksum,
                verify: self.args.verify,
                window: self.args.window,
                first_seq: self.our_seq,
                unix_start: self.unix_start,
            },
        )?)
    }

    fn trial(
        &mut self,
        side: &mut Side,
        label: &str,
        pacer: &mut Pacer,
        seconds: Option<f64>,
    ) -> Result<Trial> {
        let mut engine = self.engine(side)?;
        if !side.greeted {
            side.greeted = true;
            let mac = driver::greet_switch(
                &mut engine,
                &mut side.link,
                self.pool,
                self.hz,
                self.args.wait_s,
            )
            .with_context(|| format!("{}: ARP for {}", side.name, self.profile.target.switch_ip))?;
            side.peer_mac = Some(mac);
        }
        let settings = TrialSettings {
            label,
            stop: Stop {
                seconds: if self.args.transactions.is_some() && self.args.seconds.is_none() {
                    None
                } else {
                    seconds
                },
                transactions: self.args.transactions,
            },
            deadline_ticks: us_to_ticks(self.profile.load.deadline_ms * 1000, self.hz),
            hz: self.hz,
            progress: !self.args.quiet,
            interrupted: self.interrupted,
        };
        let trial = driver::run_trial(
            &mut engine,
            &mut side.link,
            self.pool,
            pacer,
            self.args.delay_capacity,
            &settings,
        )?;
        self.our_seq = trial.next_seq;
        Ok(trial)
    }
}

/// Token bucket depth for `rate` and `--burst-us`.
fn bucket_depth(rate: u64, burst_us: u64) -> u64 {
    ((rate as u128 * burst_us as u128 / 1_000_000) as u64).max(64)
}

fn run_generator(a: RunArgs) -> Result<()> {
    let interrupted = interrupt_flag()?;
    let mut profile = match &a.profile {
        Some(p) => Profile::load(p)?,
        None => Profile::builtin(),
    };
    apply_overrides(&mut profile, &a)?;
    let with_target = !a.baseline_only;
    let with_baseline = a.baseline || a.baseline_only;

    let reflector = if with_baseline {
        Some(ReflectorChild::spawn(a.reflector_lcore, a.hugepages)?)
    } else {
        None
    };

    let spec = a.port.as_deref().map(port_spec);
    let pci = match (&spec, with_target) {
        (Some(PortSpec::Pci(p)), true) => Some(p.as_str()),
        _ => None,
    };
    let mut eal_args = eal_base("perf", a.lcore, a.hugepages, pci, &a.eal_args);
    let target_name = if with_target {
        Some(match &spec {
            Some(PortSpec::Vdev { spec, name }) => {
                eal_args.push(format!("--vdev={spec}"));
                name.clone()
            }
            Some(PortSpec::Pci(p)) => p.clone(),
            None => {
                eal_args.push(format!(
                    "--vdev={}",
                    memif("net_memif0", "client", &a.socket)
                ));
                "net_memif0".into()
            }
        })
    } else {
        None
    };
    if let Some(r) = &reflector {
        eal_args.push(format!(
            "--vdev={}",
            memif("net_memif1", "client", &r.socket)
        ));
    }
    let eal = Eal::init(&eal_args).context("EAL init for the generator")?;
    let pool = Mempool::create(&eal, "perf", a.mbufs, 256, 2176, -1)?;
    let hz = eal.tsc_hz();
    let switch_mac = profile.switch_mac()?.map(Address);
    let mut sides: Vec<Side> = Vec::new();
    if reflector.is_some() {
        let port = Port::by_name(&eal, "net_memif1")?;
        sides.push(Side {
            name: BASELINE,
            link: Link::up(port, &pool, a.wait_s)?,
            peer_mac: None,
            greeted: false,
        });
    }
    if let Some(name) = &target_name {
        let port = Port::by_name(&eal, name).with_context(|| format!("target port {name}"))?;
        sides.push(Side {
            name: TARGET,
            link: Link::up(port, &pool, a.wait_s)?,
            peer_mac: switch_mac,
            greeted: false,
        });
    }
    let unix_start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut ctx = Ctx {
        args: &a,
        profile: &profile,
        pool: &pool,
        hz,
        our_seq: 0,
        unix_start,
        interrupted: &interrupted,
    };

    let mut runs = Vec::new();
    let mut pdrs = Vec::new();
    'repeats: for rep in 1..=a.repeat.max(1) {
        for side in sides.iter_mut() {
            if interrupted.load(Ordering::Relaxed) {
                break 'repeats;
            }
            if a.sweep {
                let plan = SweepPlan {
                    start: a.sweep_start,
                    max: a.sweep_max,
                    ..SweepPlan::default()
                };
                let mut best: Option<(u64, Trial)> = None;
                let secs = a.seconds.unwrap_or(3.0);
                let pdr = find_pdr(&plan, |rate| -> Result<Step> {
                    let mut pacer = Pacer::Open(TokenBucket::new(
                        rate,
                        bucket_depth(rate, a.burst_us),
                        hz,
                        rte::tsc::now(),
                    )?);
                    let label = format!("{} {rate}/s", side.name);
                    let t = ctx.trial(side, &label, &mut pacer, Some(secs))?;
                    let step = Step {
                        rate,
                        offered: (rate as f64 * t.send_seconds) as u64,
                        sent: t.counters.sent,
                        lost: t.counters.lost,
                    };
                    let better = match &best {
                        Some((r, _)) => rate > *r,
                        None => true,
                    };
                    if step.passes(&plan) && better {
                        best = Some((rate, t));
                    }
                    Ok(step)
                })?;
                pdrs.push(PdrSummary {
                    side: side.name.into(),
                    rate: pdr.rate,
                    steps: pdr
                        .steps
                        .iter()
                        .map(|s| (s.rate, s.offered, s.sent, s.lost))
                        .collect(),
                });
                if let Some((rate, t)) = best {
                    runs.push(RunSummary::new(side.name, rep, Some(rate), None, &t));
                }
            } else {
                let (mut pacer, rate, outstanding) = match a.rate {
                    Some(r) => (
                        Pacer::Open(TokenBucket::new(
                            r,
                            bucket_depth(r, a.burst_us),
                            hz,
                            rte::tsc::now(),
                        )?),
                        Some(r),
                        None,
                    ),
                    None => {
                        let n = a.outstanding.unwrap_or(256);
                        (Pacer::closed(n)?, None, Some(n))
                    }
                };
                let t = ctx.trial(side, side.name, &mut pacer, Some(a.seconds.unwrap_or(10.0)))?;
                runs.push(RunSummary::new(side.name, rep, rate, outstanding, &t));
            }
        }
    }
    let config = serde_json::json!({
        "profile": profile,
        "pacing": match (a.sweep, a.rate) {
            (true, _) => "sweep (PDR, loss <= 0.01%)".to_string(),
            (false, Some(r)) => format!("open loop {r} tps"),
            (false, None) => format!("closed loop {} outstanding", a.outstanding.unwrap_or(256)),
        },
        "seconds": a.seconds,
        "transactions": a.transactions,
        "repeat": a.repeat,
        "target": target_name.map(|n| if n == "net_memif0" && spec.is_none() { format!("memif client {}", a.socket.display()) } else { n }),
        "baseline": with_baseline,
        "generator_lcore": a.lcore,
        "reflector_lcore": with_baseline.then_some(a.reflector_lcore),
        "udp_checksum": !a.no_udp_checksum,
        "verify": a.verify,
        "tsc_hz": hz,
    });
    let report = Report::build(config, runs, pdrs)?;
    print!("{}", report.to_text());
    if let Some(path) = &a.json {
        std::fs::write(path, report.to_json())
            .with_context(|| format!("writing {}", path.display()))?;
        println!("json: {}", path.display());
    }
    if let Some(dir) = &a.plot {
        for p in plot::write_charts(&report, dir)? {
            println!("chart: {}", p.display());
        }
    }
    // The reflector stops polling before our side of the link goes away:
    // DPDK 22.11's memif driver unmaps a link's shared memory when its peer
    // disconnects, on its control thread, with nothing keeping out an rx
    // burst already under way on the polling lcore (a preempted reflector
    // lcore died of SIGSEGV that way). Our lcores have stopped by now.
    let said = reflector.map(ReflectorChild::finish).transpose();
    drop(sides);
    if let Some(said) = said?.filter(|s| !s.is_empty()) {
        println!("{said}");
    }
    Ok(())
}
