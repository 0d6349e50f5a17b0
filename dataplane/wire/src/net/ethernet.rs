//! Ethernet II frames with at most one 802.1Q tag.
//!
//! ```text
//! untagged:  dst(6) src(6) ethertype(2)                    payload
//! tagged:    dst(6) src(6) 0x8100(2) tci(2) ethertype(2)   payload
//! ```
//! A second tag (QinQ) is not unwrapped: [`Frame::payload_ethertype`] then
//! reports [`EtherType::Vlan`] and the classifier drops the frame as "other".

use core::fmt;

use super::be::{read16, read6, write16};
use super::error::{Error, Layer, Result};

/// Byte ranges of the Ethernet header.
pub mod field {
    use core::ops::Range;

    pub const DESTINATION: Range<usize> = 0..6;
    pub const SOURCE: Range<usize> = 6..12;
    pub const ETHERTYPE: Range<usize> = 12..14;
    /// Untagged header length; also where a tag's TCI starts.
    pub const HEADER_LEN: usize = 14;
    pub const VLAN_TCI: Range<usize> = 14..16;
    pub const VLAN_ETHERTYPE: Range<usize> = 16..18;
    /// Header length with one 802.1Q tag.
    pub const TAGGED_HEADER_LEN: usize = 18;
}

/// A 48-bit MAC address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Address(pub [u8; 6]);

impl Address {
    pub const BROADCAST: Address = Address([0xff; 6]);
    pub const ZERO: Address = Address([0; 6]);

    /// Reads an address from the first six bytes of `bytes`; `None` when
    /// there are fewer.
    pub fn from_bytes(bytes: &[u8]) -> Option<Address> {
        let octets: [u8; 6] = bytes.get(..6)?.try_into().ok()?;
        Some(Address(octets))
    }

    pub const fn as_bytes(&self) -> &[u8; 6] {
        &self.0
    }

    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    /// Group bit set: multicast or broadcast.
    pub const fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    pub const fn is_unicast(&self) -> bool {
        !self.is_multicast()
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The EtherTypes the switch distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EtherType {
    Ipv4,
    Arp,
    /// 802.1Q tag (0x8100).
    Vlan,
    Unknown(u16),
}

impl EtherType {
    pub const IPV4: u16 = 0x0800;
    pub const ARP: u16 = 0x0806;
    pub const VLAN: u16 = 0x8100;
}

impl From<u16> for EtherType {
    fn from(value: u16) -> Self {
        match value {
            EtherType::IPV4 => EtherType::Ipv4,
            EtherType::ARP => EtherType::Arp,
            EtherType::VLAN => EtherType::Vlan,
            other => EtherType::Unknown(other),
        }
    }
}

impl From<EtherType> for u16 {
    fn from(value: EtherType) -> Self {
        match value {
            EtherType::Ipv4 => EtherType::IPV4,
            EtherType::Arp => EtherType::ARP,
            EtherType::Vlan => EtherType::VLAN,
            EtherType::Unknown(other) => other,
        }
    }
}

/// The 802.1Q tag control information.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct VlanTag {
    /// Priority code point, 0..=7.
    pub priority: u8,
    /// Drop eligible indicator.
    pub drop_eligible: bool,
    /// VLAN identifier, 0..=4095.
    pub vlan_id: u16,
}

impl VlanTag {
    pub const fn from_tci(tci: u16) -> VlanTag {
        VlanTag {
            priority: (tci >> 13) as u8,
            drop_eligible: tci & 0x1000 != 0,
            vlan_id: tci & 0x0fff,
        }
    }

    /// The 16-bit TCI; out-of-range priority or id bits are masked off.
    pub const fn tci(&self) -> u16 {
        ((self.priority as u16 & 0x7) << 13)
            | ((self.drop_eligible as u16) << 12)
            | (self.vlan_id & 0x0fff)
    }
}

/// A view over an Ethernet frame.
#[derive(Debug, Clone)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// Wraps a buffer without checks; accessors may panic on a short one.
    pub const fn new_unchecked(buffer: T) -> Frame<T> {
        Frame { buffer }
    }

    /// Wraps a buffer after checking it holds the whole header, including
    /// the tag when the outer EtherType says there is one. No accessor
    /// panics afterwards.
    pub fn new_checked(buffer: T) -> Result<Frame<T>> {
        let frame = Frame::new_unchecked(buffer);
        frame.check_len()?;
        Ok(frame)
    }

