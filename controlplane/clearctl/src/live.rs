//! `clearctl status` and `clearctl stats [--watch]`.

use crate::output::Output;
use crate::table;
use control::client::Client;
use control::types::{StatsReport, StatusReport};
use serde::Serialize;
use std::io::Write;
use std::time::Duration;

pub fn status(client: &Client, out: Output) -> anyhow::Result<()> {
    let s: StatusReport = client.get("/v1/status")?;
    out.emit(&s, |s| {
        table::print_pairs(&[
            ("version", s.version.clone()),
            ("uptime", uptime(s.uptime_secs)),
            ("tps now", s.tps.to_string()),
            ("pending", s.pending.to_string()),
            (
                "window",
                s.window.as_ref().map_or("-".into(), |w| {
                    format!("{} ({} transactions)", w.number, w.transactions)
                }),
            ),
            ("participants", s.participants.to_string()),
            (
                "routes",
                format!("{} (version {})", s.routes, s.routes_version),
            ),
            (
                "journal",
                match (&s.journal.failure, s.journal.failed) {
                    (Some(why), _) => format!("FAILED: {why}"),
                    (None, true) => "FAILED (see the daemon's log)".into(),
                    (None, false) => {
                        format!("ok ({} records not yet durable)", s.journal.lag_records)
                    }
                },
            ),
        ]);
        println!();
        let ports: Vec<Vec<String>> = s
            .ports
            .iter()
            .map(|p| {
                vec![
                    p.name.clone(),
                    if p.link_up { "up" } else { "DOWN" }.into(),
                    p.speed_mbps.to_string(),
                    p.rx_packets.to_string(),
                    p.tx_packets.to_string(),
                    p.rx_missed.to_string(),
                    (p.rx_errors + p.tx_errors).to_string(),
                ]
            })
            .collect();
        table::print(
            &["PORT", "LINK", "MBPS", "RX", "TX", "MISSED", "ERRORS"],
            &ports,
        );
        println!();
        let lcores: Vec<Vec<String>> = s
            .lcores
            .iter()
            .map(|l| {
                vec![
                    l.lcore.to_string(),
                    format!("{:.1}", 100.0 * l.busy_ratio()),
                ]
            })
            .collect();
        table::print(&["LCORE", "BUSY_%"], &lcores);
    })
}

fn uptime(secs: u64) -> String {
    format!(
        "{}d {:02}:{:02}:{:02}",
        secs / 86_400,
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    )
}

/// One second of traffic, from two cumulative reports.
#[derive(Debug, Serialize)]
struct Rates {
    seconds: f64,
    rx: u64,
    tx: u64,
    requests: u64,
    approved: u64,
    declined: u64,
    drops: u64,
    timeouts: u64,
    pending: u64,
}

/// MTIs counted as requests from acquirers.
const REQUEST_MTIS: [&str; 5] = ["mti_0100", "mti_0200", "mti_0220", "mti_0400", "mti_0420"];

fn rates(a: &StatsReport, b: &StatsReport) -> Rates {
    let d = |name: &str| {
        b.counters
            .get(name)
            .copied()
            .unwrap_or(0)
            .saturating_sub(a.counters.get(name).copied().unwrap_or(0))
    };
    let sum = |pred: &dyn Fn(&str) -> bool| -> u64 {
        b.counters.keys().filter(|k| pred(k)).map(|k| d(k)).sum()
    };
    let seconds = (b.at_ms.saturating_sub(a.at_ms) as f64 / 1000.0).max(0.001);
    let per_s = |n: u64| (n as f64 / seconds).round() as u64;
    Rates {
        seconds,
        rx: per_s(d("rx")),
        tx: per_s(d("tx")),
        requests: per_s(REQUEST_MTIS.iter().map(|m| d(m)).sum()),
        approved: per_s(d("response_00")),
        declined: per_s(sum(&|k| k.starts_with("response_") && k != "response_00")),
        drops: per_s(sum(&|k| k.starts_with("drop_"))),
        timeouts: per_s(d("timeouts")),
        pending: b.pending,
    }
}

pub fn stats(client: &Client, out: Output, watch: bool, count: Option<u64>) -> anyhow::Result<()> {
    let first: StatsReport = client.get("/v1/stats")?;
    if !watch {
        return out.emit(&first, |s| {
            let rows: Vec<Vec<String>> = s
                .counters
                .iter()
                .filter(|(_, v)| **v > 0)
                .map(|(k, v)| vec![k.clone(), v.to_string()])
                .collect();
            table::print(&["COUNTER", "TOTAL"], &rows);
            if rows.is_empty() {
                println!("(all counters are zero)");
            }
        });
    }
    let headers = [
        "RX/S",
        "TX/S",
        "REQ/S",
        "APPROVED/S",
        "DECLINED/S",
        "DROPS/S",
        "TIMEOUTS/S",
        "PENDING",
    ];
    let mut prev = first;
    let mut printed = 0u64;
    let stdout = std::io::stdout();
    while count.is_none_or(|c| printed < c) {
        std::thread::sleep(Duration::from_secs(1));
        let now: StatsReport = client.get("/v1/stats")?;
        let r = rates(&prev, &now);
        prev = now;
        let mut lock = stdout.lock();
        if out.json {
            writeln!(lock, "{}", serde_json::to_string(&r)?)?;
        } else {
            let row = [
                r.rx.to_string(),
                r.tx.to_string(),
                r.requests.to_string(),
                r.approved.to_string(),
                r.declined.to_string(),
                r.drops.to_string(),
                r.timeouts.to_string(),
                r.pending.to_string(),
            ];
            // Header every 20 lines so it stays on screen; fixed widths so
            // columns line up across lines.
            if printed.is_multiple_of(20) {
                let h: Vec<String> = headers.iter().map(|h| format!("{h:>11}")).collect();
                writeln!(lock, "{}", h.join(" "))?;
            }
            let cells: Vec<String> = row.iter().map(|c| format!("{c:>11}")).collect();
            writeln!(lock, "{}", cells.join(" "))?;
        }
        lock.flush()?;
        printed += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(at_ms: u64, pairs: &[(&str, u64)]) -> StatsReport {
        StatsReport {
            at_ms,
            counters: pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            pending: 3,
        }
    }

    #[test]
    fn rates_are_per_second_deltas() {
        let a = report(
            1000,
            &[
                ("rx", 100),
                ("response_00", 10),
                ("response_91", 0),
                ("drop_dup", 1),
            ],
        );
        let b = report(
            3000,
            &[
                ("rx", 300),
                ("response_00", 30),
                ("response_91", 4),
                ("drop_dup", 5),
                ("mti_0200", 40),
            ],
        );
        let r = rates(&a, &b);
        assert_eq!(
            (r.rx, r.approved, r.declined, r.drops, r.requests),
            (100, 10, 2, 2, 20)
        );
        assert_eq!(r.pending, 3);
    }
}
