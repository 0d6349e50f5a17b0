//! IPv4 headers (RFC 791), options skipped by IHL, no fragments.
//!
//! ```text
//! ver/ihl(1) dscp/ecn(1) total_len(2) ident(2) flags/frag_off(2)
//! ttl(1) protocol(1) checksum(2) src(4) dst(4) [options] payload
//! ```
//! [`Packet::new_checked`] proves the header and the declared total length
//! fit in the buffer; [`Repr::parse`] also rejects fragments and bad header
//! checksums. The switch does not reassemble: a fragment is a drop counted
//! under [`Error::Fragmented`].

use std::net::Ipv4Addr;

use super::be::{read16, read32, write16};
use super::checksum;
use super::error::{Error, Layer, Result};

/// Byte ranges of the IPv4 header.
pub mod field {
    use core::ops::Range;

    pub const VER_IHL: usize = 0;
    pub const DSCP_ECN: usize = 1;
    pub const LENGTH: Range<usize> = 2..4;
    pub const IDENT: Range<usize> = 4..6;
    pub const FLG_OFF: Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Range<usize> = 10..12;
    pub const SRC_ADDR: Range<usize> = 12..16;
    pub const DST_ADDR: Range<usize> = 16..20;
    /// Header length without options.
    pub const HEADER_LEN: usize = 20;
    /// Largest header (IHL 15).
    pub const MAX_HEADER_LEN: usize = 60;
}

const FLAG_DONT_FRAGMENT: u16 = 0x4000;
const FLAG_MORE_FRAGMENTS: u16 = 0x2000;
const FRAGMENT_OFFSET_MASK: u16 = 0x1fff;

/// Time to live of packets the switch originates (echo replies).
pub const DEFAULT_TTL: u8 = 64;

/// The upper-layer protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    Icmp,
    Tcp,
    Udp,
    Unknown(u8),
}

impl From<u8> for Protocol {
    fn from(value: u8) -> Self {
        match value {
            1 => Protocol::Icmp,
            6 => Protocol::Tcp,
            17 => Protocol::Udp,
            other => Protocol::Unknown(other),
        }
    }
}

impl From<Protocol> for u8 {
    fn from(value: Protocol) -> Self {
        match value {
            Protocol::Icmp => 1,
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Unknown(other) => other,
        }
    }
}

