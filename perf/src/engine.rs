//! The generator's per-packet logic, free of DPDK: build the next request
//! into a buffer, and turn each received frame into an action (answer ARP,
//! match a response, answer as an issuer, drop). The DPDK loop in
//! [`crate::driver`] only moves mbufs; tests drive this directly.

use std::net::{Ipv4Addr, SocketAddrV4};

use serde::Serialize;
use wire::iso8583::{FieldIndex, Spec};
use wire::net::arp;
use wire::net::ethernet::Address;
use wire::net::headers::{Checks, Class, Headers};
use wire::net::rewrite::answer_arp;

use crate::digits::{self, mix64};
use crate::inflight::{Answer, InFlight, NO_ISSUER};
use crate::issuer::{answer_in_place, Decision, IssuerSim};
use crate::latency::LatencyHistogram;
use crate::mix::{Mix, RequestKind};
use crate::profile::{Profile, ProfileError};
use crate::template::{arp_request, FrameEnds, Patch, RequestTemplate, TemplateError};

/// What to do with a received frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Drop,
    /// Send the buffer back out, now `len` bytes.
    Send(usize),
    /// Send it at TSC `due` (an issuer's configured delay).
    SendAt(usize, u64),
}

/// Counters of one trial.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counters {
    /// Requests the acquirers sent.
    pub sent: u64,
    pub sent_by_kind: [u64; 6],
    /// Requests answered once (the first answer).
    pub answered: u64,
    /// Answers with 39 = 91 (the switch's stand-in on issuer timeout).
    pub timeouts: u64,
    /// Requests never answered within the deadline.
    pub lost: u64,
    pub duplicates: u64,
    pub late: u64,
    /// Answers that match no request (wrong STAN, acquirer or RRN).
    pub unknown: u64,
    /// Answers by field 39 value, "00".."99"; others and absent apart.
    #[serde(skip)]
    pub codes: Codes,
    pub code_other: u64,
    pub code_missing: u64,
    /// ISO 8583 messages received from the target (answers + issuer requests).
    pub rx_messages: u64,
    pub issuer_requests: u64,
    pub issuer_silent: u64,
    pub issuer_answered: u64,
    pub issuer_errors: u64,
    /// Frames that did not parse (headers, frame or ISO 8583).
    pub malformed: u64,
    /// UDP to an address we do not simulate, or a non-response to an acquirer.
    pub stray: u64,
    /// Other traffic (IPv6, ICMP, ...).
    pub other: u64,
    pub arp_answered: u64,
    /// Times a request could not go out because the in-flight window was full.
    pub window_stalls: u64,
    /// Frames our own port refused (backlog full).
    pub tx_dropped: u64,
}

/// Answers by two-digit field 39 value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Codes(pub [u64; 100]);

impl Default for Codes {
    fn default() -> Self {
        Codes([0; 100])
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Acquirer(u16),
    Issuer(u16),
}

fn key(addr: SocketAddrV4) -> u64 {
    (u64::from(u32::from(*addr.ip())) << 16) | u64::from(addr.port())
}

/// Everything the engine needs besides the profile.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub our_mac: Address,
    /// Learnt by ARP when `None`.
    pub switch_mac: Option<Address>,
    pub hz: u64,
    pub udp_checksum: bool,
    /// Verify received checksums (costs generator cycles).
    pub verify: bool,
    /// In-flight table slots (power of two).
    pub window: usize,
    /// First transaction sequence number (carried over between trials so a
    /// straggler from an earlier trial never matches a new request).
    pub first_seq: u64,
    /// Unix time at start, for field 7.
    pub unix_start: u64,
}

/// Errors building an engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error(transparent)]
    Template(#[from] TemplateError),
}

/// The generator and issuer simulator state of one trial.
pub struct Engine {
    spec: &'static Spec,
    templates: Vec<RequestTemplate>,
    /// (issuer, BIN) pairs requests are spread over.
    routes: Vec<(u16, String)>,
    mix: Mix,
    acquirer_count: u64,
    issuers: Vec<IssuerSim>,
    ends: Vec<(u64, Role)>,
    our_ips: Vec<Ipv4Addr>,
    our_mac: Address,
    switch_ip: Ipv4Addr,
    switch_mac: Option<Address>,
    checks: Checks,
    index: FieldIndex,
    time7: [u8; 10],
    unix_start: u64,
    hz: u64,
    pub inflight: InFlight,
    pub counters: Counters,
    /// Latency of answered transactions, minus the issuer's configured delay.
    pub latency: LatencyHistogram,
    /// The same, for the current second only.
    pub second: LatencyHistogram,
}

