//! Host checks: is this machine ready to run the planned dataplane, and if not, what to change.
//!
//! Each check is a pure function of the [`HostModel`] (plus the layout and plan when a config is
//! given) returning table lines; nothing here reads files, so fake-tree tests exercise every path.

use crate::host::{HostModel, Limit, PciDevice};
use crate::layout::Layout;
use crate::plan::{plan, Plan};
use crate::sysfs::{format_cpu_list, Root};
use crate::usage::interface_usage;
use serde::Serialize;

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        })
    }
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckLine {
    /// Dotted name, e.g. `hugepages.reserved` or `port.uplink0.driver`.
    pub check: String,
    pub status: Status,
    /// What was found.
    pub finding: String,
    /// What to do about it; `None` on pass.
    pub fix: Option<String>,
}

fn line(
    check: impl Into<String>,
    status: Status,
    finding: impl Into<String>,
    fix: Option<String>,
) -> CheckLine {
    CheckLine {
        check: check.into(),
        status,
        finding: finding.into(),
        fix,
    }
}
fn pass(check: impl Into<String>, finding: impl Into<String>) -> CheckLine {
    line(check, Status::Pass, finding, None)
}
fn warn(check: impl Into<String>, finding: impl Into<String>, fix: impl Into<String>) -> CheckLine {
    line(check, Status::Warn, finding, Some(fix.into()))
}
fn fail(check: impl Into<String>, finding: impl Into<String>, fix: impl Into<String>) -> CheckLine {
    line(check, Status::Fail, finding, Some(fix.into()))
}

/// The whole table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub lines: Vec<CheckLine>,
}

impl Report {
    pub fn worst(&self) -> Status {
        self.lines
            .iter()
            .map(|l| l.status)
            .max()
            .unwrap_or(Status::Pass)
    }

    pub fn get(&self, check: &str) -> Option<&CheckLine> {
        self.lines.iter().find(|l| l.check == check)
    }

    /// `STATUS CHECK FINDING FIX`, one check per line.
    pub fn render(&self) -> String {
        let w_check = self
            .lines
            .iter()
            .map(|l| l.check.len())
            .max()
            .unwrap_or(5)
            .max(5);
        let w_find = self
            .lines
            .iter()
            .map(|l| l.finding.len())
            .max()
            .unwrap_or(7)
            .clamp(7, 72);
        let mut out = format!(
            "{:<4}  {:<w_check$}  {:<w_find$}  FIX\n",
            "", "CHECK", "FINDING"
        );
        for l in &self.lines {
            let fix = l.fix.as_deref().unwrap_or("-");
            out.push_str(&format!(
                "{:<4}  {:<w_check$}  {:<w_find$}  {fix}\n",
                l.status, l.check, l.finding
            ));
        }
        let count = |s| self.lines.iter().filter(|l| l.status == s).count();
        out.push_str(&format!(
            "{} pass, {} warn, {} fail\n",
            count(Status::Pass),
            count(Status::Warn),
            count(Status::Fail)
        ));
        out
    }
}

