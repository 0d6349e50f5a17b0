//! What the host looks like to a DPDK process: CPUs and NUMA nodes, CPU features, kernel command
//! line, hugepages, IOMMU, drivers, Ethernet PCI functions, irqbalance and memlock limits.
//!
//! [`HostModel::probe`] reads it all once through a [`Root`]; planning and checks then work on the
//! plain data, so they are pure functions that tests drive with fake trees or hand-built models.

use crate::sysfs::{parse_cpu_list, Root};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// One online CPU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cpu {
    pub id: u32,
    /// NUMA node, `None` when the kernel exposes no node directories.
    pub node: Option<u32>,
    /// Hyperthread siblings including this CPU (from `topology/thread_siblings_list`).
    pub siblings: Vec<u32>,
    /// `cpufreq/scaling_governor`, `None` when no cpufreq driver is loaded (VMs, BIOS control).
    pub governor: Option<String>,
}

/// Reserved hugepages of one size, host-wide or on one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HugepagePool {
    pub size_kb: u64,
    pub node: Option<u32>,
    pub total: u64,
    pub free: u64,
}

impl HugepagePool {
    pub fn free_bytes(&self) -> u64 {
        self.free * self.size_kb * 1024
    }
}

/// A mounted hugetlbfs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HugetlbfsMount {
    pub path: String,
    /// The `pagesize=` mount option (`2M`, `1G`), if given.
    pub pagesize: Option<String>,
}

/// A kernel network interface of a PCI function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetInterface {
    pub name: String,
    pub operstate: Option<String>,
    /// Link speed in Mb/s; the kernel reports -1 or nothing when the link is down.
    pub speed_mbps: Option<u32>,
}

/// A PCI function of Ethernet class, or one named in the layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PciDevice {
    pub address: String,
    pub numa_node: Option<u32>,
    /// The bound driver (`vfio-pci`, `ice`, `mlx5_core`), `None` when unbound.
    pub driver: Option<String>,
    pub driver_override: Option<String>,
    pub vendor: Option<String>,
    pub device: Option<String>,
    pub class: Option<String>,
    pub iommu_group: Option<String>,
    /// The other functions of the same IOMMU group and their drivers: vfio-pci can only use a
    /// group when none of them is held by a kernel driver.
    pub iommu_group_peers: Vec<(String, Option<String>)>,
    pub interfaces: Vec<NetInterface>,
}

/// A resource limit value from `/proc/self/limits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Limit {
    Unlimited,
    Bytes(u64),
}

/// The kernel command line, with lookups for `key=value` and bare flags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KernelCmdline(pub String);

impl KernelCmdline {
    /// Value of the last `key=value` (the kernel lets later ones win).
    pub fn value(&self, key: &str) -> Option<&str> {
        self.0
            .split_whitespace()
            .filter_map(|w| w.strip_prefix(key)?.strip_prefix('='))
            .next_back()
    }

    pub fn has_flag(&self, flag: &str) -> bool {
        self.0.split_whitespace().any(|w| w == flag)
    }

    /// CPUs of a list parameter such as `isolcpus=managed_irq,domain,2-7` or `rcu_nocbs=2-7`;
    /// leading flag words (letters only) are skipped.
    pub fn cpu_list(&self, key: &str) -> Option<Vec<u32>> {
        let value = self.value(key)?;
        let list: Vec<&str> = value
            .split(',')
            .filter(|p| !p.chars().all(|c| c.is_ascii_alphabetic() || c == '_'))
            .collect();
        parse_cpu_list(&list.join(","))
    }
}