const KINDS: usize = RequestKind::ALL.len();

impl Engine {
    pub fn new(profile: &Profile, opts: &EngineOptions) -> Result<Engine, EngineError> {
        profile.validate()?;
        let spec = Spec::builtin("default").expect("the default spec is built in");
        let mix = profile.mix()?;
        let mut routes: Vec<(u16, String)> = Vec::new();
        for (i, issuer) in profile.issuers.iter().enumerate() {
            for bin in &issuer.bins {
                routes.push((i as u16, bin.clone()));
            }
        }
        if routes.is_empty() {
            routes.push((NO_ISSUER, String::new()));
        }
        let switch = SocketAddrV4::new(profile.target.switch_ip, profile.target.switch_port);
        let dst_mac = opts.switch_mac.unwrap_or(Address::BROADCAST);
        let mut templates = Vec::new();
        for (a, acq) in profile.acquirers.iter().enumerate() {
            let ends = FrameEnds {
                src_mac: opts.our_mac,
                dst_mac,
                src: SocketAddrV4::new(acq.ip, acq.port),
                dst: switch,
            };
            let mut terminal = *b"TERM0000";
            digits::write_fixed(&mut terminal[4..], a as u64);
            for kind in RequestKind::ALL {
                for (issuer, bin) in &routes {
                    let bin = (kind.routed() && *issuer != NO_ISSUER).then_some(bin.as_str());
                    templates.push(RequestTemplate::build(
                        spec,
                        kind,
                        &ends,
                        bin,
                        &terminal,
                        usize::from(profile.load.frame_size),
                        opts.udp_checksum,
                    )?);
                }
            }
        }
        let mut ends = Vec::new();
        let mut our_ips = Vec::new();
        for (i, a) in profile.acquirers.iter().enumerate() {
            ends.push((
                key(SocketAddrV4::new(a.ip, a.port)),
                Role::Acquirer(i as u16),
            ));
            our_ips.push(a.ip);
        }
        for (i, s) in profile.issuers.iter().enumerate() {
            ends.push((key(SocketAddrV4::new(s.ip, s.port)), Role::Issuer(i as u16)));
            our_ips.push(s.ip);
        }
        our_ips.sort();
        our_ips.dedup();
        let mut engine = Engine {
            spec,
            templates,
            routes,
            mix,
            acquirer_count: profile.acquirers.len() as u64,
            issuers: profile
                .issuers
                .iter()
                .map(|c| IssuerSim::new(c, opts.hz))
                .collect(),
            ends,
            our_ips,
            our_mac: opts.our_mac,
            switch_ip: profile.target.switch_ip,
            switch_mac: opts.switch_mac,
            checks: if opts.verify {
                Checks::ALL
            } else {
                Checks::NONE
            },
            index: FieldIndex::EMPTY,
            time7: [b'0'; 10],
            unix_start: opts.unix_start,
            hz: opts.hz,
            inflight: InFlight::starting_at(opts.window, opts.first_seq),
            counters: Counters::default(),
            latency: LatencyHistogram::new(),
            second: LatencyHistogram::new(),
        };
        engine.set_elapsed_seconds(0);
        Ok(engine)
    }

    /// The switch's MAC, once known.
    pub fn switch_mac(&self) -> Option<Address> {
        self.switch_mac
    }

    /// Largest request frame.
    pub fn max_request_len(&self) -> usize {
        self.templates
            .iter()
            .map(RequestTemplate::len)
            .max()
            .unwrap_or(0)
    }

    /// Updates field 7 to the start time plus `secs`.
    pub fn set_elapsed_seconds(&mut self, secs: u64) {
        self.time7 = digits::transmission_time(self.unix_start + secs);
    }

    /// An ARP request for the switch's address, from the first acquirer.
    pub fn arp_for_switch(&self, out: &mut [u8]) -> usize {
        self.arp_for_switch_from(0, out)
    }

    /// Addresses this engine simulates (acquirers and issuers, deduplicated).
    pub fn simulated_ips(&self) -> usize {
        self.our_ips.len()
    }