/// Runs every check. `layout` is the `[dataplane]` table when a config is known; without it the
/// checks describe the host alone (and assume all CPUs but the first would be workers).
pub fn run(host: &HostModel, root: &Root, layout: Option<&Layout>) -> Report {
    let planned = layout.map(|l| (l, plan(l, host)));
    let mut lines = Vec::new();
    let plan_ok = match &planned {
        Some((_, Ok(p))) => {
            lines.push(pass(
                "plan",
                format!(
                    "main lcore {}, workers {}, {} mbufs",
                    p.main_lcore,
                    lcore_list(p),
                    p.mempool.mbufs
                ),
            ));
            lines.extend(p.warnings.iter().map(|w| match w.rsplit_once("; ") {
                Some((finding, fix)) => warn("plan.warning", finding, fix),
                None => warn(
                    "plan.warning",
                    w.clone(),
                    "adjust [dataplane] as the finding says",
                ),
            }));
            Some(p)
        }
        Some((_, Err(e))) => {
            lines.push(fail(
                "plan",
                "the [dataplane] layout cannot run on this host",
                e.to_string(),
            ));
            None
        }
        None => None,
    };
    let workers: Vec<u32> = match plan_ok {
        Some(p) => p.lcores.iter().map(|l| l.lcore).collect(),
        None => host.allowed.iter().copied().skip(1).collect(),
    };
    lines.extend(cpu_checks(host, &workers));
    lines.extend(numa_checks(host, layout, plan_ok));
    lines.extend(hugepage_checks(host, layout, plan_ok));
    let vdev_only = layout.is_some_and(|l| l.pci_ports().next().is_none());
    if vdev_only {
        lines.push(pass("iommu", "not needed: the layout has no PCI ports"));
    } else {
        lines.extend(iommu_checks(host));
    }
    lines.extend(driver_checks(host, root, layout));
    lines.extend(isolation_checks(host, &workers, plan_ok.is_some()));
    lines.extend(memlock_check(host, plan_ok));
    Report { lines }
}

fn lcore_list(p: &Plan) -> String {
    format_cpu_list(&p.lcores.iter().map(|l| l.lcore).collect::<Vec<_>>())
}

fn cpu_checks(host: &HostModel, workers: &[u32]) -> Vec<CheckLine> {
    let mut lines = Vec::new();
    let flags = &host.cpu_flags;
    if flags.is_empty() {
        lines.push(warn(
            "cpu.flags",
            "cannot read CPU flags from /proc/cpuinfo",
            "run on the host itself, not in a restricted container",
        ));
        return lines;
    }
    lines.push(if flags.contains("sse4_2") {
        pass("cpu.sse4_2", "SSE4.2 present")
    } else {
        fail("cpu.sse4_2", "no SSE4.2", "DPDK 22.11 x86 builds need SSE4.2 (Nehalem or newer); in a VM pass the host CPU model (-cpu host)")
    });
    lines.push(if flags.contains("avx2") {
        pass("cpu.avx2", "AVX2 present")
    } else {
        warn("cpu.avx2", "no AVX2: PMDs fall back to SSE rx/tx paths", "expect a lower per-core packet rate; use a Haswell-or-newer CPU or expose avx2 to the VM")
    });
    let invariant = flags.contains("constant_tsc") && flags.contains("nonstop_tsc");
    lines.push(if invariant {
        pass("cpu.tsc", "invariant TSC (constant_tsc, nonstop_tsc)")
    } else {
        warn(
            "cpu.tsc",
            "TSC is not invariant: deadlines and rates drift with frequency and C-states",
            "enable invariant TSC in BIOS; in KVM start the guest with -cpu host,+invtsc",
        )
    });
    let governors: Vec<(u32, &str)> = workers
        .iter()
        .filter_map(|&c| Some((c, host.cpu(c)?.governor.as_deref()?)))
        .collect();
    lines.push(if governors.is_empty() {
        warn(
            "cpu.governor",
            "no cpufreq governor exposed (VM or BIOS-controlled frequency)",
            "set the BIOS power profile to maximum performance and limit C-states to C1",
        )
    } else {
        let slow: Vec<u32> = governors.iter().filter(|(_, g)| *g != "performance").map(|(c, _)| *c).collect();
        if slow.is_empty() {
            pass("cpu.governor", format!("performance on lcores {}", format_cpu_list(workers)))
        } else {
            let list = format_cpu_list(&slow);
            warn(
                "cpu.governor",
                format!("lcores {list} not on the performance governor ({})", governors[0].1),
                format!("cpupower -c {list} frequency-set -g performance (or tuned-adm profile network-latency)"),
            )
        }
    });
    lines
}

