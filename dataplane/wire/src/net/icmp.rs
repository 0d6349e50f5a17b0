//! ICMPv4 echo request and reply (RFC 792): what `ping` sends the switch.
//!
//! ```text
//! type(1) code(1) checksum(2) ident(2) seq_no(2) data...
//! ```
//! The checksum covers the whole ICMP message (no pseudo-header), so the
//! view must be given exactly the IPv4 payload.

use super::be::{read16, write16};
use super::checksum;
use super::error::{Error, Layer, Result};

/// Byte ranges of an ICMP echo message.
pub mod field {
    use core::ops::Range;

    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Range<usize> = 2..4;
    pub const ECHO_IDENT: Range<usize> = 4..6;
    pub const ECHO_SEQNO: Range<usize> = 6..8;
    pub const HEADER_LEN: usize = 8;
}

/// The ICMP message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Message {
    EchoReply,
    EchoRequest,
    Unknown(u8),
}

impl From<u8> for Message {
    fn from(value: u8) -> Self {
        match value {
            0 => Message::EchoReply,
            8 => Message::EchoRequest,
            other => Message::Unknown(other),
        }
    }
}

impl From<Message> for u8 {
    fn from(value: Message) -> Self {
        match value {
            Message::EchoReply => 0,
            Message::EchoRequest => 8,
            Message::Unknown(other) => other,
        }
    }
}

/// A view over an ICMP message.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Checks the 8-byte header is there; no accessor panics afterwards.
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Packet::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    pub fn check_len(&self) -> Result<()> {
        let available = self.buffer.as_ref().len();
        if available < field::HEADER_LEN {
            return Err(Error::Truncated {
                layer: Layer::Icmp,
                offset: 0,
                needed: field::HEADER_LEN,
                available,
            });
        }
        Ok(())
    }

    /// `Err(BadChecksum)` when the message checksum does not verify.
    pub fn check_checksum(&self) -> Result<()> {
        if self.verify_checksum() {
            return Ok(());
        }
        Err(Error::BadChecksum {
            layer: Layer::Icmp,
            offset: field::CHECKSUM.start,
            found: self.checksum(),
            expected: self.compute_checksum(),
        })
    }

    /// `Err(UnsupportedIcmp)` unless this is an echo request or reply with
    /// code 0.
    pub fn check_echo(&self) -> Result<()> {
        match (self.msg_type(), self.code()) {
            (Message::EchoRequest | Message::EchoReply, 0) => Ok(()),
            _ => Err(Error::UnsupportedIcmp {
                offset: field::TYPE,
                icmp_type: self.msg_type().into(),
                code: self.code(),
            }),
        }
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn msg_type(&self) -> Message {
        Message::from(self.buffer.as_ref()[field::TYPE])
    }

    pub fn code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    pub fn checksum(&self) -> u16 {
        read16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    pub fn echo_ident(&self) -> u16 {
        read16(self.buffer.as_ref(), field::ECHO_IDENT.start)
    }

    pub fn echo_seq_no(&self) -> u16 {
        read16(self.buffer.as_ref(), field::ECHO_SEQNO.start)
    }

    /// The echo data after the 8-byte header.
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[field::HEADER_LEN..]
    }

    pub fn verify_checksum(&self) -> bool {
        checksum::data(self.buffer.as_ref()) == 0xffff
    }

    /// The checksum the message should carry, whatever the field holds.
    pub fn compute_checksum(&self) -> u16 {
        let message = self.buffer.as_ref();
        checksum::finish(checksum::combine(&[
            checksum::data(&message[..field::CHECKSUM.start]),
            checksum::data(&message[field::CHECKSUM.end..]),
        ]))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    pub fn set_msg_type(&mut self, value: Message) {
        self.buffer.as_mut()[field::TYPE] = value.into();
    }

    pub fn set_code(&mut self, value: u8) {
        self.buffer.as_mut()[field::CODE] = value;
    }

    pub fn set_checksum(&mut self, value: u16) {
        write16(self.buffer.as_mut(), field::CHECKSUM.start, value);
    }

    pub fn set_echo_ident(&mut self, value: u16) {
        write16(self.buffer.as_mut(), field::ECHO_IDENT.start, value);
    }

    pub fn set_echo_seq_no(&mut self, value: u16) {
        write16(self.buffer.as_mut(), field::ECHO_SEQNO.start, value);
    }

    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::HEADER_LEN..]
    }

    pub fn fill_checksum(&mut self) {
        let value = self.compute_checksum();
        self.set_checksum(value);
    }

    /// Turns an echo request into its reply in place: only the type changes
    /// (8 -> 0), so the checksum is updated by RFC 1624 over the type/code
    /// word instead of summing the whole data again. Ident, sequence and
    /// data are echoed as received.
    pub fn make_echo_reply(&mut self) -> Result<()> {
        if self.msg_type() != Message::EchoRequest || self.code() != 0 {
            return Err(Error::NotRequest {
                layer: Layer::Icmp,
                offset: field::TYPE,
            });
        }
        let old = u16::from_be_bytes([u8::from(Message::EchoRequest), 0]);
        let new = u16::from_be_bytes([u8::from(Message::EchoReply), 0]);
        self.set_msg_type(Message::EchoReply);
        let updated = checksum::update16(self.checksum(), old, new);
        self.set_checksum(updated);
        Ok(())
    }
}

