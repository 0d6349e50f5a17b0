//! The one error type of every packet view.
//!
//! Each variant names the layer and the byte offset where the problem sits,
//! so a drop counter can be keyed on [`ErrorKind`] and a packet capture can
//! be read at the right byte. Offsets are relative to the buffer the view was
//! given; [`crate::net::headers::Headers::parse`] reports them relative to the
//! start of the Ethernet frame.

use core::fmt;

/// The protocol layer an error belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    /// Ethernet II header, including an 802.1Q tag.
    Ethernet,
    /// ARP for IPv4 over Ethernet.
    Arp,
    /// IPv4 header.
    Ipv4,
    /// ICMPv4 message.
    Icmp,
    /// UDP header and datagram.
    Udp,
}

impl Layer {
    /// Lower-case name, usable as a metric label.
    pub const fn as_str(self) -> &'static str {
        match self {
            Layer::Ethernet => "ethernet",
            Layer::Arp => "arp",
            Layer::Ipv4 => "ipv4",
            Layer::Icmp => "icmp",
            Layer::Udp => "udp",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a packet view refused a buffer or a rewrite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The buffer ends before the layer does: `needed` bytes from `offset`
    /// are required (by the fixed header or by a length field), only
    /// `available` are there.
    Truncated {
        layer: Layer,
        offset: usize,
        needed: usize,
        available: usize,
    },
    /// The checksum field at `offset` does not match the data.
    BadChecksum {
        layer: Layer,
        offset: usize,
        found: u16,
        expected: u16,
    },
    /// The IPv4 version nibble is not 4.
    BadVersion { offset: usize, version: u8 },
    /// The IPv4 IHL gives a header shorter than the 20-byte minimum.
    BadHeaderLength { offset: usize, header_len: usize },
    /// A length field (IPv4 total length, UDP length) declares less than
    /// its own header.
    BadLengthField {
        layer: Layer,
        offset: usize,
        declared: usize,
        minimum: usize,
    },
    /// The IPv4 packet is a fragment (MF set or fragment offset not zero).
    /// The switch does not reassemble; this is its own drop reason.
    Fragmented {
        offset: usize,
        more_fragments: bool,
        /// Fragment offset in bytes (the header field times 8).
        fragment_offset: usize,
    },
    /// ARP for something other than IPv4 over Ethernet.
    UnsupportedArp {
        offset: usize,
        hardware_type: u16,
        protocol_type: u16,
        hardware_len: u8,
        protocol_len: u8,
    },
    /// An ICMP message that is not an echo request or reply.
    UnsupportedIcmp {
        offset: usize,
        icmp_type: u8,
        code: u8,
    },
    /// A "turn this request into a reply" helper was given something that
    /// is not a request.
    NotRequest { layer: Layer, offset: usize },
    /// A rewrite would make a length field overflow (`len` > `max`).
    TooLong {
        layer: Layer,
        offset: usize,
        len: usize,
        max: usize,
    },
}

/// The variant of an [`Error`] without its data: a dense index for drop
/// counters (`counters[err.kind() as usize] += 1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ErrorKind {
    Truncated,
    BadChecksum,
    BadVersion,
    BadHeaderLength,
    BadLengthField,
    Fragmented,
    UnsupportedArp,
    UnsupportedIcmp,
    NotRequest,
    TooLong,
}

impl ErrorKind {
    /// Number of kinds; the size of a counter array indexed by kind.
    pub const COUNT: usize = 10;

    /// Every kind, in index order.
    pub const ALL: [ErrorKind; Self::COUNT] = [
        ErrorKind::Truncated,
        ErrorKind::BadChecksum,
        ErrorKind::BadVersion,
        ErrorKind::BadHeaderLength,
        ErrorKind::BadLengthField,
        ErrorKind::Fragmented,
        ErrorKind::UnsupportedArp,
        ErrorKind::UnsupportedIcmp,
        ErrorKind::NotRequest,
        ErrorKind::TooLong,
    ];

    /// Snake-case name, usable as a metric label.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Truncated => "truncated",
            ErrorKind::BadChecksum => "bad_checksum",
            ErrorKind::BadVersion => "bad_version",
            ErrorKind::BadHeaderLength => "bad_header_length",
            ErrorKind::BadLengthField => "bad_length_field",
            ErrorKind::Fragmented => "fragmented",
            ErrorKind::UnsupportedArp => "unsupported_arp",
            ErrorKind::UnsupportedIcmp => "unsupported_icmp",
            ErrorKind::NotRequest => "not_request",
            ErrorKind::TooLong => "too_long",
        }
    }
}

impl Error {
    /// The variant, for counting.
    pub const fn kind(&self) -> ErrorKind {
        match self {
            Error::Truncated { .. } => ErrorKind::Truncated,
            Error::BadChecksum { .. } => ErrorKind::BadChecksum,
            Error::BadVersion { .. } => ErrorKind::BadVersion,
            Error::BadHeaderLength { .. } => ErrorKind::BadHeaderLength,
            Error::BadLengthField { .. } => ErrorKind::BadLengthField,
            Error::Fragmented { .. } => ErrorKind::Fragmented,
            Error::UnsupportedArp { .. } => ErrorKind::UnsupportedArp,
            Error::UnsupportedIcmp { .. } => ErrorKind::UnsupportedIcmp,
            Error::NotRequest { .. } => ErrorKind::NotRequest,
            Error::TooLong { .. } => ErrorKind::TooLong,
        }
    }

