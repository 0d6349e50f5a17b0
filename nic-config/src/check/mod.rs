//! Host checks: is this machine ready to run the planned dataplane, and if not, what to change.
//!
//! Each check is a pure function of the [`HostModel`] (plus the layout and plan when a config is
//! given) returning table lines; nothing here reads files, so fake-tree tests exercise every path.

mod cpu;
mod memory;
mod nic;

use crate::host::HostModel;
use crate::layout::Layout;
use crate::plan::{plan, Plan};
use crate::sysfs::{format_cpu_list, Root};
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
pub(crate) fn pass(check: impl Into<String>, finding: impl Into<String>) -> CheckLine {
    line(check, Status::Pass, finding, None)
}
pub(crate) fn warn(
    check: impl Into<String>,
    finding: impl Into<String>,
    fix: impl Into<String>,
) -> CheckLine {
    line(check, Status::Warn, finding, Some(fix.into()))
}
pub(crate) fn fail(
    check: impl Into<String>,
    finding: impl Into<String>,
    fix: impl Into<String>,
) -> CheckLine {
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
    lines.extend(cpu::cpu_checks(host, &workers));
    lines.extend(nic::numa_checks(host, layout, plan_ok));
    lines.extend(memory::hugepage_checks(host, layout, plan_ok));
    let vdev_only = layout.is_some_and(|l| l.pci_ports().next().is_none());
    if vdev_only {
        lines.push(pass("iommu", "not needed: the layout has no PCI ports"));
    } else {
        lines.extend(nic::iommu_checks(host));
    }
    lines.extend(nic::driver_checks(host, root, layout));
    lines.extend(cpu::isolation_checks(host, &workers, plan_ok.is_some()));
    lines.extend(memory::memlock_check(host, plan_ok));
    Report { lines }
}

fn lcore_list(p: &Plan) -> String {
    format_cpu_list(&p.lcores.iter().map(|l| l.lcore).collect::<Vec<_>>())
}
