//! CPU checks: instruction set, TSC, frequency governor, and isolation of the switch lcores.

use super::{fail, pass, warn, CheckLine};
use crate::host::HostModel;
use crate::sysfs::format_cpu_list;

pub(super) fn cpu_checks(host: &HostModel, workers: &[u32]) -> Vec<CheckLine> {
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

pub(super) fn isolation_checks(host: &HostModel, workers: &[u32], planned: bool) -> Vec<CheckLine> {
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
