//! UDP datagrams (RFC 768) over IPv4: the switch's ISO 8583 transport.
//!
//! ```text
//! src_port(2) dst_port(2) length(2) checksum(2) payload...
//! ```
//! The checksum covers the IPv4 pseudo-header, the header and the payload.
//! Zero on the wire means "no checksum" and is accepted; a computed zero is
//! sent as `0xffff`. Every rewrite here leaves a zero checksum zero, so a
//! sender that opted out stays opted out.

use std::net::Ipv4Addr;

use super::be::{read16, write16};
use super::checksum;
use super::error::{Error, Layer, Result};
use super::ipv4::Protocol;

/// Byte ranges of the UDP header.
pub mod field {
    use core::ops::Range;

    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const LENGTH: Range<usize> = 4..6;
    pub const CHECKSUM: Range<usize> = 6..8;
    pub const HEADER_LEN: usize = 8;
}

const PROTOCOL_UDP: u8 = 17;

/// A view over a UDP datagram. Give it the IPv4 payload: bytes after the
/// UDP length (if any) are ignored, as Linux does.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Checks the header and the declared length fit in the buffer; no
    /// accessor panics afterwards.
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Packet::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    pub fn check_len(&self) -> Result<()> {
        let available = self.buffer.as_ref().len();
        let truncated = |needed| Error::Truncated {
            layer: Layer::Udp,
            offset: 0,
            needed,
            available,
        };
        if available < field::HEADER_LEN {
            return Err(truncated(field::HEADER_LEN));
        }
        let declared = usize::from(self.len());
        if declared < field::HEADER_LEN {
            return Err(Error::BadLengthField {
                layer: Layer::Udp,
                offset: field::LENGTH.start,
                declared,
                minimum: field::HEADER_LEN,
            });
        }
        if available < declared {
            return Err(truncated(declared));
        }
        Ok(())
    }

    /// `Err(BadChecksum)` unless the checksum is zero or verifies.
    pub fn check_checksum(&self, src: Ipv4Addr, dst: Ipv4Addr) -> Result<()> {
        if self.verify_checksum(src, dst) {
            return Ok(());
        }
        Err(Error::BadChecksum {
            layer: Layer::Udp,
            offset: field::CHECKSUM.start,
            found: self.checksum(),
            expected: self.compute_checksum(src, dst),
        })
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn src_port(&self) -> u16 {
        read16(self.buffer.as_ref(), field::SRC_PORT.start)
    }

    pub fn dst_port(&self) -> u16 {
        read16(self.buffer.as_ref(), field::DST_PORT.start)
    }

    /// The length field: header plus payload.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u16 {
        read16(self.buffer.as_ref(), field::LENGTH.start)
    }

    pub fn checksum(&self) -> u16 {
        read16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// The payload, up to the length field.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::HEADER_LEN..usize::from(self.len())]
    }

    /// True when the checksum is zero (none) or verifies.
    pub fn verify_checksum(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        if self.checksum() == 0 {
            return true;
        }
        let datagram = &self.buffer.as_ref()[..usize::from(self.len())];
        checksum::combine(&[
            checksum::pseudo_header(src, dst, PROTOCOL_UDP, self.len()),
            checksum::data(datagram),
        ]) == 0xffff
    }

    /// The checksum to send (never zero), whatever the field holds now.
    pub fn compute_checksum(&self, src: Ipv4Addr, dst: Ipv4Addr) -> u16 {
        let datagram = &self.buffer.as_ref()[..usize::from(self.len())];
        let sum = checksum::combine(&[
            checksum::pseudo_header(src, dst, PROTOCOL_UDP, self.len()),
            checksum::data(&datagram[..field::CHECKSUM.start]),
            checksum::data(&datagram[field::CHECKSUM.end..]),
        ]);
        checksum::udp_on_wire(checksum::finish(sum))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_src_port(&mut self, port: u16) {
        write16(self.buffer.as_mut(), field::SRC_PORT.start, port);
    }

    pub fn set_dst_port(&mut self, port: u16) {
        write16(self.buffer.as_mut(), field::DST_PORT.start, port);
    }

    pub fn set_len(&mut self, len: u16) {
        write16(self.buffer.as_mut(), field::LENGTH.start, len);
    }

    pub fn set_checksum(&mut self, value: u16) {
        write16(self.buffer.as_mut(), field::CHECKSUM.start, value);
    }

    /// Computes and stores the checksum over the current contents.
    pub fn fill_checksum(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        let value = self.compute_checksum(src, dst);
        self.set_checksum(value);
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = usize::from(self.len());
        &mut self.buffer.as_mut()[field::HEADER_LEN..end]
    }

    /// Swaps the ports; the checksum is unchanged (word order does not
    /// matter to a one's complement sum).
    pub fn swap_ports(&mut self) {
        let (src, dst) = (self.src_port(), self.dst_port());
        self.set_src_port(dst);
        self.set_dst_port(src);
    }

    /// Applies an RFC 1624 update to a present checksum; zero stays zero.
    fn update_checksum(&mut self, update: impl FnOnce(u16) -> u16) {
        let old = self.checksum();
        if old != 0 {
            self.set_checksum(checksum::udp_on_wire(update(old)));
        }
    }

    /// Sets the source port, updating the checksum incrementally.
    pub fn replace_src_port(&mut self, port: u16) {
        let old = self.src_port();
        self.set_src_port(port);
        self.update_checksum(|hc| checksum::update16(hc, old, port));
    }

    /// Sets the destination port, updating the checksum incrementally.
    pub fn replace_dst_port(&mut self, port: u16) {
        let old = self.dst_port();
        self.set_dst_port(port);
        self.update_checksum(|hc| checksum::update16(hc, old, port));
    }

    /// Updates the checksum for a pseudo-header address that changed from
    /// `old` to `new` (the IPv4 header was rewritten).
    pub fn replace_pseudo_header_addr(&mut self, old: Ipv4Addr, new: Ipv4Addr) {
        self.update_checksum(|hc| checksum::update32(hc, u32::from(old), u32::from(new)));
    }
}