    /// Checks the buffer is long enough for the header.
    pub fn check_len(&self) -> Result<()> {
        let available = self.buffer.as_ref().len();
        let needed = if available < field::HEADER_LEN {
            field::HEADER_LEN
        } else {
            self.header_len()
        };
        if available < needed {
            return Err(Error::Truncated {
                layer: Layer::Ethernet,
                offset: 0,
                needed,
                available,
            });
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn dst_addr(&self) -> Address {
        Address(read6(self.buffer.as_ref(), field::DESTINATION.start))
    }

    pub fn src_addr(&self) -> Address {
        Address(read6(self.buffer.as_ref(), field::SOURCE.start))
    }

    /// The outer EtherType: [`EtherType::Vlan`] on a tagged frame.
    pub fn ethertype(&self) -> EtherType {
        EtherType::from(read16(self.buffer.as_ref(), field::ETHERTYPE.start))
    }

    pub fn is_tagged(&self) -> bool {
        self.ethertype() == EtherType::Vlan
    }

    /// The 802.1Q tag, if the frame has one.
    pub fn vlan_tag(&self) -> Option<VlanTag> {
        self.is_tagged()
            .then(|| VlanTag::from_tci(read16(self.buffer.as_ref(), field::VLAN_TCI.start)))
    }

    /// The EtherType of the payload: the inner one on a tagged frame.
    pub fn payload_ethertype(&self) -> EtherType {
        EtherType::from(read16(self.buffer.as_ref(), self.header_len() - 2))
    }

    /// 14, or 18 with a tag: the offset of the payload.
    pub fn header_len(&self) -> usize {
        if self.is_tagged() {
            field::TAGGED_HEADER_LEN
        } else {
            field::HEADER_LEN
        }
    }

    /// Everything after the header (including any Ethernet padding).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
    pub fn set_dst_addr(&mut self, addr: Address) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&addr.0);
    }

    pub fn set_src_addr(&mut self, addr: Address) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&addr.0);
    }

    /// Sets both addresses, as the switch does when forwarding.
    pub fn set_addresses(&mut self, src: Address, dst: Address) {
        self.set_src_addr(src);
        self.set_dst_addr(dst);
    }

    /// Swaps source and destination, as a reflector does.
    pub fn swap_addresses(&mut self) {
        let (src, dst) = (self.src_addr(), self.dst_addr());
        self.set_addresses(dst, src);
    }

    /// Sets the outer EtherType. Changing it to or from [`EtherType::Vlan`]
    /// moves the payload offset; the caller must then fill in the tag.
    pub fn set_ethertype(&mut self, ethertype: EtherType) {
        write16(
            self.buffer.as_mut(),
            field::ETHERTYPE.start,
            ethertype.into(),
        );
    }

    /// Sets the payload EtherType (the inner one on a tagged frame).
    pub fn set_payload_ethertype(&mut self, ethertype: EtherType) {
        let at = self.header_len() - 2;
        write16(self.buffer.as_mut(), at, ethertype.into());
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.header_len();
        &mut self.buffer.as_mut()[start..]
    }
}

/// The header as plain values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub src_addr: Address,
    pub dst_addr: Address,
    pub vlan: Option<VlanTag>,
    /// The payload's EtherType (never [`EtherType::Vlan`] for a frame this
    /// crate emits).
    pub ethertype: EtherType,
}

impl Repr {
    pub fn parse<T: AsRef<[u8]>>(frame: &Frame<T>) -> Result<Repr> {
        frame.check_len()?;
        Ok(Repr {
            src_addr: frame.src_addr(),
            dst_addr: frame.dst_addr(),
            vlan: frame.vlan_tag(),
            ethertype: frame.payload_ethertype(),
        })
    }

    /// Header length this representation emits.
    pub const fn buffer_len(&self) -> usize {
        if self.vlan.is_some() {
            field::TAGGED_HEADER_LEN
        } else {
            field::HEADER_LEN
        }
    }

