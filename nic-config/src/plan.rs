//! From a [`Layout`] and a [`HostModel`] to what `clearwayd` runs: which lcores exist, which rx
//! queues each owns, which tx queue each uses, how big the mempool is, and the EAL argv.
//!
//! `clearwayd` and `clearway-nic plan` both call [`plan`], so the plan printed is the plan run.
//!
//! Rules (l3fwd-style: the mapping is a table, not code):
//! - rx queues of all ports, port by port and queue by queue, go round-robin over the workers;
//!   every rx queue has exactly one owner, so no rx queue is ever polled by two lcores.
//! - worker `i` transmits on tx queue `i` of every port (DPDK tx queues are not thread-safe), so
//!   every port needs `tx_queues >= workers`.
//! - workers sit on the NIC's NUMA node when they can; a warning says so when they cannot.

use crate::host::HostModel;
use crate::layout::{Layout, LayoutError, MBUF_HEADROOM};
use crate::sysfs::format_cpu_list;
use serde::Serialize;

/// Packets per rx/tx burst in the switch loop (and DPDK's usual `MAX_PKT_BURST`).
pub const BURST: u32 = 32;
/// Mbufs set aside for packets the switch creates rather than forwards: ARP requests and replies,
/// ICMP echo replies, stand-in `0210`s and `0420` reversals waiting for retry. These are bounded by
/// the switch's own tables; 1024 covers a full pending-table timeout storm on one burst cycle per
/// lcore with a wide margin, and costs ~2.3 MiB.
pub const GENERATED_RESERVE: u32 = 1024;
/// Per-mbuf memory beyond the data room: `struct rte_mbuf` (128 B) plus the mempool object
/// header and trailer with cache-line alignment (64 B).
pub const MBUF_OVERHEAD: u64 = 192;
/// EAL memory beyond the mempool: descriptor rings, rings for the journal, EAL tables. Measured
/// well under this with testpmd on two ports; kept generous because running short fails at start.
pub const EAL_OVERHEAD_MB: u64 = 256;
/// `-m` used with `--no-huge` when the layout leaves `memory_mb` out and the pool is small.
pub const NO_HUGE_MIN_MB: u64 = 512;

/// What `clearwayd` runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Full EAL argv after the program name.
    pub eal_args: Vec<String>,
    /// The main lcore: control plane, API, journal writer's home.
    pub main_lcore: u32,
    /// Worker lcores in launch order.
    pub lcores: Vec<LcorePlan>,
    pub mempool: MempoolPlan,
    /// EAL memory the plan asks for (or that the layout set), MiB.
    pub memory_mb: u64,
    /// Things that will work but not as well as they could, each written
    /// "<what is wrong>; <what to change>" (the check table splits them at the last "; ").
    pub warnings: Vec<String>,
}

/// One worker lcore's share of the ports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LcorePlan {
    pub lcore: u32,
    pub socket: Option<u32>,
    /// `(port index in layout.ports, rx queue)` pairs this lcore polls.
    pub rx: Vec<(usize, u16)>,
    /// This lcore's own tx queue index on every port.
    pub tx_queue: u16,
}

/// The single packet mempool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MempoolPlan {
    pub mbufs: u32,
    pub cache_size: u32,
    pub data_room: u16,
    /// NUMA socket to allocate on; `None` = `SOCKET_ID_ANY` (vdev-only layouts).
    pub socket: Option<u32>,
}

impl MempoolPlan {
    /// Approximate bytes of memory the pool occupies.
    pub fn bytes(&self) -> u64 {
        u64::from(self.mbufs) * (u64::from(self.data_room) + MBUF_OVERHEAD)
    }
}

