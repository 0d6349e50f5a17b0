//! Pre-built request frames, patched in place per request.
//!
//! Each (acquirer, request type, BIN) gets one complete Ethernet/IPv4/UDP
//! frame holding a framed ISO 8583 message, built once with the `wire`
//! codec. Sending a request copies the template and writes the STAN (11),
//! RRN (37, which carries the generator's transaction sequence), time (7),
//! amount (4) and account digits of the PAN (2) into their known offsets.
//!
//! The UDP checksum is not summed over the whole frame per request: the
//! template keeps the one's complement sum of everything except the
//! patched digits, and each request adds only the sums of its patched
//! bytes (a byte run at an odd offset contributes its byte-swapped sum).

use std::net::{Ipv4Addr, SocketAddrV4};
use std::ops::Range;

use wire::iso8583::{self, FieldIndex, FieldValues, Spec};
use wire::net::checksum;
use wire::net::ethernet::{self, Address, EtherType};
use wire::net::ipv4::{self, Protocol};
use wire::net::udp;

use crate::digits::write_fixed;
use crate::mix::RequestKind;

/// Ethernet + IPv4 + UDP header bytes (no VLAN, no IP options).
pub const HEADERS_LEN: usize = 14 + 20 + 8;
const UDP_AT: usize = 14 + 20;

/// Link and transport ends of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameEnds {
    pub src_mac: Address,
    pub dst_mac: Address,
    pub src: SocketAddrV4,
    pub dst: SocketAddrV4,
}

/// What a template could not be built from.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("building the {kind} template: ISO 8583 field {field}: {source}")]
    Iso {
        kind: RequestKind,
        field: u8,
        source: iso8583::Error,
    },
    #[error(
        "building the {kind} template: field {field} did not survive encoding (is it in the spec?)"
    )]
    Missing { kind: RequestKind, field: u8 },
    #[error("building the {kind} template: PAN BIN {bin:?} leaves no account digits (BINs are at most 12 digits)")]
    Bin { kind: RequestKind, bin: String },
}

/// Values written into one request.
#[derive(Debug, Clone, Copy)]
pub struct Patch<'a> {
    pub stan: u32,
    /// The generator's transaction sequence, carried in field 37.
    pub rrn: u64,
    pub time: &'a [u8; 10],
    /// Minor units (field 4).
    pub amount: u64,
    /// Digits after the BIN in the PAN.
    pub account: u64,
}

/// A request frame with the byte ranges each request patches.
#[derive(Debug, Clone)]
pub struct RequestTemplate {
    bytes: Vec<u8>,
    kind: RequestKind,
    stan: Range<usize>,
    rrn: Range<usize>,
    time: Range<usize>,
    amount: Option<Range<usize>>,
    account: Option<Range<usize>>,
    /// One's complement sum of pseudo-header + UDP header (checksum 0) +
    /// payload with every patched range zeroed.
    base_sum: u16,
    udp_checksum: bool,
}

/// Length of the PANs generated.
const PAN_LEN: usize = 16;

