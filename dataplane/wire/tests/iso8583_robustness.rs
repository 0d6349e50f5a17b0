//! Robustness: no byte sequence panics the decoder, and no corrupted message is accepted
//! as something other than exactly what it says.
//!
//! The key property: whenever decode accepts bytes, re-encoding the decoded values gives
//! back those very bytes. So a bit flip, truncation or lying length prefix either fails
//! to decode or yields a message that really is those bytes; never a "wrong success".

use proptest::prelude::*;
use wire::iso8583::{
    apply_edits, build_response, encode, Edits, Encoding, FieldIndex, FieldSet, FieldValues,
    LengthType, Message, ResponsePolicy, Spec, DEFAULT, DEFAULT_ASCII,
};

const CASES: u32 = 512;

/// xorshift64*, so one `u64` from proptest describes a whole random message.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

type Fields = Vec<(u8, Vec<u8>)>;

fn random_value(rng: &mut Rng, spec: &Spec, n: u8) -> Vec<u8> {
    let field = spec.field(n).unwrap();
    let len = match field.length {
        LengthType::Fixed => field.max_len as u64,
        _ => rng.below(field.max_len.min(40) as u64 + 1),
    };
    (0..len)
        .map(|_| match field.encoding {
            Encoding::Binary => rng.next() as u8,
            Encoding::Ascii if field.numeric => b'0' + rng.below(10) as u8,
            _ => b' ' + rng.below(95) as u8,
        })
        .collect()
}

/// A random valid message: `(mti, fields ascending)`.
fn random_fields(rng: &mut Rng, spec: &Spec) -> Fields {
    let density = 2 + rng.below(80);
    let mut fields = Vec::new();
    for n in (2..=128u8).filter(|&n| n != 65) {
        if rng.below(100) < density {
            fields.push((n, random_value(rng, spec, n)));
        }
    }
    fields
}

fn encode_fields(spec: &Spec, mti: &[u8], fields: &Fields) -> Vec<u8> {
    let mut values = FieldValues::new();
    for (n, v) in fields {
        values.set(*n, v).unwrap();
    }
    let mut out = vec![0u8; u16::MAX as usize];
    let len = encode(spec, mti, &values, &mut out).unwrap();
    out.truncate(len);
    out
}

/// Re-encodes what `bytes` decoded to (built-in specs have no BCD fields, so wire bytes
/// are the values).
fn reencode(msg: &Message<'_>) -> Vec<u8> {
    let fields: Fields = msg.data_fields().map(|(n, v)| (n, v.to_vec())).collect();
    encode_fields(msg.spec(), msg.mti(), &fields)
}

fn assert_exact_or_error(spec: &Spec, bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(msg) = Message::decode(bytes, spec) {
        prop_assert_eq!(
            reencode(&msg),
            bytes.to_vec(),
            "accepted bytes must be canonical"
        );
    }
    Ok(())
}

fn specs() -> impl Strategy<Value = &'static Spec> {
    prop_oneof![Just(&DEFAULT), Just(&DEFAULT_ASCII)]
}

#[derive(Debug, Clone)]
enum Mutation {
    FlipBit(usize, u8),
    Truncate(usize),
    SetByte(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    /// Rewrite the length prefix of the k-th variable field with another number.
    LiePrefix(usize, u16),
}

fn mutations() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
        // Aim some flips at the MTI and bitmaps, where one bit changes the whole layout;
        // bit 5 is the ASCII case bit (a lower-case hex bitmap).
        (0usize..36, 0u8..8).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
        (4usize..36).prop_map(|i| Mutation::FlipBit(i, 5)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::SetByte(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Delete),
        (any::<usize>(), 0u16..1000).prop_map(|(k, v)| Mutation::LiePrefix(k, v)),
    ]
}