/// Why a layout cannot run on a host; each says what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("the [dataplane] layout is invalid:\n  - {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  - "))]
    Layout(Vec<LayoutError>),
    #[error("this process may run on no online CPU: check the CPU affinity it was started with (taskset, CPUAffinity=)")]
    NoCpus,
    #[error(
        "eal.main_lcore = {lcore} is not an online CPU this process may use (allowed: {allowed})"
    )]
    MainLcoreUnavailable { lcore: u32, allowed: String },
    #[error("eal.worker_lcores contains {lcore}, which is not an online CPU this process may use (allowed: {allowed})")]
    WorkerLcoreUnavailable { lcore: u32, allowed: String },
    #[error("no CPU is left for a worker lcore besides main lcore {main} (allowed: {allowed}): Clearway needs at least two CPUs")]
    NoWorkerCpu { main: u32, allowed: String },
    #[error("port \"{port}\" has tx_queues = {has} but {needs} worker lcores each need their own tx queue: set tx_queues = {needs} or use fewer worker_lcores")]
    TooFewTxQueues {
        port: String,
        has: u16,
        needs: usize,
    },
    #[error("{workers} worker lcores but only {rx} rx queues in total: {idle} would poll nothing; raise rx_queues or list fewer worker_lcores")]
    IdleWorkers {
        workers: usize,
        rx: usize,
        idle: usize,
    },
    #[error("mempool.mbufs = {configured} cannot even fill the rx rings ({rx_desc} rx descriptors): leave mbufs out or raise it to at least {needed}")]
    MempoolTooSmall {
        configured: u32,
        rx_desc: u64,
        needed: u32,
    },
    #[error("mempool.cache_size = {cache} is too large for {mbufs} mbufs (DPDK needs cache_size * 1.5 <= mbufs): lower cache_size")]
    CacheTooLargeForPool { cache: u32, mbufs: u32 },
    #[error("eal.memory_mb = {configured} but the mempool alone needs {pool_mb} MiB (+{EAL_OVERHEAD_MB} MiB for rings and EAL): raise memory_mb to at least {needed} or leave it out")]
    MemoryTooSmall {
        configured: u32,
        pool_mb: u64,
        needed: u64,
    },
}

/// Builds the plan for `layout` on `host`.
pub fn plan(layout: &Layout, host: &HostModel) -> Result<Plan, PlanError> {
    layout.validate().map_err(PlanError::Layout)?;
    let mut warnings = Vec::new();
    let nic_node = nic_node(layout, host, &mut warnings);
    let (main_lcore, workers) = choose_lcores(layout, host, nic_node, &mut warnings)?;
    let lcores = assign_queues(layout, host, &workers)?;
    numa_warnings(layout, host, &lcores, &mut warnings);
    let mempool = size_mempool(layout, lcores.len(), nic_node, &mut warnings)?;
    let memory_mb = memory_mb(layout, &mempool)?;
    let eal_args = eal_args(layout, host, main_lcore, &workers, nic_node, memory_mb);
    Ok(Plan {
        eal_args,
        main_lcore,
        lcores,
        mempool,
        memory_mb,
        warnings,
    })
}

/// The node most PCI ports sit on (ties: the lowest); `None` for vdev-only or non-NUMA hosts.
fn nic_node(layout: &Layout, host: &HostModel, warnings: &mut Vec<String>) -> Option<u32> {
    let mut counts: Vec<(u32, usize)> = Vec::new();
    for (_, port) in layout.pci_ports() {
        if let Some(node) = port.pci_address().and_then(|a| host.pci_node(a)) {
            match counts.iter_mut().find(|(n, _)| *n == node) {
                Some((_, c)) => *c += 1,
                None => counts.push((node, 1)),
            }
        }
    }
    counts.sort_by_key(|&(node, count)| (std::cmp::Reverse(count), node));
    if counts.len() > 1 {
        warnings.push(format!(
            "ports sit on NUMA nodes {}: the mempool and workers follow node {}, so the other node's ports cross the interconnect; put all Clearway ports on one node's PCIe slots",
            counts.iter().map(|(n, _)| n.to_string()).collect::<Vec<_>>().join(" and "),
            counts[0].0
        ));
    }
    counts.first().map(|&(node, _)| node)
}

