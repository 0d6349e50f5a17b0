//! The acquirer: a kernel UDP socket that sends 0200s at a fixed rate and
//! records every answer, keyed by STAN (one per request in a scenario).

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use switch::testkit::request;
use wire::iso8583::{Message, Spec};

use super::{amount_of, ACQ, PAN, SWITCH};

/// What the acquirer sent and got back.
#[derive(Debug, Default, Clone)]
pub struct AcqLog {
    /// STAN → amount of every request the kernel accepted for sending.
    pub sent: BTreeMap<u32, u64>,
    /// STAN → its field 7 (transmission date and time, part of the
    /// ledger's key).
    pub transmitted: BTreeMap<u32, [u8; 10]>,
    /// STAN → field 39 of every 0210 received for it, in arrival order.
    pub answers: BTreeMap<u32, Vec<String>>,
    /// Datagrams that were not one well-formed ISO 8583 message: the
    /// switch forwarded something corrupt.
    pub undecodable: u64,
    /// Decodable messages that are not a 0210 answer to one of ours.
    pub unexpected: Vec<String>,
    /// Requests sent again because their answer was overdue.
    pub repeats: u64,
}

impl AcqLog {
    /// STANs sent without an answer yet.
    pub fn unanswered(&self) -> Vec<u32> {
        self.sent
            .keys()
            .filter(|s| !self.answers.contains_key(s))
            .copied()
            .collect()
    }

    /// STANs whose (first) answer carried field 39 = `rc`.
    pub fn with_code(&self, rc: &str) -> Vec<u32> {
        self.answers
            .iter()
            .filter(|(_, v)| v.first().is_some_and(|c| c == rc))
            .map(|(s, _)| *s)
            .collect()
    }
}

pub struct Acquirer {
    sock: UdpSocket,
    log: Arc<Mutex<AcqLog>>,
    stop: Arc<AtomicBool>,
    receiver: Option<std::thread::JoinHandle<()>>,
    next_stan: u32,
}

impl Acquirer {
    pub fn bind() -> Acquirer {
        let sock = UdpSocket::bind(ACQ).expect("bind the acquirer's address");
        let rx = sock.try_clone().unwrap();
        rx.set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let log = Arc::new(Mutex::new(AcqLog::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (l, s) = (log.clone(), stop.clone());
        let receiver = std::thread::spawn(move || receive(rx, l, s));
        Acquirer {
            sock,
            log,
            stop,
            receiver: Some(receiver),
            next_stan: 1,
        }
    }

    /// Sends `count` new requests at `per_second`; returns their STANs
    /// (those the kernel refused are not transactions and not recorded).
    pub fn send(&mut self, count: u32, per_second: u32) -> Vec<u32> {
        let gap = Duration::from_secs(1) / per_second.max(1);
        let mut next = Instant::now();
        let mut stans = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let now = Instant::now();
            if next > now {
                std::thread::sleep(next - now);
            }
            next += gap;
            let stan = self.next_stan;
            self.next_stan += 1;
            if self.send_one(stan) {
                stans.push(stan);
            }
        }
        stans
    }

    /// Sends for `for_how_long` at `per_second`, or until `stop` says so.
    pub fn send_for(&mut self, for_how_long: Duration, per_second: u32, stop: &AtomicBool) -> u32 {
        let until = Instant::now() + for_how_long;
        let mut n = 0;
        while Instant::now() < until && !stop.load(Ordering::Relaxed) {
            n += self.send(per_second.div_ceil(20), per_second).len() as u32;
        }
        n
    }

    /// Sends the requests `stans` again, byte for byte (same STAN, field 7
    /// and RRN), as an acquirer does when an answer is overdue; returns how
    /// many went out.
    pub fn repeat(&mut self, stans: &[u32]) -> usize {
        let mut n = 0;
        for &stan in stans {
            let Some(at) = self.log.lock().unwrap().transmitted.get(&stan).copied() else {
                continue;
            };
            let req = request("0200", stan, PAN)
                .set(4, &format!("{:012}", amount_of(stan)))
                .set(7, std::str::from_utf8(&at).expect("digits"));
            if self.sock.send_to(&framed(&req.encode()), SWITCH).is_ok() {
                self.log.lock().unwrap().repeats += 1;
                n += 1;
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        n
    }

    fn send_one(&mut self, stan: u32) -> bool {
        let amount = amount_of(stan);
        let at = field_7_now();
        let req = request("0200", stan, PAN)
            .set(4, &format!("{amount:012}"))
            .set(7, std::str::from_utf8(&at).expect("digits"));
        // Recorded before the send: the answer may beat the bookkeeping.
        {
            let mut l = self.log.lock().unwrap();
            l.sent.insert(stan, amount);
            l.transmitted.insert(stan, at);
        }
        if self.sock.send_to(&framed(&req.encode()), SWITCH).is_ok() {
            true
        } else {
            let mut l = self.log.lock().unwrap();
            l.sent.remove(&stan);
            l.transmitted.remove(&stan);
            false
        }
    }

    /// Waits until every request sent has an answer, or `within` passes;
    /// true when all are answered.
    pub fn wait_answered(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.log.lock().unwrap().unanswered().is_empty() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    pub fn log(&self) -> AcqLog {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Acquirer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.receiver.take() {
            let _ = h.join();
        }
    }
}

pub fn framed(body: &[u8]) -> Vec<u8> {
    let mut v = (body.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(body);
    v
}

/// One framed message per datagram, decoded without trusting it.
pub fn unframe(d: &[u8]) -> Option<Message<'_>> {
    let len = u16::from_be_bytes([*d.first()?, *d.get(1)?]) as usize;
    if len + 2 != d.len() {
        return None;
    }
    Message::decode(&d[2..], Spec::builtin("default")?).ok()
}

/// Field `n` of `m` as text.
pub fn field(m: &Message<'_>, n: u8) -> Option<String> {
    m.data_fields()
        .find(|(f, _)| *f == n)
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
}

pub fn mti(m: &Message<'_>) -> String {
    String::from_utf8_lossy(&m.mti_digits()).into_owned()
}

fn receive(sock: UdpSocket, log: Arc<Mutex<AcqLog>>, stop: Arc<AtomicBool>) {
    let mut buf = [0u8; 4096];
    while !stop.load(Ordering::Relaxed) {
        let Ok((n, _)) = sock.recv_from(&mut buf) else {
            continue;
        };
        let mut l = log.lock().unwrap();
        let Some(m) = unframe(&buf[..n]) else {
            l.undecodable += 1;
            continue;
        };
        let stan = field(&m, 11).and_then(|s| s.parse::<u32>().ok());
        match (mti(&m).as_str(), stan, field(&m, 39)) {
            ("0210", Some(stan), Some(rc)) if l.sent.contains_key(&stan) => {
                l.answers.entry(stan).or_default().push(rc)
            }
            (mti, stan, rc) => l.unexpected.push(format!("{mti} stan {stan:?} rc {rc:?}")),
        }
    }
}

/// Field 7 for now: MMDDhhmmss in UTC (the switch refuses stale ones).
pub fn field_7_now() -> [u8; 10] {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let text = format!(
        "{month:02}{day:02}{:02}{:02}{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    );
    text.into_bytes().try_into().expect("ten digits")
}
