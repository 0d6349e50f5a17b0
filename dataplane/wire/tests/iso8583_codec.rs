//! ISO 8583 decode and encode, as the switch and `clearctl` see them.

use wire::iso8583::{
    encode, Error, ErrorKind, FieldIndex, FieldValues, Message, Spec, DEFAULT, DEFAULT_ASCII,
};

/// A card-present purchase request as an acquirer sends it: 25 fields, PIN, chip data, MAC.
fn purchase_0200() -> FieldValues<'static> {
    let mut v = FieldValues::new();
    let fields: [(u8, &[u8]); 25] = [
        (2, b"4761739001010010"),
        (3, b"000000"),
        (4, b"000000012345"),
        (7, b"1127175230"),
        (11, b"123456"),
        (12, b"175230"),
        (13, b"1127"),
        (14, b"2812"),
        (18, b"5411"),
        (22, b"051"),
        (23, b"001"),
        (25, b"00"),
        (32, b"12345678901"),
        (35, b"4761739001010010=28122011758928889"),
        (37, b"733117123456"),
        (41, b"TERM0001"),
        (42, b"MERCHANT0000001"),
        (43, b"CLEARWAY TEST SHOP     BERLIN         DE"),
        (49, b"978"),
        (52, &[0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE, 0xF0]),
        (
            55,
            &[
                0x9F, 0x26, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x9F, 0x27, 0x01, 0x80,
            ],
        ),
        (60, b"ECOM"),
        (62, b"ORDER-42"),
        (64, &[0xAA; 8]),
        (128, &[0xBB; 8]),
    ];
    for (n, value) in fields {
        v.set(n, value).unwrap();
    }
    v
}

fn encoded(spec: &Spec, mti: &[u8], values: &FieldValues<'_>) -> Vec<u8> {
    let mut out = vec![0u8; 4096];
    let len = encode(spec, mti, values, &mut out).unwrap();
    out.truncate(len);
    out
}

fn decode_err(spec: &Spec, bytes: &[u8]) -> Error {
    FieldIndex::decode(bytes, spec).unwrap_err()
}

#[test]
fn a_purchase_request_decodes_to_the_values_it_was_encoded_from() {
    let values = purchase_0200();
    let bytes = encoded(&DEFAULT, b"0200", &values);
    let msg = Message::decode(&bytes, &DEFAULT).unwrap();
    assert_eq!(msg.mti(), b"0200");
    assert_eq!(msg.field_str(2), Some("4761739001010010"));
    assert_eq!(
        msg.field(52),
        Some(&[0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE, 0xF0][..])
    );
    assert_eq!(msg.field(39), None);
    let listed: Vec<u8> = msg.data_fields().map(|(n, _)| n).collect();
    assert_eq!(listed, values.fields().iter().collect::<Vec<_>>());
    for (n, wire) in msg.data_fields() {
        assert_eq!(Some(wire), values.get(n), "field {n}");
    }
    assert!(
        msg.index().fields().contains(1),
        "field 128 needs the secondary bitmap"
    );
    assert_eq!(msg.index().message_len(), bytes.len());
}

#[test]
fn the_wire_layout_is_the_one_pyiso8583_documents() {
    // pyiso8583's docstring example for default_ascii.
    let msg = Message::decode(
        b"02004010100000000000161234567890123456123456111",
        &DEFAULT_ASCII,
    )
    .unwrap();
    assert_eq!(msg.field_str(2), Some("1234567890123456"));
    assert_eq!(msg.field_str(12), Some("123456"));
    assert_eq!(msg.field_str(20), Some("111"));
    // And its encode example: 0210 with 3 and 39.
    let mut v = FieldValues::new();
    v.set(3, b"111111").unwrap();
    v.set(39, b"05").unwrap();
    assert_eq!(
        encoded(&DEFAULT_ASCII, b"0210", &v),
        b"0210200000000200000011111105"
    );
}