fn numa_checks(host: &HostModel, layout: Option<&Layout>, plan: Option<&Plan>) -> Vec<CheckLine> {
    let mut lines = Vec::new();
    let describe: Vec<String> = host
        .numa_nodes
        .iter()
        .map(|&n| {
            let cpus: Vec<u32> = host
                .cpus
                .iter()
                .filter(|c| c.node == Some(n))
                .map(|c| c.id)
                .collect();
            format!("node {n}: cpus {}", format_cpu_list(&cpus))
        })
        .collect();
    lines.push(if describe.is_empty() {
        pass("numa.nodes", "no NUMA information: one memory domain")
    } else {
        pass("numa.nodes", describe.join("; "))
    });
    let (Some(layout), Some(plan)) = (layout, plan) else {
        return lines;
    };
    for (index, port) in layout.pci_ports() {
        let check = format!("port.{}.numa", port.name);
        let pollers: Vec<u32> = plan
            .lcores
            .iter()
            .filter(|l| l.rx.iter().any(|&(p, _)| p == index))
            .map(|l| l.lcore)
            .collect();
        match host.pci_node(&port.device) {
            None if host.numa_nodes.len() > 1 => lines.push(warn(
                check,
                format!("{} reports no NUMA node (numa_node = -1)", port.device),
                "enable NUMA/SRAT in BIOS so the kernel knows which socket the slot hangs off",
            )),
            None => lines.push(pass(
                check,
                format!("{}: single memory domain", port.device),
            )),
            Some(node) => {
                let remote: Vec<u32> = pollers
                    .iter()
                    .copied()
                    .filter(|&c| host.cpu_node(c) != Some(node))
                    .collect();
                if remote.is_empty() {
                    lines.push(pass(
                        check,
                        format!(
                            "{} on node {node}, polled by lcores {}",
                            port.device,
                            format_cpu_list(&pollers)
                        ),
                    ));
                } else {
                    let local: Vec<u32> = host
                        .cpus
                        .iter()
                        .filter(|c| c.node == Some(node))
                        .map(|c| c.id)
                        .collect();
                    lines.push(warn(
                        check,
                        format!("{} on node {node} but lcores {} are on another node", port.device, format_cpu_list(&remote)),
                        format!("set [dataplane.eal] worker_lcores to CPUs of node {node} ({}), or move the NIC", format_cpu_list(&local)),
                    ));
                }
            }
        }
    }
    lines
}

fn hugepage_checks(
    host: &HostModel,
    layout: Option<&Layout>,
    plan: Option<&Plan>,
) -> Vec<CheckLine> {
    let mut lines = Vec::new();
    if layout.is_some_and(|l| !l.eal.hugepages) {
        // The layout runs --no-huge: reservations and mounts are irrelevant to it.
        lines.push(warn(
            "hugepages.config",
            "config sets hugepages = false (--no-huge): no DMA-safe memory, physical NICs will not work",
            "set [dataplane.eal] hugepages = true for production; keep false only for vdev tests and demos",
        ));
        return lines;
    }
    let global: Vec<_> = host.hugepages.iter().filter(|p| p.node.is_none()).collect();
    let reserved: Vec<String> = global
        .iter()
        .filter(|p| p.total > 0)
        .map(|p| format!("{} x {} ({} free)", p.total, size_name(p.size_kb), p.free))
        .collect();
    let reserve_fix = "add 'default_hugepagesz=1G hugepagesz=1G hugepages=4' to the kernel cmdline, or now: echo 1024 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages";
    lines.push(if reserved.is_empty() {
        fail(
            "hugepages.reserved",
            "no hugepages reserved (1G: 0, 2M: 0)",
            reserve_fix,
        )
    } else {
        pass("hugepages.reserved", reserved.join(", "))
    });
    lines.push(mount_line(host, &global));
    if let (Some(plan), Some(layout)) = (plan, layout) {
        if layout.eal.hugepages {
            lines.push(enough_hugepages(host, plan));
        }
    }
    lines
}

