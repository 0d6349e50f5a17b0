//! Frames the switch creates rather than rewrites: stand-in responses and
//! reversals built from a pending entry's stored request.

use std::net::SocketAddrV4;

use wire::frame::HEADER_LEN as FRAME_HEADER_LEN;
use wire::net::ethernet::{self, Address, EtherType};
use wire::net::ipv4::{self, Protocol};
use wire::net::udp;

/// Ethernet (untagged) + IPv4 (no options) + UDP.
pub const HEADERS_LEN: usize =
    ethernet::field::HEADER_LEN + ipv4::field::HEADER_LEN + udp::field::HEADER_LEN;
/// Where the ISO 8583 message starts in a frame built here.
pub const MESSAGE_AT: usize = HEADERS_LEN + FRAME_HEADER_LEN;

/// Link and transport addresses of a frame to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    pub src: SocketAddrV4,
    pub dst: SocketAddrV4,
}

/// Writes Ethernet, IPv4 and UDP headers and the 2-byte frame header in
/// front of a message of `message_len` bytes already at [`MESSAGE_AT`];
/// computes both checksums. Returns the frame length.
pub fn wrap_message(buf: &mut [u8], route: &Route, message_len: usize) -> Option<usize> {
    let udp_payload = FRAME_HEADER_LEN + message_len;
    let total = HEADERS_LEN + udp_payload;
    if buf.len() < total || message_len > u16::MAX as usize {
        return None;
    }
    let buf = &mut buf[..total];
    let eth = ethernet::Repr {
        src_addr: Address(route.src_mac),
        dst_addr: Address(route.dst_mac),
        vlan: None,
        ethertype: EtherType::Ipv4,
    };
    eth.emit(&mut ethernet::Frame::new_unchecked(&mut buf[..]));
    let l3 = ethernet::field::HEADER_LEN;
    let l4 = l3 + ipv4::field::HEADER_LEN;
    buf[HEADERS_LEN..MESSAGE_AT].copy_from_slice(&(message_len as u16).to_be_bytes());
    let u = udp::Repr {
        src_port: route.src.port(),
        dst_port: route.dst.port(),
        payload_len: udp_payload,
    };
    u.emit(
        &mut udp::Packet::new_unchecked(&mut buf[l4..]),
        *route.src.ip(),
        *route.dst.ip(),
    );
    let ip = ipv4::Repr {
        src_addr: *route.src.ip(),
        dst_addr: *route.dst.ip(),
        protocol: Protocol::Udp,
        payload_len: udp::field::HEADER_LEN + udp_payload,
        ttl: ipv4::DEFAULT_TTL,
    };
    ip.emit(&mut ipv4::Packet::new_unchecked(&mut buf[l3..l4]));
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use wire::net::headers::{Class, Headers};

    #[test]
    fn built_frame_parses_with_valid_checksums() {
        let route = Route {
            src_mac: [2, 0, 0, 0, 0, 1],
            dst_mac: [2, 0, 0, 0, 0, 2],
            src: SocketAddrV4::new(Ipv4Addr::new(10, 1, 0, 1), 8583),
            dst: SocketAddrV4::new(Ipv4Addr::new(10, 1, 0, 9), 40000),
        };
        let mut buf = [0u8; 256];
        buf[MESSAGE_AT..MESSAGE_AT + 4].copy_from_slice(b"0810");
        let len = wrap_message(&mut buf, &route, 4).unwrap();
        let h = Headers::parse(&buf[..len]).expect("checksums valid");
        match h.class {
            Class::Udp(flow) => {
                assert_eq!(flow.src, route.src);
                assert_eq!(flow.dst, route.dst);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(h.payload(&buf[..len]), &[0, 4, b'0', b'8', b'1', b'0']);
    }
}