/// A view over an IPv4 packet.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Checks version, header length and total length against the buffer;
    /// no accessor panics afterwards. The buffer may be longer than the
    /// total length (Ethernet padding); [`Packet::payload`] stops at it.
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Packet::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// The checks of [`Packet::new_checked`].
    pub fn check_len(&self) -> Result<()> {
        let available = self.buffer.as_ref().len();
        let truncated = |needed| Error::Truncated {
            layer: Layer::Ipv4,
            offset: 0,
            needed,
            available,
        };
        if available < field::HEADER_LEN {
            return Err(truncated(field::HEADER_LEN));
        }
        if self.version() != 4 {
            return Err(Error::BadVersion {
                offset: field::VER_IHL,
                version: self.version(),
            });
        }
        let header_len = self.header_len();
        if header_len < field::HEADER_LEN {
            return Err(Error::BadHeaderLength {
                offset: field::VER_IHL,
                header_len,
            });
        }
        if available < header_len {
            return Err(truncated(header_len));
        }
        let total_len = usize::from(self.total_len());
        if total_len < header_len {
            return Err(Error::BadLengthField {
                layer: Layer::Ipv4,
                offset: field::LENGTH.start,
                declared: total_len,
                minimum: header_len,
            });
        }
        if available < total_len {
            return Err(truncated(total_len));
        }
        Ok(())
    }

    /// `Err(Fragmented)` when MF is set or the fragment offset is not zero.
    pub fn check_unfragmented(&self) -> Result<()> {
        if self.is_fragment() {
            return Err(Error::Fragmented {
                offset: field::FLG_OFF.start,
                more_fragments: self.more_fragments(),
                fragment_offset: self.fragment_offset(),
            });
        }
        Ok(())
    }

    /// `Err(BadChecksum)` when the header checksum does not verify.
    pub fn check_checksum(&self) -> Result<()> {
        if self.verify_checksum() {
            return Ok(());
        }
        Err(Error::BadChecksum {
            layer: Layer::Ipv4,
            offset: field::CHECKSUM.start,
            found: self.checksum(),
            expected: self.compute_checksum(),
        })
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// Header length in bytes (IHL × 4), options included.
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    pub fn dscp_ecn(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN]
    }

    /// Header plus payload length, as declared.
    pub fn total_len(&self) -> u16 {
        read16(self.buffer.as_ref(), field::LENGTH.start)
    }

    pub fn ident(&self) -> u16 {
        read16(self.buffer.as_ref(), field::IDENT.start)
    }

    fn flags_and_offset(&self) -> u16 {
        read16(self.buffer.as_ref(), field::FLG_OFF.start)
    }

    pub fn dont_fragment(&self) -> bool {
        self.flags_and_offset() & FLAG_DONT_FRAGMENT != 0
    }

    pub fn more_fragments(&self) -> bool {
        self.flags_and_offset() & FLAG_MORE_FRAGMENTS != 0
    }

    /// Fragment offset in bytes.
    pub fn fragment_offset(&self) -> usize {
        usize::from(self.flags_and_offset() & FRAGMENT_OFFSET_MASK) * 8
    }

    /// MF set or a non-zero fragment offset: part of a larger datagram.
    pub fn is_fragment(&self) -> bool {
        self.flags_and_offset() & (FLAG_MORE_FRAGMENTS | FRAGMENT_OFFSET_MASK) != 0
    }

    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    pub fn protocol(&self) -> Protocol {
        Protocol::from(self.buffer.as_ref()[field::PROTOCOL])
    }

    pub fn checksum(&self) -> u16 {
        read16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    pub fn src_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(read32(self.buffer.as_ref(), field::SRC_ADDR.start))
    }

    pub fn dst_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(read32(self.buffer.as_ref(), field::DST_ADDR.start))
    }

    /// The option bytes between the fixed header and the payload.
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[field::HEADER_LEN..self.header_len()]
    }

    /// True when the header checksum verifies (sum over the header is -0).
    pub fn verify_checksum(&self) -> bool {
        checksum::data(&self.buffer.as_ref()[..self.header_len()]) == 0xffff
    }

    /// The checksum the header should carry, whatever the field holds now.
    pub fn compute_checksum(&self) -> u16 {
        let header = &self.buffer.as_ref()[..self.header_len()];
        checksum::finish(checksum::combine(&[
            checksum::data(&header[..field::CHECKSUM.start]),
            checksum::data(&header[field::CHECKSUM.end..]),
        ]))
    }

    /// The payload up to the declared total length.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..usize::from(self.total_len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets version 4 and the header length (a multiple of 4, 20..=60).
    pub fn set_version_and_header_len(&mut self, header_len: usize) {
        debug_assert!(header_len & 3 == 0 && (20..=60).contains(&header_len));
        self.buffer.as_mut()[field::VER_IHL] = 0x40 | ((header_len / 4) as u8 & 0x0f);
    }

    pub fn set_dscp_ecn(&mut self, value: u8) {
        self.buffer.as_mut()[field::DSCP_ECN] = value;
    }

    pub fn set_total_len(&mut self, value: u16) {
        write16(self.buffer.as_mut(), field::LENGTH.start, value);
    }

    pub fn set_ident(&mut self, value: u16) {
        write16(self.buffer.as_mut(), field::IDENT.start, value);
    }

    /// Sets the flags word to "not a fragment", with or without DF.
    pub fn set_unfragmented(&mut self, dont_fragment: bool) {
        let value = if dont_fragment { FLAG_DONT_FRAGMENT } else { 0 };
        write16(self.buffer.as_mut(), field::FLG_OFF.start, value);
    }

    pub fn set_ttl(&mut self, value: u8) {
        self.buffer.as_mut()[field::TTL] = value;
    }

    pub fn set_protocol(&mut self, value: Protocol) {
        self.buffer.as_mut()[field::PROTOCOL] = value.into();
    }

    pub fn set_checksum(&mut self, value: u16) {
        write16(self.buffer.as_mut(), field::CHECKSUM.start, value);
    }

    pub fn set_src_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&addr.octets());
    }

    pub fn set_dst_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&addr.octets());
    }

    /// Computes and stores the header checksum.
    pub fn fill_checksum(&mut self) {
        let value = self.compute_checksum();
        self.set_checksum(value);
    }

    /// Swaps source and destination. Neither the header checksum nor an
    /// upper-layer pseudo-header checksum changes: a one's complement sum
    /// does not depend on the order of its words.
    pub fn swap_addresses(&mut self) {
        let (src, dst) = (self.src_addr(), self.dst_addr());
        self.set_src_addr(dst);
        self.set_dst_addr(src);
    }

    /// Sets the source address and updates the header checksum by RFC 1624.
    pub fn replace_src_addr(&mut self, addr: Ipv4Addr) {
        let old = u32::from(self.src_addr());
        self.set_src_addr(addr);
        let updated = checksum::update32(self.checksum(), old, u32::from(addr));
        self.set_checksum(updated);
    }

    /// Sets the destination address and updates the header checksum by
    /// RFC 1624.
    pub fn replace_dst_addr(&mut self, addr: Ipv4Addr) {
        let old = u32::from(self.dst_addr());
        self.set_dst_addr(addr);
        let updated = checksum::update32(self.checksum(), old, u32::from(addr));
        self.set_checksum(updated);
    }

    /// Sets the TTL and updates the header checksum by RFC 1624 (the TTL
    /// shares its 16-bit word with the protocol).
    pub fn replace_ttl(&mut self, ttl: u8) {
        let word = |p: &Self| u16::from_be_bytes([p.ttl(), p.buffer.as_ref()[field::PROTOCOL]]);
        let old = word(self);
        self.set_ttl(ttl);
        let updated = checksum::update16(self.checksum(), old, word(self));
        self.set_checksum(updated);
    }

    /// Sets the total length and updates the header checksum by RFC 1624.
    pub fn replace_total_len(&mut self, total_len: u16) {
        let old = self.total_len();
        self.set_total_len(total_len);
        let updated = checksum::update16(self.checksum(), old, total_len);
        self.set_checksum(updated);
    }

    /// The payload up to the declared total length.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let range = self.header_len()..usize::from(self.total_len());
        &mut self.buffer.as_mut()[range]
    }
}

