//! The one error type of the ISO 8583 codec: what went wrong, in which field, at which byte.
//!
//! Errors are `Copy` values without heap data so the decode path can return them at
//! line rate; the text for an operator is produced by `Display` only when someone asks.

/// An ISO 8583 decode, encode or edit failure.
///
/// `field` is the ISO field number (2..=128; 1 is the secondary bitmap). Field 0 means
/// the message as a whole: the MTI, the primary bitmap, or bytes after the last field.
/// `offset` is the byte offset in the message (decode) or in the output (encode) where
/// the problem starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("field {field} at byte {offset}: {kind}")]
pub struct Error {
    pub kind: ErrorKind,
    pub field: u8,
    pub offset: usize,
}

impl Error {
    pub(crate) const fn new(kind: ErrorKind, field: u8, offset: usize) -> Self {
        Self {
            kind,
            field,
            offset,
        }
    }
}

/// What went wrong. Each message says what the operator or the peer should check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    #[error("message is {len} bytes; a 2-byte frame header carries at most 65535")]
    MessageTooLong { len: usize },
    #[error("message ends after {available} of the {needed} bytes this part needs; the sender truncated it or a length prefix lies")]
    Truncated { needed: usize, available: usize },
    #[error("MTI must be four decimal digits; check the peer's message type and the spec's MTI encoding")]
    BadMti,
    #[error("bitmap must be 16 upper-case hex digits for an ASCII-hex bitmap spec; check the spec's bitmap encoding")]
    BadBitmap,
    #[error("secondary bitmap bit is set but no field 65-128 follows; a conforming encoder never sends that")]
    EmptySecondaryBitmap,
    #[error("bit 65 (tertiary bitmap) is set; fields 129-192 are not supported")]
    TertiaryBitmap,
    #[error("field is present but the spec does not define it; describe it in the spec file")]
    UndefinedField,
    #[error("length prefix must be decimal digits")]
    BadLengthPrefix,
    #[error("length {len} exceeds the spec maximum {max}")]
    TooLong { len: usize, max: u16 },
    #[error("fixed-length field must be exactly {expected} long, value is {actual}")]
    WrongLength { expected: u16, actual: usize },
    #[error("numeric field holds byte {byte:#04x}, which is not a decimal digit")]
    NotNumeric { byte: u8 },
    #[error("text field holds byte {byte:#04x}, which is not ASCII")]
    NotAscii { byte: u8 },
    #[error("BCD field holds a nibble that is not a decimal digit, or a pad nibble that is not 0")]
    BadBcd,
    #[error("{count} bytes follow the last field the bitmap announces; a bitmap bit is missing or the message is padded")]
    TrailingBytes { count: usize },
    #[error("output buffer holds {capacity} bytes, the message needs {needed}")]
    BufferTooSmall { needed: usize, capacity: usize },
    #[error(
        "not a data field: fields run 2-128, and 1 and 65 are bitmap bits the codec sets itself"
    )]
    BadFieldNumber,
    #[error("MTI is not a request or an advice, so it has no response")]
    NotARequest,
    #[error("too many fields set in one edit; split it")]
    TooManyEdits,
}

impl ErrorKind {
    /// Stable snake_case name for logs, counters and `clearctl` JSON (`"kind"`).
    pub const fn code(&self) -> &'static str {
        match self {
            Self::MessageTooLong { .. } => "message_too_long",
            Self::Truncated { .. } => "truncated",
            Self::BadMti => "bad_mti",
            Self::BadBitmap => "bad_bitmap",
            Self::EmptySecondaryBitmap => "empty_secondary_bitmap",
            Self::TertiaryBitmap => "tertiary_bitmap",
            Self::UndefinedField => "undefined_field",
            Self::BadLengthPrefix => "bad_length_prefix",
            Self::TooLong { .. } => "too_long",
            Self::WrongLength { .. } => "wrong_length",
            Self::NotNumeric { .. } => "not_numeric",
            Self::NotAscii { .. } => "not_ascii",
            Self::BadBcd => "bad_bcd",
            Self::TrailingBytes { .. } => "trailing_bytes",
            Self::BufferTooSmall { .. } => "buffer_too_small",
            Self::BadFieldNumber => "bad_field_number",
            Self::NotARequest => "not_a_request",
            Self::TooManyEdits => "too_many_edits",
        }
    }
}
