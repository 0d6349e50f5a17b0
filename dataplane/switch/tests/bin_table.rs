//! Specification of PAN routing by longest BIN prefix.

use proptest::prelude::*;
use switch::bin_table::{BinTableBuilder, BinTableError, PanError};
use switch::ParticipantIdx;

fn table(rows: &[(&str, u32)]) -> switch::bin_table::BinTable {
    let mut b = BinTableBuilder::new();
    for (prefix, target) in rows {
        b.insert(prefix.as_bytes(), ParticipantIdx(*target))
            .unwrap();
    }
    b.build().unwrap()
}

fn route(t: &switch::bin_table::BinTable, pan: &str) -> Option<u32> {
    t.lookup(pan.as_bytes()).unwrap().map(|p| p.0)
}

#[test]
fn the_longest_matching_prefix_wins() {
    let t = table(&[("45", 1), ("455678", 2), ("45567812", 3)]);
    assert_eq!(route(&t, "4556781234567890"), Some(3));
    assert_eq!(route(&t, "4556789999999999"), Some(2));
    assert_eq!(route(&t, "4599999999999999"), Some(1));
    assert_eq!(route(&t, "5100000000000000"), None);
}

#[test]
fn a_pan_shorter_than_a_prefix_falls_back_to_the_enclosing_prefix() {
    let t = table(&[("45", 1), ("4556781234567890123", 7)]);
    // 19-digit PAN equal to the prefix: exact match.
    assert_eq!(route(&t, "4556781234567890123"), Some(7));
    // 16-digit PAN that the 19-digit prefix starts with: too short for it.
    assert_eq!(route(&t, "4556781234567890"), Some(1));
}

#[test]
fn a_long_prefix_without_an_enclosing_prefix_leaves_a_short_pan_unrouted() {
    let t = table(&[("12345678901234567", 4)]);
    assert_eq!(route(&t, "12345678901234567"), Some(4));
    assert_eq!(route(&t, "123456789012345"), None);
}

#[test]
fn prefixes_at_the_edges_of_the_key_space_route() {
    let t = table(&[("00", 1), ("99", 2), ("9999999999999999999", 3)]);
    assert_eq!(route(&t, "000000000000"), Some(1));
    assert_eq!(route(&t, "9999999999999999999"), Some(3));
    assert_eq!(route(&t, "999999999999999999"), Some(2));
    assert_eq!(route(&t, "5000000000000"), None);
}

#[test]
fn an_empty_table_routes_nothing() {
    let t = BinTableBuilder::new().build().unwrap();
    assert!(t.is_empty());
    assert_eq!(route(&t, "4111111111111111"), None);
}

#[test]
fn malformed_pans_are_format_errors_not_misses() {
    let t = table(&[("41", 1)]);
    assert_eq!(t.lookup(b"41111111111"), Err(PanError::Length { len: 11 }));
    assert_eq!(
        t.lookup(b"41111111111111111111"),
        Err(PanError::Length { len: 20 })
    );
    assert_eq!(
        t.lookup(b"4111111111 11111"),
        Err(PanError::NonDigit { offset: 10 })
    );
    assert_eq!(
        t.lookup(b"41111x1111111111"),
        Err(PanError::NonDigit { offset: 5 })
    );
}

#[test]
fn the_builder_refuses_bad_prefixes_and_says_which_row() {
    let mut b = BinTableBuilder::new();
    b.insert(b"41", ParticipantIdx(1)).unwrap();
    assert_eq!(
        b.insert(b"4", ParticipantIdx(1)),
        Err(BinTableError::Length { row: 1, len: 1 })
    );
    assert_eq!(
        b.insert(b"41111111111111111111", ParticipantIdx(1)),
        Err(BinTableError::Length { row: 1, len: 20 })
    );
    assert_eq!(
        b.insert(b"41a", ParticipantIdx(1)),
        Err(BinTableError::NonDigit {
            row: 1,
            offset: 2,
            byte: b'a'
        })
    );
    b.insert(b"43", ParticipantIdx(switch::bin_table::MAX_TARGET))
        .unwrap();
    assert!(matches!(
        b.insert(b"42", ParticipantIdx(switch::bin_table::MAX_TARGET + 1)),
        Err(BinTableError::TargetTooLarge { row: 2, .. })
    ));
}

#[test]
fn a_repeated_prefix_is_accepted_once_but_conflicting_targets_are_refused() {
    let mut same = BinTableBuilder::new();
    same.insert(b"4111", ParticipantIdx(3)).unwrap();
    same.insert(b"4111", ParticipantIdx(3)).unwrap();
    assert_eq!(same.build().unwrap().len(), 1);

    let mut conflict = BinTableBuilder::new();
    conflict.insert(b"4111", ParticipantIdx(3)).unwrap();
    conflict.insert(b"4111", ParticipantIdx(4)).unwrap();
    let err = conflict.build().unwrap_err();
    assert!(matches!(&err, BinTableError::Conflict { prefix, .. } if prefix == "4111"));
    assert!(err.to_string().contains("4111"));
}

