//! The DPDK loop around an [`Engine`]: receive a burst, act on each frame,
//! release delayed issuer answers, send new requests as the pacer allows,
//! transmit, and once a second sample the counters.
//!
//! Nothing is allocated inside the loop: the backlog and the delay queue
//! are fixed-capacity deques sized at start, and a frame that does not fit
//! is counted (`tx_dropped`), never queued without bound. Transmission never
//! blocks: what the port refuses stays at the head of the outgoing burst for
//! the next turn, while receiving continues, so two peers that both back
//! off cannot deadlock.
//!
//! Cycle budget (2 GHz, generator alone on one core): at 5 M requests/s
//! there are 400 cycles per request for build + send + receive + match.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use rte::{Burst, Mbuf, Mempool, Port, RxQueue, TxQueue, BURST_SIZE};
use serde::{Deserialize, Serialize};
use wire::net::ethernet::Address;

use crate::engine::{Action, Counters, Engine};
use crate::latency::LatencyHistogram;
use crate::rate::Pacer;

/// Frames waiting for room in the outgoing burst (issuer answers, ARP).
const BACKLOG: usize = 8192;

/// A port and its queue pair, as the generator or the reflector uses it.
pub struct Link {
    pub port: Port,
    pub rx: RxQueue,
    pub tx: TxQueue,
    pub mac: Address,
}

impl Link {
    /// Configures and starts `port` with one queue pair on `pool`, then
    /// waits up to `wait_s` seconds for the link.
    pub fn up(port: Port, pool: &Mempool, wait_s: u64) -> anyhow::Result<Link> {
        use anyhow::Context;
        port.configure(&rte::PortConfig::default(), pool)?;
        port.start().with_context(|| {
            format!(
                "starting port {}: for a memif client, is the server (clearwayd, or the reflector) running and its socket there?",
                port.name()
            )
        })?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(wait_s);
        while !port.link()?.up {
            if std::time::Instant::now() > deadline {
                anyhow::bail!(
                    "port {} link still down after {wait_s} s: is the peer (clearwayd or the reflector) running on the other end of the socket?",
                    port.name()
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let mac = Address(port.mac()?);
        Ok(Link {
            rx: port.rx_queue(0)?,
            tx: port.tx_queue(0)?,
            port,
            mac,
        })
    }
}

/// When a trial stops sending.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stop {
    pub seconds: Option<f64>,
    pub transactions: Option<u64>,
}

/// One second of a trial.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Second {
    pub t: u64,
    pub sent: u64,
    pub answered: u64,
    pub messages: u64,
    pub lost: u64,
    pub p50_us: f64,
    pub p99_us: f64,
}

/// What a trial measured.
#[derive(Debug, Clone)]
pub struct Trial {
    pub label: String,
    /// Seconds spent sending (the denominator of the rates).
    pub send_seconds: f64,
    pub counters: Counters,
    pub latency: LatencyHistogram,
    pub per_second: Vec<Second>,
    /// The sequence number the next trial should start at.
    pub next_seq: u64,
}

/// Trial settings besides the engine.
pub struct TrialSettings<'a> {
    pub label: &'a str,
    pub stop: Stop,
    pub deadline_ticks: u64,
    pub hz: u64,
    pub progress: bool,
    pub interrupted: &'a AtomicBool,
}

/// Introduces every simulated address to the switch with an ARP request
/// for the switch's IP, and repeats every 200 ms until the switch's MAC is
/// known (at once when it was configured) or `timeout_s` passes.
pub fn greet_switch(
    engine: &mut Engine,
    link: &mut Link,
    pool: &Mempool,
    hz: u64,
    timeout_s: u64,
) -> anyhow::Result<Address> {
    let start = rte::tsc::now();
    let mut next_ask = start;
    let mut inb = Burst::new();
    let mut out: VecDeque<Mbuf> = VecDeque::with_capacity(engine.simulated_ips() + BURST_SIZE);
    let mut burst = Burst::new();
    let mut asked = false;
    while engine.switch_mac().is_none() || !asked || !out.is_empty() || !burst.is_empty() {
        let now = rte::tsc::now();
        if now - start > timeout_s * hz {
            anyhow::bail!("the switch did not answer ARP within {timeout_s} s: check --switch-ip, or give --switch-mac");
        }
        if now >= next_ask && engine.switch_mac().is_none() || !asked {
            for i in 0..engine.simulated_ips() {
                let mut m = pool.alloc()?;
                m.set_len(64)?;
                let n = engine.arp_for_switch_from(i, m.data_mut());
                m.set_len(n)?;
                out.push_back(m);
            }
            asked = true;
            next_ask = now + hz / 5;
        }
        link.rx.rx_burst(&mut inb);
        for m in inb.drain() {
            if let Some(m) = act(engine, m, now) {
                out.push_back(m);
            }
        }
        while !burst.is_full() {
            let Some(m) = out.pop_front() else { break };
            let _ = burst.push(m);
        }
        link.tx.tx_burst(&mut burst);
    }
    Ok(engine.switch_mac().unwrap_or(Address::BROADCAST))
}

/// Lets the engine act on one received mbuf; returns it if it goes back out now.
#[inline]
fn act(engine: &mut Engine, mut m: Mbuf, now: u64) -> Option<Mbuf> {
    match on_mbuf(engine, &mut m, now) {
        Action::Send(_) => Some(m),
        _ => None,
    }
}

