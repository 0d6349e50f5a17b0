//! The per-second port table and the final figures.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rte::Port;

use crate::forward::LcoreCounters;

/// Totals for one port at one moment.
#[derive(Clone, Copy, Default)]
struct Totals {
    rx: u64,
    tx: u64,
    dropped: u64,
}

/// Prints rates since the last print, per port.
pub struct StatsTable {
    names: Vec<String>,
    last: Vec<Totals>,
    last_at: Instant,
}

fn totals(ports: &[Port], counters: &[Arc<LcoreCounters>]) -> Vec<Totals> {
    (0..ports.len())
        .map(|i| {
            let mut t = Totals::default();
            for c in counters {
                let p = &c.ports[i];
                t.rx += p.rx.load(Ordering::Relaxed);
                t.tx += p.tx.load(Ordering::Relaxed);
                t.dropped += p.dropped.load(Ordering::Relaxed);
            }
            // What the NIC itself dropped (rx rings full, no mbuf) counts too.
            if let Ok(s) = ports[i].stats() {
                t.dropped += s.rx_missed + s.rx_no_mbuf;
            }
            t
        })
        .collect()
}

impl StatsTable {
    pub fn new(names: Vec<String>, ports: &[Port], counters: &[Arc<LcoreCounters>]) -> StatsTable {
        StatsTable {
            names,
            last: totals(ports, counters),
            last_at: Instant::now(),
        }
    }

    pub fn print_interval(&mut self, ports: &[Port], counters: &[Arc<LcoreCounters>]) {
        let now = Instant::now();
        let secs = now.duration_since(self.last_at).as_secs_f64().max(1e-9);
        let cur = totals(ports, counters);
        let mut line = String::new();
        for (i, name) in self.names.iter().enumerate() {
            let (a, b) = (cur[i], self.last[i]);
            line.push_str(&format!(
                "  {name}: rx {} tx {} drop {} pps",
                rate(a.rx - b.rx, secs),
                rate(a.tx - b.tx, secs),
                rate(a.dropped - b.dropped, secs)
            ));
        }
        println!("[stats]{line}");
        self.last = cur;
        self.last_at = now;
    }

    pub fn print_final(&self, ports: &[Port], counters: &[Arc<LcoreCounters>], ran: Duration) {
        let cur = totals(ports, counters);
        println!(
            "clearwayd: stopped after {:.1} s; final figures per port:",
            ran.as_secs_f64()
        );
        println!(
            "  {:<12} {:>16} {:>16} {:>12}",
            "port", "rx packets", "tx packets", "dropped"
        );
        for (i, name) in self.names.iter().enumerate() {
            println!(
                "  {:<12} {:>16} {:>16} {:>12}",
                name, cur[i].rx, cur[i].tx, cur[i].dropped
            );
        }
    }
}

fn rate(n: u64, secs: f64) -> String {
    let r = n as f64 / secs;
    if r >= 1e6 {
        format!("{:.2}M", r / 1e6)
    } else if r >= 1e3 {
        format!("{:.1}k", r / 1e3)
    } else {
        format!("{r:.0}")
    }
}

/// Per-second switch figures summed over lcores, and the final counters.
pub struct SwitchTable {
    last: switch::counters::CounterSnapshot,
    last_at: Instant,
}

fn switch_totals(
    counters: &[Arc<switch::counters::LcoreCounters>],
) -> switch::counters::CounterSnapshot {
    switch::counters::LcoreCounters::sum(counters.iter().map(|c| c.as_ref()))
}

impl SwitchTable {
    pub fn new(counters: &[Arc<switch::counters::LcoreCounters>]) -> SwitchTable {
        SwitchTable {
            last: switch_totals(counters),
            last_at: Instant::now(),
        }
    }

    pub fn print_interval(&mut self, counters: &[Arc<switch::counters::LcoreCounters>]) {
        use switch::counters::Event;
        let now = Instant::now();
        let secs = now.duration_since(self.last_at).as_secs_f64().max(1e-9);
        let cur = switch_totals(counters);
        let d = |e: Event| cur.event(e) - self.last.event(e);
        println!(
            "[switch] rx {} tx {} msgs/s  dropped {}/s  timeouts {}/s  pending {}",
            rate(d(Event::Rx), secs),
            rate(d(Event::Tx), secs),
            rate(cur.dropped_total() - self.last.dropped_total(), secs),
            rate(d(Event::Timeouts), secs),
            cur.pending
        );
        self.last = cur;
        self.last_at = now;
    }

    pub fn print_final(&self, counters: &[Arc<switch::counters::LcoreCounters>], ran: Duration) {
        let cur = switch_totals(counters);
        println!(
            "clearwayd: stopped after {:.1} s; switch counters (non-zero):",
            ran.as_secs_f64()
        );
        cur.for_each(|name, v| {
            if v != 0 {
                println!("  {name:<28} {v:>14}");
            }
        });
    }
}
