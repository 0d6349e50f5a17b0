//! The property both the `iso8583_spec_toml` fuzz target and its proptest
//! twin (`tests/spec_file_props.rs`) check, so the two cannot drift apart.
//!
//! An input is a spec file's text, then a NUL byte, then message bytes.
//! - `Spec::from_toml_str` never panics, whatever the text;
//! - a spec that loads survives `to_toml` → `from_toml_str` unchanged;
//! - decoding the message bytes with a loaded spec never panics, and a
//!   message that decodes re-encodes to the same bytes (whatever field
//!   layout the operator's file described).

use wire::iso8583::{encode, unpack_bcd, FieldValues, Message, Spec};

/// Splits an input at its first NUL: (spec text, message bytes).
pub fn split(bytes: &[u8]) -> (&[u8], &[u8]) {
    match bytes.iter().position(|&b| b == 0) {
        Some(i) => (&bytes[..i], &bytes[i + 1..]),
        None => (bytes, &[]),
    }
}

/// Checks the property for one input; panics when it does not hold.
pub fn check_spec_input(bytes: &[u8]) {
    let (text, message) = split(bytes);
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let Ok(spec) = Spec::from_toml_str(text) else {
        return;
    };
    let again = Spec::from_toml_str(&spec.to_toml())
        .unwrap_or_else(|e| panic!("a loaded spec's own TOML is refused: {e}"));
    assert_eq!(again, spec, "to_toml/from_toml_str changed the spec");
    check_message(&spec, message);
}

fn check_message(spec: &Spec, bytes: &[u8]) {
    let Ok(msg) = Message::decode(bytes, spec) else {
        return;
    };
    // Values as `encode` takes them: BCD fields as their ASCII digits, the
    // rest as their wire bytes.
    let fields: Vec<(u8, Vec<u8>)> = msg
        .data_fields()
        .map(|(n, wire)| match msg.bcd_digits(n) {
            Some(digits) => {
                let mut ascii = vec![0u8; digits];
                unpack_bcd(wire, digits, &mut ascii);
                (n, ascii)
            }
            None => (n, wire.to_vec()),
        })
        .collect();
    let mut values = FieldValues::new();
    for (n, value) in &fields {
        values
            .set(*n, value)
            .expect("decoded fields are data fields");
    }
    let mut out = vec![0u8; bytes.len()];
    // `encode` takes the MTI as four digits; `mti()` is its wire form
    // (two bytes under a BCD-MTI spec).
    let len = encode(spec, &msg.mti_digits(), &values, &mut out).expect("decoded values re-encode");
    assert_eq!(
        &out[..len],
        bytes,
        "accepted bytes must be the canonical encoding"
    );
}