/// Everything the plan and the checks know about the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostModel {
    /// Online CPUs, by id.
    pub cpus: Vec<Cpu>,
    /// CPUs this process may run on (`Cpus_allowed_list`), restricted to online ones.
    pub allowed: Vec<u32>,
    pub numa_nodes: Vec<u32>,
    pub cpu_flags: BTreeSet<String>,
    pub cmdline: KernelCmdline,
    /// `/sys/devices/system/cpu/isolated` (from `isolcpus=`).
    pub isolated: Vec<u32>,
    /// `/sys/devices/system/cpu/nohz_full`.
    pub nohz_full: Vec<u32>,
    /// Host-wide pools first, then per-node pools.
    pub hugepages: Vec<HugepagePool>,
    pub hugetlbfs_mounts: Vec<HugetlbfsMount>,
    /// `Hugepagesize:` of `/proc/meminfo`: the page size of a hugetlbfs mounted without `pagesize=`.
    pub default_hugepage_kb: Option<u64>,
    pub iommu_groups: usize,
    /// Loaded modules (`/proc/modules`) and built-in ones (`/sys/module`), `-` spelled `_`.
    pub modules: BTreeSet<String>,
    /// `/dev/vfio/vfio` exists.
    pub dev_vfio: bool,
    /// Ethernet-class PCI functions and any other PCI address the caller asked about.
    pub pci: BTreeMap<String, PciDevice>,
    pub irqbalance_running: bool,
    /// `IRQBALANCE_BANNED_CPULIST` from `/etc/default/irqbalance`.
    pub irqbalance_banned: Vec<u32>,
    /// Soft and hard `Max locked memory`.
    pub memlock: Option<(Limit, Limit)>,
    /// Effective uid of this process.
    pub uid: Option<u32>,
    /// Whether this process holds CAP_IPC_LOCK (bit 14 of `CapEff`), which lifts RLIMIT_MEMLOCK
    /// for vfio's pinned DMA memory. Root in a container may not have it.
    pub cap_ipc_lock: Option<bool>,
    /// The E810 DDP package the DPDK ice PMD would load, if present (see [`ICE_DDP_PATHS`]).
    pub ice_ddp_package: Option<String>,
}

/// Capability number of CAP_IPC_LOCK (linux/capability.h).
const CAP_IPC_LOCK: u32 = 14;

/// Where the DPDK 22.11 ice PMD looks for the DDP package (`ICE_PKG_FILE_UPDATES`, then
/// `ICE_PKG_FILE_DEFAULT`); without one an E810 port fails to start unless in safe mode.
pub const ICE_DDP_PATHS: [&str; 2] = [
    "/lib/firmware/updates/intel/ice/ddp/ice.pkg",
    "/lib/firmware/intel/ice/ddp/ice.pkg",
];

/// PCI device ids of the E810 family (vendor 0x8086), driven by `ice`.
pub const E810_DEVICE_IDS: [&str; 6] = ["0x1591", "0x1592", "0x1593", "0x1599", "0x159a", "0x159b"];

impl PciDevice {
    /// An Intel E810, whatever driver it is bound to now.
    pub fn is_e810(&self) -> bool {
        self.vendor.as_deref() == Some("0x8086")
            && self
                .device
                .as_deref()
                .is_some_and(|d| E810_DEVICE_IDS.contains(&d))
    }
}

impl HostModel {
    /// Reads the host under `root` (`/` in production). `extra_pci` are addresses to describe even
    /// if they are not Ethernet class (e.g. the layout's ports, so a typo shows as "not found").
    pub fn probe(root: &Path) -> HostModel {
        Self::probe_with(&Root::new(root), &[])
    }

