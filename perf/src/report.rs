//! Reports: per-run summaries, the medians across alternating repeats, the
//! JSON file (`--json`) and the terminal table.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::driver::{Second, Trial};
use crate::engine::Counters;
use crate::latency::{LatencyHistogram, MergeError};

/// Keys the JSON report always has (the acceptance list).
pub const REQUIRED_KEYS: [&str; 10] = [
    "tps",
    "msgs_per_s",
    "p50_us",
    "p99_us",
    "p999_us",
    "lost",
    "timeouts",
    "baseline_mpps",
    "ratio_vs_baseline",
    "config",
];

/// Which side a run measured.
pub const TARGET: &str = "target";
pub const BASELINE: &str = "reflector";

/// One trial, summarised.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// `target` (the switch, or whatever --port points at) or `reflector`.
    pub side: String,
    pub repeat: u32,
    pub offered_rate: Option<u64>,
    pub outstanding: Option<u64>,
    pub seconds: f64,
    pub sent: u64,
    pub answered: u64,
    pub lost: u64,
    pub timeouts: u64,
    pub duplicates: u64,
    pub unknown: u64,
    pub tps: f64,
    pub msgs_per_s: f64,
    pub loss_ratio: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
    pub response_codes: BTreeMap<String, u64>,
    pub counters: Counters,
    pub per_second: Vec<Second>,
    #[serde(skip)]
    pub latency: LatencyHistogram,
}

impl RunSummary {
    pub fn new(
        side: &str,
        repeat: u32,
        offered_rate: Option<u64>,
        outstanding: Option<u64>,
        t: &Trial,
    ) -> RunSummary {
        let c = &t.counters;
        let secs = t.send_seconds.max(1e-9);
        let mut codes = BTreeMap::new();
        for (i, n) in c.codes.0.iter().enumerate().filter(|(_, n)| **n > 0) {
            codes.insert(format!("{i:02}"), *n);
        }
        if c.code_other > 0 {
            codes.insert("other".into(), c.code_other);
        }
        if c.code_missing > 0 {
            codes.insert("none".into(), c.code_missing);
        }
        RunSummary {
            side: side.into(),
            repeat,
            offered_rate,
            outstanding,
            seconds: t.send_seconds,
            sent: c.sent,
            answered: c.answered,
            lost: c.lost,
            timeouts: c.timeouts,
            duplicates: c.duplicates,
            unknown: c.unknown,
            tps: c.answered as f64 / secs,
            msgs_per_s: c.rx_messages as f64 / secs,
            loss_ratio: if c.sent == 0 {
                0.0
            } else {
                c.lost as f64 / c.sent as f64
            },
            p50_us: t.latency.quantile_us(0.5),
            p99_us: t.latency.quantile_us(0.99),
            p999_us: t.latency.quantile_us(0.999),
            max_us: t.latency.max_us(),
            response_codes: codes,
            counters: c.clone(),
            per_second: t.per_second.clone(),
            latency: t.latency.clone(),
        }
    }
}

/// The PDR search result, when `--sweep` ran.
#[derive(Debug, Clone, Serialize)]
pub struct PdrSummary {
    pub side: String,
    pub rate: Option<u64>,
    /// (rate, offered, sent, lost) per trial, in search order.
    pub steps: Vec<(u64, u64, u64, u64)>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub tps: f64,
    pub msgs_per_s: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub lost: u64,
    pub timeouts: u64,
    pub baseline_mpps: Option<f64>,
    pub ratio_vs_baseline: Option<f64>,
    pub config: serde_json::Value,
    /// Which side the headline figures describe.
    pub measured: String,
    pub sent: u64,
    pub answered: u64,
    pub duplicates: u64,
    pub unknown: u64,
    pub machine_cores: usize,
    pub pdr: Vec<PdrSummary>,
    pub runs: Vec<RunSummary>,
}