/// An echo message as plain values, borrowing its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repr<'a> {
    EchoRequest {
        ident: u16,
        seq_no: u16,
        data: &'a [u8],
    },
    EchoReply {
        ident: u16,
        seq_no: u16,
        data: &'a [u8],
    },
}

impl<'a> Repr<'a> {
    /// Parses an echo message: checks the checksum and the type.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&'a T>) -> Result<Repr<'a>> {
        packet.check_len()?;
        packet.check_checksum()?;
        packet.check_echo()?;
        let (ident, seq_no) = (packet.echo_ident(), packet.echo_seq_no());
        let buffer: &'a T = packet.buffer;
        let data = &buffer.as_ref()[field::HEADER_LEN..];
        Ok(match packet.msg_type() {
            Message::EchoRequest => Repr::EchoRequest {
                ident,
                seq_no,
                data,
            },
            _ => Repr::EchoReply {
                ident,
                seq_no,
                data,
            },
        })
    }

    /// Message length: header plus data.
    pub fn buffer_len(&self) -> usize {
        let (Repr::EchoRequest { data, .. } | Repr::EchoReply { data, .. }) = self;
        field::HEADER_LEN + data.len()
    }

    /// Writes the message and its checksum; the buffer must be exactly
    /// [`Repr::buffer_len`] bytes, since the checksum covers all of it.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        let (message, ident, seq_no, data) = match *self {
            Repr::EchoRequest {
                ident,
                seq_no,
                data,
            } => (Message::EchoRequest, ident, seq_no, data),
            Repr::EchoReply {
                ident,
                seq_no,
                data,
            } => (Message::EchoReply, ident, seq_no, data),
        };
        packet.set_msg_type(message);
        packet.set_code(0);
        packet.set_echo_ident(ident);
        packet.set_echo_seq_no(seq_no);
        packet.data_mut()[..data.len()].copy_from_slice(data);
        packet.fill_checksum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Echo request ident 0x1234 seq 1 with data "abcd"; checksum worked
    /// out by hand: ~(0x0800 + 0x1234 + 0x0001 + 0x6162 + 0x6364) = 0x2104.
    const REQUEST: [u8; 12] = [
        0x08, 0x00, 0x21, 0x04, 0x12, 0x34, 0x00, 0x01, b'a', b'b', b'c', b'd',
    ];

    #[test]
    fn request_reads_and_verifies() {
        let packet = Packet::new_checked(&REQUEST[..]).unwrap();
        assert_eq!(packet.msg_type(), Message::EchoRequest);
        assert_eq!(packet.code(), 0);
        assert_eq!(packet.echo_ident(), 0x1234);
        assert_eq!(packet.echo_seq_no(), 1);
        assert_eq!(packet.data(), b"abcd");
        assert!(packet.verify_checksum());
        assert_eq!(packet.compute_checksum(), 0x2104);
    }

    #[test]
    fn make_echo_reply_flips_type_and_keeps_checksum_valid() {
        let mut bytes = REQUEST;
        let mut packet = Packet::new_checked(&mut bytes[..]).unwrap();
        packet.make_echo_reply().unwrap();
        assert_eq!(packet.msg_type(), Message::EchoReply);
        assert_eq!(packet.checksum(), 0x2904);
        assert_eq!(packet.checksum(), packet.compute_checksum());
        assert_eq!(
            packet.make_echo_reply(),
            Err(Error::NotRequest {
                layer: Layer::Icmp,
                offset: 0
            })
        );
    }

    #[test]
    fn other_types_and_bad_checksums_are_refused() {
        let mut unreachable = REQUEST;
        unreachable[0] = 3;
        unreachable[1] = 1;
        let mut packet = Packet::new_checked(&mut unreachable[..]).unwrap();
        packet.fill_checksum();
        let packet = Packet::new_checked(&unreachable[..]).unwrap();
        assert_eq!(
            Repr::parse(&packet).unwrap_err(),
            Error::UnsupportedIcmp {
                offset: 0,
                icmp_type: 3,
                code: 1
            }
        );
        let mut corrupt = REQUEST;
        corrupt[11] ^= 0x01;
        let packet = Packet::new_checked(&corrupt[..]).unwrap();
        assert!(matches!(
            Repr::parse(&packet),
            Err(Error::BadChecksum {
                layer: Layer::Icmp,
                found: 0x2104,
                ..
            })
        ));
        assert!(Packet::new_checked(&REQUEST[..7]).is_err());
    }

    #[test]
    fn repr_round_trips() {
        let packet = Packet::new_checked(&REQUEST[..]).unwrap();
        let repr = Repr::parse(&packet).unwrap();
        assert_eq!(
            repr,
            Repr::EchoRequest {
                ident: 0x1234,
                seq_no: 1,
                data: b"abcd"
            }
        );
        let mut out = vec![0u8; repr.buffer_len()];
        repr.emit(&mut Packet::new_unchecked(&mut out[..]));
        assert_eq!(out, REQUEST);
    }
}