    pub fn probe_with(root: &Root, extra_pci: &[&str]) -> HostModel {
        let online = root
            .read("/sys/devices/system/cpu/online")
            .and_then(|s| parse_cpu_list(&s))
            .unwrap_or_default();
        let numa_nodes = probe_nodes(root);
        let node_of = cpu_nodes(root, &numa_nodes);
        let cpus: Vec<Cpu> = online
            .iter()
            .map(|&id| Cpu {
                id,
                node: node_of.get(&id).copied(),
                siblings: root
                    .read(&format!(
                        "/sys/devices/system/cpu/cpu{id}/topology/thread_siblings_list"
                    ))
                    .and_then(|s| parse_cpu_list(&s))
                    .unwrap_or_else(|| vec![id]),
                governor: root.read(&format!(
                    "/sys/devices/system/cpu/cpu{id}/cpufreq/scaling_governor"
                )),
            })
            .collect();
        let status = root.read("/proc/self/status").unwrap_or_default();
        let allowed = status_field(&status, "Cpus_allowed_list")
            .and_then(parse_cpu_list)
            .map(|list| list.into_iter().filter(|c| online.contains(c)).collect())
            .unwrap_or_else(|| online.clone());
        let uid = status_field(&status, "Uid")
            .and_then(|s| s.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok());
        let cap_ipc_lock = status_field(&status, "CapEff")
            .and_then(|hex| u64::from_str_radix(hex, 16).ok())
            .map(|caps| caps & (1 << CAP_IPC_LOCK) != 0);
        let mut pci = BTreeMap::new();
        for address in root.list("/sys/bus/pci/devices") {
            let class = root.read(&format!("/sys/bus/pci/devices/{address}/class"));
            let ethernet = class.as_deref().is_some_and(|c| c.starts_with("0x0200"));
            if ethernet || extra_pci.contains(&address.as_str()) {
                pci.insert(address.clone(), probe_pci(root, &address));
            }
        }
        HostModel {
            cpus,
            allowed,
            numa_nodes,
            cpu_flags: cpu_flags(&root.read("/proc/cpuinfo").unwrap_or_default()),
            cmdline: KernelCmdline(root.read("/proc/cmdline").unwrap_or_default()),
            isolated: cpu_file(root, "/sys/devices/system/cpu/isolated"),
            nohz_full: cpu_file(root, "/sys/devices/system/cpu/nohz_full"),
            hugepages: probe_hugepages(root),
            hugetlbfs_mounts: hugetlbfs_mounts(&root.read("/proc/mounts").unwrap_or_default()),
            default_hugepage_kb: root.read("/proc/meminfo").and_then(|m| {
                m.lines().find_map(|l| {
                    l.strip_prefix("Hugepagesize:")?
                        .trim()
                        .strip_suffix("kB")?
                        .trim()
                        .parse()
                        .ok()
                })
            }),
            iommu_groups: root.list("/sys/kernel/iommu_groups").len(),
            modules: probe_modules(root),
            dev_vfio: root.exists("/dev/vfio/vfio"),
            pci,
            irqbalance_running: irqbalance_running(root),
            irqbalance_banned: irqbalance_banned(root),
            memlock: memlock(&root.read("/proc/self/limits").unwrap_or_default()),
            uid,
            cap_ipc_lock,
            ice_ddp_package: ICE_DDP_PATHS
                .iter()
                .find(|p| root.exists(p))
                .map(|p| p.to_string()),
        }
    }

    /// A host of `cpus` CPUs on one NUMA node with nothing else known: for tests and vdev-only
    /// runs (the embedded demo config) where reading sysfs is pointless.
    pub fn uniform(cpus: u32) -> HostModel {
        HostModel {
            cpus: (0..cpus)
                .map(|id| Cpu {
                    id,
                    node: Some(0),
                    siblings: vec![id],
                    governor: None,
                })
                .collect(),
            allowed: (0..cpus).collect(),
            numa_nodes: vec![0],
            cpu_flags: BTreeSet::new(),
            cmdline: KernelCmdline::default(),
            isolated: Vec::new(),
            nohz_full: Vec::new(),
            hugepages: Vec::new(),
            hugetlbfs_mounts: Vec::new(),
            default_hugepage_kb: None,
            iommu_groups: 0,
            modules: BTreeSet::new(),
            dev_vfio: false,
            pci: BTreeMap::new(),
            irqbalance_running: false,
            irqbalance_banned: Vec::new(),
            memlock: None,
            uid: None,
            cap_ipc_lock: None,
            ice_ddp_package: None,
        }
    }

    /// Puts `cpus` on NUMA node `node` (test and what-if helper).
    pub fn with_node(mut self, node: u32, cpus: &[u32]) -> HostModel {
        for cpu in self.cpus.iter_mut().filter(|c| cpus.contains(&c.id)) {
            cpu.node = Some(node);
        }
        if !self.numa_nodes.contains(&node) {
            self.numa_nodes.push(node);
            self.numa_nodes.sort_unstable();
        }
        self
    }

    /// Adds a PCI function on `node` bound to `driver` (test and what-if helper).
    pub fn with_pci(mut self, address: &str, node: Option<u32>, driver: Option<&str>) -> HostModel {
        self.pci.insert(
            address.to_owned(),
            PciDevice {
                address: address.to_owned(),
                numa_node: node,
                driver: driver.map(str::to_owned),
                driver_override: None,
                vendor: None,
                device: None,
                class: Some("0x020000".into()),
                iommu_group: None,
                iommu_group_peers: Vec::new(),
                interfaces: Vec::new(),
            },
        );
        self
    }

    pub fn cpu(&self, id: u32) -> Option<&Cpu> {
        self.cpus.iter().find(|c| c.id == id)
    }

