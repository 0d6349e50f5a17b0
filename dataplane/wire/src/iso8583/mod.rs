//! ISO 8583:1987 messages: field specs, zero-copy decode, encode, response building.
//!
//! - [`Spec`]: per-field layout tables; built-ins [`DEFAULT`] and [`DEFAULT_ASCII`] match
//!   pyiso8583 4.x field for field, others load from TOML ([`Spec::from_toml_str`]).
//! - [`FieldIndex`] / [`Message`]: decode builds an index of field byte ranges over the
//!   original buffer and validates the whole message; no allocation, no copy.
//! - [`encode`]: field values into a caller's buffer.
//! - [`build_response`]: turns a decoded request into its response inside the same
//!   buffer (MTI, fields 39/38, fields a response must not echo).
//!
//! Errors are one [`Error`] value carrying an [`ErrorKind`], the field number and the
//! byte offset. Nothing here panics on any input bytes.
//!
//! Decode accepts exactly the canonical encodings: whatever it accepts re-encodes to the
//! same bytes. So it is as strict as pyiso8583 everywhere (ASCII fields 0x00-0x7F, length
//! prefixes ≤ max, exact fixed lengths, no trailing bytes) and stricter where pyiso8583
//! would accept something it never writes itself: MTI digits only, upper-case hex bitmaps
//! only, no bit 1 with an all-zero secondary bitmap, no bit 65 (pyiso8583 reads a tertiary
//! bitmap there), prefixes of plain digits (Python's `int()` also takes `" 5"` or `"+5"`),
//! and digits in numeric fields (pyiso8583 has no numeric attribute).

mod decode;
mod encode;
mod error;
mod field_set;
mod primitives;
mod response;
mod spec;
mod spec_file;

pub use decode::{FieldIndex, Message, Span};
pub use encode::{encode, encoded_len, is_data_field, FieldValues};
pub use error::{Error, ErrorKind};
pub use field_set::{FieldNumbers, FieldSet};
pub use primitives::unpack_bcd;
pub use response::{apply_edits, build_response, response_mti, Edits, ResponsePolicy, MAX_SETS};
pub use spec::{
    BitmapEncoding, Encoding, FieldSpec, LengthType, MtiEncoding, PrefixEncoding, Spec, DEFAULT,
    DEFAULT_ASCII,
};
pub use spec_file::SpecError;
