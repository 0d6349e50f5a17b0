//! Field specification tables: how each of fields 2..=128 is laid out on the wire.
//!
//! A [`Spec`] is built once at start-up (a built-in, or a TOML file an operator wrote for
//! a network's variant) and then only read. The two built-ins are field-for-field the
//! tables pyiso8583 4.x ships as `iso8583.specs.default` and `iso8583.specs.default_ascii`;
//! `tests/iso8583_interop.rs` compares every attribute against pyiso8583's own dump so the
//! tables cannot drift.
//!
//! pyiso8583 has no notion of a numeric field. The `numeric` flags here come from the
//! ISO 8583:1987 data element types ("n"), with two deliberate exceptions: the track data
//! fields (35, 36) carry separators and are text. Clearway rejects a non-digit in a numeric
//! field; pyiso8583 would accept it. An operator who needs pyiso8583's leniency writes a
//! spec file with `numeric = false`.
//!
//! Not supported: a message header before the MTI (pyiso8583's field `h`; both built-ins
//! have none), EBCDIC text, binary length prefixes, and tertiary bitmaps (fields 129-192).

use std::borrow::Cow;

/// How a field's value bytes are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// Text, one byte per character, 0x00..=0x7F (pyiso8583 `data_enc = "ascii"`).
    Ascii,
    /// Raw bytes; lengths count bytes (pyiso8583 `data_enc = "b"`).
    Binary,
    /// Packed decimal digits, two per byte, an odd count left-padded with a 0 nibble;
    /// lengths count digits (pyiso8583 `data_enc = "b"`, `len_count = "nibbles"`, `left_pad = "0"`).
    Bcd,
}

/// Whether a field is fixed or carries a length prefix of 2, 3 or 4 digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub enum LengthType {
    #[serde(rename = "fixed")]
    Fixed,
    LL,
    LLL,
    LLLL,
}

impl LengthType {
    /// Decimal digits in the length prefix (pyiso8583's `len_type` for ASCII lengths).
    pub const fn digits(self) -> usize {
        match self {
            Self::Fixed => 0,
            Self::LL => 2,
            Self::LLL => 3,
            Self::LLLL => 4,
        }
    }

    /// The largest length the prefix can state.
    pub const fn max_value(self) -> u16 {
        match self {
            Self::Fixed => u16::MAX,
            Self::LL => 99,
            Self::LLL => 999,
            Self::LLLL => 9999,
        }
    }
}

/// How the digits of a length prefix are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrefixEncoding {
    /// One ASCII digit per byte (pyiso8583 `len_enc = "ascii"`).
    #[default]
    Ascii,
    /// Packed decimal, right-aligned in whole bytes: LL is 1 byte, LLL and LLLL are 2.
    Bcd,
}

/// The layout of one data field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    pub encoding: Encoding,
    pub length: LengthType,
    pub prefix: PrefixEncoding,
    /// The fixed length, or the largest length a prefix may state; in bytes for ASCII and
    /// binary, in digits for BCD.
    pub max_len: u16,
    /// ASCII fields only: every byte must be a decimal digit.
    pub numeric: bool,
}

impl FieldSpec {
    /// Bytes the length prefix takes on the wire (0 for fixed fields).
    #[inline]
    pub const fn prefix_len(&self) -> usize {
        match (self.prefix, self.length) {
            (_, LengthType::Fixed) => 0,
            (PrefixEncoding::Ascii, l) => l.digits(),
            (PrefixEncoding::Bcd, l) => l.digits().div_ceil(2),
        }
    }

    /// Bytes on the wire for a value of `units` length units (bytes, or digits for BCD).
    #[inline]
    pub const fn wire_len(&self, units: usize) -> usize {
        match self.encoding {
            Encoding::Bcd => units.div_ceil(2),
            Encoding::Ascii | Encoding::Binary => units,
        }
    }
}

/// How the MTI is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MtiEncoding {
    /// Four ASCII digits.
    Ascii,
    /// Four packed digits in two bytes.
    Bcd,
}

impl MtiEncoding {
    pub const fn wire_len(self) -> usize {
        match self {
            Self::Ascii => 4,
            Self::Bcd => 2,
        }
    }
}