/// DPDK finds hugepages of a size only through a hugetlbfs mounted with that page size; pages
/// reserved without a matching mount are invisible to it.
fn mount_line(host: &HostModel, global: &[&crate::host::HugepagePool]) -> CheckLine {
    if host.hugetlbfs_mounts.is_empty() {
        return fail(
            "hugepages.mounted",
            "no hugetlbfs mounted",
            "mount -t hugetlbfs nodev /dev/hugepages (systemd's dev-hugepages.mount does it at boot)",
        );
    }
    let mounted_kb: Vec<Option<u64>> = host
        .hugetlbfs_mounts
        .iter()
        .map(|m| {
            m.pagesize
                .as_deref()
                .map_or(host.default_hugepage_kb, parse_size_kb)
        })
        .collect();
    let unmounted: Vec<u64> = global
        .iter()
        .filter(|p| p.total > 0 && !mounted_kb.contains(&Some(p.size_kb)))
        .map(|p| p.size_kb)
        .collect();
    let mounts: Vec<String> = host
        .hugetlbfs_mounts
        .iter()
        .map(|m| {
            format!(
                "{}{}",
                m.path,
                m.pagesize
                    .as_ref()
                    .map(|p| format!(" ({p})"))
                    .unwrap_or_default()
            )
        })
        .collect();
    match unmounted.first() {
        None => pass("hugepages.mounted", mounts.join(", ")),
        Some(&kb) => {
            let size = size_name(kb);
            warn(
                "hugepages.mounted",
                format!("{size} pages reserved but no hugetlbfs mounted with that page size (mounted: {})", mounts.join(", ")),
                format!("mkdir -p /dev/hugepages{size} && mount -t hugetlbfs -o pagesize={size} nodev /dev/hugepages{size}"),
            )
        }
    }
}

/// `2M`, `1G`, `1024M`, `2048k` → kB.
fn parse_size_kb(text: &str) -> Option<u64> {
    let (digits, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit())?);
    let n: u64 = digits.parse().ok()?;
    match unit.to_ascii_uppercase().as_str() {
        "K" | "KB" => Some(n),
        "M" | "MB" => Some(n << 10),
        "G" | "GB" => Some(n << 20),
        _ => None,
    }
}

fn size_name(kb: u64) -> String {
    if kb >= 1 << 20 {
        format!("{}G", kb >> 20)
    } else {
        format!("{}M", kb >> 10)
    }
}

fn enough_hugepages(host: &HostModel, plan: &Plan) -> CheckLine {
    let need = plan.memory_mb << 20;
    let node = plan.mempool.socket;
    // Per-node pools when the plan has a node and the kernel reports them; host-wide otherwise.
    let pools: Vec<_> = match node {
        Some(n) if host.hugepages.iter().any(|p| p.node == Some(n)) => host
            .hugepages
            .iter()
            .filter(|p| p.node == Some(n))
            .collect(),
        _ => host.hugepages.iter().filter(|p| p.node.is_none()).collect(),
    };
    let free: u64 = pools.iter().map(|p| p.free_bytes()).sum();
    let where_ = node.map_or("host-wide".to_string(), |n| format!("on node {n}"));
    let mib = |b: u64| b >> 20;
    if free >= need {
        pass(
            "hugepages.enough",
            format!(
                "plan needs {} MiB, {} MiB free {where_}",
                mib(need),
                mib(free)
            ),
        )
    } else {
        let short_2m = (need - free).div_ceil(2 << 20);
        let sysfs = match node {
            Some(n) => {
                format!("/sys/devices/system/node/node{n}/hugepages/hugepages-2048kB/nr_hugepages")
            }
            None => "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages".into(),
        };
        fail(
            "hugepages.enough",
            format!("plan needs {} MiB, only {} MiB free {where_}", mib(need), mib(free)),
            format!("reserve {short_2m} more 2M pages (echo N > {sysfs}) or 1G pages on the kernel cmdline"),
        )
    }
}