fn choose_lcores(
    layout: &Layout,
    host: &HostModel,
    nic_node: Option<u32>,
    warnings: &mut Vec<String>,
) -> Result<(u32, Vec<u32>), PlanError> {
    let allowed = &host.allowed;
    if allowed.is_empty() {
        return Err(PlanError::NoCpus);
    }
    let allowed_text = format_cpu_list(allowed);
    let main = match layout.eal.main_lcore {
        Some(lcore) if !allowed.contains(&lcore) => {
            return Err(PlanError::MainLcoreUnavailable {
                lcore,
                allowed: allowed_text,
            })
        }
        Some(lcore) => lcore,
        None => *allowed.iter().min().ok_or(PlanError::NoCpus)?,
    };
    if !layout.eal.worker_lcores.is_empty() {
        for &lcore in &layout.eal.worker_lcores {
            if !allowed.contains(&lcore) {
                return Err(PlanError::WorkerLcoreUnavailable {
                    lcore,
                    allowed: allowed_text,
                });
            }
        }
        return Ok((main, layout.eal.worker_lcores.clone()));
    }
    // Auto: one worker per rx queue, but never more than the smallest port has tx queues (each
    // worker needs its own) — so the defaults (1 rx, 1 tx per port) always plan one worker.
    let total_rx: usize = layout.ports.iter().map(|p| usize::from(p.rx_queues)).sum();
    let min_tx = layout
        .ports
        .iter()
        .map(|p| usize::from(p.tx_queues))
        .min()
        .unwrap_or(1);
    let wanted = total_rx.min(min_tx).max(1);
    let mut candidates: Vec<u32> = allowed.iter().copied().filter(|&c| c != main).collect();
    if candidates.is_empty() {
        return Err(PlanError::NoWorkerCpu {
            main,
            allowed: allowed_text,
        });
    }
    let main_siblings = host
        .cpu(main)
        .map(|c| c.siblings.clone())
        .unwrap_or_default();
    // Preference, best first: on the NIC's node; isolated by the kernel (the operator set those
    // aside for us); first thread of its core (two busy-polling hyperthreads share one core's
    // execution units); not the main lcore's sibling; lowest id for a stable plan.
    candidates.sort_by_key(|&c| {
        let cpu = host.cpu(c);
        let off_node = nic_node.is_some() && host.cpu_node(c) != nic_node;
        let not_isolated = !host.isolated.is_empty() && !host.isolated.contains(&c);
        let second_thread =
            cpu.is_some_and(|cpu| cpu.siblings.first().is_some_and(|&first| first != c));
        (
            off_node,
            not_isolated,
            second_thread,
            main_siblings.contains(&c),
            c,
        )
    });
    if candidates.len() < wanted {
        warnings.push(format!(
            "{wanted} worker lcores wanted but only {} CPUs are free, so some lcores poll several queues; free more CPUs (taskset/CPUAffinity) or lower rx_queues",
            candidates.len()
        ));
    }
    candidates.truncate(wanted);
    candidates.sort_unstable();
    Ok((main, candidates))
}

fn assign_queues(
    layout: &Layout,
    host: &HostModel,
    workers: &[u32],
) -> Result<Vec<LcorePlan>, PlanError> {
    let needs = workers.len();
    for port in &layout.ports {
        if usize::from(port.tx_queues) < needs {
            return Err(PlanError::TooFewTxQueues {
                port: port.name.clone(),
                has: port.tx_queues,
                needs,
            });
        }
    }
    let total_rx: usize = layout.ports.iter().map(|p| usize::from(p.rx_queues)).sum();
    if needs > total_rx {
        return Err(PlanError::IdleWorkers {
            workers: needs,
            rx: total_rx,
            idle: needs - total_rx,
        });
    }
    let mut lcores: Vec<LcorePlan> = workers
        .iter()
        .zip(0u16..)
        .map(|(&lcore, tx_queue)| LcorePlan {
            lcore,
            socket: host.cpu_node(lcore),
            rx: Vec::new(),
            tx_queue,
        })
        .collect();
    let mut next = 0;
    let count = lcores.len();
    for (index, port) in layout.ports.iter().enumerate() {
        for queue in 0..port.rx_queues {
            lcores[next % count].rx.push((index, queue));
            next += 1;
        }
    }
    Ok(lcores)
}