#[test]
fn binary_bitmaps_are_eight_raw_bytes_and_ascii_bitmaps_sixteen_hex_digits() {
    let mut v = FieldValues::new();
    v.set(3, b"000000").unwrap();
    v.set(70, b"301").unwrap();
    assert_eq!(
        encoded(&DEFAULT, b"0800", &v),
        b"0800\xa0\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00000000301"
    );
    assert_eq!(
        encoded(&DEFAULT_ASCII, b"0800", &v),
        b"0800A0000000000000000400000000000000000000301"
    );
}

#[test]
fn every_malformed_part_is_named_by_field_and_offset() {
    let mut v = FieldValues::new();
    v.set(2, b"4761739001010010").unwrap();
    v.set(4, b"000000012345").unwrap();
    let good = encoded(&DEFAULT_ASCII, b"0200", &v);
    // 0200 | 5000000000000000 | 16 4761739001010010 | 000000012345
    assert_eq!(&good[..22], b"0200500000000000000016");
    let with = |at: usize, byte: u8| {
        let mut bad = good.clone();
        bad[at] = byte;
        decode_err(&DEFAULT_ASCII, &bad)
    };
    let cases = [
        (with(1, b'X'), ErrorKind::BadMti, 0, 0),
        (with(4, b'g'), ErrorKind::BadBitmap, 0, 4),
        (with(20, b'A'), ErrorKind::BadLengthPrefix, 2, 20),
        (
            with(20, b'2'),
            ErrorKind::TooLong { len: 26, max: 19 },
            2,
            20,
        ),
        (with(40, b'A'), ErrorKind::NotNumeric { byte: b'A' }, 4, 40),
    ];
    for (err, kind, field, offset) in &cases {
        assert_eq!(
            err,
            &Error {
                kind: *kind,
                field: *field,
                offset: *offset
            }
        );
    }
    let truncated = decode_err(&DEFAULT_ASCII, &good[..good.len() - 1]);
    assert_eq!(
        truncated.kind,
        ErrorKind::Truncated {
            needed: 12,
            available: 11
        }
    );
    assert_eq!((truncated.field, truncated.offset), (4, 38));
    let mut trailing = good.clone();
    trailing.push(b'0');
    assert_eq!(
        decode_err(&DEFAULT_ASCII, &trailing),
        Error {
            kind: ErrorKind::TrailingBytes { count: 1 },
            field: 0,
            offset: good.len()
        }
    );
    assert_eq!(
        decode_err(&DEFAULT_ASCII, b"02").kind,
        ErrorKind::Truncated {
            needed: 4,
            available: 2
        }
    );
}

/// Decode checks contents a run of neighbouring fields at a time; whichever byte is bad,
/// the error must still name that byte's own field and offset.
#[test]
fn a_bad_byte_in_any_value_of_a_purchase_is_named_by_its_field_and_offset() {
    let binary = purchase_0200();
    let mut ascii = FieldValues::new();
    let hex: Vec<(u8, String)> = binary
        .fields()
        .iter()
        .map(|n| {
            let value = binary.get(n).unwrap();
            let text = match DEFAULT.field(n).unwrap().encoding {
                wire::iso8583::Encoding::Binary => {
                    value.iter().map(|b| format!("{b:02X}")).collect()
                }
                _ => String::from_utf8(value.to_vec()).unwrap(),
            };
            (n, text)
        })
        .collect();
    for (n, text) in &hex {
        ascii.set(*n, text.as_bytes()).unwrap();
    }
    for (spec, values) in [(&DEFAULT, &binary), (&DEFAULT_ASCII, &ascii)] {
        let good = encoded(spec, b"0200", values);
        let index = FieldIndex::decode(&good, spec).unwrap();
        let mut checked = 0;
        for n in values.fields().iter() {
            let field = spec.field(n).unwrap();
            let span = index.get(n).unwrap();
            for at in span.range() {
                let mut bad = good.clone();
                let (byte, kind) = match field.encoding {
                    wire::iso8583::Encoding::Ascii if field.numeric => {
                        (b'A', ErrorKind::NotNumeric { byte: b'A' })
                    }
                    wire::iso8583::Encoding::Ascii => (0x80, ErrorKind::NotAscii { byte: 0x80 }),
                    _ => {
                        // Any byte is a valid binary value.
                        bad[at] ^= 0xFF;
                        assert!(
                            FieldIndex::decode(&bad, spec).is_ok(),
                            "{} field {n}",
                            spec.name()
                        );
                        continue;
                    }
                };
                bad[at] = byte;
                let expected = Error {
                    kind,
                    field: n,
                    offset: at,
                };
                assert_eq!(decode_err(spec, &bad), expected, "{}", spec.name());
                // A content error comes before a structural error in a later field.
                bad.push(b'0');
                assert_eq!(
                    decode_err(spec, &bad),
                    expected,
                    "{} + trailing",
                    spec.name()
                );
                // (Truncating the last field would make it the one that is cut short.)
                if n != 128 {
                    bad.truncate(good.len() - 1);
                    assert_eq!(
                        decode_err(spec, &bad),
                        expected,
                        "{} + truncated",
                        spec.name()
                    );
                }
                checked += 1;
            }
        }
        assert!(checked > 200, "{checked} value bytes checked");
    }
}