    pub fn cpu_node(&self, id: u32) -> Option<u32> {
        self.cpu(id).and_then(|c| c.node)
    }

    pub fn pci_node(&self, address: &str) -> Option<u32> {
        self.pci.get(address).and_then(|d| d.numa_node)
    }

    /// Is `module` loaded or built in (`vfio-pci` and `vfio_pci` are the same)?
    pub fn has_module(&self, module: &str) -> bool {
        self.modules.contains(&module.replace('-', "_"))
    }
}

fn status_field<'a>(status: &'a str, key: &str) -> Option<&'a str> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .map(str::trim)
}

fn cpu_file(root: &Root, path: &str) -> Vec<u32> {
    root.read(path)
        .and_then(|s| parse_cpu_list(&s))
        .unwrap_or_default()
}

fn probe_nodes(root: &Root) -> Vec<u32> {
    let mut nodes: Vec<u32> = root
        .list("/sys/devices/system/node")
        .iter()
        .filter_map(|n| n.strip_prefix("node")?.parse().ok())
        .collect();
    nodes.sort_unstable();
    nodes
}

fn cpu_nodes(root: &Root, nodes: &[u32]) -> BTreeMap<u32, u32> {
    let mut map = BTreeMap::new();
    for &node in nodes {
        for cpu in cpu_file(
            root,
            &format!("/sys/devices/system/node/node{node}/cpulist"),
        ) {
            map.insert(cpu, node);
        }
    }
    map
}

fn cpu_flags(cpuinfo: &str) -> BTreeSet<String> {
    // All CPUs of a host share one feature set in practice; the first `flags` line is enough.
    cpuinfo
        .lines()
        .find_map(|l| {
            let (key, value) = l.split_once(':')?;
            (key.trim() == "flags").then_some(value)
        })
        .map(|v| v.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

fn probe_hugepages(root: &Root) -> Vec<HugepagePool> {
    let mut pools = Vec::new();
    let mut read_dir = |dir: &str, node: Option<u32>| {
        for entry in root.list(dir) {
            let Some(size_kb) = entry
                .strip_prefix("hugepages-")
                .and_then(|s| s.strip_suffix("kB")?.parse().ok())
            else {
                continue;
            };
            let count = |f: &str| {
                root.read(&format!("{dir}/{entry}/{f}"))
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0)
            };
            pools.push(HugepagePool {
                size_kb,
                node,
                total: count("nr_hugepages"),
                free: count("free_hugepages"),
            });
        }
    };
    read_dir("/sys/kernel/mm/hugepages", None);
    for node in probe_nodes(root) {
        read_dir(
            &format!("/sys/devices/system/node/node{node}/hugepages"),
            Some(node),
        );
    }
    pools
}

fn hugetlbfs_mounts(mounts: &str) -> Vec<HugetlbfsMount> {
    mounts
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.get(2) != Some(&"hugetlbfs") {
                return None;
            }
            let pagesize = fields
                .get(3)
                .and_then(|o| o.split(',').find_map(|kv| kv.strip_prefix("pagesize=")));
            Some(HugetlbfsMount {
                path: fields.get(1)?.to_string(),
                pagesize: pagesize.map(str::to_owned),
            })
        })
        .collect()
}

fn probe_modules(root: &Root) -> BTreeSet<String> {
    let mut modules: BTreeSet<String> = root
        .read("/proc/modules")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect();
    // Built-in drivers have no /proc/modules line but do have /sys/module/<name>.
    modules.extend(root.list("/sys/module"));
    modules
}

fn probe_pci(root: &Root, address: &str) -> PciDevice {
    let dir = format!("/sys/bus/pci/devices/{address}");
    let attr = |name: &str| root.read(&format!("{dir}/{name}"));
    let interfaces = net_dirs(root, address)
        .into_iter()
        .map(|(net_dir, name)| NetInterface {
            operstate: root.read(&format!("{net_dir}/{name}/operstate")),
            speed_mbps: root
                .read(&format!("{net_dir}/{name}/speed"))
                .and_then(|s| s.parse::<i64>().ok())
                .and_then(|s| u32::try_from(s).ok()),
            name,
        })
        .collect();
    PciDevice {
        address: address.to_owned(),
        numa_node: attr("numa_node")
            .and_then(|s| s.parse::<i64>().ok())
            .and_then(|n| u32::try_from(n).ok()),
        driver: root.link_name(&format!("{dir}/driver")),
        driver_override: attr("driver_override").filter(|s| !s.is_empty() && s != "(null)"),
        vendor: attr("vendor"),
        device: attr("device"),
        class: attr("class"),
        iommu_group: root.link_name(&format!("{dir}/iommu_group")),
        iommu_group_peers: root
            .list(&format!("{dir}/iommu_group/devices"))
            .into_iter()
            .filter(|peer| peer != address)
            .map(|peer| {
                let driver = root.link_name(&format!("/sys/bus/pci/devices/{peer}/driver"));
                (peer, driver)
            })
            .collect(),
        interfaces,
    }
}

