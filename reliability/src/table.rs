//! The summary table over every scenario's row, and the check that fails
//! the suite when a row is missing or shows a loss.

use std::fmt::Write as _;
use std::path::Path;

use crate::row::{Row, RowError, DECODER_COUNTS_FILE};

/// Every scenario of the group; a run without one of these rows fails.
pub const EXPECTED_SCENARIOS: &[&str] = &[
    "issuer_down",
    "issuer_slow",
    "issuer_flapping",
    "responses_duplicated",
    "responses_reordered",
    "responses_corrupted",
    "journal_disk_full",
    "journal_fsync_fails",
    "kill9_restart",
    "api_hammered",
    "switch_tx_backpressure",
];

pub use crate::inputs::DecoderCount;

/// The rows found, and what is wrong with the set.
#[derive(Debug, Default)]
pub struct Summary {
    pub rows: Vec<Row>,
    pub decoders: Vec<DecoderCount>,
    /// Expected scenarios without a row.
    pub missing: Vec<String>,
    /// Scenarios whose row shows a loss.
    pub lossy: Vec<String>,
    /// Files that could not be read as rows.
    pub unreadable: Vec<String>,
}

impl Summary {
    pub fn passed(&self) -> bool {
        self.missing.is_empty() && self.lossy.is_empty() && self.unreadable.is_empty()
    }
}