/// An IPv4 header as plain values. Options are skipped on parse and not
/// emitted: a packet with options parses, but emits without them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub src_addr: Ipv4Addr,
    pub dst_addr: Ipv4Addr,
    pub protocol: Protocol,
    pub payload_len: usize,
    pub ttl: u8,
}

impl Repr {
    /// Parses a checked packet: rejects fragments and a bad checksum.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        packet.check_len()?;
        packet.check_unfragmented()?;
        packet.check_checksum()?;
        Ok(Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            protocol: packet.protocol(),
            payload_len: usize::from(packet.total_len()) - packet.header_len(),
            ttl: packet.ttl(),
        })
    }

    /// Header length this representation emits (no options).
    pub const fn buffer_len(&self) -> usize {
        field::HEADER_LEN
    }

    /// Writes the header with DF set and ident 0, and its checksum. The
    /// buffer must hold [`Repr::buffer_len`] bytes; `payload_len` must keep
    /// the total length within 65535.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        let total_len = field::HEADER_LEN + self.payload_len;
        debug_assert!(total_len <= usize::from(u16::MAX));
        packet.set_version_and_header_len(field::HEADER_LEN);
        packet.set_dscp_ecn(0);
        packet.set_total_len(total_len as u16);
        packet.set_ident(0);
        packet.set_unfragmented(true);
        packet.set_ttl(self.ttl);
        packet.set_protocol(self.protocol);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        packet.fill_checksum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Wikipedia checksum example header (UDP, 192.168.0.1 ->
    /// 192.168.0.199, total length 0x73) with its payload zero-filled.
    fn example() -> Vec<u8> {
        let mut bytes = vec![
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        bytes.resize(0x73, 0);
        bytes
    }

    #[test]
    fn known_header_reads_and_verifies() {
        let bytes = example();
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(packet.version(), 4);
        assert_eq!(packet.header_len(), 20);
        assert_eq!(packet.total_len(), 0x73);
        assert!(packet.dont_fragment());
        assert!(!packet.is_fragment());
        assert_eq!(packet.ttl(), 64);
        assert_eq!(packet.protocol(), Protocol::Udp);
        assert_eq!(packet.src_addr(), Ipv4Addr::new(192, 168, 0, 1));
        assert_eq!(packet.dst_addr(), Ipv4Addr::new(192, 168, 0, 199));
        assert!(packet.verify_checksum());
        assert_eq!(packet.compute_checksum(), 0xb861);
        assert_eq!(packet.payload().len(), 0x73 - 20);
    }

    #[test]
    fn padding_after_total_length_is_not_payload() {
        let mut bytes = example();
        bytes.extend_from_slice(&[0xee; 6]);
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(packet.payload().len(), 0x73 - 20);
    }

    #[test]
    fn options_are_skipped_by_ihl() {
        let mut bytes = example();
        // IHL 6: one 4-byte option (NOP NOP NOP EOL) before the payload.
        bytes.splice(20..20, [0x01, 0x01, 0x01, 0x00]);
        bytes[0] = 0x46;
        bytes[2..4].copy_from_slice(&(0x73u16 + 4).to_be_bytes());
        let mut packet = Packet::new_checked(&mut bytes[..]).unwrap();
        packet.fill_checksum();
        assert_eq!(packet.header_len(), 24);
        assert_eq!(packet.options(), &[1, 1, 1, 0]);
        assert_eq!(packet.payload().len(), 0x73 - 20);
        let repr = Repr::parse(&packet).unwrap();
        assert_eq!(repr.payload_len, 0x73 - 20);
    }

    #[test]
    fn every_length_problem_has_its_own_error() {
        let bytes = example();
        assert!(matches!(
            Packet::new_checked(&bytes[..19]),
            Err(Error::Truncated { needed: 20, .. })
        ));
        let mut v6 = bytes.clone();
        v6[0] = 0x65;
        assert_eq!(
            Packet::new_checked(&v6[..]).unwrap_err(),
            Error::BadVersion {
                offset: 0,
                version: 6
            }
        );
        let mut short_ihl = bytes.clone();
        short_ihl[0] = 0x44;
        assert_eq!(
            Packet::new_checked(&short_ihl[..]).unwrap_err(),
            Error::BadHeaderLength {
                offset: 0,
                header_len: 16
            }
        );
        let mut long_ihl = bytes.clone();
        long_ihl[0] = 0x4f;
        assert!(matches!(
            Packet::new_checked(&long_ihl[..40]),
            Err(Error::Truncated { needed: 60, .. })
        ));
        let mut small_total = bytes.clone();
        small_total[2..4].copy_from_slice(&19u16.to_be_bytes());
        assert_eq!(
            Packet::new_checked(&small_total[..]).unwrap_err(),
            Error::BadLengthField {
                layer: Layer::Ipv4,
                offset: 2,
                declared: 19,
                minimum: 20
            }
        );
        assert_eq!(
            Packet::new_checked(&bytes[..0x72]).unwrap_err(),
            Error::Truncated {
                layer: Layer::Ipv4,
                offset: 0,
                needed: 0x73,
                available: 0x72
            }
        );
    }

    #[test]
    fn fragments_are_rejected_with_their_own_error() {
        for (flags, more, offset) in [(0x2000u16, true, 0usize), (0x00b9, false, 0xb9 * 8)] {
            let mut bytes = example();
            bytes[6..8].copy_from_slice(&flags.to_be_bytes());
            let mut packet = Packet::new_checked(&mut bytes[..]).unwrap();
            packet.fill_checksum();
            assert!(packet.is_fragment());
            assert_eq!(
                Repr::parse(&packet).unwrap_err(),
                Error::Fragmented {
                    offset: 6,
                    more_fragments: more,
                    fragment_offset: offset
                }
            );
        }
    }

    #[test]
    fn corrupted_header_fails_checksum_with_found_and_expected() {
        let mut bytes = example();
        bytes[8] = 63; // TTL changed without fixing the checksum
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(
            Repr::parse(&packet).unwrap_err(),
            Error::BadChecksum {
                layer: Layer::Ipv4,
                offset: 10,
                found: 0xb861,
                expected: 0xb961
            }
        );
    }

    #[test]
    fn repr_round_trips() {
        let bytes = example();
        let repr = Repr::parse(&Packet::new_checked(&bytes[..]).unwrap()).unwrap();
        let mut out = vec![0u8; bytes.len()];
        repr.emit(&mut Packet::new_unchecked(&mut out[..]));
        assert_eq!(out, bytes);
    }

    #[test]
    fn incremental_replacements_equal_full_recompute() {
        let mut bytes = example();
        let mut packet = Packet::new_checked(&mut bytes[..]).unwrap();
        packet.replace_src_addr(Ipv4Addr::new(10, 0, 0, 1));
        packet.replace_dst_addr(Ipv4Addr::new(172, 16, 5, 9));
        packet.replace_ttl(3);
        packet.replace_total_len(0x70);
        assert!(packet.verify_checksum());
        assert_eq!(packet.checksum(), packet.compute_checksum());
        let before = packet.checksum();
        packet.swap_addresses();
        assert_eq!(packet.checksum(), before);
        assert!(packet.verify_checksum());
    }
}
