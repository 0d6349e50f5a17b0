//! The proptest twin of the `clearway_config` fuzz target: the same
//! property (`fuzz/oracle/config.rs`) over bounded, structure-aware edits
//! of the seed corpus — lines deleted, duplicated, swapped, values
//! replaced, noise inserted — so the normal test suite keeps the fuzzing
//! invariant without a fuzzer.

use proptest::prelude::*;

#[path = "../fuzz/oracle/config.rs"]
mod oracle;

const SEEDS: &[&str] = &[
    include_str!("../fuzz/corpus/clearway_config/seed-default.toml"),
    include_str!("../fuzz/corpus/clearway_config/seed-forward.toml"),
    include_str!("../fuzz/corpus/clearway_config/seed-forward-mistakes.toml"),
    include_str!("../fuzz/corpus/clearway_config/seed-plan-lcores.toml"),
    include_str!("../fuzz/corpus/clearway_config/seed-seven-mistakes.toml"),
    include_str!("../fuzz/corpus/clearway_config/seed-switch-mistakes.toml"),
];

/// Values an operator might mistype into any key.
const VALUES: &[&str] = &[
    "0",
    "-1",
    "65536",
    "\"\"",
    "\"x\"",
    "[]",
    "[1, 1]",
    "true",
    "\"10.0.0.1\"",
    "[\"10.0.0.1:99999\"]",
    "\"02:00:00:00:00\"",
    "\"net_null0\"",
    "\"3b:00.0\"",
    "{}",
    "\"issuer-1\"",
    "[\"issuer\", \"acquirer\"]",
    "1e400",
    "\"\\u0000\"",
];

#[derive(Debug, Clone)]
enum Edit {
    Delete(usize),
    Duplicate(usize),
    Swap(usize, usize),
    Value(usize, usize),
    Noise(usize, String),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<usize>().prop_map(Edit::Delete),
        any::<usize>().prop_map(Edit::Duplicate),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Swap(a, b)),
        (any::<usize>(), 0..VALUES.len()).prop_map(|(l, v)| Edit::Value(l, v)),
        (any::<usize>(), "[ -~\n\"\\[\\]=]{0,12}").prop_map(|(l, s)| Edit::Noise(l, s)),
    ]
}

fn apply(seed: &str, edits: &[Edit]) -> String {
    let mut lines: Vec<String> = seed.lines().map(str::to_owned).collect();
    for e in edits {
        if lines.is_empty() {
            break;
        }
        let n = lines.len();
        match e {
            Edit::Delete(l) => {
                lines.remove(l % n);
            }
            Edit::Duplicate(l) => {
                let line = lines[l % n].clone();
                lines.insert(l % n, line);
            }
            Edit::Swap(a, b) => lines.swap(a % n, b % n),
            Edit::Value(l, v) => {
                let line = &mut lines[l % n];
                if let Some(eq) = line.find('=') {
                    line.truncate(eq + 1);
                    line.push(' ');
                    line.push_str(VALUES[*v]);
                }
            }
            Edit::Noise(l, s) => lines[l % n].push_str(s),
        }
    }
    lines.join("\n") + "\n"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_edit_of_a_seed_config_is_accepted_or_refused_with_located_problems(
        seed in 0..SEEDS.len(),
        edits in prop::collection::vec(edit(), 0..5),
    ) {
        reliability::count_input!("clearway_config", "any_edit_of_a_seed_config_is_accepted_or_refused_with_located_problems", 512);
        oracle::check_config_text(&apply(SEEDS[seed], &edits));
    }

    #[test]
    fn any_bytes_are_refused_without_a_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        reliability::count_input!("clearway_config", "any_bytes_are_refused_without_a_panic", 512);
        oracle::check_config_text(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn every_seed_satisfies_the_property() {
    for seed in SEEDS {
        oracle::check_config_text(seed);
    }
}
