//! The route CSV import (`clearctl routes import`, `PUT /v1/routes`) over
//! arbitrary bytes, against a reference model of the format.
//!
//! Invariants (a violation aborts the run): see `oracle/route_csv.rs` —
//! no panic; accepted exactly when the model accepts, with exactly the
//! model's table; a refusal changes nothing and names the first bad line.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

#[path = "../oracle/route_csv.rs"]
mod oracle;

/// One plane for the run: an import replaces the whole table and the model
/// depends on the file alone, so earlier inputs cannot change the verdict
/// (and a plane per input would spend the run building BIN tables).
static PLANE: OnceLock<control::ControlPlane> = OnceLock::new();

fuzz_target!(|bytes: &[u8]| {
    oracle::check_import(PLANE.get_or_init(oracle::plane), bytes);
});