#[test]
fn text_fields_reject_bytes_above_0x7f_like_pyiso8583() {
    let mut v = FieldValues::new();
    v.set(43, &[b'A'; 40]).unwrap();
    let mut bytes = encoded(&DEFAULT, b"0100", &v);
    let last = bytes.len() - 1;
    bytes[last] = 0xC3;
    assert_eq!(
        decode_err(&DEFAULT, &bytes),
        Error {
            kind: ErrorKind::NotAscii { byte: 0xC3 },
            field: 43,
            offset: last
        }
    );
}

#[test]
fn bitmap_bits_must_agree_with_the_fields_that_follow() {
    // Bit 1 set but the secondary bitmap is all zero: no encoder sends that.
    let empty_secondary = b"080080000000000000000000000000000000";
    assert_eq!(
        decode_err(&DEFAULT_ASCII, empty_secondary),
        Error {
            kind: ErrorKind::EmptySecondaryBitmap,
            field: 1,
            offset: 20
        }
    );
    // Bit 65 announces a tertiary bitmap, which Clearway does not support.
    let tertiary = b"080080000000000000008000000000000000";
    assert_eq!(
        decode_err(&DEFAULT_ASCII, tertiary),
        Error {
            kind: ErrorKind::TertiaryBitmap,
            field: 65,
            offset: 20
        }
    );
    // A bit for a field the spec leaves undefined.
    let narrow = Spec::from_toml_str(
        "name = \"narrow\"\nmti = \"ascii\"\nbitmap = \"ascii_hex\"\n[fields]\n3 = { encoding = \"ascii\", length = \"fixed\", max_len = 6 }\n",
    )
    .unwrap();
    assert_eq!(
        decode_err(&narrow, b"08006000000000000000000000"),
        Error {
            kind: ErrorKind::UndefinedField,
            field: 2,
            offset: 20
        }
    );
}

#[test]
fn empty_and_maximum_length_variable_fields_round_trip() {
    let long = [b'x'; 999];
    let mut v = FieldValues::new();
    v.set(2, b"").unwrap();
    v.set(48, &long).unwrap();
    v.set(55, &[0xFF; 255]).unwrap();
    let bytes = encoded(&DEFAULT, b"0100", &v);
    let msg = Message::decode(&bytes, &DEFAULT).unwrap();
    assert_eq!(msg.field(2), Some(&b""[..]));
    assert_eq!(msg.field(48).map(<[u8]>::len), Some(999));
    assert_eq!(msg.field(55).map(<[u8]>::len), Some(255));
}

