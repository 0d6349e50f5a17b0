//! ISO 8583 decode over arbitrary bytes, with both built-in specs.
//!
//! Invariants checked (a violation aborts the run):
//! - nothing panics, whatever the bytes;
//! - a message that decodes is canonical: re-encoding its values gives the same bytes;
//! - building its response in place (when it is a request) never panics, and the
//!   response decodes with 39 set and the default policy's fields gone.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wire::iso8583::{
    build_response, encode, response_mti, FieldIndex, FieldValues, Message, ResponsePolicy, Spec,
    DEFAULT, DEFAULT_ASCII,
};

fn check(bytes: &[u8], spec: &Spec) {
    let Ok(msg) = Message::decode(bytes, spec) else {
        return;
    };
    let mut values = FieldValues::new();
    for (n, wire) in msg.data_fields() {
        values.set(n, wire).expect("decoded fields are data fields");
    }
    let mut out = vec![0u8; bytes.len()];
    let len = encode(spec, msg.mti(), &values, &mut out).expect("decoded values re-encode");
    assert_eq!(
        &out[..len],
        bytes,
        "accepted bytes must be the canonical encoding"
    );

    if response_mti(msg.mti_digits()).is_err() {
        return;
    }
    let index: &FieldIndex = msg.index();
    let mut buf = bytes.to_vec();
    buf.resize(bytes.len() + 16, 0);
    let policy = ResponsePolicy::default();
    let len = build_response(&mut buf, index, spec, b"05", Some(b"ABC123"), &policy)
        .expect("a decoded request has room for 38 and 39 in 16 spare bytes");
    let response = Message::decode(&buf[..len], spec).expect("a built response decodes");
    assert_eq!(response.field(39), Some(&b"05"[..]));
    for n in policy.dropped() {
        assert!(response.field(n).is_none(), "field {n} must not be echoed");
    }
}

fuzz_target!(|bytes: &[u8]| {
    check(bytes, &DEFAULT);
    check(bytes, &DEFAULT_ASCII);
});