fn iommu_checks(host: &HostModel) -> Vec<CheckLine> {
    let c = &host.cmdline;
    let on =
        c.value("intel_iommu") == Some("on") || c.value("amd_iommu").is_some_and(|v| v != "off");
    let pt = c.value("iommu") == Some("pt");
    let groups = if host.iommu_groups > 0 {
        pass(
            "iommu.groups",
            format!("{} IOMMU groups", host.iommu_groups),
        )
    } else {
        fail(
            "iommu.groups",
            "IOMMU off: /sys/kernel/iommu_groups is empty, vfio-pci cannot map DMA safely",
            "enable VT-d (Intel) or AMD-Vi in BIOS and add intel_iommu=on iommu=pt to the kernel cmdline",
        )
    };
    let cmdline = match (on || host.iommu_groups > 0, pt) {
        (true, true) => pass("iommu.cmdline", "IOMMU on with iommu=pt"),
        (true, false) => warn(
            "iommu.cmdline",
            "iommu=pt missing: kernel drivers pay IOMMU translation on every DMA",
            "add iommu=pt to the kernel cmdline (GRUB_CMDLINE_LINUX), update-grub, reboot",
        ),
        (false, _) => warn(
            "iommu.cmdline",
            "neither intel_iommu=on nor amd_iommu on the kernel cmdline",
            "add intel_iommu=on iommu=pt to GRUB_CMDLINE_LINUX, update-grub, reboot",
        ),
    };
    vec![groups, cmdline]
}

/// How a driver relates to DPDK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DriverKind {
    Vfio,
    Uio,
    /// mlx5: the kernel driver stays bound and DPDK shares the device (bifurcated).
    Bifurcated,
    Kernel,
    Unbound,
}

fn driver_kind(driver: Option<&str>) -> DriverKind {
    match driver {
        Some("vfio-pci") => DriverKind::Vfio,
        Some("uio_pci_generic" | "igb_uio") => DriverKind::Uio,
        Some("mlx5_core" | "mlx4_core") => DriverKind::Bifurcated,
        Some(_) => DriverKind::Kernel,
        None => DriverKind::Unbound,
    }
}

fn driver_checks(host: &HostModel, root: &Root, layout: Option<&Layout>) -> Vec<CheckLine> {
    let mut lines = Vec::new();
    let ports: Vec<(&str, &str)> = match layout {
        Some(l) => l
            .pci_ports()
            .map(|(_, p)| (p.name.as_str(), p.device.as_str()))
            .collect(),
        None => Vec::new(),
    };
    let port_devices: Vec<&PciDevice> =
        ports.iter().filter_map(|(_, d)| host.pci.get(*d)).collect();
    let all_bifurcated = !port_devices.is_empty()
        && port_devices
            .iter()
            .all(|d| driver_kind(d.driver.as_deref()) == DriverKind::Bifurcated);
    lines.push(if layout.is_some() && ports.is_empty() {
        pass("driver.vfio", "not needed: the layout has no PCI ports")
    } else if host.has_module("vfio_pci") && host.dev_vfio {
        pass("driver.vfio", "vfio-pci loaded, /dev/vfio/vfio present")
    } else if host.has_module("vfio_pci") {
        fail(
            "driver.vfio",
            "vfio-pci loaded but /dev/vfio/vfio missing",
            "modprobe vfio; check dmesg for vfio errors",
        )
    } else if all_bifurcated {
        pass(
            "driver.vfio",
            "not needed: all ports are mlx5 (bifurcated, kernel driver stays bound)",
        )
    } else if host.has_module("uio_pci_generic") || host.has_module("igb_uio") {
        warn(
            "driver.vfio",
            "only uio loaded: DMA is not IOMMU-protected",
            "modprobe vfio-pci and bind with --driver vfio-pci",
        )
    } else {
        fail(
            "driver.vfio",
            "vfio-pci not loaded (nor uio)",
            "modprobe vfio-pci; echo vfio-pci > /etc/modules-load.d/vfio-pci.conf",
        )
    });
    match layout {
        None => lines.push(host_nics(host, root)),
        Some(layout) => {
            for port in layout.ports.iter().filter(|p| p.is_vdev()) {
                lines.push(pass(
                    format!("port.{}.driver", port.name),
                    format!("virtual device {}: no binding", port.dpdk_name()),
                ));
            }
            lines.extend(port_driver_lines(host, &ports));
        }
    }
    lines
}

