//! The property both the `route_import` fuzz target and its proptest twin
//! (`tests/fuzz_twins.rs`) check: `ControlPlane::import_routes` against a
//! reference model of the CSV format written from its documentation.
//!
//! - nothing panics, whatever the bytes;
//! - the import is accepted exactly when the model accepts it, and then the
//!   table is exactly the model's (sorted, exact repeats dropped);
//! - a refused import changes nothing, says why with a typed error, and a
//!   row the model refuses is named by its line number.

use std::collections::BTreeMap;
use std::sync::Arc;

use control::sources::{Change, ChangeLog, ChangeLogError};
use control::testkit::demo_participants;
use control::types::{ParticipantSpec, RouteRow};
use control::{ControlError, ControlPlane, MAX_ROUTE_PAGE};
use switch::bin_table::{MAX_PREFIX_LEN, MIN_PREFIX_LEN};

/// Issuers the CSV may route to; `bank-a` is the demo's acquirer.
const ISSUERS: [&str; 2] = ["bank-b", "bank-c"];

/// The demo participants plus a second issuer, with one route.
pub fn plane() -> ControlPlane {
    let mut specs = demo_participants();
    let bank_c: ParticipantSpec = serde_json::from_value(serde_json::json!({
        "id": "bank-c",
        "roles": ["issuer"],
        "sources": ["10.99.0.30:9100"],
    }))
    .expect("a minimal participant document");
    specs.push(bank_c);
    let routes = vec![RouteRow {
        prefix: "476173".into(),
        participant: "bank-b".into(),
    }];
    ControlPlane::new(specs, routes, Arc::new(Forget)).expect("the oracle's plane is valid")
}

/// Keeps nothing: a campaign of millions of imports must not grow memory.
struct Forget;

impl ChangeLog for Forget {
    fn record(&self, _change: &Change<'_>) -> Result<(), ChangeLogError> {
        Ok(())
    }
}

/// What the model expects: the table, or a refusal (with the line of the
/// first bad row when a row is at fault).
#[derive(Debug, PartialEq, Eq)]
enum Expected {
    Table(BTreeMap<String, String>),
    Refused { line: Option<usize> },
}

/// The format as documented: UTF-8 text; `prefix,participant` rows; blank
/// lines and a `prefix,participant` header on line 1 skipped; fields
/// trimmed; prefixes of MIN..=MAX digits; the participant an existing
/// issuer; a prefix listed twice must route to the same issuer; no rows is
/// a refusal (an import replaces the whole table).
fn model(csv: &[u8]) -> Expected {
    let Ok(text) = std::str::from_utf8(csv) else {
        return Expected::Refused { line: None };
    };
    let mut table = BTreeMap::new();
    let mut conflict = false;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || (n == 0 && line.eq_ignore_ascii_case("prefix,participant")) {
            continue;
        }
        let bad = Expected::Refused { line: Some(n + 1) };
        let Some((prefix, participant)) = line.split_once(',') else {
            return bad;
        };
        let (prefix, participant) = (prefix.trim(), participant.trim());
        let prefix_ok = (MIN_PREFIX_LEN..=MAX_PREFIX_LEN).contains(&prefix.len())
            && prefix.bytes().all(|b| b.is_ascii_digit());
        if participant.contains(',') || !prefix_ok || !ISSUERS.contains(&participant) {
            return bad;
        }
        match table.get(prefix) {
            Some(p) if p != participant => conflict = true,
            _ => {
                table.insert(prefix.to_owned(), participant.to_owned());
            }
        }
    }
    if conflict || table.is_empty() {
        return Expected::Refused { line: None };
    }
    Expected::Table(table)
}

fn all_routes(cp: &ControlPlane) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut after: Option<String> = None;
    loop {
        let page = cp
            .routes(after.as_deref(), MAX_ROUTE_PAGE, None)
            .expect("listing routes");
        for r in page.routes {
            out.insert(r.prefix, r.participant);
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return out,
        }
    }
}

/// Checks the property for one import body; panics when it does not hold.
pub fn check_import(cp: &ControlPlane, csv: &[u8]) {
    let before = all_routes(cp);
    let expected = model(csv);
    match (cp.import_routes(csv), expected) {
        (Ok(outcome), Expected::Table(table)) => {
            assert_eq!(outcome.rows as usize, table.len(), "rows reported");
            assert_eq!(cp.route_count(), table.len(), "route count");
            assert_eq!(all_routes(cp), table, "the table is the file's rows");
        }
        (Ok(outcome), Expected::Refused { line }) => {
            panic!(
                "accepted ({} rows) what the model refuses (line {line:?})",
                outcome.rows
            )
        }
        (Err(e), Expected::Table(_)) => panic!("refused what the model accepts: {e}"),
        (Err(e), Expected::Refused { line }) => {
            assert_eq!(
                all_routes(cp),
                before,
                "a refused import changed the table: {e}"
            );
            match (&e, line) {
                (ControlError::ImportLine { line: got, .. }, Some(want)) => {
                    assert_eq!(*got, want, "the first bad row is named: {e}")
                }
                (ControlError::ImportLine { .. } | ControlError::Invalid { .. }, None) => {}
                (other, _) => panic!("unexpected error kind for a bad file: {other:?}"),
            }
            assert!(!e.to_string().is_empty());
        }
    }
}
