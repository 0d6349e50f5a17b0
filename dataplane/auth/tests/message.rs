//! The MAC field of ISO 8583 messages, as a keyed participant and the
//! switch see it: verify, seal in place, append when absent, in the binary
//! (`default`) and text (`default_ascii`) specs, with and without a
//! secondary bitmap.

use auth::{
    append, mac_field, seal, seal_or_append, verify, Algorithm, KeyRing, KeyUsed, MacError,
    MacFormat, MacKey,
};
use proptest::prelude::*;
use wire::iso8583::{encode, FieldIndex, FieldValues, Message, Spec};

const AES_KEY: [u8; 16] = [
    0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c,
];

fn ring(alg: Algorithm) -> KeyRing {
    KeyRing::new(MacKey::new(alg, &AES_KEY).unwrap())
}

fn spec(name: &str) -> &'static Spec {
    Spec::builtin(name).unwrap()
}

/// A 0200; `secondary` adds field 100 (so the MAC is field 128); `mac`
/// adds a zero MAC field of the spec's width.
fn message(spec: &Spec, secondary: bool, mac: bool) -> Vec<u8> {
    let zeros_bin = [0u8; 8];
    let zeros_hex = [b'0'; 16];
    let mac_value: &[u8] = if spec.name() == "default" {
        &zeros_bin
    } else {
        &zeros_hex
    };
    let mut values = FieldValues::new();
    for (n, v) in [
        (2u8, &b"4761730000000010"[..]),
        (3, b"000000"),
        (4, b"000000012345"),
        (7, b"1127093015"),
        (11, b"000042"),
        (37, b"000000000042"),
        (41, b"TERM0001"),
        (49, b"156"),
    ] {
        values.set(n, v).unwrap();
    }
    if secondary {
        values.set(100, b"88001").unwrap();
    }
    if mac {
        values
            .set(if secondary { 128 } else { 64 }, mac_value)
            .unwrap();
    }
    let mut out = vec![0u8; 1024];
    let len = encode(spec, b"0200", &values, &mut out).unwrap();
    out.truncate(len);
    out
}

fn sealed(spec: &Spec, alg: Algorithm, secondary: bool) -> (Vec<u8>, FieldIndex) {
    let format = MacFormat::of(spec).unwrap();
    let mut msg = message(spec, secondary, true);
    let index = FieldIndex::decode(&msg, spec).unwrap();
    seal(&format, &mut msg, &index, &ring(alg)).unwrap();
    (msg, index)
}

const CASES: [(&str, bool); 4] = [
    ("default", false),
    ("default", true),
    ("default_ascii", false),
    ("default_ascii", true),
];

#[test]
fn a_sealed_message_verifies_with_the_current_key() {
    for alg in Algorithm::ALL {
        for (name, secondary) in CASES {
            let spec = spec(name);
            let format = MacFormat::of(spec).unwrap();
            let (msg, index) = sealed(spec, alg, secondary);
            assert_eq!(mac_field(&index), if secondary { 128 } else { 64 });
            assert_eq!(
                verify(&format, &msg, &index, &ring(alg), 0),
                Ok(KeyUsed::Current),
                "{alg} {name} secondary={secondary}"
            );
            // Still a valid message of its spec after sealing.
            assert!(Message::decode(&msg, spec).is_ok());
        }
    }
}

#[test]
fn the_mac_is_the_truncated_mac_of_mti_bitmaps_and_fields_before_it() {
    let spec = spec("default");
    let (msg, index) = sealed(spec, Algorithm::HmacSha256x64, false);
    let span = index.get(64).unwrap();
    let key = MacKey::new(Algorithm::HmacSha256x64, &AES_KEY).unwrap();
    assert_eq!(
        &msg[span.range()],
        &key.tag(&msg[..span.start as usize])[..]
    );
    assert_eq!(span.end(), msg.len(), "field 64 is the last field");

    let spec = spec_ascii();
    let (msg, index) = sealed(spec, Algorithm::AesCmac64, true);
    let span = index.get(128).unwrap();
    let key = MacKey::new(Algorithm::AesCmac64, &AES_KEY).unwrap();
    let expected: String = key
        .tag(&msg[..span.start as usize])
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    assert_eq!(&msg[span.range()], expected.as_bytes());
}

fn spec_ascii() -> &'static Spec {
    spec("default_ascii")
}