#[test]
fn encode_refuses_values_the_spec_does_not_allow() {
    let mut out = [0u8; 512];
    let refuse = |n: u8, value: &[u8]| {
        let mut v = FieldValues::new();
        v.set(n, value).unwrap();
        encode(&DEFAULT, b"0200", &v, &mut out.clone())
            .unwrap_err()
            .kind
    };
    assert_eq!(
        refuse(3, b"12345"),
        ErrorKind::WrongLength {
            expected: 6,
            actual: 5
        }
    );
    assert_eq!(
        refuse(2, &[b'1'; 20]),
        ErrorKind::TooLong { len: 20, max: 19 }
    );
    assert_eq!(
        refuse(4, b"00000000001X"),
        ErrorKind::NotNumeric { byte: b'X' }
    );
    assert_eq!(refuse(43, &[0xE9; 40]), ErrorKind::NotAscii { byte: 0xE9 });
    let mut v = FieldValues::new();
    assert_eq!(v.set(65, b"").unwrap_err().kind, ErrorKind::BadFieldNumber);
    assert_eq!(v.set(1, b"").unwrap_err().kind, ErrorKind::BadFieldNumber);
    assert_eq!(
        encode(&DEFAULT, b"02X0", &v, &mut out).unwrap_err().kind,
        ErrorKind::BadMti
    );
    v.set(48, &[b'a'; 999]).unwrap();
    assert_eq!(
        encode(&DEFAULT, b"0200", &v, &mut out).unwrap_err().kind,
        ErrorKind::BufferTooSmall {
            needed: 4 + 8 + 3 + 999,
            capacity: 512
        }
    );
}

#[test]
fn a_bcd_network_variant_encodes_and_decodes() {
    let spec = Spec::from_toml_str(
        r#"
        name = "bcd-variant"
        mti = "bcd"
        bitmap = "binary"
        [fields]
        2 = { encoding = "bcd", length = "LL", max_len = 19, prefix = "bcd" }
        3 = { encoding = "bcd", length = "fixed", max_len = 6 }
        48 = { encoding = "ascii", length = "LLLL", max_len = 2000 }
        "#,
    )
    .unwrap();
    let mut v = FieldValues::new();
    v.set(2, b"476173900101001").unwrap(); // 15 digits: odd, padded
    v.set(3, b"000000").unwrap();
    v.set(48, b"hello").unwrap();
    let bytes = encoded(&spec, b"0200", &v);
    assert_eq!(&bytes[..2], &[0x02, 0x00]);
    assert_eq!(
        &bytes[10..19],
        &[0x15, 0x04, 0x76, 0x17, 0x39, 0x00, 0x10, 0x10, 0x01]
    );
    assert_eq!(&bytes[22..], b"0005hello");
    let msg = Message::decode(&bytes, &spec).unwrap();
    assert_eq!(msg.mti_digits(), *b"0200");
    assert_eq!(msg.bcd_digits(2), Some(15));
    let mut digits = [0u8; 19];
    let pan = wire::iso8583::unpack_bcd(msg.field(2).unwrap(), 15, &mut digits);
    assert_eq!(pan, b"476173900101001");
    let mut bad_pad = bytes.clone();
    bad_pad[11] = 0x14;
    assert_eq!(decode_err(&spec, &bad_pad).kind, ErrorKind::BadBcd);
}

#[test]
fn a_reused_index_is_emptied_when_the_next_message_is_bad() {
    let bytes = encoded(&DEFAULT, b"0200", &purchase_0200());
    let mut index = FieldIndex::decode(&bytes, &DEFAULT).unwrap();
    assert!(index.decode_into(&bytes[..100], &DEFAULT).is_err());
    assert!(index.fields().is_empty());
    assert_eq!(index.get(2), None);
    index.decode_into(&bytes, &DEFAULT).unwrap();
    assert_eq!(index.get(2).map(|s| s.len), Some(16));
    assert_eq!(index.field(&bytes, 2), Some(&b"4761739001010010"[..]));
    assert_eq!(index.field(&bytes, 39), None);
}