impl RequestTemplate {
    /// Builds the `kind` request from `ends`, for a PAN starting with `bin`
    /// (routed kinds), padded with field 48 towards `frame_size` bytes.
    pub fn build(
        spec: &Spec,
        kind: RequestKind,
        ends: &FrameEnds,
        bin: Option<&str>,
        terminal: &[u8; 8],
        frame_size: usize,
        udp_checksum: bool,
    ) -> Result<RequestTemplate, TemplateError> {
        let err = |field: u8| {
            move |source| TemplateError::Iso {
                kind,
                field,
                source,
            }
        };
        let mut pan = Vec::new();
        if let Some(bin) = bin {
            if bin.len() >= PAN_LEN - 3 {
                return Err(TemplateError::Bin {
                    kind,
                    bin: bin.into(),
                });
            }
            pan.extend_from_slice(bin.as_bytes());
            pan.resize(PAN_LEN, b'0');
        }
        let original = b"020000000000000000000000000000000000000000"; // field 90, n42
        let mut values = FieldValues::new();
        if kind.routed() {
            values.set(2, &pan).map_err(err(2))?;
            values.set(3, b"000000").map_err(err(3))?;
            values.set(4, b"000000000000").map_err(err(4))?;
        }
        values.set(7, b"0000000000").map_err(err(7))?;
        values.set(11, b"000000").map_err(err(11))?;
        values.set(37, b"000000000000").map_err(err(37))?;
        if kind.routed() {
            values.set(41, terminal).map_err(err(41))?;
            values.set(42, b"CLEARWAYPERF001").map_err(err(42))?;
            values.set(49, b"978").map_err(err(49))?;
        }
        if matches!(kind, RequestKind::Reversal | RequestKind::ReversalAdvice) {
            values.set(90, original).map_err(err(90))?;
        }
        if kind == RequestKind::Echo {
            values.set(70, b"301").map_err(err(70))?;
        }
        let bare = iso8583::encoded_len(spec, kind.mti(), &values).map_err(err(0))?;
        // Field 48 (LLL) pads the frame up to the size asked for.
        let fixed = HEADERS_LEN + wire::frame::HEADER_LEN + bare + 3;
        let pad = vec![b'P'; frame_size.saturating_sub(fixed).min(999)];
        if !pad.is_empty() {
            values.set(48, &pad).map_err(err(48))?;
        }
        let iso_len = iso8583::encoded_len(spec, kind.mti(), &values).map_err(err(0))?;
        let payload_len = wire::frame::HEADER_LEN + iso_len;
        let total = HEADERS_LEN + payload_len;
        let mut bytes = vec![0u8; total];
        let msg_at = HEADERS_LEN + wire::frame::HEADER_LEN;
        iso8583::encode(spec, kind.mti(), &values, &mut bytes[msg_at..]).map_err(err(0))?;
        // The frame header is a binary big-endian length.
        bytes[HEADERS_LEN..msg_at].copy_from_slice(&(iso_len as u16).to_be_bytes());
        write_headers(&mut bytes, ends, payload_len);

        let index = FieldIndex::decode(&bytes[msg_at..], spec).map_err(err(0))?;
        let at = |n: u8| {
            index
                .get(n)
                .map(|s| msg_at + s.start as usize..msg_at + s.end())
        };
        let absent = |field: u8| TemplateError::Missing { kind, field };
        let stan = at(11).ok_or_else(|| absent(11))?;
        let rrn = at(37).ok_or_else(|| absent(37))?;
        let time = at(7).ok_or_else(|| absent(7))?;
        let amount = at(4);
        let account = at(2).map(|r| r.start + bin.map_or(0, str::len)..r.end);
        let mut template = RequestTemplate {
            bytes,
            kind,
            stan,
            rrn,
            time,
            amount,
            account,
            base_sum: 0,
            udp_checksum,
        };
        template.base_sum = template.compute_base_sum(ends);
        Ok(template)
    }

    fn patched(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        [
            Some(self.stan.clone()),
            Some(self.rrn.clone()),
            Some(self.time.clone()),
            self.amount.clone(),
            self.account.clone(),
        ]
        .into_iter()
        .flatten()
    }

    fn compute_base_sum(&self, ends: &FrameEnds) -> u16 {
        let mut udp_bytes = self.bytes[UDP_AT..].to_vec();
        udp_bytes[udp::field::CHECKSUM].fill(0);
        for r in self.patched() {
            udp_bytes[r.start - UDP_AT..r.end - UDP_AT].fill(0);
        }
        let pseudo =
            checksum::pseudo_header(*ends.src.ip(), *ends.dst.ip(), 17, udp_bytes.len() as u16);
        checksum::combine(&[pseudo, checksum::data(&udp_bytes)])
    }

    pub fn kind(&self) -> RequestKind {
        self.kind
    }

    /// Frame length in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The template bytes as built (patch ranges hold zeros as digits).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Rewrites the destination MAC (once the switch's is learnt by ARP).
    pub fn set_dst_mac(&mut self, mac: Address) {
        self.bytes[ethernet::field::DESTINATION].copy_from_slice(mac.as_bytes());
    }

    /// Writes the request into `out` (at least [`Self::len`] bytes) and
    /// returns its length.
    #[inline]
    pub fn fill(&self, out: &mut [u8], p: &Patch<'_>) -> usize {
        let n = self.bytes.len();
        let out = &mut out[..n];
        out.copy_from_slice(&self.bytes);
        write_fixed(&mut out[self.stan.clone()], u64::from(p.stan));
        write_fixed(&mut out[self.rrn.clone()], p.rrn);
        out[self.time.clone()].copy_from_slice(p.time);
        if let Some(r) = &self.amount {
            write_fixed(&mut out[r.clone()], p.amount);
        }
        if let Some(r) = &self.account {
            write_fixed(&mut out[r.clone()], p.account);
        }
        if self.udp_checksum {
            let mut sums = [self.base_sum, 0, 0, 0, 0, 0];
            for (slot, r) in sums[1..].iter_mut().zip(self.patched()) {
                let s = checksum::data(&out[r.clone()]);
                // UDP starts at an even offset, so frame parity is word parity.
                *slot = if r.start % 2 == 1 { s.swap_bytes() } else { s };
            }
            let sum = checksum::combine(&sums);
            let c = checksum::udp_on_wire(checksum::finish(sum));
            out[UDP_AT + 6..UDP_AT + 8].copy_from_slice(&c.to_be_bytes());
        }
        n
    }
}

