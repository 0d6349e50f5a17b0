//! The proptest twin of the `iso8583_spec_toml` fuzz target: the same
//! property (`fuzz/oracle/spec_toml.rs`) over bounded, structure-aware
//! inputs — spec files assembled from the format's own vocabulary, and
//! line edits of the shipped specs — each followed by message bytes.

use proptest::prelude::*;

#[path = "../fuzz/oracle/spec_toml.rs"]
mod oracle;

const SHIPPED: [&str; 2] = [
    include_str!("../specs/default.toml"),
    include_str!("../specs/default_ascii.toml"),
];
const MESSAGES: [&[u8]; 2] = [
    include_bytes!("../fuzz/corpus/iso8583_decode/seed-0200-default"),
    include_bytes!("../fuzz/corpus/iso8583_decode/seed-0200-default_ascii"),
];

fn word(options: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
    prop::sample::select(options)
}

/// One `[fields]` line from the format's vocabulary, sometimes wrong.
fn field_line() -> impl Strategy<Value = String> {
    (
        prop_oneof![0u16..=130, Just(1), Just(65), Just(128), Just(300)],
        word(&["ascii", "binary", "bcd", "ebcdic"]),
        word(&["fixed", "LL", "LLL", "LLLL", "L"]),
        prop_oneof![Just(0u32), Just(1), 1u32..120, Just(999), Just(9999), Just(10000), Just(70000)],
        any::<bool>(),
        word(&["", ", prefix = \"bcd\"", ", prefix = \"ascii\"", ", prefix = \"hex\""]),
    )
        .prop_map(|(n, enc, len, max, numeric, prefix)| {
            format!(
                "{n} = {{ encoding = \"{enc}\", length = \"{len}\", max_len = {max}, numeric = {numeric}{prefix} }}"
            )
        })
}

fn assembled_spec() -> impl Strategy<Value = String> {
    (
        "[a-z_]{0,8}",
        word(&["ascii", "bcd", "ebcdic"]),
        word(&["binary", "ascii_hex", "hex"]),
        prop::collection::vec(field_line(), 0..12),
    )
        .prop_map(|(name, mti, bitmap, fields)| {
            format!(
                "name = \"{name}\"\nmti = \"{mti}\"\nbitmap = \"{bitmap}\"\n\n[fields]\n{}\n",
                fields.join("\n")
            )
        })
}

/// A shipped spec with one line deleted or one line replaced.
fn edited_spec() -> impl Strategy<Value = (usize, String)> {
    (0..2usize, any::<usize>(), prop::option::of(field_line())).prop_map(|(which, line, new)| {
        let mut lines: Vec<String> = SHIPPED[which].lines().map(str::to_owned).collect();
        let at = line % lines.len();
        match new {
            Some(l) => lines[at] = l,
            None => {
                lines.remove(at);
            }
        }
        (which, lines.join("\n"))
    })
}

fn input(text: &str, message: &[u8]) -> Vec<u8> {
    let mut out = text.as_bytes().to_vec();
    out.push(0);
    out.extend_from_slice(message);
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_assembled_spec_loads_round_trips_and_decodes_without_panic(
        text in assembled_spec(),
        message in prop::collection::vec(any::<u8>(), 0..96),
    ) {
        reliability::count_input!("iso8583_spec_toml", "any_assembled_spec_loads_round_trips_and_decodes_without_panic", 256);
        oracle::check_spec_input(&input(&text, &message));
    }

    #[test]
    fn an_edited_shipped_spec_still_decodes_its_message_safely((which, text) in edited_spec()) {
        reliability::count_input!("iso8583_spec_toml", "an_edited_shipped_spec_still_decodes_its_message_safely", 256);
        oracle::check_spec_input(&input(&text, MESSAGES[which]));
    }
}

#[test]
fn the_shipped_specs_decode_their_seed_messages_canonically() {
    for (text, message) in SHIPPED.iter().zip(MESSAGES) {
        oracle::check_spec_input(&input(text, message));
    }
}

/// Every seed of the fuzz corpus, e.g. a BCD-MTI variant with its message
/// (which once showed the property itself encoding the MTI's wire form).
#[test]
fn every_spec_seed_satisfies_the_property() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/iso8583_spec_toml");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("seed-")
        {
            oracle::check_spec_input(&std::fs::read(&path).unwrap());
        }
    }
}