/// Reads every row in `dir` and checks the set against
/// [`EXPECTED_SCENARIOS`].
pub fn check(dir: &Path) -> Summary {
    let mut s = Summary::default();
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    paths.sort();
    for path in paths.iter().filter(|p| is_json(p)) {
        match Row::read(path) {
            Ok(row) => s.rows.push(row),
            Err(e @ (RowError::Read { .. } | RowError::Parse { .. } | RowError::Write { .. })) => {
                s.unreadable.push(e.to_string())
            }
        }
    }
    // Rows in the order of the list, unknown extras after.
    s.rows.sort_by_key(|r| {
        EXPECTED_SCENARIOS
            .iter()
            .position(|e| *e == r.scenario)
            .unwrap_or(usize::MAX)
    });
    for e in EXPECTED_SCENARIOS {
        if !s.rows.iter().any(|r| r.scenario == *e) {
            s.missing.push((*e).to_owned());
        }
    }
    s.lossy = s
        .rows
        .iter()
        .filter(|r| r.shows_loss())
        .map(|r| r.scenario.clone())
        .collect();
    let ddir = dir.join(DECODER_COUNTS_FILE);
    let mut dpaths: Vec<_> = std::fs::read_dir(&ddir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    dpaths.sort();
    for p in dpaths.iter().filter(|p| is_json(p)) {
        let parsed = std::fs::read_to_string(p)
            .ok()
            .and_then(|t| serde_json::from_str::<DecoderCount>(&t).ok());
        match parsed {
            // One line per decoder: its properties' inputs added up.
            Some(d) => match s.decoders.iter_mut().find(|x| x.decoder == d.decoder) {
                Some(x) => x.inputs += d.inputs,
                None => s.decoders.push(DecoderCount {
                    property: None,
                    ..d
                }),
            },
            None => s
                .unreadable
                .push(format!("{}: not a decoder count", p.display())),
        }
    }
    s
}

fn is_json(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "json")
        && !p
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

fn money(v: Option<i64>) -> String {
    match v {
        None => "-".into(),
        Some(c) => {
            let sign = if c < 0 { "-" } else { "" };
            let c = c.unsigned_abs();
            format!("{sign}{}.{:02}", c / 100, c % 100)
        }
    }
}

/// The table as text: one line per scenario, then decoder counts, then
/// what is missing or lost.
pub fn render(s: &Summary) -> String {
    let header = [
        "scenario",
        "faults injected",
        "kill -9",
        "sent",
        "answered",
        "unanswered (accounted)",
        "approved",
        "recovered",
        "money before",
        "money after",
        "verdict",
    ];
    let mut lines: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    for r in &s.rows {
        lines.push(vec![
            r.scenario.clone(),
            r.faults_injected.to_string(),
            r.kill9_restarts.to_string(),
            r.sent.to_string(),
            r.answered.to_string(),
            r.unanswered_accounted.to_string(),
            r.approved_seen.to_string(),
            r.recovered.to_string(),
            money(r.money_before),
            money(r.money_after),
            if r.shows_loss() {
                "LOSS".into()
            } else {
                "nothing lost".into()
            },
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| lines.iter().map(|l| l[c].len()).max().unwrap_or(0))
        .collect();
    let mut out = String::from("Clearway reliability summary\n");
    for (i, l) in lines.iter().enumerate() {
        let cells: Vec<String> = l
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (v, w))| {
                if c == 0 || c == header.len() - 1 {
                    format!("{v:<w$}")
                } else {
                    format!("{v:>w$}")
                }
            })
            .collect();
        let _ = writeln!(out, "{}", cells.join(" | ").trim_end());
        if i == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            let _ = writeln!(out, "{}", rule.join("-|-"));
        }
    }
    out.push_str("\nfaults per scenario:\n");
    for r in &s.rows {
        let _ = writeln!(out, "  {:<24} {}", r.scenario, r.faults);
        if !r.notes.is_empty() {
            let _ = writeln!(out, "  {:<24} ({})", "", r.notes);
        }
    }
    if !s.decoders.is_empty() {
        out.push_str(
            "\ndecoder inputs tried in this run (bounded proptest twins; the cargo-fuzz campaigns are in docs/fuzzing.md):\n",
        );
        for d in &s.decoders {
            let _ = writeln!(out, "  {:<32} {:>12}", d.decoder, d.inputs);
        }
    }
    for r in s.rows.iter().filter(|r| r.shows_loss()) {
        let _ = writeln!(out, "\nLOSS in {}:", r.scenario);
        for p in &r.problems {
            let _ = writeln!(out, "  - {p}");
        }
        if r.problems.is_empty() {
            out.push_str("  - its numbers do not add up (answered + accounted != sent, recovered < approved, or money before != after)\n");
        }
    }
    for m in &s.missing {
        let _ = writeln!(
            out,
            "MISSING: no row for scenario {m}: its test did not run or did not finish (see the nextest output)"
        );
    }
    for u in &s.unreadable {
        let _ = writeln!(out, "UNREADABLE: {u}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(name: &str) -> Row {
        let mut r = Row::new(name, "test");
        r.sent = 3;
        r.answered = 3;
        r
    }

    #[test]
    fn a_complete_clean_set_passes_and_renders_one_line_per_scenario() {
        let dir = std::env::temp_dir().join(format!("rel-table-ok-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for s in EXPECTED_SCENARIOS {
            clean(s).write_to(&dir).unwrap();
        }
        let s = check(&dir);
        assert!(s.passed(), "{}", render(&s));
        let text = render(&s);
        for name in EXPECTED_SCENARIOS {
            assert!(text.contains(name), "{text}");
        }
        assert!(
            !text.contains("LOSS") && !text.contains("MISSING"),
            "{text}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_missing_row_or_a_lossy_row_fails_the_summary() {
        let dir = std::env::temp_dir().join(format!("rel-table-bad-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for s in &EXPECTED_SCENARIOS[1..] {
            clean(s).write_to(&dir).unwrap();
        }
        let mut lossy = clean(EXPECTED_SCENARIOS[1]);
        lossy.problem("approval 000042 not in the ledger");
        lossy.write_to(&dir).unwrap();
        let s = check(&dir);
        assert!(!s.passed());
        assert_eq!(s.missing, vec![EXPECTED_SCENARIOS[0].to_string()]);
        assert_eq!(s.lossy, vec![EXPECTED_SCENARIOS[1].to_string()]);
        let text = render(&s);
        assert!(text.contains("approval 000042 not in the ledger"), "{text}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn money_prints_in_major_units_to_the_cent() {
        assert_eq!(money(Some(123_456)), "1234.56");
        assert_eq!(money(Some(-5)), "-0.05");
        assert_eq!(money(None), "-");
    }
}