/// Writes Ethernet, IPv4 and UDP headers for a `payload_len`-byte UDP
/// payload already in place after them. The UDP checksum is left zero.
pub fn write_headers(frame: &mut [u8], ends: &FrameEnds, payload_len: usize) {
    let mut eth = ethernet::Frame::new_unchecked(&mut frame[..14]);
    eth.set_addresses(ends.src_mac, ends.dst_mac);
    eth.set_ethertype(EtherType::Ipv4);
    let udp_len = (8 + payload_len) as u16;
    let mut ip = ipv4::Packet::new_unchecked(&mut frame[14..UDP_AT]);
    ip.set_version_and_header_len(20);
    ip.set_dscp_ecn(0);
    ip.set_total_len(20 + udp_len);
    ip.set_ident(0);
    ip.set_unfragmented(true);
    ip.set_ttl(ipv4::DEFAULT_TTL);
    ip.set_protocol(Protocol::Udp);
    ip.set_src_addr(*ends.src.ip());
    ip.set_dst_addr(*ends.dst.ip());
    ip.fill_checksum();
    let mut u = udp::Packet::new_unchecked(&mut frame[UDP_AT..HEADERS_LEN]);
    u.set_src_port(ends.src.port());
    u.set_dst_port(ends.dst.port());
    u.set_len(udp_len);
    u.set_checksum(0);
}

/// An ARP request "who has `target`? tell `sender_ip`" from `our_mac`,
/// broadcast. Returns the frame length (42 bytes).
pub fn arp_request(
    out: &mut [u8],
    our_mac: Address,
    sender_ip: Ipv4Addr,
    target: Ipv4Addr,
) -> usize {
    use wire::net::arp;
    let mut eth = ethernet::Frame::new_unchecked(&mut out[..14]);
    eth.set_addresses(our_mac, Address::BROADCAST);
    eth.set_ethertype(EtherType::Arp);
    let repr = arp::Repr {
        operation: arp::Operation::Request,
        source_hardware_addr: our_mac,
        source_protocol_addr: sender_ip,
        target_hardware_addr: Address::ZERO,
        target_protocol_addr: target,
    };
    repr.emit(&mut arp::Packet::new_unchecked(
        &mut out[14..14 + arp::field::PACKET_LEN],
    ));
    14 + arp::field::PACKET_LEN
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::iso8583::Message;
    use wire::net::headers::{Class, Headers};

    fn ends() -> FrameEnds {
        FrameEnds {
            src_mac: Address([2, 0, 0, 0, 1, 1]),
            dst_mac: Address([2, 0, 0, 0, 0, 1]),
            src: "10.0.1.1:5001".parse().unwrap(),
            dst: "10.0.0.1:8583".parse().unwrap(),
        }
    }

    #[test]
    fn a_filled_request_is_a_valid_frame_with_the_patched_fields() {
        let spec = Spec::builtin("default").unwrap();
        for kind in RequestKind::ALL {
            let t =
                RequestTemplate::build(spec, kind, &ends(), Some("4571"), b"TERM0001", 300, true)
                    .unwrap();
            assert_eq!(t.len(), 300, "{kind} pads to the frame size");
            let mut buf = [0u8; 512];
            for (i, rrn) in [1u64, 987_654_321_012, 77].into_iter().enumerate() {
                let p = Patch {
                    stan: 123_456 + i as u32,
                    rrn,
                    time: b"1127181500",
                    amount: 4_200 + i as u64,
                    account: 99_887_766 + i as u64,
                };
                let n = t.fill(&mut buf, &p);
                let frame = &buf[..n];
                let h = Headers::parse(frame).expect("checksums verify");
                assert!(matches!(h.class, Class::Udp(f) if f.dst.port() == 8583));
                let payload = h.payload(frame);
                assert_eq!(
                    usize::from(u16::from_be_bytes([payload[0], payload[1]])),
                    payload.len() - 2
                );
                let m = Message::decode(&payload[2..], spec).unwrap();
                assert_eq!(&m.mti_digits(), kind.mti());
                assert_eq!(m.field_str(11).unwrap(), format!("{:06}", 123_456 + i));
                assert_eq!(m.field_str(37).unwrap(), format!("{rrn:012}"));
                assert_eq!(m.field(7).unwrap(), b"1127181500");
                if kind.routed() {
                    assert_eq!(
                        m.field_str(2).unwrap(),
                        format!("4571{:012}", 99_887_766 + i)
                    );
                    assert_eq!(m.field_str(4).unwrap(), format!("{:012}", 4_200 + i));
                } else {
                    assert!(m.field(2).is_none());
                }
            }
        }
    }
}