/// How the primary and secondary bitmaps are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BitmapEncoding {
    /// 8 raw bytes per bitmap.
    Binary,
    /// 16 upper-case hex digits per bitmap (pyiso8583 writes upper case).
    AsciiHex,
}

impl BitmapEncoding {
    pub const fn wire_len(self) -> usize {
        match self {
            Self::Binary => 8,
            Self::AsciiHex => 16,
        }
    }
}

/// A message layout: MTI and bitmap encodings and the spec of each data field.
///
/// Index `n` of the field table is field `n`. Entries 0, 1 (secondary bitmap) and 65
/// (tertiary-bitmap bit) are always `None`: the codec handles those bits itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub(crate) name: Cow<'static, str>,
    pub(crate) mti: MtiEncoding,
    pub(crate) bitmap: BitmapEncoding,
    pub(crate) fields: [Option<FieldSpec>; 129],
    /// `fields` flattened for the decode loop; derived, always consistent with `fields`.
    pub(crate) layouts: [Layout; 129],
}

/// What decode checks in the bytes of a field the fast walk handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// Any bytes.
    Binary,
    /// ASCII, 0x00..=0x7F.
    Text,
    /// ASCII decimal digits.
    Digits,
}

/// One field's layout as the decode walk wants it: four bytes, no nested enums, so the
/// walk reads one small entry per field instead of a `FieldSpec` behind an `Option`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    /// The fixed length, or the largest length the prefix may state (units).
    pub(crate) len: u16,
    /// Bytes of the ASCII length prefix, 0 for fixed fields, or [`Layout::SLOW`].
    pub(crate) prefix_len: u8,
    pub(crate) check: Check,
}

impl Layout {
    /// `prefix_len` of a field the fast walk does not handle: undefined, BCD-encoded, or
    /// with a BCD length prefix. The walk hands those to the general `FieldSpec` code.
    pub(crate) const SLOW: u8 = u8::MAX;

    const UNDEFINED: Self = Self {
        len: 0,
        prefix_len: Self::SLOW,
        check: Check::Binary,
    };

    const fn of(field: Option<FieldSpec>) -> Self {
        let Some(f) = field else {
            return Self::UNDEFINED;
        };
        let check = match f.encoding {
            Encoding::Binary => Check::Binary,
            Encoding::Ascii if f.numeric => Check::Digits,
            Encoding::Ascii => Check::Text,
            Encoding::Bcd => return Self::slow(f),
        };
        if matches!(f.prefix, PrefixEncoding::Bcd) && !matches!(f.length, LengthType::Fixed) {
            return Self::slow(f);
        }
        Self {
            len: f.max_len,
            prefix_len: f.prefix_len() as u8,
            check,
        }
    }

    /// `check` is `Binary` so the walk keeps the field's bytes out of its digit and ASCII
    /// runs; the general code checks them itself.
    const fn slow(f: FieldSpec) -> Self {
        Self {
            len: f.max_len,
            prefix_len: Self::SLOW,
            check: Check::Binary,
        }
    }
}

