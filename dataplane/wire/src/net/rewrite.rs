//! In-place rewrites that turn a received frame into the one to send.
//!
//! The switch reuses the received mbuf for what it sends: an ARP or echo
//! reply, a response back to the acquirer, a request forwarded to the
//! issuer. Each function takes the frame and the [`Headers`] that
//! [`Headers::parse`] returned for it, rewrites the headers and keeps every
//! checksum valid by RFC 1624 incremental updates, so the payload is never
//! summed again (except by [`set_udp_payload_len`], whose payload changed).
//! A zero UDP checksum ("none") stays zero.
//!
//! The headers must come from this frame. A mismatch that would reach past
//! the buffer is an error, never a panic.

use std::net::SocketAddrV4;

use super::arp;
use super::checksum;
use super::error::{Error, Layer, Result};
use super::ethernet::{self, Address};
use super::headers::{Class, Headers, UdpFlow};
use super::icmp;
use super::ipv4;
use super::udp;

/// Where a rewritten UDP datagram goes: link and transport addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoints {
    pub src_mac: Address,
    pub dst_mac: Address,
    pub src: SocketAddrV4,
    pub dst: SocketAddrV4,
}

/// Answers an ARP request in place: `our_mac` replies for the requested
/// address, to the asker's MAC. Whether the requested address is ours is
/// the caller's check (`Class::Arp { target, .. }`).
pub fn answer_arp(frame: &mut [u8], headers: &Headers, our_mac: Address) -> Result<()> {
    let (l2, l3) = split_l2(frame, headers)?;
    let mut packet = arp::Packet::new_checked(l3).map_err(|e| e.at(headers.l3))?;
    packet.make_reply(our_mac).map_err(|e| e.at(headers.l3))?;
    let mut eth = ethernet::Frame::new_unchecked(l2);
    let asker = eth.src_addr();
    eth.set_addresses(our_mac, asker);
    Ok(())
}

/// Answers an ICMP echo request in place: sent from `our_mac` to the
/// asker's MAC (not a swap, so a request to a group MAC is never answered
/// from one), IPv4 addresses swapped, TTL reset to [`ipv4::DEFAULT_TTL`],
/// type set to reply; both checksums updated incrementally.
pub fn answer_echo(frame: &mut [u8], headers: &Headers, our_mac: Address) -> Result<()> {
    if !matches!(headers.class, Class::IcmpEcho { .. }) {
        return Err(Error::NotRequest {
            layer: Layer::Icmp,
            offset: headers.l4,
        });
    }
    let (l2, ip, l4) = split_l2_l3_l4(frame, headers, Layer::Icmp)?;
    let mut icmp = icmp::Packet::new_checked(l4).map_err(|e| e.at(headers.l4))?;
    // First, so a non-request leaves the frame untouched.
    icmp.make_echo_reply().map_err(|e| e.at(headers.l4))?;
    let mut ip = ipv4::Packet::new_unchecked(ip);
    ip.swap_addresses();
    ip.replace_ttl(ipv4::DEFAULT_TTL);
    let mut eth = ethernet::Frame::new_unchecked(l2);
    let asker = eth.src_addr();
    eth.set_addresses(our_mac, asker);
    Ok(())
}

/// Sends a UDP datagram back where it came from: MACs, IPv4 addresses and
/// ports swapped. No checksum changes (a one's complement sum does not
/// depend on word order). Returns the headers with the reversed flow.
pub fn reflect_udp(frame: &mut [u8], headers: &Headers) -> Result<Headers> {
    let flow = require_udp(headers)?;
    let (l2, ip, l4) = split_l2_l3_l4(frame, headers, Layer::Udp)?;
    let mut udp = udp::Packet::new_checked(l4).map_err(|e| e.at(headers.l4))?;
    udp.swap_ports();
    ipv4::Packet::new_unchecked(ip).swap_addresses();
    ethernet::Frame::new_unchecked(l2).swap_addresses();
    Ok(Headers {
        class: Class::Udp(UdpFlow {
            src: flow.dst,
            dst: flow.src,
        }),
        ..*headers
    })
}

/// Readdresses a UDP datagram (acquirer -> switch becomes switch ->
/// issuer): both MACs, both IPv4 addresses and both ports replaced, the
/// IPv4 header and UDP checksums updated incrementally. Returns the headers
/// with the new flow.
pub fn readdress_udp(frame: &mut [u8], headers: &Headers, to: &Endpoints) -> Result<Headers> {
    require_udp(headers)?;
    let (l2, ip, l4) = split_l2_l3_l4(frame, headers, Layer::Udp)?;
    let mut udp = udp::Packet::new_checked(l4).map_err(|e| e.at(headers.l4))?;
    let mut ip = ipv4::Packet::new_unchecked(ip);
    // One delta for both addresses serves the IPv4 header and the UDP
    // pseudo-header; the ports add theirs to the UDP one. One RFC 1624
    // update per checksum instead of one per field.
    let addresses = checksum::combine(&[
        checksum::delta32(u32::from(ip.src_addr()), u32::from(*to.src.ip())),
        checksum::delta32(u32::from(ip.dst_addr()), u32::from(*to.dst.ip())),
    ]);
    let ports = checksum::combine(&[
        checksum::delta16(udp.src_port(), to.src.port()),
        checksum::delta16(udp.dst_port(), to.dst.port()),
    ]);
    ip.set_src_addr(*to.src.ip());
    ip.set_dst_addr(*to.dst.ip());
    ip.set_checksum(checksum::apply_delta(ip.checksum(), addresses));
    udp.set_src_port(to.src.port());
    udp.set_dst_port(to.dst.port());
    if udp.checksum() != 0 {
        let delta = checksum::combine(&[addresses, ports]);
        let updated = checksum::apply_delta(udp.checksum(), delta);
        udp.set_checksum(checksum::udp_on_wire(updated));
    }
    ethernet::Frame::new_unchecked(l2).set_addresses(to.src_mac, to.dst_mac);
    Ok(Headers {
        class: Class::Udp(UdpFlow {
            src: to.src,
            dst: to.dst,
        }),
        ..*headers
    })
}