fn port_driver_lines(host: &HostModel, ports: &[(&str, &str)]) -> Vec<CheckLine> {
    let mut lines = Vec::new();
    let mut kinds = Vec::new();
    for &(name, address) in ports {
        let check = format!("port.{name}.driver");
        let Some(dev) = host.pci.get(address) else {
            lines.push(fail(
                check,
                format!("no PCI function {address} on this host"),
                "check the address with lspci -D -d ::0200 and fix [[dataplane.ports]] device",
            ));
            lines.push(fail(
                format!("port.{name}.link"),
                "no device, no link",
                "see port driver line",
            ));
            continue;
        };
        let kind = driver_kind(dev.driver.as_deref());
        let driver = dev.driver.as_deref().unwrap_or("none");
        kinds.push((name, driver));
        lines.push(match kind {
            DriverKind::Vfio => pass(check, format!("{address} bound to vfio-pci")),
            DriverKind::Bifurcated => pass(
                check,
                format!("{address} on {driver} (bifurcated, DPDK shares it)"),
            ),
            DriverKind::Uio => warn(
                check,
                format!("{address} on {driver}: no IOMMU protection"),
                format!("clearway-nic bind {address} --driver vfio-pci"),
            ),
            DriverKind::Kernel => fail(
                check,
                format!("{address} bound to kernel driver {driver}"),
                format!("clearway-nic bind {address} --driver vfio-pci"),
            ),
            DriverKind::Unbound => fail(
                check,
                format!("{address} bound to no driver"),
                format!("clearway-nic bind {address} --driver vfio-pci"),
            ),
        });
        lines.push(link_line(name, dev, kind));
        if kind == DriverKind::Vfio {
            lines.push(iommu_group_line(name, dev));
        }
        if dev.is_e810() {
            lines.push(match &host.ice_ddp_package {
                Some(path) => pass(format!("port.{name}.ddp"), format!("E810 DDP package at {path}")),
                None => fail(
                    format!("port.{name}.ddp"),
                    "E810 without a DDP package: the DPDK ice PMD refuses to start the port",
                    "install it (Debian: firmware-misc-nonfree, or Intel's E810 DDP download) so /lib/firmware/intel/ice/ddp/ice.pkg exists",
                ),
            });
        }
    }
    let distinct: std::collections::BTreeSet<&str> = kinds.iter().map(|(_, d)| *d).collect();
    if distinct.len() > 1 {
        let list: Vec<String> = kinds.iter().map(|(n, d)| format!("{n}={d}")).collect();
        lines.push(warn(
            "port.drivers",
            format!("ports on mixed drivers: {}", list.join(", ")),
            "bind every Clearway port to vfio-pci (or all to mlx5_core on ConnectX)",
        ));
    }
    lines
}

/// vfio-pci refuses a group ("VFIO group is not viable") while any of its other functions is
/// bound to a kernel driver; PCIe port drivers of bridges are tolerated by vfio.
fn iommu_group_line(name: &str, dev: &PciDevice) -> CheckLine {
    let check = format!("port.{name}.iommu_group");
    let group = dev.iommu_group.as_deref().unwrap_or("?");
    let blocking: Vec<String> = dev
        .iommu_group_peers
        .iter()
        .filter_map(|(peer, driver)| match driver.as_deref() {
            None | Some("vfio-pci" | "pcieport") => None,
            Some(d) => Some(format!("{peer} on {d}")),
        })
        .collect();
    if blocking.is_empty() {
        pass(
            check,
            format!(
                "group {group} viable ({} other functions)",
                dev.iommu_group_peers.len()
            ),
        )
    } else {
        let first = dev
            .iommu_group_peers
            .iter()
            .find(|(_, d)| d.is_some())
            .map(|(p, _)| p.as_str())
            .unwrap_or("");
        fail(
            check,
            format!("group {group} not viable for vfio: {}", blocking.join(", ")),
            format!("bind the rest of the group too (clearway-nic bind {first} --driver vfio-pci) or move the card to a slot with ACS"),
        )
    }
}