#[inline]
fn on_mbuf(engine: &mut Engine, m: &mut Mbuf, now: u64) -> Action {
    let len = m.len();
    let cap = len + m.tailroom();
    if m.set_len(cap).is_err() {
        return Action::Drop;
    }
    let action = engine.on_frame(m.data_mut(), len, now);
    let new_len = match action {
        Action::Send(n) | Action::SendAt(n, _) => n,
        Action::Drop => len,
    };
    if m.set_len(new_len).is_err() {
        return Action::Drop;
    }
    action
}

/// Runs one trial: send under `pacer` until `settings.stop`, then wait for
/// the answers (at most the deadline) and count the rest lost.
pub fn run_trial(
    engine: &mut Engine,
    link: &mut Link,
    pool: &Mempool,
    pacer: &mut Pacer,
    delay_capacity: usize,
    s: &TrialSettings<'_>,
) -> anyhow::Result<Trial> {
    let hz = s.hz;
    let mut inb = Burst::new();
    let mut out = Burst::new();
    let mut backlog: VecDeque<Mbuf> = VecDeque::with_capacity(BACKLOG);
    let mut delayed: VecDeque<(u64, Mbuf)> = VecDeque::with_capacity(delay_capacity);
    let mut per_second = Vec::with_capacity(s.stop.seconds.map_or(64, |x| x as usize + 8));
    let start = rte::tsc::now();
    let send_until = s.stop.seconds.map(|x| start + (x * hz as f64) as u64);
    let max_tx = s.stop.transactions.unwrap_or(u64::MAX);
    let mut sending = true;
    let mut send_end = start;
    let mut drain_until = u64::MAX;
    let mut next_second = start + hz;
    let mut second_no = 0u64;
    let mut last = engine.counters.clone();
    let frame_len = engine.max_request_len();
    loop {
        let now = rte::tsc::now();
        // Receive and act.
        if link.rx.rx_burst(&mut inb) > 0 {
            for mut m in inb.drain() {
                match on_mbuf(engine, &mut m, now) {
                    Action::Drop => drop(m),
                    Action::Send(_) => {
                        if backlog.len() < BACKLOG {
                            backlog.push_back(m);
                        } else {
                            engine.counters.tx_dropped += 1;
                        }
                    }
                    Action::SendAt(_, due) => {
                        if delayed.len() < delay_capacity {
                            delayed.push_back((due, m));
                        } else {
                            engine.counters.tx_dropped += 1;
                        }
                    }
                }
            }
        }
        // Issuer delays are one constant per issuer, so the queue is nearly
        // in due order; an earlier-due entry behind a later one waits at most
        // the difference between two issuers' delays.
        while delayed.front().is_some_and(|(due, _)| *due <= now) && backlog.len() < BACKLOG {
            if let Some((_, m)) = delayed.pop_front() {
                backlog.push_back(m);
            }
        }
        engine.expire(now, s.deadline_ticks);
        // Answers first: they finish transactions already counted.
        while !out.is_full() {
            let Some(m) = backlog.pop_front() else { break };
            let _ = out.push(m);
        }
        if sending {
            let done = engine.counters.sent >= max_tx
                || send_until.is_some_and(|t| now >= t)
                || s.interrupted.load(Ordering::Relaxed);
            if done {
                sending = false;
                send_end = now;
                drain_until = now + s.deadline_ticks;
            } else {
                let room = (out.room() as u64).min(max_tx - engine.counters.sent);
                let n = pacer.allowance(now, engine.inflight.open(), room);
                for _ in 0..n {
                    // An empty pool means the peer holds our buffers: send later.
                    let Ok(mut m) = pool.alloc() else { break };
                    m.set_len(frame_len)?;
                    match engine.next_request(m.data_mut(), now) {
                        Some(len) => {
                            m.set_len(len)?;
                            let _ = out.push(m);
                        }
                        None => break,
                    }
                }
            }
        }
        if !out.is_empty() {
            link.tx.tx_burst(&mut out);
        }
        if now >= next_second {
            second_no += 1;
            next_second += hz;
            engine.set_elapsed_seconds(second_no);
            let c = &engine.counters;
            let sample = Second {
                t: second_no,
                sent: c.sent - last.sent,
                answered: c.answered - last.answered,
                messages: c.rx_messages - last.rx_messages,
                lost: c.lost - last.lost,
                p50_us: engine.second.quantile_us(0.5),
                p99_us: engine.second.quantile_us(0.99),
            };
            engine.second.reset();
            last = c.clone();
            if s.progress {
                let mut err = std::io::stderr().lock();
                let _ = write!(
                    err,
                    "\r[{}] {:>4}s  sent {:>10}/s  answered {:>10}/s  msgs {:>10}/s  p99 {:>9.1} us  lost {:>8}  open {:>8}   ",
                    s.label,
                    second_no,
                    sample.sent,
                    sample.answered,
                    sample.messages,
                    sample.p99_us,
                    c.lost,
                    engine.inflight.open()
                );
                let _ = err.flush();
            }
            per_second.push(sample);
        }
        if !sending {
            let quiet = engine.inflight.open() == 0
                && backlog.is_empty()
                && delayed.is_empty()
                && out.is_empty();
            if quiet || now >= drain_until {
                // Whatever is still open now is lost.
                engine.expire(u64::MAX, 0);
                break;
            }
        }
    }
    if s.progress {
        eprintln!();
    }
    let send_seconds = (send_end.saturating_sub(start)) as f64 / hz as f64;
    Ok(Trial {
        label: s.label.to_owned(),
        send_seconds,
        counters: engine.counters.clone(),
        latency: engine.latency.clone(),
        per_second,
        next_seq: engine.inflight.next_seq(),
    })
}
