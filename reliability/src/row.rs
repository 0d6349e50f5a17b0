//! One scenario's row: what was injected, what was sent and answered, what
//! the recovered ledger holds, and the money before and after.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Where decoder input counts may be dropped (one JSON object per file:
/// `{"decoder": "...", "inputs": N}`), in a `decoders/` folder beside the
/// rows; the summary lists them under the scenarios.
pub const DECODER_COUNTS_FILE: &str = "decoders";

/// Whether the scenario lost anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every request answered once (or deliberately dropped and counted),
    /// every approval in the ledger, every ledger entry answered, money
    /// reconciled to the cent.
    NothingLost,
    /// At least one of the above failed; `problems` says which.
    Loss,
}

/// What one scenario did and found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Stable name, one of [`crate::EXPECTED_SCENARIOS`].
    pub scenario: String,
    /// The faults injected, in words.
    pub faults: String,
    /// How many faults were injected (messages withheld, duplicated,
    /// corrupted, requests refused, bad API calls, ...).
    pub faults_injected: u64,
    /// `kill -9`s of clearwayd, each followed by a restart.
    pub kill9_restarts: u32,
    /// Requests the acquirer sent.
    pub sent: u64,
    /// Requests that got exactly one answer.
    pub answered: u64,
    /// Requests without an answer that the scenario accounts for (in flight
    /// at a kill -9); anything else unanswered is a loss.
    pub unanswered_accounted: u64,
    /// Approvals (39=00) the acquirer saw.
    pub approved_seen: u64,
    /// Transactions found in the ledger recovered from the journal.
    pub recovered: u64,
    /// Money in the accounts before (minor units), when the scenario moves money.
    pub money_before: Option<i64>,
    /// Money in the accounts after (reserves minus net positions): equal
    /// to `money_before` when nothing was created or destroyed.
    pub money_after: Option<i64>,
    /// Sum of the approvals the acquirer saw (minor units): what left the
    /// acquirer's available amount.
    pub approved_amount: Option<i64>,
    /// Counters and figures worth keeping (switch drop counts, ...).
    pub notes: String,
    /// Each check that failed, in words; empty when nothing was lost.
    pub problems: Vec<String>,
    pub verdict: Verdict,
    /// Wall time of the scenario.
    pub seconds: f64,
}

/// Writing or reading a row failed.
#[derive(Debug, thiserror::Error)]
pub enum RowError {
    #[error("cannot write {path}: {source}; check that the target directory is writable")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a reliability row: {source}; delete it and rerun the scenario")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
}

impl Row {
    /// A row for `scenario` with nothing counted yet.
    pub fn new(scenario: &str, faults: &str) -> Row {
        Row {
            scenario: scenario.to_owned(),
            faults: faults.to_owned(),
            faults_injected: 0,
            kill9_restarts: 0,
            sent: 0,
            answered: 0,
            unanswered_accounted: 0,
            approved_seen: 0,
            recovered: 0,
            money_before: None,
            money_after: None,
            approved_amount: None,
            notes: String::new(),
            problems: Vec::new(),
            verdict: Verdict::NothingLost,
            seconds: 0.0,
        }
    }

    /// Records a failed check; the verdict becomes [`Verdict::Loss`].
    pub fn problem(&mut self, what: impl Into<String>) {
        self.problems.push(what.into());
        self.verdict = Verdict::Loss;
    }

    /// Checks `ok`, recording `what` as a problem when it does not hold.
    pub fn expect(&mut self, ok: bool, what: impl Into<String>) {
        if !ok {
            self.problem(what);
        }
    }

    /// Whether the row's own numbers show a loss, whatever the verdict
    /// says (a row edited by hand, or a scenario that forgot a check).
    pub fn shows_loss(&self) -> bool {
        self.verdict == Verdict::Loss
            || !self.problems.is_empty()
            || self.answered + self.unanswered_accounted != self.sent
            || self.recovered < self.approved_seen
            || self.money_before != self.money_after
    }

    /// Writes the row as `<dir>/<scenario>.json` (via a temporary file and a
    /// rename, so the summary never reads half a row).
    pub fn write_to(&self, dir: &Path) -> Result<PathBuf, RowError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| RowError::Write { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let path = dir.join(format!("{}.json", self.scenario));
        let tmp = dir.join(format!(".{}.json.tmp", self.scenario));
        let text = serde_json::to_string_pretty(self).expect("a row always serializes");
        std::fs::write(&tmp, text).map_err(io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        Ok(path)
    }

    /// Writes the row into [`rows_dir`].
    pub fn write(&self) -> Result<PathBuf, RowError> {
        self.write_to(&rows_dir())
    }

    pub fn read(path: &Path) -> Result<Row, RowError> {
        let text = std::fs::read_to_string(path).map_err(|source| RowError::Read {
            path: path.to_owned(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| RowError::Parse {
            path: path.to_owned(),
            source,
        })
    }
}

/// `$CLEARWAY_RELIABILITY_DIR`, else `<cargo target dir>/reliability`: the
/// target directory is found from the running executable (test binaries
/// live in `<target>/debug/deps/`, the summary in `<target>/debug/`) as
/// the nearest ancestor holding cargo's `CACHEDIR.TAG`, so tests and the
/// summary agree whatever `CARGO_TARGET_DIR` says.
pub fn rows_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CLEARWAY_RELIABILITY_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    exe.ancestors()
        .find(|d| d.join("CACHEDIR.TAG").is_file())
        .map(|t| t.join("reliability"))
        .unwrap_or_else(|| std::env::temp_dir().join("clearway-reliability"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_turns_the_verdict_into_loss() {
        let mut r = Row::new("x", "none");
        assert_eq!(r.verdict, Verdict::NothingLost);
        r.expect(true, "fine");
        assert_eq!(r.verdict, Verdict::NothingLost);
        r.expect(false, "an approval is missing from the ledger");
        assert_eq!(r.verdict, Verdict::Loss);
        assert_eq!(r.problems, vec!["an approval is missing from the ledger"]);
    }

    #[test]
    fn numbers_that_do_not_add_up_show_a_loss_even_with_a_clean_verdict() {
        let mut r = Row::new("x", "none");
        r.sent = 10;
        r.answered = 9;
        assert!(r.shows_loss(), "one request unanswered and unaccounted");
        r.unanswered_accounted = 1;
        assert!(!r.shows_loss());
        r.money_before = Some(1000);
        r.money_after = Some(999);
        assert!(r.shows_loss(), "a cent went missing");
    }

    #[test]
    fn a_row_survives_the_round_trip_through_its_file() {
        let dir = std::env::temp_dir().join(format!("rel-row-{}", std::process::id()));
        let mut r = Row::new("issuer_down", "issuer silent");
        r.sent = 5;
        r.answered = 5;
        r.money_before = Some(i64::MAX);
        let path = r.write_to(&dir).unwrap();
        assert_eq!(Row::read(&path).unwrap(), r);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