fn link_line(name: &str, dev: &PciDevice, kind: DriverKind) -> CheckLine {
    let check = format!("port.{name}.link");
    if matches!(kind, DriverKind::Vfio | DriverKind::Uio) {
        return pass(
            check,
            format!(
                "owned by {}: DPDK reads the link at start (clearctl stats)",
                dev.driver.as_deref().unwrap_or("")
            ),
        );
    }
    let Some(iface) = dev.interfaces.first() else {
        return warn(
            check,
            "no kernel interface to read the link from",
            "bind the port; DPDK reports the link at start",
        );
    };
    let state = iface.operstate.as_deref().unwrap_or("unknown");
    match (state, iface.speed_mbps) {
        ("up", Some(speed)) if speed >= 10_000 => {
            pass(check, format!("{} up at {} Gb/s", iface.name, speed / 1000))
        }
        ("up", Some(speed)) => warn(
            check,
            format!("{} up at only {speed} Mb/s", iface.name),
            "check the transceiver, cable and switch port speed (ethtool)",
        ),
        ("up", None) => pass(check, format!("{} up", iface.name)),
        _ => warn(
            check,
            format!("{} link {state}", iface.name),
            "check cable/transceiver and the switch port (ethtool, ip link)",
        ),
    }
}

/// Without a config: which Ethernet functions exist at all.
fn host_nics(host: &HostModel, root: &Root) -> CheckLine {
    if host.pci.is_empty() {
        return fail(
            "nic.present",
            "no Ethernet PCI function on this host",
            "production needs a DPDK-supported NIC (Intel E810/X710/82599, NVIDIA ConnectX); tests use vdevs (net_memif, net_tap, net_null)",
        );
    }
    let mut found = Vec::new();
    let mut physical = false;
    for dev in host.pci.values() {
        let virtio = dev.vendor.as_deref() == Some("0x1af4");
        physical |= !virtio;
        let ifaces: Vec<String> = dev
            .interfaces
            .iter()
            .map(|i| {
                let used = interface_usage(root, &i.name);
                let used = if used.is_empty() {
                    String::new()
                } else {
                    ", in use".to_string()
                };
                format!("{} {}{used}", i.name, i.operstate.as_deref().unwrap_or("?"))
            })
            .collect();
        found.push(format!(
            "{} {}{} on {}{}",
            dev.address,
            if virtio { "virtio-net " } else { "" },
            dev.vendor
                .as_deref()
                .zip(dev.device.as_deref())
                .map(|(v, d)| format!(
                    "{}:{}",
                    v.trim_start_matches("0x"),
                    d.trim_start_matches("0x")
                ))
                .unwrap_or_default(),
            dev.driver.as_deref().unwrap_or("no driver"),
            if ifaces.is_empty() {
                String::new()
            } else {
                format!(" ({})", ifaces.join(", "))
            }
        ));
    }
    if physical {
        pass("nic.present", found.join("; "))
    } else {
        fail(
            "nic.present",
            format!("no physical NIC, only paravirtual: {}", found.join("; ")),
            "production needs a DPDK-supported NIC (Intel E810/X710/82599, NVIDIA ConnectX); tests use vdevs (net_memif, net_tap, net_null)",
        )
    }
}

