//! ARP for IPv4 over Ethernet (RFC 826), the only kind the switch answers.
//!
//! ```text
//! htype(2)=1 ptype(2)=0x0800 hlen(1)=6 plen(1)=4 oper(2)
//! sha(6) spa(4) tha(6) tpa(4)                               = 28 bytes
//! ```
//! [`Packet::new_checked`] rejects any other hardware/protocol pair with
//! [`Error::UnsupportedArp`]: with other address lengths the fixed offsets
//! below would be wrong.

use std::net::Ipv4Addr;

use super::be::{read16, read32, read6, write16};
use super::error::{Error, Layer, Result};
use super::ethernet::{Address, EtherType};

/// Byte ranges of an Ethernet/IPv4 ARP packet.
pub mod field {
    use core::ops::Range;

    pub const HTYPE: Range<usize> = 0..2;
    pub const PTYPE: Range<usize> = 2..4;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: Range<usize> = 6..8;
    pub const SHA: Range<usize> = 8..14;
    pub const SPA: Range<usize> = 14..18;
    pub const THA: Range<usize> = 18..24;
    pub const TPA: Range<usize> = 24..28;
    pub const PACKET_LEN: usize = 28;
}

/// Hardware type Ethernet.
pub const HTYPE_ETHERNET: u16 = 1;

/// The ARP operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    Request,
    Reply,
    Unknown(u16),
}

impl From<u16> for Operation {
    fn from(value: u16) -> Self {
        match value {
            1 => Operation::Request,
            2 => Operation::Reply,
            other => Operation::Unknown(other),
        }
    }
}

impl From<Operation> for u16 {
    fn from(value: Operation) -> Self {
        match value {
            Operation::Request => 1,
            Operation::Reply => 2,
            Operation::Unknown(other) => other,
        }
    }
}

/// A view over an ARP packet.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Checks the length and that this is IPv4-over-Ethernet ARP; no
    /// accessor panics afterwards. Trailing bytes (Ethernet padding) are
    /// allowed and ignored.
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Packet::new_unchecked(buffer);
        packet.check()?;
        Ok(packet)
    }

    /// The checks of [`Packet::new_checked`].
    pub fn check(&self) -> Result<()> {
        let available = self.buffer.as_ref().len();
        if available < field::PACKET_LEN {
            return Err(Error::Truncated {
                layer: Layer::Arp,
                offset: 0,
                needed: field::PACKET_LEN,
                available,
            });
        }
        let supported = self.hardware_type() == HTYPE_ETHERNET
            && self.protocol_type() == EtherType::IPV4
            && self.hardware_len() == 6
            && self.protocol_len() == 4;
        if !supported {
            return Err(Error::UnsupportedArp {
                offset: 0,
                hardware_type: self.hardware_type(),
                protocol_type: self.protocol_type(),
                hardware_len: self.hardware_len(),
                protocol_len: self.protocol_len(),
            });
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn hardware_type(&self) -> u16 {
        read16(self.buffer.as_ref(), field::HTYPE.start)
    }

    pub fn protocol_type(&self) -> u16 {
        read16(self.buffer.as_ref(), field::PTYPE.start)
    }

    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }

    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref()[field::PLEN]
    }

    pub fn operation(&self) -> Operation {
        Operation::from(read16(self.buffer.as_ref(), field::OPER.start))
    }

    pub fn source_hardware_addr(&self) -> Address {
        Address(read6(self.buffer.as_ref(), field::SHA.start))
    }

    pub fn source_protocol_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(read32(self.buffer.as_ref(), field::SPA.start))
    }

    pub fn target_hardware_addr(&self) -> Address {
        Address(read6(self.buffer.as_ref(), field::THA.start))
    }

    pub fn target_protocol_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(read32(self.buffer.as_ref(), field::TPA.start))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Writes the fixed IPv4-over-Ethernet type and length fields.
    pub fn set_ethernet_ipv4_types(&mut self) {
        let buf = self.buffer.as_mut();
        write16(buf, field::HTYPE.start, HTYPE_ETHERNET);
        write16(buf, field::PTYPE.start, EtherType::IPV4);
        buf[field::HLEN] = 6;
        buf[field::PLEN] = 4;
    }

    pub fn set_operation(&mut self, operation: Operation) {
        write16(self.buffer.as_mut(), field::OPER.start, operation.into());
    }

    pub fn set_source_hardware_addr(&mut self, addr: Address) {
        self.buffer.as_mut()[field::SHA].copy_from_slice(&addr.0);
    }

    pub fn set_source_protocol_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::SPA].copy_from_slice(&addr.octets());
    }

    pub fn set_target_hardware_addr(&mut self, addr: Address) {
        self.buffer.as_mut()[field::THA].copy_from_slice(&addr.0);
    }

    pub fn set_target_protocol_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::TPA].copy_from_slice(&addr.octets());
    }

    /// Turns a request for the address the switch owns into the reply, in
    /// place: the asker becomes the target and `our_hardware_addr` answers
    /// for the requested protocol address. Whether that address really is
    /// ours is the caller's decision.
    pub fn make_reply(&mut self, our_hardware_addr: Address) -> Result<()> {
        if self.operation() != Operation::Request {
            return Err(Error::NotRequest {
                layer: Layer::Arp,
                offset: field::OPER.start,
            });
        }
        let (asker_hw, asker_ip) = (self.source_hardware_addr(), self.source_protocol_addr());
        let requested = self.target_protocol_addr();
        self.set_operation(Operation::Reply);
        self.set_source_hardware_addr(our_hardware_addr);
        self.set_source_protocol_addr(requested);
        self.set_target_hardware_addr(asker_hw);
        self.set_target_protocol_addr(asker_ip);
        Ok(())
    }
}

