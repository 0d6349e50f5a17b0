//! The operator API over arbitrary requests: up to four (method, path,
//! body) requests per input through the real axum router on the
//! in-process fakes.
//!
//! Invariants (a violation aborts the run): see `oracle/api.rs` — no
//! panic, never a 5xx, JSON bodies (typed errors for 4xx), and the API
//! still answers afterwards.
#![no_main]

use std::sync::Mutex;

use libfuzzer_sys::fuzz_target;

#[path = "../oracle/api.rs"]
mod oracle;

static ORACLE: Mutex<Option<oracle::ApiOracle>> = Mutex::new(None);

fuzz_target!(|bytes: &[u8]| {
    let mut guard = ORACLE.lock().unwrap_or_else(|p| p.into_inner());
    guard
        .get_or_insert_with(oracle::ApiOracle::new)
        .check_input(bytes);
});