/// Online CPUs of the machine (not of this process: the EAL pins us to one).
pub fn machine_cores() -> usize {
    std::fs::read_to_string("/proc/cpuinfo")
        .map(|t| t.lines().filter(|l| l.starts_with("processor")).count())
        .ok()
        .filter(|n| *n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(0, |n| n.get()))
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

impl Report {
    /// Headline figures: medians of the target's runs (or the reflector's
    /// when there is no target), latency from their merged histograms,
    /// counts summed; the baseline is the reflector runs' median message rate.
    pub fn build(
        config: serde_json::Value,
        runs: Vec<RunSummary>,
        pdr: Vec<PdrSummary>,
    ) -> Result<Report, MergeError> {
        let has_target = runs.iter().any(|r| r.side == TARGET);
        let measured = if has_target { TARGET } else { BASELINE };
        let mine: Vec<&RunSummary> = runs.iter().filter(|r| r.side == measured).collect();
        let mut merged = LatencyHistogram::new();
        for r in &mine {
            merged.merge(&r.latency)?;
        }
        let msgs = median(mine.iter().map(|r| r.msgs_per_s).collect()).unwrap_or(0.0);
        let base = median(
            runs.iter()
                .filter(|r| r.side == BASELINE)
                .map(|r| r.msgs_per_s)
                .collect(),
        );
        let sum = |f: fn(&RunSummary) -> u64| mine.iter().map(|r| f(r)).sum::<u64>();
        Ok(Report {
            tps: median(mine.iter().map(|r| r.tps).collect()).unwrap_or(0.0),
            msgs_per_s: msgs,
            p50_us: merged.quantile_us(0.5),
            p99_us: merged.quantile_us(0.99),
            p999_us: merged.quantile_us(0.999),
            lost: sum(|r| r.lost),
            timeouts: sum(|r| r.timeouts),
            baseline_mpps: base.map(|b| b / 1e6),
            ratio_vs_baseline: base.filter(|b| *b > 0.0).map(|b| msgs / b),
            config,
            measured: measured.into(),
            sent: sum(|r| r.sent),
            answered: sum(|r| r.answered),
            duplicates: sum(|r| r.duplicates),
            unknown: sum(|r| r.unknown),
            machine_cores: machine_cores(),
            pdr,
            runs,
        })
    }

    pub fn to_json(&self) -> String {
        // Every field is a number, string, map or list: serialising cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The terminal table.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "{:<10} {:>3} {:>8} {:>12} {:>12} {:>12} {:>9} {:>9} {:>9} {:>8} {:>8} {:>5}\n",
            "side",
            "rep",
            "secs",
            "sent",
            "tps",
            "msgs/s",
            "p50 us",
            "p99 us",
            "p99.9 us",
            "lost",
            "t/o 91",
            "dup"
        ));
        for r in &self.runs {
            s.push_str(&format!(
                "{:<10} {:>3} {:>8.2} {:>12} {:>12.0} {:>12.0} {:>9.1} {:>9.1} {:>9.1} {:>8} {:>8} {:>5}\n",
                r.side, r.repeat, r.seconds, r.sent, r.tps, r.msgs_per_s, r.p50_us, r.p99_us, r.p999_us, r.lost, r.timeouts, r.duplicates
            ));
        }
        for p in &self.pdr {
            s.push_str(&format!(
                "PDR ({}, loss <= 0.01%): {}\n",
                p.side,
                p.rate
                    .map_or("none found".into(), |r| format!("{r} tps offered"))
            ));
        }
        s.push_str(&format!(
            "{} (median of runs): {:.0} tps, {:.0} msgs/s, p50 {:.1} us, p99 {:.1} us, p99.9 {:.1} us, lost {}, timeouts {}\n",
            self.measured, self.tps, self.msgs_per_s, self.p50_us, self.p99_us, self.p999_us, self.lost, self.timeouts
        ));
        match (self.baseline_mpps, self.ratio_vs_baseline) {
            (Some(b), Some(r)) => s.push_str(&format!(
                "baseline reflector: {b:.3} M msgs/s; ratio vs baseline {r:.2}\n"
            )),
            (Some(b), None) => s.push_str(&format!("baseline reflector: {b:.3} M msgs/s\n")),
            _ => s.push_str("baseline: not measured (add --baseline)\n"),
        }
        if let Some(r) = self.runs.iter().find(|r| r.side == self.measured) {
            let codes: Vec<String> = r
                .response_codes
                .iter()
                .map(|(k, v)| format!("{k}:{v}"))
                .collect();
            s.push_str(&format!(
                "response codes (first {} run): {}\n",
                self.measured,
                codes.join(" ")
            ));
        }
        s.push_str(&format!("machine: {} cores\n", self.machine_cores));
        s
    }
}