fn numa_warnings(
    layout: &Layout,
    host: &HostModel,
    lcores: &[LcorePlan],
    warnings: &mut Vec<String>,
) {
    // One warning per (lcore, port) pair, listing the queues, so a wholly misplaced layout
    // gives a handful of lines rather than one per queue.
    for lcore in lcores {
        for (index, port) in layout.ports.iter().enumerate() {
            let Some(port_node) = port.pci_address().and_then(|a| host.pci_node(a)) else {
                continue;
            };
            let Some(lcore_node) = lcore.socket.filter(|&s| s != port_node) else {
                continue;
            };
            let queues: Vec<String> = lcore
                .rx
                .iter()
                .filter(|&&(p, _)| p == index)
                .map(|(_, q)| q.to_string())
                .collect();
            if queues.is_empty() {
                continue;
            }
            let local: Vec<u32> = host
                .cpus
                .iter()
                .filter(|c| c.node == Some(port_node))
                .map(|c| c.id)
                .collect();
            warnings.push(format!(
                "lcore {} (node {lcore_node}) polls port \"{}\" (node {port_node}) rx queues {}: every packet crosses the interconnect; list worker_lcores from node {port_node} ({})",
                lcore.lcore,
                port.name,
                queues.join(","),
                format_cpu_list(&local)
            ));
        }
    }
}

/// Mbufs needed so that no ring or cache can starve another:
/// every rx descriptor filled + every tx descriptor in flight + each lcore's cache full and one
/// rx burst plus one tx burst in hand + each worker's per-port tx buffer + [`GENERATED_RESERVE`];
/// rounded up to `2^n - 1`, the size DPDK's ring-backed mempool stores most efficiently.
pub fn default_mbufs(layout: &Layout, workers: usize) -> u32 {
    let rings: u64 = layout
        .ports
        .iter()
        .map(|p| {
            u64::from(p.rx_queues) * u64::from(p.rx_desc)
                + u64::from(p.tx_queues) * u64::from(p.tx_desc)
        })
        .sum();
    // The main lcore also gets a mempool cache when it touches the pool (ARP, stand-ins).
    let lcores = workers as u64 + 1;
    let caches = lcores * (u64::from(layout.mempool.cache_size) + 2 * u64::from(BURST));
    let tx_buffers = workers as u64 * layout.ports.len() as u64 * u64::from(BURST);
    let needed = rings + caches + tx_buffers + u64::from(GENERATED_RESERVE);
    let rounded = (needed + 1).next_power_of_two() - 1;
    u32::try_from(rounded).unwrap_or(u32::MAX)
}

fn size_mempool(
    layout: &Layout,
    workers: usize,
    nic_node: Option<u32>,
    warnings: &mut Vec<String>,
) -> Result<MempoolPlan, PlanError> {
    let spec = &layout.mempool;
    let computed = default_mbufs(layout, workers);
    let mbufs = match spec.mbufs {
        None => computed,
        Some(configured) => {
            let rx_desc: u64 = layout
                .ports
                .iter()
                .map(|p| u64::from(p.rx_queues) * u64::from(p.rx_desc))
                .sum();
            if u64::from(configured) <= rx_desc {
                return Err(PlanError::MempoolTooSmall {
                    configured,
                    rx_desc,
                    needed: computed,
                });
            }
            if configured < computed {
                warnings.push(format!(
                    "mempool.mbufs = {configured} is below the computed {computed}: under load rx rings can run dry and drop; leave mbufs out"
                ));
            }
            configured
        }
    };
    // rte_mempool_create refuses a cache larger than n / 1.5 (CACHE_FLUSHTHRESH_MULTIPLIER).
    if u64::from(spec.cache_size) * 3 > u64::from(mbufs) * 2 {
        return Err(PlanError::CacheTooLargeForPool {
            cache: spec.cache_size,
            mbufs,
        });
    }
    debug_assert!(spec.data_room > MBUF_HEADROOM);
    Ok(MempoolPlan {
        mbufs,
        cache_size: spec.cache_size,
        data_room: spec.data_room,
        socket: nic_node,
    })
}

fn memory_mb(layout: &Layout, mempool: &MempoolPlan) -> Result<u64, PlanError> {
    let pool_mb = mempool.bytes().div_ceil(1 << 20);
    let needed = pool_mb + EAL_OVERHEAD_MB;
    match layout.eal.memory_mb {
        Some(configured) if u64::from(configured) < needed => Err(PlanError::MemoryTooSmall {
            configured,
            pool_mb,
            needed,
        }),
        Some(configured) => Ok(u64::from(configured)),
        None if !layout.eal.hugepages => Ok(needed.max(NO_HUGE_MIN_MB)),
        None => Ok(needed),
    }
}