    /// An ARP request for the switch's address from simulated address `i`.
    /// Sent from every address at start, it also teaches the switch our MAC
    /// for each of them (a switch learns the sender of any ARP it sees), so
    /// its first forwards do not wait on ARP of their own.
    pub fn arp_for_switch_from(&self, i: usize, out: &mut [u8]) -> usize {
        let sender = self
            .our_ips
            .get(i)
            .copied()
            .unwrap_or(Ipv4Addr::UNSPECIFIED);
        arp_request(out, self.our_mac, sender, self.switch_ip)
    }

    /// Builds the next request into `out`; `None` when the in-flight window
    /// is full (counted as a stall).
    #[inline]
    pub fn next_request(&mut self, out: &mut [u8], now: u64) -> Option<usize> {
        let seq = self.inflight.next_seq();
        let kind = self.mix.pick(seq);
        let acquirer = seq % self.acquirer_count;
        let round = seq / self.acquirer_count;
        let route = (round % self.routes.len() as u64) as usize;
        let issuer = if kind.routed() {
            self.routes[route].0
        } else {
            NO_ISSUER
        };
        let stan = (round % 999_999) as u32 + 1;
        let Some(seq) = self.inflight.insert(now, acquirer as u16, stan, issuer) else {
            self.counters.window_stalls += 1;
            return None;
        };
        let t = (acquirer as usize * KINDS + kind.index()) * self.routes.len() + route;
        let h = mix64(seq);
        let patch = Patch {
            stan,
            rrn: seq,
            time: &self.time7,
            amount: 100 + h % 100_000,
            account: h >> 16,
        };
        let n = self.templates[t].fill(out, &patch);
        self.counters.sent += 1;
        self.counters.sent_by_kind[kind.index()] += 1;
        Some(n)
    }

    /// Counts as lost every open request sent `deadline` ticks or more before `now`.
    #[inline]
    pub fn expire(&mut self, now: u64, deadline: u64) {
        self.counters.lost += self.inflight.expire(now, deadline);
    }

    /// Handles a received frame of `len` bytes at the start of `buf` (the
    /// buffer's whole capacity, so an answer may grow).
    pub fn on_frame(&mut self, buf: &mut [u8], len: usize, now: u64) -> Action {
        let Ok(headers) = Headers::parse_with(&buf[..len], self.checks) else {
            self.counters.malformed += 1;
            return Action::Drop;
        };
        match headers.class {
            Class::Udp(flow) => match self.role_of(flow.dst) {
                Some(Role::Acquirer(a)) => {
                    self.on_answer(&buf[..len], &headers, a, now);
                    Action::Drop
                }
                Some(Role::Issuer(i)) => self.on_issuer_request(buf, &headers, i, now),
                None => {
                    self.counters.stray += 1;
                    Action::Drop
                }
            },
            Class::Arp { operation, target } => {
                if operation == arp::Operation::Request
                    && self.our_ips.binary_search(&target).is_ok()
                {
                    if answer_arp(&mut buf[..len], &headers, self.our_mac).is_ok() {
                        self.counters.arp_answered += 1;
                        return Action::Send(len);
                    }
                } else if operation == arp::Operation::Reply {
                    self.learn(&buf[headers.l3..len]);
                }
                Action::Drop
            }
            _ => {
                self.counters.other += 1;
                Action::Drop
            }
        }
    }

    fn role_of(&self, addr: SocketAddrV4) -> Option<Role> {
        let k = key(addr);
        self.ends.iter().find(|(e, _)| *e == k).map(|(_, r)| *r)
    }

    fn learn(&mut self, arp_bytes: &[u8]) {
        let Ok(packet) = arp::Packet::new_checked(arp_bytes) else {
            return;
        };
        if packet.source_protocol_addr() == self.switch_ip && self.switch_mac.is_none() {
            let mac = packet.source_hardware_addr();
            self.switch_mac = Some(mac);
            for t in &mut self.templates {
                t.set_dst_mac(mac);
            }
        }
    }

