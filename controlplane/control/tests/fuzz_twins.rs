//! Proptest twins of the control plane's fuzz targets (`fuzz/`): the same
//! properties (`fuzz/oracle/*.rs`) over bounded, structure-aware inputs, so
//! the normal test suite keeps the fuzzing invariants without a fuzzer.
//!
//! - `api_requests`: requests built from the API's own paths and bodies
//!   with mutated pieces, through the real router — never a 5xx, always a
//!   JSON body, typed 4xx errors.
//! - `route_import`: CSV-like bodies against the reference model of the
//!   import format.

use std::sync::{Mutex, OnceLock};

use proptest::prelude::*;

#[path = "support/csv_like.rs"]
mod csv_like;
use csv_like::csv_like;

#[path = "../fuzz/oracle/api.rs"]
mod api_oracle;
#[path = "../fuzz/oracle/route_csv.rs"]
mod route_oracle;

/// One router for the run, as in the fuzz target (a router per case would
/// spend the test building BIN tables).
static API: Mutex<Option<api_oracle::ApiOracle>> = Mutex::new(None);
/// One plane for the import cases: an import replaces the whole table, and
/// the model judges the file alone.
static PLANE: OnceLock<control::ControlPlane> = OnceLock::new();

const PATHS: &[&str] = &[
    "/v1/status",
    "/v1/stats",
    "/metrics",
    "/v1/participants",
    "/v1/participants/{id}",
    "/v1/participants/{id}/suspend",
    "/v1/participants/{id}/resume",
    "/v1/routes",
    "/v1/routes?after={id}&limit={n}&participant={id}",
    "/v1/routes/{id}",
    "/v1/accounts",
    "/v1/accounts/{id}",
    "/v1/accounts/{id}/deposit",
    "/v1/accounts/{id}/withdraw",
    "/v1/accounts/{id}/limit",
    "/v1/windows",
    "/v1/windows/{n}",
    "/v1/cutoff",
    "/v1/settlement/{n}",
    "/v1/settlement/{n}/files",
    "/{id}",
];

fn id() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("bank-a".to_string()),
        Just("bank-b".to_string()),
        "[a-z0-9.%_-]{0,10}",
        "[0-9]{1,20}",
    ]
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("1".to_string()),
        Just("0".to_string()),
        Just("-1".to_string()),
        Just("18446744073709551616".to_string()),
        "[0-9a-z]{0,6}",
    ]
}

/// A JSON value of any shape, small.
fn json_leaf() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        "[ -~]{0,12}".prop_map(serde_json::Value::from),
        Just(serde_json::json!(["issuer"])),
        Just(serde_json::json!(["10.99.0.77:9100"])),
        Just(serde_json::json!("02:00:00:00:00:77")),
        Just(serde_json::json!("daily")),
    ]
}

const KEYS: &[&str] = &[
    "id",
    "roles",
    "institution_ids",
    "sources",
    "next_hop",
    "next_hop_mac",
    "timeout_ms",
    "suspended",
    "if_revision",
    "prefix",
    "participant",
    "currency",
    "amount",
    "reason",
    "kind",
    "bogus",
];

/// Bodies: objects over the API's keys with any values, or raw bytes.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => prop::collection::vec((0..KEYS.len(), json_leaf()), 0..6).prop_map(|pairs| {
            let map: serde_json::Map<String, serde_json::Value> =
                pairs.into_iter().map(|(k, v)| (KEYS[k].to_string(), v)).collect();
            serde_json::to_vec(&map).expect("a map serialises")
        }),
        1 => prop::collection::vec(any::<u8>(), 0..64),
        1 => Just(b"prefix,participant\n476173,bank-b\n".to_vec()),
    ]
}

fn request() -> impl Strategy<Value = Vec<u8>> {
    (any::<u8>(), 0..PATHS.len(), id(), number(), body()).prop_map(|(m, p, id, n, body)| {
        let path = PATHS[p].replace("{id}", &id).replace("{n}", &n);
        let mut out = vec![m];
        out.extend_from_slice(path.as_bytes());
        out.push(b'\n');
        out.extend(body.into_iter().filter(|&b| b != 0xFF));
        out
    })
}

fn input() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(request(), 1..=api_oracle::MAX_REQUESTS).prop_map(|reqs| reqs.join(&0xFF))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn api_answers_any_requests_with_2xx_or_4xx_json(bytes in input()) {
        reliability::count_input!("api_bodies", "api_answers_any_requests_with_2xx_or_4xx_json", 256);
        let mut guard = API.lock().unwrap_or_else(|p| p.into_inner());
        guard.get_or_insert_with(api_oracle::ApiOracle::new).check_input(&bytes);
    }

    #[test]
    fn route_import_matches_the_reference_model(csv in csv_like()) {
        reliability::count_input!("route_csv", "route_import_matches_the_reference_model", 256);
        route_oracle::check_import(PLANE.get_or_init(route_oracle::plane), &csv);
    }
}

/// The contents of the `seed-*` files of a fuzz target's corpus.
fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = format!("{}/fuzz/corpus/{target}", env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("seed-")
        {
            found.push(std::fs::read(&path).unwrap());
        }
    }
    assert!(!found.is_empty(), "no seeds in {dir}");
    found
}

#[test]
fn every_api_seed_satisfies_the_property() {
    let mut oracle = api_oracle::ApiOracle::new();
    for seed in seeds("api_requests") {
        oracle.check_input(&seed);
    }
}

#[test]
fn every_route_seed_satisfies_the_property() {
    let cp = route_oracle::plane();
    for seed in seeds("route_import") {
        route_oracle::check_import(&cp, &seed);
    }
}
