//! The issuer: a kernel UDP socket that answers the switch's requests,
//! with the fault a scenario asks for, and counts everything it did so the
//! audit can account for every message.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use switch::testkit::{answer, Msg};

use super::acquirer::{field, framed, mti, unframe};
use super::{ISS, SWITCH};

/// How the issuer misbehaves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Behaviour {
    /// Answers every request at once, approving.
    Healthy,
    /// Never answers anything (0200s and 0420s alike).
    Down,
    /// Answers everything, in order, `delay` late.
    Slow { delay: Duration },
    /// Answers during one `period`, is silent the next, and so on.
    Flapping { period: Duration },
    /// Every `every`-th approval is sent twice.
    Duplicate { every: u32 },
    /// Approvals are held and sent in batches of `batch`, last first.
    Reorder { batch: usize },
    /// Every `every`-th approval is corrupted (four kinds in turn).
    Corrupt { every: u32 },
}

/// The corruptions [`Behaviour::Corrupt`] applies in turn; each makes the
/// datagram something the switch must drop (never forward).
pub const CORRUPTIONS: [&str; 4] = [
    "datagram truncated by 9 bytes (frame length now too long)",
    "frame length header zeroed",
    "MTI bytes flipped to non-digits",
    "the last digit of field 49 with its high bit set (not a digit)",
];

/// What the issuer saw and did.
#[derive(Debug, Default, Clone)]
pub struct IssuerLog {
    /// STAN → 0200s received for it.
    pub requests: BTreeMap<u32, u32>,
    /// Original STAN → 0420s received for it.
    pub reversals: BTreeMap<u32, u32>,
    /// 0210s sent (each counted once, duplicates apart).
    pub approvals_sent: u64,
    /// 0430s sent.
    pub reversal_answers_sent: u64,
    /// Extra copies of approvals (duplicates).
    pub extra_copies: u64,
    /// STANs whose approval went out corrupted.
    pub corrupted: BTreeSet<u32>,
    /// STANs whose request the issuer deliberately left unanswered.
    pub withheld: BTreeSet<u32>,
    /// 0420s deliberately left unanswered.
    pub reversals_withheld: u64,
    /// 0810s received (sign-on answers).
    pub sign_on_answers: u64,
    /// Anything else received.
    pub other: Vec<String>,
}

