//! The property both the `clearway_config` fuzz target and its proptest
//! twin (`tests/config_props.rs`) check, so the two cannot drift apart:
//!
//! whatever text is given, `Config::parse` returns a config or a list of
//! problems, never panics; every problem is one non-empty line, a line
//! number it names exists in the text, problems come in line order; and a
//! config that parses also plans (or is refused with one located problem)
//! on a fixed 4-CPU host without panicking.

use clearwayd::config::{Config, ConfigError};
use nic_config::host::HostModel;

/// Checks the property for `text`; panics (a finding) when it does not hold.
pub fn check_config_text(text: &str) {
    let lines = text.lines().count().max(1) + 1;
    match Config::parse(text, "fuzz.toml") {
        Ok(cfg) => {
            assert!(!cfg.dataplane.ports.is_empty(), "a valid config has a port");
            if let Err(e) = cfg.plan(&HostModel::uniform(4)) {
                check_problems(&e, lines);
                assert_eq!(e.problems().len(), 1, "a plan stops at its first problem");
            }
        }
        Err(e) => check_problems(&e, lines),
    }
}

fn check_problems(e: &ConfigError, lines: usize) {
    let problems = e.problems();
    assert!(!problems.is_empty(), "an invalid config says why: {e}");
    let mut last = None;
    for p in problems {
        assert!(
            !p.message.trim().is_empty(),
            "empty message in {problems:?}"
        );
        assert!(
            !p.message.contains('\n'),
            "multi-line message {:?}",
            p.message
        );
        if let Some(line) = p.line {
            assert!(
                (1..=lines).contains(&line),
                "line {line} outside the text ({lines} lines): {p}"
            );
        }
        assert!(p.line >= last, "problems out of line order: {problems:?}");
        last = p.line;
    }
    assert_eq!(
        e.lines().len(),
        problems.len(),
        "one printed line per problem"
    );
}
