//! Memory checks: hugepages reserved, mounted and sufficient on the NICs' node; memlock limits.

use super::{fail, pass, warn, CheckLine};
use crate::host::{HostModel, HugepagePool, Limit};
use crate::layout::Layout;
use crate::plan::Plan;

pub(super) fn hugepage_checks(
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
fn mount_line(host: &HostModel, global: &[&HugepagePool]) -> CheckLine {
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

pub(super) fn memlock_check(host: &HostModel, plan: Option<&Plan>) -> Vec<CheckLine> {
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
        // CAP_IPC_LOCK (root normally has it; a container's root may not).
        Some((Limit::Bytes(soft), _)) if host.cap_ipc_lock == Some(true) => pass(
            "memlock",
            format!("{} KiB, but CAP_IPC_LOCK lifts the limit", soft >> 10),
        ),
        Some((Limit::Bytes(soft), _)) if soft >= need && need > 0 => pass(
            "memlock",
            format!("{} MiB, plan needs {} MiB", soft >> 20, need >> 20),
        ),
        Some((Limit::Bytes(soft), _)) => warn(
            "memlock",
            format!(
                "{} KiB locked-memory limit without CAP_IPC_LOCK: vfio DMA mapping will fail",
                soft >> 10
            ),
            fix,
        ),
    };
    vec![line]
}
