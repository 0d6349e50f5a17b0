//! Building a response inside the request's buffer, as the switch does on a packet.

use wire::iso8583::{
    apply_edits, build_response, encode, response_mti, Edits, ErrorKind, FieldIndex, FieldSet,
    FieldValues, Message, ResponsePolicy, Spec, DEFAULT, DEFAULT_ASCII,
};

fn encoded(spec: &Spec, mti: &[u8], fields: &[(u8, &[u8])]) -> Vec<u8> {
    let mut v = FieldValues::new();
    for &(n, value) in fields {
        v.set(n, value).unwrap();
    }
    let mut out = vec![0u8; 4096];
    let len = encode(spec, mti, &v, &mut out).unwrap();
    out.truncate(len);
    out
}

const PIN: &[u8] = &[0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE, 0xF0];
const MAC: &[u8] = &[0xAA; 8];
/// The same values as `default_ascii` carries them: hex text.
const PIN_HEX: &[u8] = b"123456789ABCDEF0";
const MAC_HEX: &[u8] = b"AAAAAAAAAAAAAAAA";

/// The request's fields a response echoes.
const ECHOED: [(u8, &[u8]); 6] = [
    (2, b"4761739001010010"),
    (3, b"000000"),
    (4, b"000000012345"),
    (11, b"123456"),
    (41, b"TERM0001"),
    (49, b"978"),
];

fn request_with_secrets(spec: &Spec) -> Vec<u8> {
    let (pin, mac) = if spec == &DEFAULT {
        (PIN, MAC)
    } else {
        (PIN_HEX, MAC_HEX)
    };
    let mut fields = ECHOED.to_vec();
    fields.extend_from_slice(&[
        (35, b"4761739001010010=28122011758928889"),
        (52, pin),
        (64, mac),
        (128, mac),
    ]);
    fields.sort_by_key(|f| f.0);
    encoded(spec, b"0200", &fields)
}

#[test]
fn an_approved_purchase_response_drops_card_secrets_and_macs_and_adds_38_and_39() {
    for spec in [&DEFAULT, &DEFAULT_ASCII] {
        let request = request_with_secrets(spec);
        let index = FieldIndex::decode(&request, spec).unwrap();
        let mut buf = request.clone();
        buf.resize(1500, 0);
        let len = build_response(
            &mut buf,
            &index,
            spec,
            b"00",
            Some(b"A1B2C3"),
            &ResponsePolicy::default(),
        )
        .unwrap();
        let mut fields = ECHOED.to_vec();
        fields.extend_from_slice(&[(38, b"A1B2C3"), (39, b"00")]);
        fields.sort_by_key(|f| f.0);
        assert_eq!(
            &buf[..len],
            &encoded(spec, b"0210", &fields)[..],
            "spec {}",
            spec.name()
        );
        let response = Message::decode(&buf[..len], spec).unwrap();
        assert!(
            !response.index().fields().contains(1),
            "no secondary field is left"
        );
    }
}

#[test]
fn a_response_that_keeps_every_field_only_rewrites_mti_and_39_in_place() {
    // An advice already carrying 39: same fields, same lengths, so nothing moves.
    let advice = encoded(
        &DEFAULT,
        b"0220",
        &[(3, b"000000"), (11, b"000042"), (39, b"00"), (70, b"301")],
    );
    let index = FieldIndex::decode(&advice, &DEFAULT).unwrap();
    let mut buf = advice.clone();
    let len = build_response(
        &mut buf,
        &index,
        &DEFAULT,
        b"05",
        None,
        &ResponsePolicy::default(),
    )
    .unwrap();
    assert_eq!(len, advice.len(), "fits the original buffer exactly");
    let expected = encoded(
        &DEFAULT,
        b"0230",
        &[(3, b"000000"), (11, b"000042"), (39, b"05"), (70, b"301")],
    );
    assert_eq!(buf, expected);
}

#[test]
fn a_response_that_grows_past_the_buffer_capacity_fails_and_leaves_the_request_intact() {
    let request = encoded(&DEFAULT, b"0100", &ECHOED);
    let index = FieldIndex::decode(&request, &DEFAULT).unwrap();
    let mut buf = request.clone(); // capacity == request length; 39 does not fit
    let err = build_response(
        &mut buf,
        &index,
        &DEFAULT,
        b"00",
        None,
        &ResponsePolicy::default(),
    )
    .unwrap_err();
    assert_eq!(
        err.kind,
        ErrorKind::BufferTooSmall {
            needed: request.len() + 2,
            capacity: request.len()
        }
    );
    assert_eq!(buf, request);
}