/// `(directory, interface name)` of the kernel network interfaces of a PCI function. Most drivers
/// put them in `net/`; virtio-net puts them one level down, in `virtioN/net/`.
pub fn net_dirs(root: &Root, address: &str) -> Vec<(String, String)> {
    let dir = format!("/sys/bus/pci/devices/{address}");
    let mut dirs = vec![format!("{dir}/net")];
    dirs.extend(
        root.list(&dir)
            .into_iter()
            .filter(|e| e.starts_with("virtio"))
            .map(|e| format!("{dir}/{e}/net")),
    );
    dirs.into_iter()
        .flat_map(|d| root.list(&d).into_iter().map(move |name| (d.clone(), name)))
        .collect()
}

fn irqbalance_running(root: &Root) -> bool {
    root.list("/proc")
        .iter()
        .filter(|p| p.bytes().all(|c| c.is_ascii_digit()))
        .any(|pid| root.read(&format!("/proc/{pid}/comm")).as_deref() == Some("irqbalance"))
}

fn irqbalance_banned(root: &Root) -> Vec<u32> {
    root.read("/etc/default/irqbalance")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("IRQBALANCE_BANNED_CPULIST="))
        .filter_map(|v| parse_cpu_list(v.trim_matches('"')))
        .next_back()
        .unwrap_or_default()
}

fn memlock(limits: &str) -> Option<(Limit, Limit)> {
    let rest = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max locked memory"))?;
    let mut words = rest.split_whitespace();
    let parse = |w: Option<&str>| match w? {
        "unlimited" => Some(Limit::Unlimited),
        n => n.parse().ok().map(Limit::Bytes),
    };
    Some((parse(words.next())?, parse(words.next())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmdline_lookups() {
        let c = KernelCmdline("ro quiet isolcpus=managed_irq,domain,2-5 iommu=pt intel_iommu=on nohz_full=2-5 hugepages=4".into());
        assert_eq!(c.value("iommu"), Some("pt"));
        assert_eq!(c.value("intel_iommu"), Some("on"));
        assert_eq!(c.cpu_list("isolcpus"), Some(vec![2, 3, 4, 5]));
        assert_eq!(c.cpu_list("rcu_nocbs"), None);
        assert!(c.has_flag("quiet"));
        assert!(!c.has_flag("iommu"));
    }

    #[test]
    fn memlock_and_mounts_parse_kernel_text() {
        let limits = "Limit  Soft Limit  Hard Limit  Units\nMax locked memory         8388608              unlimited            bytes\n";
        assert_eq!(
            memlock(limits),
            Some((Limit::Bytes(8_388_608), Limit::Unlimited))
        );
        let mounts = "proc /proc proc rw 0 0\nnodev /dev/hugepages1G hugetlbfs rw,relatime,pagesize=1024M 0 0\n";
        assert_eq!(
            hugetlbfs_mounts(mounts),
            vec![HugetlbfsMount {
                path: "/dev/hugepages1G".into(),
                pagesize: Some("1024M".into())
            }]
        );
    }

    #[test]
    fn uniform_host_has_one_node_and_no_devices() {
        let host = HostModel::uniform(4).with_node(1, &[2, 3]).with_pci(
            "0000:3b:00.0",
            Some(1),
            Some("vfio-pci"),
        );
        assert_eq!(host.numa_nodes, vec![0, 1]);
        assert_eq!(host.cpu_node(3), Some(1));
        assert_eq!(host.cpu_node(0), Some(0));
        assert_eq!(host.pci_node("0000:3b:00.0"), Some(1));
        assert_eq!(host.allowed, vec![0, 1, 2, 3]);
    }
}