    /// The ISO 8583 message in a datagram's payload, indexed into `self.index`.
    fn index_message<'f>(&mut self, frame: &'f [u8], headers: &Headers) -> Option<&'f [u8]> {
        let payload = headers.payload(frame);
        let len = wire::frame::read_header(payload)?;
        let msg = payload.get(wire::frame::HEADER_LEN..wire::frame::HEADER_LEN + len)?;
        self.index.decode_into(msg, self.spec).ok()?;
        self.counters.rx_messages += 1;
        Some(msg)
    }

    fn field<'m>(&self, msg: &'m [u8], n: u8) -> Option<&'m [u8]> {
        self.index.get(n).and_then(|s| msg.get(s.range()))
    }

    fn on_answer(&mut self, frame: &[u8], headers: &Headers, acquirer: u16, now: u64) {
        let Some(msg) = self.index_message(frame, headers) else {
            self.counters.malformed += 1;
            return;
        };
        let is_response = msg
            .get(2)
            .is_some_and(|d| d.is_ascii_digit() && (d - b'0') & 1 == 1);
        let seq = self.field(msg, 37).and_then(digits::parse);
        let stan = self.field(msg, 11).and_then(digits::parse);
        let (true, Some(seq), Some(stan)) = (is_response, seq, stan) else {
            self.counters.stray += 1;
            return;
        };
        match self.inflight.answer(seq, acquirer, stan as u32) {
            Answer::First { sent_tsc, issuer } => {
                self.counters.answered += 1;
                let code = self.field(msg, 39).map(|c| c.to_owned());
                let timed_out = match code.as_deref() {
                    Some(c @ [a, b]) if a.is_ascii_digit() && b.is_ascii_digit() => {
                        self.counters.codes.0[usize::from((a - b'0') * 10 + (b - b'0'))] += 1;
                        c == b"91"
                    }
                    Some(_) => {
                        self.counters.code_other += 1;
                        false
                    }
                    None => {
                        self.counters.code_missing += 1;
                        false
                    }
                };
                if timed_out {
                    // A stand-in after the switch's timeout: counted, not a latency sample.
                    self.counters.timeouts += 1;
                    return;
                }
                let delay = self
                    .issuers
                    .get(usize::from(issuer))
                    .map_or(0, |s| s.delay_ticks);
                let ticks = now.saturating_sub(sent_tsc).saturating_sub(delay);
                self.latency.record_ticks(ticks, self.hz);
                self.second.record_ticks(ticks, self.hz);
            }
            Answer::Duplicate => self.counters.duplicates += 1,
            Answer::Late => self.counters.late += 1,
            Answer::Unknown => self.counters.unknown += 1,
        }
    }

    fn on_issuer_request(
        &mut self,
        buf: &mut [u8],
        headers: &Headers,
        issuer: u16,
        now: u64,
    ) -> Action {
        let end = headers.end;
        let Some(msg) = self.index_message(&buf[..end], headers) else {
            self.counters.malformed += 1;
            return Action::Drop;
        };
        let is_request = msg
            .get(2)
            .is_some_and(|d| d.is_ascii_digit() && (d - b'0') & 1 == 0);
        if !is_request {
            self.counters.stray += 1;
            return Action::Drop;
        }
        self.counters.issuer_requests += 1;
        let pan = self.field(msg, 2).unwrap_or(&[]);
        let amount = self.field(msg, 4).and_then(digits::parse);
        let tx_key = self
            .field(msg, 37)
            .or_else(|| self.field(msg, 11))
            .and_then(digits::parse)
            .unwrap_or(0);
        let Some(sim) = self.issuers.get(usize::from(issuer)) else {
            return Action::Drop;
        };
        let delay = sim.delay_ticks;
        // The MTI joins the key so the switch's 0420 after a silent 0200 is
        // drawn afresh (a real issuer that missed a request still answers
        // its reversal), while retries of one message stay consistent.
        let mti = msg.get(..4).map_or(0, |m| {
            u64::from(u32::from_be_bytes([m[0], m[1], m[2], m[3]]))
        });
        match sim.decide(pan, amount, tx_key ^ (mti << 32)) {
            Decision::Silent => {
                self.counters.issuer_silent += 1;
                Action::Drop
            }
            Decision::Answer(code) => {
                let mut auth = [0u8; 6];
                digits::write_fixed(&mut auth, tx_key);
                let auth = (&code == b"00").then_some(&auth[..]);
                match answer_in_place(buf, headers, &self.index, self.spec, &code, auth) {
                    Ok(n) => {
                        self.counters.issuer_answered += 1;
                        if delay == 0 {
                            Action::Send(n)
                        } else {
                            Action::SendAt(n, now + delay)
                        }
                    }
                    Err(_) => {
                        self.counters.issuer_errors += 1;
                        Action::Drop
                    }
                }
            }
        }
    }
}