fn isolation_checks(host: &HostModel, workers: &[u32], planned: bool) -> Vec<CheckLine> {
    let who = if planned {
        "workers"
    } else {
        "workers (assumed: all CPUs but the first)"
    };
    let list = format_cpu_list(workers);
    let cmd = &host.cmdline;
    let isolated = if host.isolated.is_empty() {
        cmd.cpu_list("isolcpus").unwrap_or_default()
    } else {
        host.isolated.clone()
    };
    let nohz = if host.nohz_full.is_empty() {
        cmd.cpu_list("nohz_full").unwrap_or_default()
    } else {
        host.nohz_full.clone()
    };
    // nohz_full implies rcu_nocbs on the same CPUs since Linux 5.x (RCU offloading is forced).
    let mut nocbs = cmd.cpu_list("rcu_nocbs").unwrap_or_default();
    nocbs.extend(&nohz);
    let missing = |set: &[u32]| -> Vec<u32> {
        workers
            .iter()
            .copied()
            .filter(|c| !set.contains(c))
            .collect()
    };
    let mut lines = Vec::new();
    for (check, set, what) in [
        ("cpu.isolcpus", &isolated, "isolcpus"),
        ("cpu.nohz_full", &nohz, "nohz_full"),
        ("cpu.rcu_nocbs", &nocbs, "rcu_nocbs"),
    ] {
        let out = missing(set);
        lines.push(if workers.is_empty() {
            pass(check, "no worker lcores to isolate")
        } else if out.is_empty() {
            pass(check, format!("{who} {list} are in {what}"))
        } else {
            warn(
                check,
                format!(
                    "{who} {} not in {what}: ticks and kernel threads interrupt them",
                    format_cpu_list(&out)
                ),
                format!("add {what}={list} to GRUB_CMDLINE_LINUX, update-grub, reboot"),
            )
        });
    }
    let shielded: Vec<u32> = isolated
        .iter()
        .chain(&nohz)
        .chain(&host.irqbalance_banned)
        .copied()
        .collect();
    let exposed = missing(&shielded);
    lines.push(if !host.irqbalance_running {
        pass("irqbalance", "not running")
    } else if exposed.is_empty() {
        pass("irqbalance", format!("running, but keeps off {list} (isolated or banned)"))
    } else {
        warn(
            "irqbalance",
            format!("running and may move NIC interrupts onto lcores {}", format_cpu_list(&exposed)),
            format!("systemctl disable --now irqbalance, or IRQBALANCE_BANNED_CPULIST={list} in /etc/default/irqbalance"),
        )
    });
    lines
}

fn memlock_check(host: &HostModel, plan: Option<&Plan>) -> Vec<CheckLine> {
    let need = plan.map_or(0, |p| p.memory_mb << 20);
    let fix = "the generated unit sets LimitMEMLOCK=infinity; for a shell: ulimit -l unlimited (or memlock in /etc/security/limits.conf)";
    let line = match host.memlock {
        None => warn(
            "memlock",
            "cannot read Max locked memory from /proc/self/limits",
            fix,
        ),
        Some((Limit::Unlimited, _)) => pass("memlock", "unlimited"),
        // vfio accounts pinned DMA pages against RLIMIT_MEMLOCK unless the process has
        // CAP_IPC_LOCK, which root has.
        Some((Limit::Bytes(soft), _)) if host.uid == Some(0) => pass(
            "memlock",
            format!("{} KiB, but root (CAP_IPC_LOCK) is not limited", soft >> 10),
        ),
        Some((Limit::Bytes(soft), _)) if soft >= need && need > 0 => pass(
            "memlock",
            format!("{} MiB, plan needs {} MiB", soft >> 20, need >> 20),
        ),
        Some((Limit::Bytes(soft), _)) => warn(
            "memlock",
            format!(
                "{} KiB locked-memory limit for a non-root user: vfio DMA mapping will fail",
                soft >> 10
            ),
            fix,
        ),
    };
    vec![line]
}