pub struct Issuer {
    sock: UdpSocket,
    log: Arc<Mutex<IssuerLog>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Issuer {
    pub fn start(behaviour: Behaviour) -> Issuer {
        let sock = UdpSocket::bind(ISS).expect("bind the issuer's address");
        let rx = sock.try_clone().unwrap();
        rx.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
        let log = Arc::new(Mutex::new(IssuerLog::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (l, s) = (log.clone(), stop.clone());
        let thread = std::thread::spawn(move || Sim::new(rx, behaviour, l).run(&s));
        Issuer {
            sock,
            log,
            stop,
            thread: Some(thread),
        }
    }

    /// Signs on (0800 70=001) until the switch answers, so it knows the
    /// issuer's MAC before the first request; call again after a restart.
    pub fn sign_on(&self) {
        let before = self.log.lock().unwrap().sign_on_answers;
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let m = Msg::new("0800")
                .set(
                    7,
                    std::str::from_utf8(&super::acquirer::field_7_now()).expect("digits"),
                )
                .set(11, "000001")
                .set(70, "001");
            let _ = self.sock.send_to(&framed(&m.encode()), SWITCH);
            std::thread::sleep(Duration::from_millis(100));
            if self.log.lock().unwrap().sign_on_answers > before {
                return;
            }
        }
        panic!("the switch never answered the issuer's sign-on");
    }

    pub fn log(&self) -> IssuerLog {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Issuer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Sim {
    sock: UdpSocket,
    behaviour: Behaviour,
    log: Arc<Mutex<IssuerLog>>,
    started: Instant,
    /// (when, datagram, to): delayed answers, in order.
    later: VecDeque<(Instant, Vec<u8>, SocketAddr)>,
    /// Approvals held for reordering, and since when the batch waits.
    batch: Vec<(Vec<u8>, SocketAddr)>,
    batch_since: Instant,
    approvals: u32,
}

impl Sim {
    fn new(sock: UdpSocket, behaviour: Behaviour, log: Arc<Mutex<IssuerLog>>) -> Sim {
        Sim {
            sock,
            behaviour,
            log,
            started: Instant::now(),
            later: VecDeque::new(),
            batch: Vec::new(),
            batch_since: Instant::now(),
            approvals: 0,
        }
    }

    fn run(mut self, stop: &AtomicBool) {
        let mut buf = [0u8; 4096];
        while !stop.load(Ordering::Relaxed) {
            if let Ok((n, from)) = self.sock.recv_from(&mut buf) {
                let d = buf[..n].to_vec();
                self.handle(&d, from);
            }
            let now = Instant::now();
            while self.later.front().is_some_and(|(t, _, _)| *t <= now) {
                let (_, d, to) = self.later.pop_front().unwrap();
                let _ = self.sock.send_to(&d, to);
            }
            // A partial reorder batch does not wait for ever.
            if !self.batch.is_empty() && now - self.batch_since > Duration::from_millis(40) {
                self.flush_batch();
            }
        }
    }

    fn handle(&mut self, d: &[u8], from: SocketAddr) {
        let Some(m) = unframe(d) else {
            self.log
                .lock()
                .unwrap()
                .other
                .push(format!("undecodable {} bytes", d.len()));
            return;
        };
        let stan = field(&m, 11)
            .and_then(|s| s.parse::<u32>().ok())
            .unwrap_or(0);
        let silent = match self.behaviour {
            Behaviour::Down => true,
            Behaviour::Flapping { period } => {
                (self.started.elapsed().as_millis() / period.as_millis().max(1)) % 2 == 1
            }
            _ => false,
        };
        match mti(&m).as_str() {
            "0810" => self.log.lock().unwrap().sign_on_answers += 1,
            "0200" => {
                *self.log.lock().unwrap().requests.entry(stan).or_default() += 1;
                if silent {
                    self.log.lock().unwrap().withheld.insert(stan);
                    return;
                }
                let reply = framed(&answer(&to_msg(&m), "00").encode());
                self.approve(stan, reply, from);
            }
            "0420" => {
                *self.log.lock().unwrap().reversals.entry(stan).or_default() += 1;
                if silent {
                    self.log.lock().unwrap().reversals_withheld += 1;
                    return;
                }
                let reply = framed(&answer(&to_msg(&m), "00").encode());
                self.log.lock().unwrap().reversal_answers_sent += 1;
                self.send(reply, from);
            }
            other => self
                .log
                .lock()
                .unwrap()
                .other
                .push(format!("{other} stan {stan}")),
        }
    }

    fn approve(&mut self, stan: u32, reply: Vec<u8>, to: SocketAddr) {
        self.approvals += 1;
        let n = self.approvals;
        self.log.lock().unwrap().approvals_sent += 1;
        match self.behaviour {
            Behaviour::Duplicate { every } if n.is_multiple_of(every) => {
                self.log.lock().unwrap().extra_copies += 1;
                self.send(reply.clone(), to);
                self.send(reply, to);
            }
            Behaviour::Reorder { batch } => {
                if self.batch.is_empty() {
                    self.batch_since = Instant::now();
                }
                self.batch.push((reply, to));
                if self.batch.len() >= batch {
                    self.flush_batch();
                }
            }
            Behaviour::Corrupt { every } if n.is_multiple_of(every) => {
                let kind = (n / every) as usize % CORRUPTIONS.len();
                self.log.lock().unwrap().corrupted.insert(stan);
                self.send(corrupt(reply, kind), to);
            }
            _ => self.send(reply, to),
        }
    }

    fn send(&mut self, d: Vec<u8>, to: SocketAddr) {
        match self.behaviour {
            Behaviour::Slow { delay } => self.later.push_back((Instant::now() + delay, d, to)),
            _ => {
                let _ = self.sock.send_to(&d, to);
            }
        }
    }

    fn flush_batch(&mut self) {
        while let Some((d, to)) = self.batch.pop() {
            let _ = self.sock.send_to(&d, to);
        }
    }
}

/// Corruption number `kind` of [`CORRUPTIONS`] applied to a framed message.
fn corrupt(mut d: Vec<u8>, kind: usize) -> Vec<u8> {
    match kind {
        0 => {
            d.truncate(d.len() - 9);
        }
        1 => {
            d[0] = 0;
            d[1] = 0;
        }
        2 => {
            for b in &mut d[2..6] {
                *b ^= 0xC0;
            }
        }
        _ => {
            // The last byte is field 49's last digit (n 3).
            let last = d.len() - 1;
            d[last] ^= 0x80;
        }
    }
    d
}

/// The testkit's message builder from a decoded view (to use `answer`).
fn to_msg(m: &wire::iso8583::Message<'_>) -> Msg {
    Msg {
        mti: m.mti_digits(),
        fields: m.data_fields().map(|(n, v)| (n, v.to_vec())).collect(),
    }
}
