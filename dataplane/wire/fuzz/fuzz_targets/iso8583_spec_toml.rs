//! ISO 8583 spec files (TOML) over arbitrary text, and messages decoded
//! with whatever spec loads.
//!
//! Invariants (a violation aborts the run): see `oracle/spec_toml.rs` — no
//! panic; a loaded spec round-trips through its own TOML; messages decode
//! without panic and re-encode canonically under it.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../oracle/spec_toml.rs"]
mod oracle;

fuzz_target!(|bytes: &[u8]| {
    oracle::check_spec_input(bytes);
});