/// A UDP header as plain values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub src_port: u16,
    pub dst_port: u16,
    pub payload_len: usize,
}

impl Repr {
    /// Parses a datagram, verifying its checksum against the addresses.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>, src: Ipv4Addr, dst: Ipv4Addr) -> Result<Repr> {
        packet.check_len()?;
        packet.check_checksum(src, dst)?;
        Ok(Repr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            payload_len: usize::from(packet.len()) - field::HEADER_LEN,
        })
    }

    /// Header plus payload.
    pub const fn buffer_len(&self) -> usize {
        field::HEADER_LEN + self.payload_len
    }

    /// The IPv4 protocol number to put in front of it.
    pub const fn protocol(&self) -> Protocol {
        Protocol::Udp
    }

    /// Writes the header and the checksum over the payload already in the
    /// buffer after the header. The buffer must hold [`Repr::buffer_len`]
    /// bytes, at most 65535.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
        src: Ipv4Addr,
        dst: Ipv4Addr,
    ) {
        debug_assert!(self.buffer_len() <= usize::from(u16::MAX));
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_len(self.buffer_len() as u16);
        packet.fill_checksum(src, dst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: Ipv4Addr = Ipv4Addr::new(192, 168, 10, 1);
    const DST: Ipv4Addr = Ipv4Addr::new(192, 168, 10, 254);

    /// 40000 -> 8583, payload "hello". Checksum by hand:
    /// pseudo c0a8+0a01+c0a8+0afe+0011+000d, header 9c40+2187+000d,
    /// data 6865+6c6c+6f00 -> sum 0x39812 -> 0x9815 -> ~ = 0x67ea.
    const DATAGRAM: [u8; 13] = [
        0x9c, 0x40, 0x21, 0x87, 0x00, 0x0d, 0x67, 0xea, b'h', b'e', b'l', b'l', b'o',
    ];

    #[test]
    fn datagram_reads_and_verifies() {
        let packet = Packet::new_checked(&DATAGRAM[..]).unwrap();
        assert_eq!(packet.src_port(), 40000);
        assert_eq!(packet.dst_port(), 8583);
        assert_eq!(packet.len(), 13);
        assert_eq!(packet.payload(), b"hello");
        assert!(packet.verify_checksum(SRC, DST));
        assert_eq!(packet.compute_checksum(SRC, DST), 0x67ea);
        // The pseudo-header matters: another destination fails.
        assert!(!packet.verify_checksum(SRC, Ipv4Addr::new(192, 168, 10, 253)));
    }

    #[test]
    fn zero_checksum_means_none_and_is_accepted() {
        let mut bytes = DATAGRAM;
        bytes[6..8].fill(0);
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        assert!(packet.verify_checksum(SRC, DST));
        assert_eq!(Repr::parse(&packet, SRC, DST).unwrap().payload_len, 5);
    }

    #[test]
    fn computed_zero_is_sent_as_ffff() {
        // Choose the source port so the true checksum comes out as zero:
        // start from the valid datagram and move the difference into the
        // port, which the checksum then no longer has to balance.
        let mut bytes = DATAGRAM;
        let port = u16::from_be_bytes([bytes[0], bytes[1]]);
        let sum = u32::from(port) + u32::from(0x67eau16);
        let port = ((sum & 0xffff) + (sum >> 16)) as u16;
        bytes[0..2].copy_from_slice(&port.to_be_bytes());
        let mut packet = Packet::new_checked(&mut bytes[..]).unwrap();
        packet.fill_checksum(SRC, DST);
        assert_eq!(packet.checksum(), 0xffff);
        assert!(packet.verify_checksum(SRC, DST));
    }

    #[test]
    fn length_problems_are_typed() {
        assert!(matches!(
            Packet::new_checked(&DATAGRAM[..7]),
            Err(Error::Truncated { needed: 8, .. })
        ));
        assert_eq!(
            Packet::new_checked(&DATAGRAM[..12]).unwrap_err(),
            Error::Truncated {
                layer: Layer::Udp,
                offset: 0,
                needed: 13,
                available: 12
            }
        );
        let mut short = DATAGRAM;
        short[4..6].copy_from_slice(&7u16.to_be_bytes());
        assert_eq!(
            Packet::new_checked(&short[..]).unwrap_err(),
            Error::BadLengthField {
                layer: Layer::Udp,
                offset: 4,
                declared: 7,
                minimum: 8
            }
        );
    }

    #[test]
    fn bytes_after_the_udp_length_are_not_payload() {
        let mut bytes = DATAGRAM.to_vec();
        bytes.extend_from_slice(&[0, 0, 0]);
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(packet.payload(), b"hello");
        assert!(packet.verify_checksum(SRC, DST));
    }

    #[test]
    fn incremental_port_and_address_rewrites_equal_full_recompute() {
        let mut bytes = DATAGRAM;
        let mut packet = Packet::new_checked(&mut bytes[..]).unwrap();
        let new_src = Ipv4Addr::new(10, 9, 8, 7);
        packet.replace_src_port(50001);
        packet.replace_dst_port(8584);
        packet.replace_pseudo_header_addr(SRC, new_src);
        assert_eq!(packet.checksum(), packet.compute_checksum(new_src, DST));
        packet.swap_ports();
        assert!(packet.verify_checksum(new_src, DST));
    }

    #[test]
    fn rewrites_leave_a_zero_checksum_zero() {
        let mut bytes = DATAGRAM;
        bytes[6..8].fill(0);
        let mut packet = Packet::new_checked(&mut bytes[..]).unwrap();
        packet.replace_src_port(1);
        packet.replace_dst_port(2);
        packet.replace_pseudo_header_addr(SRC, DST);
        assert_eq!(packet.checksum(), 0);
    }

    #[test]
    fn repr_round_trips() {
        let packet = Packet::new_checked(&DATAGRAM[..]).unwrap();
        let repr = Repr::parse(&packet, SRC, DST).unwrap();
        assert_eq!(
            repr,
            Repr {
                src_port: 40000,
                dst_port: 8583,
                payload_len: 5
            }
        );
        let mut out = DATAGRAM;
        out[..8].fill(0);
        repr.emit(&mut Packet::new_unchecked(&mut out[..]), SRC, DST);
        assert_eq!(out, DATAGRAM);
    }
}