/// An ARP packet as plain values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub operation: Operation,
    pub source_hardware_addr: Address,
    pub source_protocol_addr: Ipv4Addr,
    pub target_hardware_addr: Address,
    pub target_protocol_addr: Ipv4Addr,
}

impl Repr {
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        packet.check()?;
        Ok(Repr {
            operation: packet.operation(),
            source_hardware_addr: packet.source_hardware_addr(),
            source_protocol_addr: packet.source_protocol_addr(),
            target_hardware_addr: packet.target_hardware_addr(),
            target_protocol_addr: packet.target_protocol_addr(),
        })
    }

    pub const fn buffer_len(&self) -> usize {
        field::PACKET_LEN
    }

    /// Writes the packet; the buffer must hold [`Repr::buffer_len`] bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_ethernet_ipv4_types();
        packet.set_operation(self.operation);
        packet.set_source_hardware_addr(self.source_hardware_addr);
        packet.set_source_protocol_addr(self.source_protocol_addr);
        packet.set_target_hardware_addr(self.target_hardware_addr);
        packet.set_target_protocol_addr(self.target_protocol_addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "Who has 192.168.10.254? Tell 192.168.10.1", from 02:00:00:00:00:01.
    const REQUEST: [u8; 28] = [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, // types, request
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 192, 168, 10, 1, // sender
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 192, 168, 10, 254, // target
    ];

    #[test]
    fn request_fields_read_in_place() {
        let packet = Packet::new_checked(&REQUEST[..]).unwrap();
        assert_eq!(packet.operation(), Operation::Request);
        assert_eq!(packet.source_hardware_addr(), Address([2, 0, 0, 0, 0, 1]));
        assert_eq!(
            packet.source_protocol_addr(),
            Ipv4Addr::new(192, 168, 10, 1)
        );
        assert_eq!(packet.target_hardware_addr(), Address::ZERO);
        assert_eq!(
            packet.target_protocol_addr(),
            Ipv4Addr::new(192, 168, 10, 254)
        );
    }

    #[test]
    fn make_reply_answers_for_the_requested_address() {
        let ours = Address([2, 0, 0, 0, 0, 0x0a]);
        let mut bytes = REQUEST;
        let mut packet = Packet::new_checked(&mut bytes[..]).unwrap();
        packet.make_reply(ours).unwrap();
        let reply = Repr::parse(&packet).unwrap();
        assert_eq!(
            reply,
            Repr {
                operation: Operation::Reply,
                source_hardware_addr: ours,
                source_protocol_addr: Ipv4Addr::new(192, 168, 10, 254),
                target_hardware_addr: Address([2, 0, 0, 0, 0, 1]),
                target_protocol_addr: Ipv4Addr::new(192, 168, 10, 1),
            }
        );
        // A reply is not answered again.
        assert_eq!(
            packet.make_reply(ours),
            Err(Error::NotRequest {
                layer: Layer::Arp,
                offset: 6
            })
        );
    }

    #[test]
    fn other_hardware_or_protocol_is_unsupported() {
        let mut ipv6 = REQUEST;
        ipv6[2..4].copy_from_slice(&0x86ddu16.to_be_bytes());
        ipv6[5] = 16;
        assert_eq!(
            Packet::new_checked(&ipv6[..]).unwrap_err(),
            Error::UnsupportedArp {
                offset: 0,
                hardware_type: 1,
                protocol_type: 0x86dd,
                hardware_len: 6,
                protocol_len: 16
            }
        );
        let mut token_ring = REQUEST;
        token_ring[1] = 6;
        assert!(matches!(
            Packet::new_checked(&token_ring[..]),
            Err(Error::UnsupportedArp {
                hardware_type: 6,
                ..
            })
        ));
    }

    #[test]
    fn short_packet_is_truncated() {
        assert_eq!(
            Packet::new_checked(&REQUEST[..27]).unwrap_err(),
            Error::Truncated {
                layer: Layer::Arp,
                offset: 0,
                needed: 28,
                available: 27
            }
        );
    }

    #[test]
    fn repr_round_trips() {
        let repr = Repr::parse(&Packet::new_checked(&REQUEST[..]).unwrap()).unwrap();
        let mut out = [0u8; 28];
        repr.emit(&mut Packet::new_unchecked(&mut out[..]));
        assert_eq!(out, REQUEST);
        assert_eq!(repr.buffer_len(), 28);
    }
}
