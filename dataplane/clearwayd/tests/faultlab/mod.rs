//! The reliability group's laboratory: a real clearwayd (switch on a
//! net_tap port, journal and reserve accounts on, API on a unix socket) in
//! a network namespace and a private mount namespace the test makes, with
//! kernel UDP sockets playing the acquirer and a fault-injecting issuer.
//!
//! Each scenario test re-runs itself inside `ip netns exec NS unshare
//! --mount --propagation private`, so its tap, addresses, sockets and any
//! tmpfs it mounts vanish with it. Every scenario is bounded: a fixed count
//! of requests at a fixed rate, short issuer timeouts and a bounded reversal
//! schedule. It ends with the audit (every request answered once or
//! accounted for, every approval in the recovered ledger, every ledger
//! entry answered, money reconciled to the cent) and writes its row for
//! the summary table (`reliability::Row`).

#![allow(dead_code)] // each test binary uses its own subset

pub mod acquirer;
pub mod audit;
pub mod http;
pub mod issuer;
pub mod lab;
pub mod netns;

/// The switch as the participants see it.
pub const SWITCH_IP: &str = "10.213.9.1";
pub const SWITCH: &str = "10.213.9.1:8583";
/// The acquirer's and the issuer's kernel sockets (inside the namespace).
pub const ACQ: &str = "10.213.9.10:40000";
pub const ISS: &str = "10.213.9.20:9100";
/// Routed to the issuer by BIN 476173.
pub const PAN: &str = "4761730000000010";
/// ISO 4217 numeric of every request (field 49) and of the accounts.
pub const CURRENCY: u16 = 156;
/// The acquirer's prefunded reserve and the issuer's, in minor units.
pub const ACQ_RESERVE: i64 = 1_000_000_000_000;
pub const ISS_RESERVE: i64 = 100_000;
/// Participant indices in the configuration (the ledger's ids).
pub const ACQ_ID: u32 = 0;
pub const ISS_ID: u32 = 1;

/// The amount of request `stan`, in minor units: varied, so a cent lost
/// or counted twice shows in the totals.
pub fn amount_of(stan: u32) -> u64 {
    100 + u64::from(stan.wrapping_mul(7919) % 99_991)
}

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use reliability::Row;

/// One scenario in progress: clearwayd, the acquirer, the issuer, its row.
pub struct Run {
    pub lab: lab::Lab,
    pub acq: acquirer::Acquirer,
    pub iss: issuer::Issuer,
    pub row: Row,
    started: Instant,
    /// The acquirer's available amount (API) before any traffic.
    available_before: Option<i64>,
    /// Drops counted on the answer path when the scenario started.
    drops_before: u64,
    /// Requests repeated because their answer was overdue.
    pub repeated: u64,
}

impl Run {
    /// Starts clearwayd, the issuer (signed on) and the acquirer.
    pub fn start(opts: lab::LabOptions, behaviour: issuer::Behaviour, faults: &str) -> Run {
        let started = Instant::now();
        let row = Row::new(opts.scenario, faults);
        let lab = lab::Lab::start(opts);
        let iss = issuer::Issuer::start(behaviour);
        iss.sign_on();
        let acq = acquirer::Acquirer::bind();
        let available_before = available(&lab);
        let drops_before = counted_drops(&lab.metrics());
        Run {
            lab,
            acq,
            iss,
            row,
            started,
            available_before,
            drops_before,
            repeated: 0,
        }
    }

    /// Metric `name` (with `label`, e.g. `reason="dup"`) from /metrics now.
    pub fn metric(&self, name: &str, label: &str) -> u64 {
        http::metric(&self.lab.metrics(), name, label)
    }

