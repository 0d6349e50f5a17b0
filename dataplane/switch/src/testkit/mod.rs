//! Fixtures for the switch's scenario tests and in-process benchmarks: a
//! small network (one acquirer, two issuers), ISO 8583 message builders,
//! frame helpers, and [`RingNet`], the switch lcores on an in-process DPDK
//! ring port that the integration tests drive. Not used by the product.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

use wire::iso8583::{self, FieldValues, Message, Spec};
use wire::net::headers::{Class, Headers, UdpFlow};

use crate::bin_table::BinTableBuilder;
use crate::pipeline::emit::{self, Route as FrameRoute, MESSAGE_AT};
use crate::routes::{Participant, Published, Roles, RouteSnapshot};
use crate::ParticipantIdx;

mod ring_net;
pub use ring_net::{
    MessageBytes, RingNet, RingNetBuilder, Sent, FAKE_TSC_START, ISSUER_FACING_PORT, SERVICE_PORT,
};

pub const SWITCH_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
pub const SWITCH_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
pub const ACQUIRER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 10), 40000);
pub const ACQUIRER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x10];
pub const ISSUER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 20), 9100);
pub const ISSUER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x20];
pub const ISSUER2: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 30), 9100);
pub const ISSUER2_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x30];
/// Routed by BIN to [`ISSUER`].
pub const PAN: &str = "4761730000000010";
/// Routed by BIN to [`ISSUER2`].
pub const PAN2: &str = "5413330000000019";
/// No BIN matches.
pub const PAN_NO_ROUTE: &str = "9999990000000000";
/// Field 7 of the fixture requests, and the Unix time it stands for
/// (2026-11-27 09:30:15 UTC): pin the switch's wall clock to it.
pub const FIXTURE_FIELD7: &str = "1127093015";
pub const FIXTURE_UNIX_TIME: i64 = 1_795_771_815;
/// Field 7 for a request sent now (tests against a real clock).
pub fn field7_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let f7 = crate::pipeline::admission::field7_at(now);
    String::from_utf8_lossy(&f7).into_owned()
}

/// The acquirer's own institution id (field 32 of its requests).
pub const ACQUIRER_INSTITUTION: &str = "123456";
/// Field 100 routing to [`ISSUER2`].
pub const ISSUER2_INSTITUTION: &str = "88001";
pub const ACQUIRER_IDX: ParticipantIdx = ParticipantIdx(0);
pub const ISSUER_IDX: ParticipantIdx = ParticipantIdx(1);
pub const ISSUER2_IDX: ParticipantIdx = ParticipantIdx(2);

/// Acquirer, issuer (BIN 476173), issuer 2 (BIN 541333, institution 88001).
pub fn participants() -> Vec<Participant> {
    let p = |id: &str, acquirer, issuer, addr: SocketAddrV4, mac, inst: &[&str]| Participant {
        id: id.into(),
        roles: Roles { acquirer, issuer },
        institution_ids: inst.iter().map(|s| s.to_string()).collect(),
        sources: vec![addr],
        next_hop: addr,
        next_hop_mac: Some(mac),
        timeout: Some(Duration::from_secs(5)),
        suspended: false,
        signed_off: false,
        rate_limit: None,
        mac: None,
    };
    vec![
        p(
            "acq",
            true,
            false,
            ACQUIRER,
            ACQUIRER_MAC,
            &[ACQUIRER_INSTITUTION],
        ),
        p("iss", false, true, ISSUER, ISSUER_MAC, &["77001"]),
        p(
            "iss2",
            false,
            true,
            ISSUER2,
            ISSUER2_MAC,
            &[ISSUER2_INSTITUTION],
        ),
    ]
}

/// The fixture's routes, optionally with `extra` random-looking prefixes to
/// make the BIN table big.
pub fn snapshot(extra_prefixes: usize) -> RouteSnapshot {
    let mut b = BinTableBuilder::with_capacity(extra_prefixes + 2);
    b.insert(b"476173", ISSUER_IDX).expect("fixture prefix");
    b.insert(b"541333", ISSUER2_IDX).expect("fixture prefix");
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut seen = std::collections::HashSet::new();
    while seen.len() < extra_prefixes {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = 7 + (x % 9) as usize;
        let digits = format!("{:019}", x % 10_000_000_000_000_000_000);
        let prefix = &digits.as_bytes()[..len];
        // Keep the fixture PANs' routes: never shadow 476173/541333/999999.
        if prefix.starts_with(b"476173")
            || prefix.starts_with(b"541333")
            || prefix.starts_with(b"9")
        {
            continue;
        }
        if seen.insert(prefix.to_vec()) {
            b.insert(prefix, if x & 1 == 0 { ISSUER_IDX } else { ISSUER2_IDX })
                .expect("fixture prefixes are digits of valid length");
        }
    }
    RouteSnapshot::new(participants(), Arc::new(b.build().expect("fixture table")))
        .expect("fixture routes")
}

pub fn published() -> Arc<Published> {
    Arc::new(Published::new(snapshot(0)))
}

/// An ISO 8583 message under construction.
#[derive(Debug, Clone)]
pub struct Msg {
    pub mti: [u8; 4],
    pub fields: Vec<(u8, Vec<u8>)>,
}

impl Msg {
    pub fn new(mti: &str) -> Msg {
        Msg {
            mti: mti.as_bytes().try_into().expect("four digits"),
            fields: Vec::new(),
        }
    }

