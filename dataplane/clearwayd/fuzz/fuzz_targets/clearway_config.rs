//! clearway.toml over arbitrary text: parse, semantic checks with line
//! numbers, and the lcore/queue plan on a fixed host.
//!
//! Invariants (a violation aborts the run): see `oracle/config.rs` — no
//! panic; every problem is one line naming a line that exists; a valid
//! config plans or is refused with one located problem.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../oracle/config.rs"]
mod oracle;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(text) = std::str::from_utf8(bytes) {
        oracle::check_config_text(text);
    }
});