    /// Stops clearwayd cleanly, audits, records and prints the row, and
    /// fails the test if anything was lost. `accounted`: requests allowed
    /// to stay unanswered (in flight at a kill -9).
    pub fn finish(mut self, accounted: &BTreeSet<u32>) -> Row {
        let acq = self.acq.log();
        // Where a missing answer was lost: the switch's own count of answers
        // sent, and the kernel's UDP receive-buffer drops in this namespace.
        let answers_sent = http::metric(&self.lab.metrics(), "clearway_responses_sent_total", "");
        self.row.notes.push_str(&format!(
            "switch sent {answers_sent} answers to the acquirer, which received {}; kernel UDP {}; ",
            acq.answers.values().map(Vec::len).sum::<usize>(),
            udp_drops()
        ));
        if self.repeated > 0 {
            let drops = counted_drops(&self.lab.metrics()).saturating_sub(self.drops_before);
            self.row.notes.push_str(&format!(
                "{} overdue requests repeated ({drops} drops counted on the answer path); ",
                self.repeated
            ));
            self.row.expect(
                drops > 0,
                format!("{} answers went missing without any counted drop (kernel backlog, socket buffer, switch TX, port)", self.repeated),
            );
        }
        // Live, through the API: what left the acquirer's available amount
        // is exactly what it saw approved (the ledger's view comes later).
        let seen: i64 = acq.with_code("00").iter().map(|s| acq.sent[s] as i64).sum();
        match (self.available_before, available(&self.lab)) {
            (Some(before), Some(after)) => {
                self.row.expect(
                    before - after == seen || (!accounted.is_empty() && before - after >= seen),
                    format!("the API's available amount fell by {} (from {before} to {after}); the approvals seen total {seen}", before - after),
                );
                self.row
                    .notes
                    .push_str(&format!("API available {before} -> {after}; "));
            }
            other => self.row.problem(format!(
                "the acquirer's account is not readable through the API: {other:?}"
            )),
        }
        let (clean, said) = self.lab.stop();
        let mut row = std::mem::replace(&mut self.row, Row::new("", ""));
        row.expect(clean, "clearwayd did not stop cleanly on SIGTERM");
        audit::audit(&mut row, &acq, accounted, &self.lab.journal);
        row.seconds = self.started.elapsed().as_secs_f64();
        let path = row.write().expect("writing the scenario's row");
        println!(
            "{}: {} sent, {} answered, {} accounted, {} approved seen, {} recovered; row in {}\nnotes: {}",
            row.scenario,
            row.sent,
            row.answered,
            row.unanswered_accounted,
            row.approved_seen,
            row.recovered,
            path.display(),
            row.notes
        );
        self.lab.keep_files = !row.problems.is_empty();
        assert!(
            row.problems.is_empty(),
            "{}: LOSS:\n  {}\nclearwayd said:\n{said}",
            row.scenario,
            row.problems.join("\n  ")
        );
        row
    }

    /// Waits until every request has its answer (bounded); what is still
    /// overdue is repeated once, as a real acquirer does, and waited for
    /// again; then `settle` more for reversals and late messages.
    ///
    /// A repeat must be answered from the switch's duplicate filter, and an
    /// answer lost on the way must show as a counted drop somewhere (the
    /// kernel's backlog or socket buffers, the switch's TX or the port's
    /// errors): [`Run::finish`] checks that, so repeats never hide a switch
    /// that forgot to answer.
    pub fn drain(&mut self, within: Duration, settle: Duration) {
        if !self.acq.wait_answered(within) {
            let overdue = self.acq.log().unanswered();
            println!(
                "{}: {} requests not answered within {within:?}: repeating them",
                self.row.scenario,
                overdue.len()
            );
            self.repeated += self.acq.repeat(&overdue) as u64;
            self.acq.wait_answered(within);
        }
        std::thread::sleep(settle);
    }
}

/// Drops the kernel and the switch count on the way to the acquirer: the
/// host's softnet backlog drops (column 2 of /proc/net/softnet_stat, all
/// CPUs), UDP receive-buffer errors in this namespace, the switch's TX
/// drops and the port's tx errors.
fn counted_drops(metrics: &str) -> u64 {
    let softnet: u64 = std::fs::read_to_string("/proc/net/softnet_stat")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter_map(|v| u64::from_str_radix(v, 16).ok())
        .sum();
    let snmp = std::fs::read_to_string("/proc/net/snmp").unwrap_or_default();
    let mut udp = snmp.lines().filter(|l| l.starts_with("Udp: "));
    let rcvbuf = match (udp.next(), udp.next()) {
        (Some(n), Some(v)) => n
            .split_whitespace()
            .zip(v.split_whitespace())
            .find(|(n, _)| *n == "RcvbufErrors")
            .and_then(|(_, v)| v.parse::<u64>().ok())
            .unwrap_or(0),
        _ => 0,
    };
    softnet
        + rcvbuf
        + http::metric(metrics, "clearway_drops_total", "reason=\"tx_full\"")
        + http::metric(metrics, "clearway_port_errors_total", "kind=\"tx_errors\"")
}

/// The kernel's UDP error counters in this network namespace.
fn udp_drops() -> String {
    let snmp = std::fs::read_to_string("/proc/net/snmp").unwrap_or_default();
    let mut lines = snmp.lines().filter(|l| l.starts_with("Udp: "));
    let (Some(names), Some(values)) = (lines.next(), lines.next()) else {
        return "counters unavailable".into();
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .skip(1)
        .filter(|(n, _)| matches!(*n, "InErrors" | "RcvbufErrors" | "SndbufErrors"))
        .map(|(n, v)| format!("{n} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The acquirer's available amount in the operator API (`GET
/// /v1/accounts/acq`), once the clearing desk has applied what is durable.
fn available(lab: &lab::Lab) -> Option<i64> {
    // The desk applies durable records every few ms: let it catch up.
    std::thread::sleep(Duration::from_millis(100));
    let r = http::unix(&lab.api, "GET", "/v1/accounts/acq", b"");
    let v: serde_json::Value = serde_json::from_str(&r.body).ok()?;
    let accounts = match v {
        serde_json::Value::Array(a) => a,
        one => vec![one],
    };
    accounts
        .iter()
        .find(|a| a.get("currency").and_then(|c| c.as_u64()) == Some(u64::from(CURRENCY)))?
        .get("available")?
        .as_i64()
}