    pub fn set(mut self, n: u8, v: &str) -> Msg {
        self.fields.retain(|(f, _)| *f != n);
        self.fields.push((n, v.as_bytes().to_vec()));
        self
    }

    pub fn without(mut self, n: u8) -> Msg {
        self.fields.retain(|(f, _)| *f != n);
        self
    }

    pub fn get(&self, n: u8) -> Option<&str> {
        self.fields
            .iter()
            .find(|(f, _)| *f == n)
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
    }

    pub fn encode(&self) -> Vec<u8> {
        let spec = Spec::builtin("default").expect("built-in spec");
        let mut values = FieldValues::new();
        for (n, v) in &self.fields {
            values.set(*n, v).expect("fixture field");
        }
        let mut out = vec![0u8; 4096];
        let len =
            iso8583::encode(spec, &self.mti, &values, &mut out).expect("fixture message encodes");
        out.truncate(len);
        out
    }

    pub fn decode(bytes: &[u8]) -> Msg {
        let spec = Spec::builtin("default").expect("built-in spec");
        let m = Message::decode(bytes, spec).expect("switch output decodes");
        Msg {
            mti: m.mti_digits(),
            fields: m.data_fields().map(|(n, v)| (n, v.to_vec())).collect(),
        }
    }

    pub fn mti_str(&self) -> &str {
        std::str::from_utf8(&self.mti).unwrap_or("????")
    }
}

/// A typical card-present request: 0200 purchase with the usual fields.
pub fn request(mti: &str, stan: u32, pan: &str) -> Msg {
    Msg::new(mti)
        .set(2, pan)
        .set(3, "000000")
        .set(4, "000000012345")
        .set(7, FIXTURE_FIELD7)
        .set(11, &format!("{:06}", stan % 1_000_000))
        .set(12, "093015")
        .set(13, "1127")
        .set(14, "2812")
        .set(18, "5411")
        .set(22, "051")
        .set(25, "00")
        .set(32, ACQUIRER_INSTITUTION)
        .set(35, &format!("{pan}=28121010000012345678"))
        .set(37, &format!("{:012}", stan))
        .set(41, "TERM0001")
        .set(42, "MERCHANT0000001")
        .set(
            43,
            &format!("{:<40}", "CLEARWAY TEST SHOP         SHANGHAI CN"),
        )
        .set(49, "156")
}

/// The issuer's answer to `req`: response MTI, the echoed keys, 39 and 38.
pub fn answer(req: &Msg, rc: &str) -> Msg {
    let mti = iso8583::response_mti(req.mti).expect("a request");
    let mut m = Msg::new(std::str::from_utf8(&mti).expect("digits"));
    for n in [2, 3, 4, 7, 11, 12, 13, 32, 37, 41, 42, 49, 90] {
        if let Some(v) = req.get(n) {
            m = m.set(n, v);
        }
    }
    m = m.set(39, rc);
    if rc == "00" {
        m = m.set(38, "A1B2C3");
    }
    m
}

/// An Ethernet/IPv4/UDP frame whose UDP payload is exactly `payload`
/// (several ISO 8583 frames, a broken one, or no frame at all), lengths and
/// IPv4 checksum right, no UDP checksum.
pub fn udp_datagram(
    src: SocketAddrV4,
    src_mac: [u8; 6],
    dst: SocketAddrV4,
    dst_mac: [u8; 6],
    payload: &[u8],
) -> Vec<u8> {
    let mut f = udp_frame(src, src_mac, dst, dst_mac, b"");
    f.truncate(emit::HEADERS_LEN);
    f.extend_from_slice(payload);
    let udp_len = (8 + payload.len()) as u16;
    f[38..40].copy_from_slice(&udp_len.to_be_bytes());
    f[40..42].copy_from_slice(&[0, 0]);
    f[16..18].copy_from_slice(&(20 + udp_len).to_be_bytes());
    wire::net::ipv4::Packet::new_unchecked(&mut f[14..34]).fill_checksum();
    f
}

/// A datagram from the acquirer to the switch's service port whose UDP
/// payload is exactly `payload` (see [`udp_datagram`]).
pub fn acquirer_udp(payload: &[u8]) -> Vec<u8> {
    udp_datagram(
        ACQUIRER,
        ACQUIRER_MAC,
        SocketAddrV4::new(SWITCH_IP, SERVICE_PORT),
        SWITCH_MAC,
        payload,
    )
}

/// An Ethernet/IPv4/UDP frame carrying one ISO 8583 frame.
pub fn udp_frame(
    src: SocketAddrV4,
    src_mac: [u8; 6],
    dst: SocketAddrV4,
    dst_mac: [u8; 6],
    message: &[u8],
) -> Vec<u8> {
    let mut buf = vec![0u8; MESSAGE_AT + message.len()];
    buf[MESSAGE_AT..].copy_from_slice(message);
    let len = emit::wrap_message(
        &mut buf,
        &FrameRoute {
            src_mac,
            dst_mac,
            src,
            dst,
        },
        message.len(),
    )
    .expect("fixture frame fits");
    buf.truncate(len);
    buf
}

/// The UDP flow and the ISO 8583 messages of a frame the switch sent.
pub fn parse_udp(frame: &[u8]) -> Option<(UdpFlow, Vec<Msg>)> {
    let h = Headers::parse(frame).ok()?;
    let Class::Udp(flow) = h.class else {
        return None;
    };
    let mut msgs = Vec::new();
    for f in wire::frame::Frames::new(h.payload(frame), 8192) {
        msgs.push(Msg::decode(f.ok()?));
    }
    Some((flow, msgs))
}