#[test]
fn a_text_mac_is_upper_case_hex_only() {
    let spec = spec_ascii();
    let format = MacFormat::of(spec).unwrap();
    let (mut msg, index) = sealed(spec, Algorithm::HmacSha256x64, false);
    let span = index.get(64).unwrap();
    let r = ring(Algorithm::HmacSha256x64);
    assert!(msg[span.range()]
        .iter()
        .all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(c)));
    assert!(verify(&format, &msg, &index, &r, 0).is_ok());
    // The same tag in lower case is another encoding: refused, so flipping
    // a letter's case bit cannot pass.
    let first_letter = msg[span.range()]
        .iter()
        .position(|c| c.is_ascii_alphabetic())
        .expect("a 16-digit tag with no letter is possible but not for this fixture");
    msg[span.start as usize + first_letter] ^= 0x20;
    assert_eq!(
        verify(&format, &msg, &index, &r, 0),
        Err(MacError::NotHex {
            field: 64,
            offset: span.start as usize + first_letter / 2 * 2
        })
    );
}

#[test]
fn a_message_without_its_mac_field_is_missing_even_if_the_other_mac_field_is_there() {
    let spec = spec("default");
    let format = MacFormat::of(spec).unwrap();
    let r = ring(Algorithm::AesCmac64);
    let msg = message(spec, false, false);
    let index = FieldIndex::decode(&msg, spec).unwrap();
    assert_eq!(
        verify(&format, &msg, &index, &r, 0),
        Err(MacError::Missing { field: 64 })
    );
    // With a secondary bitmap the MAC is 128: a MAC in 64 does not count.
    let mut values = FieldValues::new();
    values.set(11, b"000001").unwrap();
    values.set(64, &[0; 8]).unwrap();
    values.set(100, b"88001").unwrap();
    let mut buf = [0u8; 256];
    let len = encode(spec, b"0200", &values, &mut buf).unwrap();
    let index = FieldIndex::decode(&buf[..len], spec).unwrap();
    assert_eq!(
        verify(&format, &buf[..len], &index, &r, 0),
        Err(MacError::Missing { field: 128 })
    );
}

#[test]
fn another_key_or_a_changed_byte_is_a_mismatch() {
    let spec = spec("default");
    let format = MacFormat::of(spec).unwrap();
    let (mut msg, index) = sealed(spec, Algorithm::HmacSha256x64, false);
    let other = KeyRing::new(MacKey::new(Algorithm::HmacSha256x64, &[9; 16]).unwrap());
    assert_eq!(
        verify(&format, &msg, &index, &other, 0),
        Err(MacError::Mismatch { field: 64 })
    );
    // Same key bytes, other algorithm: also a mismatch.
    assert!(verify(&format, &msg, &index, &ring(Algorithm::AesCmac64), 0).is_err());
    // Amount 000000012345 -> 000000012346
    let amount = index.get(4).unwrap();
    msg[amount.end() - 1] = b'6';
    assert_eq!(
        verify(&format, &msg, &index, &ring(Algorithm::HmacSha256x64), 0),
        Err(MacError::Mismatch { field: 64 })
    );
}

#[test]
fn append_sets_the_bitmap_bit_and_adds_the_mac_as_the_last_field() {
    for alg in Algorithm::ALL {
        for (name, secondary) in CASES {
            let spec = spec(name);
            let format = MacFormat::of(spec).unwrap();
            let r = ring(alg);
            let plain = message(spec, secondary, false);
            let index = FieldIndex::decode(&plain, spec).unwrap();
            let mut buf = plain.clone();
            buf.resize(plain.len() + 64, 0xEE);
            let len = append(&format, &mut buf, plain.len(), &index, &r).unwrap();
            let field = if secondary { 128 } else { 64 };
            let width = if name == "default" { 8 } else { 16 };
            assert_eq!(len, plain.len() + width);
            let appended = Message::decode(&buf[..len], spec).expect("still a valid message");
            assert!(
                appended.index().fields().contains(field),
                "{name} {secondary}"
            );
            // Every other field is unchanged.
            let before = Message::decode(&plain, spec).unwrap();
            for (n, v) in before.data_fields() {
                assert_eq!(appended.field(n), Some(v), "field {n}");
            }
            let index = FieldIndex::decode(&buf[..len], spec).unwrap();
            assert!(verify(&format, &buf[..len], &index, &r, 0).is_ok());
            // Appending the same thing as sealing a zeroed field.
            let (sealed_msg, _) = sealed(spec, alg, secondary);
            assert_eq!(&buf[..len], &sealed_msg[..], "{alg} {name} {secondary}");
        }
    }
}