/// Sets the UDP payload length after the payload was rewritten in place
/// (e.g. a response longer than its request): UDP length, IPv4 total
/// length, and both checksums recomputed in full since the payload
/// changed. `frame` must already hold `headers.payload + payload_len`
/// bytes; the caller trims or extends the mbuf to that length. Returns the
/// headers of the resized frame.
pub fn set_udp_payload_len(
    frame: &mut [u8],
    headers: &Headers,
    payload_len: usize,
) -> Result<Headers> {
    require_udp(headers)?;
    let udp_len = udp::field::HEADER_LEN.saturating_add(payload_len);
    let end = headers.l4.saturating_add(udp_len);
    let total_len = end.saturating_sub(headers.l3);
    if total_len > usize::from(u16::MAX) {
        return Err(Error::TooLong {
            layer: Layer::Ipv4,
            offset: headers.l3 + ipv4::field::LENGTH.start,
            len: total_len,
            max: usize::from(u16::MAX),
        });
    }
    let resized = Headers {
        payload: headers.l4 + udp::field::HEADER_LEN,
        end,
        ..*headers
    };
    let frame_len = frame.len();
    let (_, ip, l4) = split_l2_l3_l4(frame, &resized, Layer::Udp)?;
    let mut ip = ipv4::Packet::new_unchecked(ip);
    // The checksum below sums header_len() bytes: it must be this slice.
    if ip.header_len() != headers.l4 - headers.l3 {
        return Err(mismatch(headers, frame_len));
    }
    // `l4` is exactly udp_len >= 8 bytes long.
    let mut udp = udp::Packet::new_unchecked(l4);
    let had_checksum = udp.checksum() != 0;
    // Both fit: udp_len < total_len <= u16::MAX.
    udp.set_len(udp_len as u16);
    if had_checksum {
        udp.fill_checksum(ip.src_addr(), ip.dst_addr());
    }
    ip.set_total_len(total_len as u16);
    ip.fill_checksum();
    Ok(resized)
}

fn require_udp(headers: &Headers) -> Result<UdpFlow> {
    match headers.class {
        Class::Udp(flow) => Ok(flow),
        _ => Err(Error::NotRequest {
            layer: Layer::Udp,
            offset: headers.l4,
        }),
    }
}

fn mismatch(headers: &Headers, available: usize) -> Error {
    Error::Truncated {
        layer: Layer::Ethernet,
        offset: 0,
        needed: headers.end,
        available,
    }
}

/// Splits off the Ethernet header: `(frame[..l3], frame[l3..])`.
fn split_l2<'a>(frame: &'a mut [u8], headers: &Headers) -> Result<(&'a mut [u8], &'a mut [u8])> {
    if headers.l3 < ethernet::field::HEADER_LEN || headers.l3 > frame.len() {
        return Err(mismatch(headers, frame.len()));
    }
    Ok(frame.split_at_mut(headers.l3))
}

/// Splits `frame` into Ethernet header, IPv4 header (with options) and the
/// L4 datagram `l4..end`, checking the offsets are ordered, within the
/// frame and long enough for the fixed headers, so the unchecked views the
/// callers build on the first two cannot index out of bounds.
fn split_l2_l3_l4<'a>(
    frame: &'a mut [u8],
    headers: &Headers,
    layer: Layer,
) -> Result<(&'a mut [u8], &'a mut [u8], &'a mut [u8])> {
    let ordered = ethernet::field::HEADER_LEN <= headers.l3
        && headers.l3 + ipv4::field::HEADER_LEN <= headers.l4
        && headers.l4 <= headers.end;
    if !ordered {
        return Err(mismatch(headers, frame.len()));
    }
    let available = frame.len();
    let Some(frame) = frame.get_mut(..headers.end) else {
        return Err(Error::Truncated {
            layer,
            offset: headers.l4,
            needed: headers.end - headers.l4,
            available: available.saturating_sub(headers.l4),
        });
    };
    let (l2, rest) = frame.split_at_mut(headers.l3);
    let (l3, l4) = rest.split_at_mut(headers.l4 - headers.l3);
    Ok((l2, l3, l4))
}