fn mutate(spec: &Spec, bytes: &[u8], mutation: &Mutation) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let at = |i: usize| i % bytes.len();
    match *mutation {
        Mutation::FlipBit(i, bit) => out[at(i)] ^= 1 << bit,
        Mutation::Truncate(i) => out.truncate(at(i)),
        Mutation::SetByte(i, b) => out[at(i)] = b,
        Mutation::Insert(i, b) => out.insert(at(i), b),
        Mutation::Delete(i) => {
            out.remove(at(i));
        }
        Mutation::LiePrefix(k, value) => {
            let index = FieldIndex::decode(bytes, spec).unwrap();
            let variable: Vec<(usize, usize)> = index
                .fields()
                .iter()
                .filter_map(|n| Some((spec.field(n)?, index.get(n)?)))
                .filter(|(f, _)| f.length != LengthType::Fixed)
                .map(|(f, span)| (span.start as usize - f.prefix_len(), f.prefix_len()))
                .collect();
            if let Some(&(start, width)) = variable.get(k % variable.len().max(1)) {
                let digits = format!("{:0width$}", value % 10u16.pow(width as u32), width = width);
                out[start..start + width].copy_from_slice(digits.as_bytes());
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn arbitrary_bytes_never_panic_and_are_only_accepted_when_canonical(
        spec in specs(),
        bytes in proptest::collection::vec(any::<u8>(), 0..400),
    ) {
        reliability::count_input!("iso8583", "arbitrary_bytes_never_panic_and_are_only_accepted_when_canonical", CASES);
        assert_exact_or_error(spec, &bytes)?;
    }

    #[test]
    fn arbitrary_bytes_behind_a_valid_header_never_panic(
        spec in specs(),
        bitmap in any::<u64>(),
        secondary in any::<u64>(),
        tail in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        reliability::count_input!("iso8583", "arbitrary_bytes_behind_a_valid_header_never_panic", CASES);
        // Random bitmaps make the decoder walk deep into field parsing.
        let mut bytes = b"0200".to_vec();
        if spec == &DEFAULT {
            bytes.extend_from_slice(&bitmap.to_be_bytes());
            bytes.extend_from_slice(&secondary.to_be_bytes());
        } else {
            bytes.extend_from_slice(format!("{bitmap:016X}{secondary:016X}").as_bytes());
        }
        bytes.extend_from_slice(&tail);
        assert_exact_or_error(spec, &bytes)?;
    }

    #[test]
    fn mutated_valid_messages_fail_or_decode_to_exactly_the_mutated_bytes(
        spec in specs(),
        seed in any::<u64>(),
        mutation_list in proptest::collection::vec(mutations(), 1..4),
    ) {
        reliability::count_input!("iso8583", "mutated_valid_messages_fail_or_decode_to_exactly_the_mutated_bytes", CASES);
        let mut rng = Rng::new(seed);
        let fields = random_fields(&mut rng, spec);
        let original = encode_fields(spec, b"0200", &fields);
        prop_assert_eq!(reencode(&Message::decode(&original, spec).unwrap()), original.clone());
        let mut mutated = original.clone();
        for m in &mutation_list {
            if mutated.is_empty() || FieldIndex::decode(&mutated, spec).is_err() && matches!(m, Mutation::LiePrefix(..)) {
                continue;
            }
            mutated = mutate(spec, &mutated, m);
        }
        assert_exact_or_error(spec, &mutated)?;
    }

    #[test]
    fn in_place_edits_give_the_bytes_a_fresh_encode_of_the_result_gives(
        spec in specs(),
        seed in any::<u64>(),
        spare in 0usize..64,
    ) {
        reliability::count_input!("iso8583", "in_place_edits_give_the_bytes_a_fresh_encode_of_the_result_gives", CASES);
        let mut rng = Rng::new(seed);
        let fields = random_fields(&mut rng, spec);
        let request = encode_fields(spec, b"0100", &fields);
        let index = FieldIndex::decode(&request, spec).unwrap();

        // Drop a random subset, set up to 8 random fields (present or not).
        let mut dropped = FieldSet::EMPTY;
        for (n, _) in &fields {
            if rng.below(4) == 0 {
                dropped.insert(*n);
            }
        }
        let sets: Fields = (0..rng.below(9))
            .map(|_| loop {
                let n = 2 + rng.below(127) as u8;
                if n != 65 {
                    break (n, random_value(&mut rng, spec, n));
                }
            })
            .collect();
        let mut edits = Edits::new();
        edits.drop_fields(dropped).set_mti(*b"0110");
        for (n, v) in &sets {
            edits.set(*n, v).unwrap();
        }
        let mut expected: std::collections::BTreeMap<u8, Vec<u8>> =
            fields.iter().filter(|(n, _)| !dropped.contains(*n)).cloned().collect();
        for (n, v) in &sets {
            expected.insert(*n, v.clone());
        }
        let expected = encode_fields(spec, b"0110", &expected.into_iter().collect());

        let mut buf = request.clone();
        buf.resize(expected.len().max(request.len()) + spare, 0xEE);
        let len = apply_edits(&mut buf, &index, spec, &edits).unwrap();
        prop_assert_eq!(&buf[..len], &expected[..]);

        // With too little room the edit fails and leaves the request untouched.
        if expected.len() > request.len() {
            let mut tight = request.clone();
            prop_assert!(apply_edits(&mut tight, &index, spec, &edits).is_err());
            prop_assert_eq!(tight, request);
        }
    }

    #[test]
    fn responses_to_random_requests_decode_with_39_set_and_secrets_gone(
        spec in specs(),
        seed in any::<u64>(),
    ) {
        let mut rng = Rng::new(seed);
        let fields = random_fields(&mut rng, spec);
        let request = encode_fields(spec, b"0201", &fields);
        let index = FieldIndex::decode(&request, spec).unwrap();
        let mut buf = request.clone();
        buf.resize(request.len() + 16, 0);
        let policy = ResponsePolicy::default();
        let len = build_response(&mut buf, &index, spec, b"96", None, &policy).unwrap();
        let response = Message::decode(&buf[..len], spec).unwrap();
        prop_assert_eq!(response.mti(), b"0210");
        prop_assert_eq!(response.field(39), Some(&b"96"[..]));
        for (n, value) in &fields {
            if policy.dropped().contains(*n) {
                prop_assert_eq!(response.field(*n), None);
            } else if *n != 39 {
                prop_assert_eq!(response.field(*n), Some(&value[..]));
            }
        }
    }
}