    /// The layer the error belongs to.
    pub const fn layer(&self) -> Layer {
        match *self {
            Error::Truncated { layer, .. }
            | Error::BadChecksum { layer, .. }
            | Error::BadLengthField { layer, .. }
            | Error::NotRequest { layer, .. }
            | Error::TooLong { layer, .. } => layer,
            Error::BadVersion { .. } | Error::BadHeaderLength { .. } | Error::Fragmented { .. } => {
                Layer::Ipv4
            }
            Error::UnsupportedArp { .. } => Layer::Arp,
            Error::UnsupportedIcmp { .. } => Layer::Icmp,
        }
    }

    /// The byte offset the error points at.
    pub const fn offset(&self) -> usize {
        match *self {
            Error::Truncated { offset, .. }
            | Error::BadChecksum { offset, .. }
            | Error::BadVersion { offset, .. }
            | Error::BadHeaderLength { offset, .. }
            | Error::BadLengthField { offset, .. }
            | Error::Fragmented { offset, .. }
            | Error::UnsupportedArp { offset, .. }
            | Error::UnsupportedIcmp { offset, .. }
            | Error::NotRequest { offset, .. }
            | Error::TooLong { offset, .. } => offset,
        }
    }

    /// The same error with its offset moved by `base` bytes: a view over a
    /// slice starting at `base` of a frame reports frame offsets this way.
    #[must_use]
    pub const fn at(mut self, base: usize) -> Error {
        match &mut self {
            Error::Truncated { offset, .. }
            | Error::BadChecksum { offset, .. }
            | Error::BadVersion { offset, .. }
            | Error::BadHeaderLength { offset, .. }
            | Error::BadLengthField { offset, .. }
            | Error::Fragmented { offset, .. }
            | Error::UnsupportedArp { offset, .. }
            | Error::UnsupportedIcmp { offset, .. }
            | Error::NotRequest { offset, .. }
            | Error::TooLong { offset, .. } => *offset = offset.saturating_add(base),
        }
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Truncated {
                layer,
                offset,
                needed,
                available,
            } => write!(
                f,
                "{layer} truncated at byte {offset}: needs {needed} bytes, buffer has {available}"
            ),
            Error::BadChecksum {
                layer,
                offset,
                found,
                expected,
            } => write!(
                f,
                "{layer} checksum at byte {offset} is {found:#06x}, data gives {expected:#06x}: \
                 corrupted in transit or by a faulty sender"
            ),
            Error::BadVersion { offset, version } => {
                write!(f, "ipv4 version at byte {offset} is {version}, expected 4")
            }
            Error::BadHeaderLength { offset, header_len } => write!(
                f,
                "ipv4 header length at byte {offset} is {header_len}, minimum is 20"
            ),
            Error::BadLengthField {
                layer,
                offset,
                declared,
                minimum,
            } => write!(
                f,
                "{layer} length field at byte {offset} declares {declared} bytes, \
                 less than the header's {minimum}"
            ),
            Error::Fragmented {
                offset,
                more_fragments,
                fragment_offset,
            } => write!(
                f,
                "ipv4 fragment at byte {offset} (more fragments: {more_fragments}, \
                 fragment offset {fragment_offset}); fragments are not reassembled, \
                 senders must keep datagrams under the path MTU"
            ),
            Error::UnsupportedArp {
                offset,
                hardware_type,
                protocol_type,
                hardware_len,
                protocol_len,
            } => write!(
                f,
                "arp at byte {offset} is hardware type {hardware_type} / protocol \
                 {protocol_type:#06x} (lengths {hardware_len}/{protocol_len}); only IPv4 over \
                 Ethernet is answered"
            ),
            Error::UnsupportedIcmp {
                offset,
                icmp_type,
                code,
            } => write!(
                f,
                "icmp at byte {offset} is type {icmp_type} code {code}; only echo is handled"
            ),
            Error::NotRequest { layer, offset } => {
                write!(f, "{layer} message at byte {offset} is not a request")
            }
            Error::TooLong {
                layer,
                offset,
                len,
                max,
            } => write!(
                f,
                "{layer} length at byte {offset} would be {len}, maximum is {max}"
            ),
        }
    }
}

impl std::error::Error for Error {}

/// Result of the packet views.
pub type Result<T> = core::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_dense_indices_in_all_order() {
        for (index, kind) in ErrorKind::ALL.iter().enumerate() {
            assert_eq!(*kind as usize, index);
        }
    }

    #[test]
    fn at_moves_the_offset_and_keeps_the_rest() {
        let err = Error::Truncated {
            layer: Layer::Udp,
            offset: 0,
            needed: 8,
            available: 3,
        };
        let moved = err.at(34);
        assert_eq!(moved.offset(), 34);
        assert_eq!(moved.layer(), Layer::Udp);
        assert_eq!(moved.kind(), ErrorKind::Truncated);
        assert!(moved.to_string().contains("byte 34"));
    }
}