#[test]
fn a_burst_lookup_answers_like_single_lookups() {
    let t = table(&[("45", 1), ("455678", 2), ("45567812", 3)]);
    let pans: Vec<&[u8]> = vec![
        b"4556781234567890",
        b"12",
        b"4556789999999999",
        b"5100000000000000",
        b"45x0000000000000",
    ];
    let mut out = vec![Ok(None); pans.len()];
    t.lookup_burst(&pans, &mut out);
    for (pan, got) in pans.iter().zip(&out) {
        assert_eq!(*got, t.lookup(pan));
    }
}

/// Warming reads the card number off the wire before any check: whatever it
/// is given, it must neither fail nor change an answer.
#[test]
fn warming_takes_any_bytes_and_changes_no_answer() {
    let t = table(&[("45", 1), ("455678", 2), ("45567812", 3)]);
    let pans: [&[u8]; 7] = [
        b"4556781234567890",
        b"",
        b"12",
        b"45x0000000000000",
        b"45567812345678901234567890",
        b"9999999999999999999",
        &[0xff; 16],
    ];
    let before: Vec<_> = pans.iter().map(|p| t.lookup(p)).collect();
    for pan in pans {
        t.warm(pan);
    }
    let after: Vec<_> = pans.iter().map(|p| t.lookup(p)).collect();
    assert_eq!(before, after);
}

/// The obvious definition: scan every prefix, keep the longest that `pan`
/// starts with.
fn reference(rows: &[(String, u32)], pan: &str) -> Option<u32> {
    rows.iter()
        .filter(|(p, _)| pan.starts_with(p.as_str()))
        .max_by_key(|(p, _)| p.len())
        .map(|(_, t)| *t)
}

/// Prefixes over a small digit alphabet so that they nest and overlap often,
/// first-one-wins on repeats (the builder refuses conflicting repeats).
fn rows_strategy(alphabet: &'static str) -> impl Strategy<Value = Vec<(String, u32)>> {
    let prefix = proptest::string::string_regex(&format!("[{alphabet}]{{2,19}}")).unwrap();
    prop::collection::vec((prefix, 0u32..6), 0..60).prop_map(|rows| {
        let mut seen = std::collections::HashSet::new();
        rows.into_iter()
            .filter(|(p, _)| seen.insert(p.clone()))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn lookup_agrees_with_a_linear_scan_of_all_prefixes(
        rows in rows_strategy("019"),
        pans in prop::collection::vec("[019]{12,19}", 1..40),
    ) {
        let mut b = BinTableBuilder::new();
        for (p, t) in &rows {
            b.insert(p.as_bytes(), ParticipantIdx(*t)).unwrap();
        }
        let t = b.build().unwrap();
        // Probe with the random PANs and with every prefix extended to a PAN.
        let mut probes = pans.clone();
        for (p, _) in &rows {
            probes.push(format!("{p:0<12}"));
            probes.push(format!("{p:9<19}"));
        }
        for pan in &probes {
            let got = t.lookup(pan.as_bytes()).unwrap().map(|p| p.0);
            prop_assert_eq!(got, reference(&rows, pan), "pan {}", pan);
        }
    }

    #[test]
    fn lookup_agrees_with_the_reference_over_all_digits(
        rows in rows_strategy("0-9"),
        pans in prop::collection::vec("[0-9]{12,19}", 1..20),
    ) {
        let mut b = BinTableBuilder::new();
        for (p, t) in &rows {
            b.insert(p.as_bytes(), ParticipantIdx(*t)).unwrap();
        }
        let t = b.build().unwrap();
        for (p, _) in &rows {
            let pan = format!("{p:5<16}");
            let got = t.lookup(pan.as_bytes()).unwrap().map(|p| p.0);
            prop_assert_eq!(got, reference(&rows, &pan));
        }
        for pan in &pans {
            let got = t.lookup(pan.as_bytes()).unwrap().map(|p| p.0);
            prop_assert_eq!(got, reference(&rows, pan));
        }
    }
}

#[test]
fn every_pan_length_from_12_to_19_routes() {
    let t = table(&[("123456", 1), ("1234567890123", 2)]);
    for len in 12..=19 {
        let pan = &"1234567890123456789"[..len];
        let want = if len >= 13 { 2 } else { 1 };
        assert_eq!(route(&t, pan), Some(want), "pan {pan}");
    }
}

#[test]
fn non_digit_bytes_anywhere_in_the_pan_are_reported_at_their_offset() {
    let t = table(&[("12", 1)]);
    for offset in 0..19 {
        for bad in [b'/', b':', b' ', 0x80, 0xff, b'a'] {
            let mut pan = *b"1234567890123456789";
            pan[offset] = bad;
            assert_eq!(t.lookup(&pan), Err(PanError::NonDigit { offset }));
        }
    }
}

#[test]
fn the_largest_routable_participant_index_routes_and_is_not_mistaken_for_no_route() {
    let max = switch::bin_table::MAX_TARGET;
    let t = table(&[("43", max), ("4312345678", max - 1), ("44", 0)]);
    assert_eq!(route(&t, "4399999999999999"), Some(max));
    assert_eq!(route(&t, "4312345678999999"), Some(max - 1));
    assert_eq!(route(&t, "4400000000000000"), Some(0));
}