    /// Writes the header; the buffer must hold at least
    /// [`Repr::buffer_len`] bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut Frame<T>) {
        frame.set_src_addr(self.src_addr);
        frame.set_dst_addr(self.dst_addr);
        match self.vlan {
            Some(tag) => {
                frame.set_ethertype(EtherType::Vlan);
                write16(frame.buffer.as_mut(), field::VLAN_TCI.start, tag.tci());
                write16(
                    frame.buffer.as_mut(),
                    field::VLAN_ETHERTYPE.start,
                    self.ethertype.into(),
                );
            }
            None => frame.set_ethertype(self.ethertype),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNTAGGED: [u8; 16] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // dst
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // src
        0x08, 0x06, // ARP
        0xaa, 0xbb, // payload
    ];

    const TAGGED: [u8; 20] = [
        0x02, 0x00, 0x00, 0x00, 0x00, 0x02, // dst
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // src
        0x81, 0x00, // 802.1Q
        0xa0, 0x64, // pcp 5, dei 0, vid 100
        0x08, 0x00, // IPv4
        0x45, 0x00, // payload
    ];

    #[test]
    fn untagged_frame_exposes_addresses_type_and_payload() {
        let frame = Frame::new_checked(&UNTAGGED[..]).unwrap();
        assert_eq!(frame.dst_addr(), Address::BROADCAST);
        assert_eq!(frame.src_addr(), Address([2, 0, 0, 0, 0, 1]));
        assert_eq!(frame.ethertype(), EtherType::Arp);
        assert_eq!(frame.payload_ethertype(), EtherType::Arp);
        assert_eq!(frame.vlan_tag(), None);
        assert_eq!(frame.header_len(), 14);
        assert_eq!(frame.payload(), &[0xaa, 0xbb]);
    }

    #[test]
    fn tagged_frame_exposes_tag_inner_type_and_payload_offset() {
        let frame = Frame::new_checked(&TAGGED[..]).unwrap();
        assert_eq!(frame.ethertype(), EtherType::Vlan);
        assert_eq!(
            frame.vlan_tag(),
            Some(VlanTag {
                priority: 5,
                drop_eligible: false,
                vlan_id: 100
            })
        );
        assert_eq!(frame.payload_ethertype(), EtherType::Ipv4);
        assert_eq!(frame.header_len(), 18);
        assert_eq!(frame.payload(), &[0x45, 0x00]);
    }

    #[test]
    fn tagged_frame_cut_inside_the_tag_is_truncated() {
        let err = Frame::new_checked(&TAGGED[..16]).unwrap_err();
        assert_eq!(
            err,
            Error::Truncated {
                layer: Layer::Ethernet,
                offset: 0,
                needed: 18,
                available: 16
            }
        );
        assert!(Frame::new_checked(&UNTAGGED[..13]).is_err());
        assert!(Frame::new_checked(&UNTAGGED[..14]).is_ok());
    }

    #[test]
    fn repr_round_trips_with_and_without_tag() {
        for bytes in [&UNTAGGED[..], &TAGGED[..]] {
            let repr = Repr::parse(&Frame::new_checked(bytes).unwrap()).unwrap();
            let mut out = bytes.to_vec();
            out[..repr.buffer_len()].fill(0);
            repr.emit(&mut Frame::new_unchecked(&mut out[..]));
            assert_eq!(out, bytes);
        }
    }

    #[test]
    fn swap_addresses_exchanges_source_and_destination() {
        let mut bytes = TAGGED;
        let mut frame = Frame::new_checked(&mut bytes[..]).unwrap();
        frame.swap_addresses();
        assert_eq!(frame.dst_addr(), Address([2, 0, 0, 0, 0, 1]));
        assert_eq!(frame.src_addr(), Address([2, 0, 0, 0, 0, 2]));
        assert_eq!(frame.payload_ethertype(), EtherType::Ipv4);
    }

    #[test]
    fn vlan_tci_round_trips() {
        for tci in [0u16, 0x0001, 0x0fff, 0x1000, 0xe000, 0xffff, 0xa064] {
            assert_eq!(VlanTag::from_tci(tci).tci(), tci);
        }
    }

    #[test]
    fn address_classes_and_display() {
        assert!(Address::BROADCAST.is_multicast());
        assert!(Address([0x01, 0, 0x5e, 0, 0, 1]).is_multicast());
        assert!(Address([2, 0, 0, 0, 0, 1]).is_unicast());
        assert_eq!(
            Address([0x02, 0xab, 0, 0, 0, 0x0f]).to_string(),
            "02:ab:00:00:00:0f"
        );
    }
}