#[test]
fn response_mtis_follow_iso_8583_1987_message_functions() {
    let cases: [(&[u8; 4], &[u8; 4]); 8] = [
        (b"0100", b"0110"),
        (b"0200", b"0210"),
        (b"0201", b"0210"),
        (b"0220", b"0230"),
        (b"0221", b"0230"),
        (b"0400", b"0410"),
        (b"0420", b"0430"),
        (b"0800", b"0810"),
    ];
    for (request, response) in cases {
        assert_eq!(
            response_mti(*request),
            Ok(*response),
            "{:?}",
            std::str::from_utf8(request)
        );
    }
    assert_eq!(response_mti(*b"0210"), Err(ErrorKind::NotARequest));
    assert_eq!(response_mti(*b"0230"), Err(ErrorKind::NotARequest));
    assert_eq!(response_mti(*b"02A0"), Err(ErrorKind::BadMti));
}

#[test]
fn a_response_to_a_response_is_refused_without_touching_the_buffer() {
    let response = encoded(&DEFAULT, b"0210", &[(39, b"00")]);
    let index = FieldIndex::decode(&response, &DEFAULT).unwrap();
    let mut buf = response.clone();
    buf.resize(200, 0);
    let err = build_response(
        &mut buf,
        &index,
        &DEFAULT,
        b"00",
        None,
        &ResponsePolicy::default(),
    )
    .unwrap_err();
    assert_eq!((err.kind, err.field), (ErrorKind::NotARequest, 0));
    assert_eq!(&buf[..response.len()], &response[..]);
}

#[test]
fn edits_that_shrink_grow_and_reorder_lengths_give_the_same_bytes_as_a_fresh_encode() {
    let original: Vec<(u8, &[u8])> = vec![
        (2, b"4761739001010010"),
        (3, b"000000"),
        (44, b"short"),
        (48, b"private data that is fairly long"),
        (62, b"x"),
        (100, b"12345678901"),
        (102, b"ACCOUNT-1"),
    ];
    let request = encoded(&DEFAULT_ASCII, b"0200", &original);
    let index = FieldIndex::decode(&request, &DEFAULT_ASCII).unwrap();
    let mut edits = Edits::new();
    edits
        .set(44, b"a much longer additional response data")
        .unwrap();
    edits.set(48, b"").unwrap();
    edits.set(39, b"51").unwrap();
    edits.set(101, b"FILE").unwrap();
    edits.drop_field(3).drop_field(100);
    edits.set_mti(*b"0210");
    let mut buf = request.clone();
    buf.resize(1024, 0);
    let len = apply_edits(&mut buf, &index, &DEFAULT_ASCII, &edits);
    // 44 is LL with max 25: the long value is refused before anything changes.
    assert_eq!(
        len.unwrap_err().kind,
        ErrorKind::TooLong { len: 38, max: 25 }
    );
    assert_eq!(&buf[..request.len()], &request[..]);

    edits.set(44, b"approved with notes").unwrap();
    let len = apply_edits(&mut buf, &index, &DEFAULT_ASCII, &edits).unwrap();
    let expected = encoded(
        &DEFAULT_ASCII,
        b"0210",
        &[
            (2, b"4761739001010010"),
            (39, b"51"),
            (44, b"approved with notes"),
            (48, b""),
            (62, b"x"),
            (101, b"FILE"),
            (102, b"ACCOUNT-1"),
        ],
    );
    assert_eq!(
        std::str::from_utf8(&buf[..len]),
        std::str::from_utf8(&expected)
    );
}

#[test]
fn a_policy_can_keep_fields_the_default_drops() {
    let request = request_with_secrets(&DEFAULT);
    let index = FieldIndex::decode(&request, &DEFAULT).unwrap();
    let mut buf = request.clone();
    buf.resize(1500, 0);
    let keep_macs = ResponsePolicy::new(FieldSet::of(&[35, 52]));
    let len = build_response(&mut buf, &index, &DEFAULT, b"00", None, &keep_macs).unwrap();
    let response = Message::decode(&buf[..len], &DEFAULT).unwrap();
    assert_eq!(response.field(64), Some(MAC));
    assert_eq!(response.field(128), Some(MAC));
    assert_eq!(response.field(52), None);
    assert_eq!(response.field_str(39), Some("00"));
}
