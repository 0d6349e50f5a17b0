//! Route-import bodies for property tests: CSV-like bytes built from the
//! format's own pieces (digits, commas, the demo participants, line ends,
//! the header line) mixed with noise. Shared by the fuzz twin and the
//! never-panics properties.

use proptest::prelude::*;

pub fn csv_like() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            Just(b"47".to_vec()),
            Just(b"0123456789".to_vec()),
            Just(b",".to_vec()),
            Just(b" ".to_vec()),
            Just(b"bank-b".to_vec()),
            Just(b"bank-c".to_vec()),
            Just(b"bank-a".to_vec()),
            Just(b"\n".to_vec()),
            Just(b"\r\n".to_vec()),
            Just(b"prefix,participant\n".to_vec()),
            prop::collection::vec(any::<u8>(), 0..4),
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}