fn eal_args(
    layout: &Layout,
    host: &HostModel,
    main: u32,
    workers: &[u32],
    nic_node: Option<u32>,
    memory_mb: u64,
) -> Vec<String> {
    let eal = &layout.eal;
    let mut lcores = workers.to_vec();
    lcores.push(main);
    let mut args = vec![
        "-l".into(),
        format_cpu_list(&lcores),
        "--main-lcore".into(),
        main.to_string(),
    ];
    if !eal.hugepages {
        args.extend(["--no-huge".into(), "-m".into(), memory_mb.to_string()]);
    } else if eal.memory_mb.is_some() {
        // With hugepages, reserve on the NIC's node only: memory on the other node would be
        // used by nothing on the fast path and can fail the start when that node has no pages.
        match nic_node {
            Some(node) if host.numa_nodes.len() > 1 => {
                let max = host.numa_nodes.iter().copied().max().unwrap_or(node);
                let per_node: Vec<String> = (0..=max)
                    .map(|n| {
                        if n == node {
                            memory_mb.to_string()
                        } else {
                            "0".into()
                        }
                    })
                    .collect();
                args.extend(["--socket-mem".into(), per_node.join(",")]);
            }
            _ => args.extend(["-m".into(), memory_mb.to_string()]),
        }
    }
    if let Some(prefix) = &eal.file_prefix {
        args.extend(["--file-prefix".into(), prefix.clone()]);
    }
    let has_pci = layout.pci_ports().next().is_some();
    // Without any -a, the EAL probes every DPDK-bound PCI function on the host, including NICs
    // another DPDK process owns; a vdev-only layout therefore always gets --no-pci.
    if eal.no_pci || !has_pci {
        args.push("--no-pci".into());
    }
    if eal.no_shconf {
        args.push("--no-shconf".into());
    }
    for (_, port) in layout.pci_ports() {
        args.extend(["-a".into(), port.device.clone()]);
    }
    for port in layout.ports.iter().filter(|p| p.is_vdev()) {
        args.extend(["--vdev".into(), port.device.clone()]);
    }
    args.extend(eal.extra_args.iter().cloned());
    args
}

impl Plan {
    /// All lcores the EAL runs (main first), e.g. for a unit's `CPUAffinity=`.
    pub fn all_lcores(&self) -> Vec<u32> {
        let mut all = vec![self.main_lcore];
        all.extend(self.lcores.iter().map(|l| l.lcore));
        all
    }

    /// Human-readable plan: the lcore ↔ queue table, the mempool and the EAL argv.
    pub fn render(&self, layout: &Layout) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let node = |s: Option<u32>| s.map_or("-".to_string(), |s| s.to_string());
        let _ = writeln!(out, "main lcore {} (control plane)", self.main_lcore);
        let _ = writeln!(
            out,
            "{:<6} {:<5} {:<8} rx queues (port:queue)",
            "lcore", "node", "tx queue"
        );
        for l in &self.lcores {
            let rx: Vec<String> =
                l.rx.iter()
                    .map(|&(p, q)| format!("{}:{q}", layout.ports[p].name))
                    .collect();
            let _ = writeln!(
                out,
                "{:<6} {:<5} {:<8} {}",
                l.lcore,
                node(l.socket),
                l.tx_queue,
                rx.join(" ")
            );
        }
        let m = &self.mempool;
        let _ = writeln!(
            out,
            "mempool: {} mbufs x {} B data room, cache {} per lcore, socket {} (~{} MiB)",
            m.mbufs,
            m.data_room,
            m.cache_size,
            node(m.socket),
            m.bytes().div_ceil(1 << 20)
        );
        let _ = writeln!(out, "EAL memory: {} MiB", self.memory_mb);
        let _ = writeln!(out, "EAL args: {}", self.eal_args.join(" "));
        for w in &self.warnings {
            let _ = writeln!(out, "warning: {w}");
        }
        out
    }
}