impl Spec {
    /// The built-in spec called `name` (`default` or `default_ascii`).
    pub fn builtin(name: &str) -> Option<&'static Spec> {
        match name {
            "default" => Some(&DEFAULT),
            "default_ascii" => Some(&DEFAULT_ASCII),
            _ => None,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub const fn mti_encoding(&self) -> MtiEncoding {
        self.mti
    }

    pub const fn bitmap_encoding(&self) -> BitmapEncoding {
        self.bitmap
    }

    /// The spec of data field `n`, or `None` when the spec does not define it.
    #[inline]
    pub fn field(&self, n: u8) -> Option<&FieldSpec> {
        self.fields.get(n as usize).and_then(Option::as_ref)
    }

    /// Bytes before the first data field without a secondary bitmap: MTI + primary bitmap.
    pub const fn header_len(&self) -> usize {
        self.mti.wire_len() + self.bitmap.wire_len()
    }

    /// Assembles a spec and derives its decode layouts.
    pub(crate) const fn assemble(
        name: Cow<'static, str>,
        mti: MtiEncoding,
        bitmap: BitmapEncoding,
        fields: [Option<FieldSpec>; 129],
    ) -> Self {
        let mut layouts = [Layout::UNDEFINED; 129];
        let mut n = 0;
        while n < 129 {
            layouts[n] = Layout::of(fields[n]);
            n += 1;
        }
        Self {
            name,
            mti,
            bitmap,
            fields,
            layouts,
        }
    }

    const fn from_rows(name: &'static str, bitmap: BitmapEncoding, rows: &[Row; 126]) -> Self {
        let mut fields: [Option<FieldSpec>; 129] = [None; 129];
        let mut i = 0;
        while i < rows.len() {
            let (n, encoding, length, max_len, numeric) = rows[i];
            fields[n as usize] = Some(FieldSpec {
                encoding,
                length,
                prefix: PrefixEncoding::Ascii,
                max_len,
                numeric: matches!(numeric, Kind::Numeric),
            });
            i += 1;
        }
        Self::assemble(Cow::Borrowed(name), MtiEncoding::Ascii, bitmap, fields)
    }
}

/// pyiso8583 4.x `iso8583.specs.default`: ASCII MTI, binary bitmaps, binary 52/55/64/96/128.
pub static DEFAULT: Spec = Spec::from_rows("default", BitmapEncoding::Binary, &DEFAULT_FIELDS);

/// pyiso8583 4.x `iso8583.specs.default_ascii`: everything ASCII, bitmaps as hex text.
pub static DEFAULT_ASCII: Spec = Spec::from_rows(
    "default_ascii",
    BitmapEncoding::AsciiHex,
    &DEFAULT_ASCII_FIELDS,
);

/// Whether an ASCII field must hold digits only.
#[derive(Clone, Copy)]
enum Kind {
    Numeric,
    Text,
}

type Row = (u8, Encoding, LengthType, u16, Kind);

use Encoding::{Ascii as A, Binary as B};
use Kind::{Numeric as N, Text as T};
use LengthType::{Fixed, LL, LLL};

/// Fields 2..=128 of pyiso8583 4.x `iso8583.specs.default`, numeric flags from ISO 8583:1987.
const DEFAULT_FIELDS: [Row; 126] = [
    (2, A, LL, 19, N),     // Primary Account Number (PAN)
    (3, A, Fixed, 6, N),   // Processing Code
    (4, A, Fixed, 12, N),  // Amount, Transaction
    (5, A, Fixed, 12, N),  // Amount, Settlement
    (6, A, Fixed, 12, N),  // Amount, Cardholder Billing
    (7, A, Fixed, 10, N),  // Transmission Date and Time
    (8, A, Fixed, 8, N),   // Amount, Cardholder Billing Fee
    (9, A, Fixed, 8, N),   // Conversion Rate, Settlement
    (10, A, Fixed, 8, N),  // Conversion Rate, Cardholder Billing
    (11, A, Fixed, 6, N),  // System Trace Audit Number
    (12, A, Fixed, 6, N),  // Time, Local Transaction
    (13, A, Fixed, 4, N),  // Date, Local Transaction
    (14, A, Fixed, 4, N),  // Date, Expiration
    (15, A, Fixed, 4, N),  // Date, Settlement
    (16, A, Fixed, 4, N),  // Date, Conversion
    (17, A, Fixed, 4, N),  // Date, Capture
    (18, A, Fixed, 4, N),  // Merchant Type
    (19, A, Fixed, 3, N),  // Acquiring Institution Country Code
    (20, A, Fixed, 3, N),  // PAN Country Code
    (21, A, Fixed, 3, N),  // Forwarding Institution Country Code
    (22, A, Fixed, 3, N),  // Point-of-Service Entry Mode
    (23, A, Fixed, 3, N),  // PAN Sequence Number
    (24, A, Fixed, 3, N),  // Network International ID (NII)
    (25, A, Fixed, 2, N),  // Point-of-Service Condition Code
    (26, A, Fixed, 2, N),  // Point-of-Service Capture Code
    (27, A, Fixed, 1, N),  // Authorizing ID Response Length
    (28, A, Fixed, 9, T),  // Amount, Transaction Fee
    (29, A, Fixed, 9, T),  // Amount, Settlement Fee
    (30, A, Fixed, 9, T),  // Amount, Transaction Processing Fee
    (31, A, Fixed, 9, T),  // Amount, Settlement Processing Fee
    (32, A, LL, 11, N),    // Acquiring Institution ID Code
    (33, A, LL, 11, N),    // Forwarding Institution ID Code
    (34, A, LL, 28, T),    // Primary Account Number, Extended
    (35, A, LL, 37, T),    // Track 2 Data
    (36, A, LLL, 104, T),  // Track 3 Data
    (37, A, Fixed, 12, T), // Retrieval Reference Number
    (38, A, Fixed, 6, T),  // Authorization ID Response
    (39, A, Fixed, 2, T),  // Response Code
    (40, A, Fixed, 3, T),  // Service Restriction Code
    (41, A, Fixed, 8, T),  // Card Acceptor Terminal ID
    (42, A, Fixed, 15, T), // Card Acceptor ID Code
    (43, A, Fixed, 40, T), // Card Acceptor Name/Location
    (44, A, LL, 25, T),    // Additional Response Data
    (45, A, LL, 76, T),    // Track 1 Data
    (46, A, LLL, 999, T),  // Additional Data - ISO
    (47, A, LLL, 999, T),  // Additional Data - National
    (48, A, LLL, 999, T),  // Additional Data - Private
    (49, A, Fixed, 3, T),  // Currency Code, Transaction
    (50, A, Fixed, 3, T),  // Currency Code, Settlement
    (51, A, Fixed, 3, T),  // Currency Code, Cardholder Billing
    (52, B, Fixed, 8, T),  // PIN
    (53, A, Fixed, 16, N), // Security-Related Control Information
    (54, A, LLL, 240, T),  // Additional Amounts
    (55, B, LLL, 255, T),  // ICC data
    (56, A, LLL, 999, T),  // Reserved ISO
    (57, A, LLL, 999, T),  // Reserved National
    (58, A, LLL, 999, T),  // Reserved National
    (59, A, LLL, 999, T),  // Reserved National
    (60, A, LLL, 999, T),  // Reserved National
    (61, A, LLL, 999, T),  // Reserved Private
    (62, A, LLL, 999, T),  // Reserved Private
    (63, A, LLL, 999, T),  // Reserved Private
    (64, B, Fixed, 8, T),  // MAC
    (66, A, Fixed, 1, N),  // Settlement Code
    (67, A, Fixed, 2, N),  // Extended Payment Code
    (68, A, Fixed, 3, N),  // Receiving Institution Country Code
    (69, A, Fixed, 3, N),  // Settlement Institution Country Code
    (70, A, Fixed, 3, N),  // Network Management Information Code
    (71, A, Fixed, 4, N),  // Message Number
    (72, A, Fixed, 4, N),  // Message Number, Last
    (73, A, Fixed, 6, N),  // Date, Action
    (74, A, Fixed, 10, N), // Credits, Number
    (75, A, Fixed, 10, N), // Credits, Reversal Number
    (76, A, Fixed, 10, N), // Debits, Number
    (77, A, Fixed, 10, N), // Debits, Reversal Number
    (78, A, Fixed, 10, N), // Transfer, Number
    (79, A, Fixed, 10, N), // Transfer, Reversal Number
    (80, A, Fixed, 10, N), // Inquiries, Number
    (81, A, Fixed, 10, N), // Authorizations, Number
    (82, A, Fixed, 12, N), // Credits, Processing Fee Amount
    (83, A, Fixed, 12, N), // Credits, Transaction Fee Amount
    (84, A, Fixed, 12, N), // Debits, Processing Fee Amount
    (85, A, Fixed, 12, N), // Debits, Transaction Fee Amount
    (86, A, Fixed, 16, N), // Credits, Amount
    (87, A, Fixed, 16, N), // Credits, Reversal Amount
    (88, A, Fixed, 16, N), // Debits, Amount
    (89, A, Fixed, 16, N), // Debits, Reversal Amount
    (90, A, Fixed, 42, N), // Original Data Elements
    (91, A, Fixed, 1, T),  // File Update Code
    (92, A, Fixed, 2, T),  // File Security Code
    (93, A, Fixed, 5, T),  // Response Indicator
    (94, A, Fixed, 7, T),  // Service Indicator
    (95, A, Fixed, 42, T), // Replacement Amounts
    (96, B, Fixed, 8, T),  // Message Security Code
    (97, A, Fixed, 17, T), // Amount, Net Settlement
    (98, A, Fixed, 25, T), // Payee
    (99, A, LL, 11, N),    // Settlement Institution ID Code
    (100, A, LL, 11, N),   // Receiving Institution ID Code
    (101, A, LL, 17, T),   // File Name
    (102, A, LL, 28, T),   // Account ID 1
    (103, A, LL, 28, T),   // Account ID 2
    (104, A, LLL, 100, T), // Transaction Description
    (105, A, LLL, 999, T), // Reserved for ISO Use
    (106, A, LLL, 999, T), // Reserved for ISO Use
    (107, A, LLL, 999, T), // Reserved for ISO Use
    (108, A, LLL, 999, T), // Reserved for ISO Use
    (109, A, LLL, 999, T), // Reserved for ISO Use
    (110, A, LLL, 999, T), // Reserved for ISO Use
    (111, A, LLL, 999, T), // Reserved for ISO Use
    (112, A, LLL, 999, T), // Reserved for National Use
    (113, A, LLL, 999, T), // Reserved for National Use
    (114, A, LLL, 999, T), // Reserved for National Use
    (115, A, LLL, 999, T), // Reserved for National Use
    (116, A, LLL, 999, T), // Reserved for National Use
    (117, A, LLL, 999, T), // Reserved for National Use
    (118, A, LLL, 999, T), // Reserved for National Use
    (119, A, LLL, 999, T), // Reserved for National Use
    (120, A, LLL, 999, T), // Reserved for Private Use
    (121, A, LLL, 999, T), // Reserved for Private Use
    (122, A, LLL, 999, T), // Reserved for Private Use
    (123, A, LLL, 999, T), // Reserved for Private Use
    (124, A, LLL, 999, T), // Reserved for Private Use
    (125, A, LLL, 999, T), // Reserved for Private Use
    (126, A, LLL, 999, T), // Reserved for Private Use
    (127, A, LLL, 999, T), // Reserved for Private Use
    (128, B, Fixed, 8, T), // MAC
];

/// Fields 2..=128 of pyiso8583 4.x `iso8583.specs.default_ascii`: the
/// `default` table with every binary field carried as ASCII hex, two
/// characters a byte (52, 55, 64, 96, 128). The interop test compares each
/// field with pyiso8583's own dump, so this derivation cannot drift.
const DEFAULT_ASCII_FIELDS: [Row; 126] = hex_for_binary(DEFAULT_FIELDS);

const fn hex_for_binary(mut rows: [Row; 126]) -> [Row; 126] {
    let mut i = 0;
    while i < rows.len() {
        let (n, encoding, length, max, kind) = rows[i];
        if matches!(encoding, B) {
            rows[i] = (n, A, length, max * 2, kind);
        }
        i += 1;
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitmap_and_tertiary_bits_are_never_data_fields() {
        for spec in [&DEFAULT, &DEFAULT_ASCII] {
            assert!(spec.field(0).is_none());
            assert!(spec.field(1).is_none());
            assert!(spec.field(65).is_none());
            assert!(spec.field(129).is_none());
            assert_eq!((2..=128).filter(|&n| spec.field(n).is_some()).count(), 126);
        }
    }

    #[test]
    fn default_ascii_doubles_every_binary_field_of_default_into_hex_text() {
        for n in 2..=128u8 {
            let (Some(bin), Some(asc)) = (DEFAULT.field(n), DEFAULT_ASCII.field(n)) else {
                continue;
            };
            assert_eq!(bin.length, asc.length, "field {n}");
            assert_eq!(asc.encoding, Encoding::Ascii, "field {n}");
            let factor = if bin.encoding == Encoding::Binary {
                2
            } else {
                1
            };
            assert_eq!(bin.max_len * factor, asc.max_len, "field {n}");
        }
    }

    #[test]
    fn prefix_and_wire_lengths_follow_the_encoding() {
        let pan = DEFAULT.field(2).unwrap();
        assert_eq!((pan.prefix_len(), pan.wire_len(19)), (2, 19));
        let bcd = FieldSpec {
            encoding: Encoding::Bcd,
            length: LengthType::LLL,
            prefix: PrefixEncoding::Bcd,
            max_len: 999,
            numeric: false,
        };
        assert_eq!((bcd.prefix_len(), bcd.wire_len(5)), (2, 3));
        assert_eq!(DEFAULT.header_len(), 12);
        assert_eq!(DEFAULT_ASCII.header_len(), 20);
    }
}