#[test]
fn append_refuses_without_room_or_when_present_and_seal_or_append_does_either() {
    let spec = spec("default");
    let format = MacFormat::of(spec).unwrap();
    let r = ring(Algorithm::AesCmac64);
    let plain = message(spec, false, false);
    let index = FieldIndex::decode(&plain, spec).unwrap();
    let mut tight = plain.clone();
    let before = tight.clone();
    assert_eq!(
        append(&format, &mut tight, plain.len(), &index, &r),
        Err(MacError::NoRoom {
            field: 64,
            needed: plain.len() + 8,
            available: plain.len()
        })
    );
    assert_eq!(tight, before, "a refused append changes nothing");

    let mut buf = plain.clone();
    buf.resize(plain.len() + 8, 0);
    let len = seal_or_append(&format, &mut buf, plain.len(), &index, &r).unwrap();
    assert_eq!(len, plain.len() + 8);
    let index = FieldIndex::decode(&buf[..len], spec).unwrap();
    assert_eq!(
        append(&format, &mut buf, len, &index, &r),
        Err(MacError::AlreadyPresent { field: 64 })
    );
    assert_eq!(seal_or_append(&format, &mut buf, len, &index, &r), Ok(len));
    assert!(verify(&format, &buf[..len], &index, &r, 0).is_ok());
}

#[test]
fn during_a_rotation_the_old_key_verifies_until_the_deadline_and_sealing_uses_the_new() {
    let spec = spec("default");
    let format = MacFormat::of(spec).unwrap();
    let old = ring(Algorithm::HmacSha256x64);
    let new_key = MacKey::new(Algorithm::AesCmac64, &[7; 16]).unwrap();
    let rotated = old.rotate(new_key, 100);
    let (mut msg, index) = sealed(spec, Algorithm::HmacSha256x64, false);
    assert_eq!(
        verify(&format, &msg, &index, &rotated, 99),
        Ok(KeyUsed::Previous)
    );
    assert_eq!(
        verify(&format, &msg, &index, &rotated, 100),
        Err(MacError::Mismatch { field: 64 })
    );
    seal(&format, &mut msg, &index, &rotated).unwrap();
    assert_eq!(
        verify(&format, &msg, &index, &rotated, 1_000),
        Ok(KeyUsed::Current)
    );
    assert!(verify(&format, &msg, &index, &old, 0).is_err());
}

#[test]
fn every_single_bit_flip_of_every_sealed_fixture_fails() {
    for alg in Algorithm::ALL {
        for (name, secondary) in CASES {
            let spec = spec(name);
            let format = MacFormat::of(spec).unwrap();
            let r = ring(alg);
            let (msg, _) = sealed(spec, alg, secondary);
            let mut decoded = 0;
            for bit in 0..msg.len() * 8 {
                let mut m = msg.clone();
                m[bit / 8] ^= 1 << (bit % 8);
                if let Ok(index) = FieldIndex::decode(&m, spec) {
                    decoded += 1;
                    assert!(
                        verify(&format, &m, &index, &r, 0).is_err(),
                        "{alg} {name} secondary={secondary}: bit {bit} verified"
                    );
                }
            }
            // Most flips leave a valid message (digits stay digits or not,
            // but binary and text bytes stay valid): the MAC is what refuses them.
            assert!(decoded >= 64, "{name}: only {decoded} flips decoded");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any single-bit change of a sealed message fails: either the message
    /// no longer decodes (the switch answers 30 / drops it), or its MAC does
    /// not verify.
    #[test]
    fn any_single_bit_flip_of_a_sealed_message_fails_verification(
        alg in prop::sample::select(Algorithm::ALL.to_vec()),
        case in prop::sample::select(CASES.to_vec()),
        bit in any::<prop::sample::Index>(),
    ) {
        let (name, secondary) = case;
        let spec = spec(name);
        let format = MacFormat::of(spec).unwrap();
        let r = ring(alg);
        let (mut msg, _) = sealed(spec, alg, secondary);
        let bit = bit.index(msg.len() * 8);
        msg[bit / 8] ^= 1 << (bit % 8);
        if let Ok(index) = FieldIndex::decode(&msg, spec) {
            let outcome = verify(&format, &msg, &index, &r, 0);
            prop_assert!(outcome.is_err(), "bit {} verified: {:?}", bit, outcome);
        }
    }
}

#[test]
fn an_unavailable_ring_refuses_every_mac_and_writes_none() {
    let spec = spec("default");
    let format = MacFormat::of(spec).unwrap();
    let locked = KeyRing::unavailable();
    let (mut msg, index) = sealed(spec, Algorithm::AesCmac64, false);
    let before = msg.clone();
    assert_eq!(
        verify(&format, &msg, &index, &locked, 0),
        Err(MacError::Mismatch { field: 64 })
    );
    assert_eq!(
        seal(&format, &mut msg, &index, &locked),
        Err(MacError::NoKey)
    );
    let plain = message(spec, false, false);
    let plain_index = FieldIndex::decode(&plain, spec).unwrap();
    let mut buf = plain.clone();
    buf.resize(plain.len() + 8, 0);
    assert_eq!(
        append(&format, &mut buf, plain.len(), &plain_index, &locked),
        Err(MacError::NoKey)
    );
    assert_eq!(msg, before);
    assert_eq!(&buf[..plain.len()], &plain[..]);
}
