//! clearway.toml as clearwayd reads it.
//!
//! [`Config::parse`] reports every problem it finds, each with the line it
//! is on: a TOML syntax or type error (the parser stops at the first one,
//! so there is one such error at a time), or else all the semantic
//! problems at once — unknown ports, bad participant addresses, routes to
//! unknown participants, duplicate ids, bad MACs, an invalid lcore/port
//! layout — located through the spans `toml_edit` keeps ([`locate`]).

mod check;
pub mod locate;
mod sections;

use std::fmt;

use nic_config::host::HostModel;
use nic_config::layout::Layout;
use nic_config::plan::Plan;
use serde::Deserialize;
use switch::pipeline::SwitchConfig;

use control::types::{ParticipantSpec, RouteRow};

pub use sections::{AccountSection, ApiSection, ClearingSection, Daemon, Forward, JournalSection};

use locate::{line_of, Locator};

/// The embedded default configuration (virtual devices, no hugepages).
pub const DEFAULT_CONFIG: &str = include_str!("default.toml");

/// What clearwayd runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Ports, queues, lcores, EAL options and the mempool (nic-config's model).
    pub dataplane: Layout,
    /// The payment switch: service address, timeouts, table sizes.
    pub switch: Option<SwitchConfig>,
    #[serde(default)]
    pub participants: Vec<ParticipantSpec>,
    #[serde(default)]
    pub routes: Vec<RouteRow>,
    /// Where money-moving changes are journaled (switch mode needs it).
    pub journal: Option<JournalSection>,
    pub clearing: Option<ClearingSection>,
    #[serde(default)]
    pub accounts: Vec<AccountSection>,
    /// The operator API (clearctl, /metrics); off when absent.
    pub api: Option<ApiSection>,
    /// Plain forwarding between port pairs instead of the switch (a
    /// baseline on the same plumbing, or a bring-up check of new ports).
    pub forward: Option<Forward>,
    #[serde(default)]
    pub daemon: Daemon,
    /// The text this was parsed from, to locate problems found later
    /// (the host-dependent plan).
    #[serde(skip)]
    source: Source,
}

#[derive(Clone, Default)]
struct Source {
    path: String,
    text: String,
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Source({:?}, {} bytes)", self.path, self.text.len())
    }
}

/// One problem in the file, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line; `None` when the problem is the file as a whole
    /// (e.g. nothing to run).
    pub line: Option<usize>,
    /// 1-based column, for syntax errors.
    pub column: Option<usize>,
    /// What is wrong and what to write instead.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "line {l}, column {c}: {}", self.message),
            (Some(l), None) => write!(f, "line {l}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

/// A configuration problem, said so the operator knows what to change.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Syntax, type or semantic problems; one line each, in line order.
    #[error("{}", render(path, problems))]
    Invalid {
        path: String,
        problems: Vec<Problem>,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
}

fn render(path: &str, problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("{path}: {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl ConfigError {
    /// One line per problem, `path: line N: message`.
    pub fn lines(&self) -> Vec<String> {
        match self {
            ConfigError::Invalid { path, problems } => {
                problems.iter().map(|p| format!("{path}: {p}")).collect()
            }
            other => vec![other.to_string()],
        }
    }

    /// The problems found (empty for an unreadable file).
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Invalid { problems, .. } => problems,
            ConfigError::Read { .. } => &[],
        }
    }
}

impl Config {
    /// Parses and checks a configuration text; `path` names it in errors.
    pub fn parse(text: &str, path: &str) -> Result<Config, ConfigError> {
        let mut cfg: Config = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: path.to_owned(),
            problems: vec![syntax_problem(text, &e)],
        })?;
        let issues = check::check(&cfg);
        if !issues.is_empty() {
            return Err(locate_all(text, path, issues));
        }
        cfg.source = Source {
            path: path.to_owned(),
            text: text.to_owned(),
        };
        Ok(cfg)
    }

    /// Reads and parses a file.
    pub fn load(path: &str) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// The lcore/queue/mempool plan for this host; a layout the host
    /// cannot run (an lcore it does not have, too few tx queues for the
    /// workers) is refused with the line of the key to change.
    pub fn plan(&self, host: &HostModel) -> Result<Plan, ConfigError> {
        nic_config::plan::plan(&self.dataplane, host).map_err(|e| {
            locate_all(
                &self.source.text,
                &self.source.path,
                vec![check::plan_issue(self, &e)],
            )
        })
    }

    /// Index in `dataplane.ports` of the port each port forwards to.
    pub fn peer_table(&self) -> Vec<Option<usize>> {
        let index = |name: &str| self.dataplane.ports.iter().position(|p| p.name == name);
        let mut peers = vec![None; self.dataplane.ports.len()];
        let pairs = self
            .forward
            .as_ref()
            .map(|f| f.pairs.as_slice())
            .unwrap_or(&[]);
        for [a, b] in pairs {
            if let (Some(i), Some(j)) = (index(a), index(b)) {
                peers[i] = Some(j);
                peers[j] = Some(i);
            }
        }
        peers
    }
}

/// Issues → problems with line numbers, in line order (whole-file ones first).
fn locate_all(text: &str, path: &str, issues: Vec<check::Issue>) -> ConfigError {
    let locator = Locator::new(text);
    let mut problems: Vec<Problem> = issues
        .into_iter()
        .map(|i| {
            let mut message = i.message;
            if let Some(line) = i.first.as_ref().and_then(|f| locator.line(f)) {
                message.push_str(&format!(" (first on line {line})"));
            }
            Problem {
                line: locator.line(&i.at),
                column: None,
                message,
            }
        })
        .collect();
    problems.sort_by_key(|p| p.line);
    ConfigError::Invalid {
        path: path.to_owned(),
        problems,
    }
}

/// toml's errors span several lines with a caret drawing; keep line,
/// column and the message on one line.
fn syntax_problem(text: &str, e: &toml::de::Error) -> Problem {
    let mut message = e.message().trim().replace('\n', " ");
    if message.is_empty() {
        // toml has no words for some byte sequences (a lone control
        // character); the operator still needs a sentence.
        message =
            "this is not valid TOML here: check quoting, brackets and stray control characters"
                .into();
    }
    match e.span() {
        Some(span) => {
            let start = floor_char_boundary(text, span.start);
            let line = line_of(text, start);
            let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
            let column = text[line_start..start].chars().count() + 1;
            Problem {
                line: Some(line),
                column: Some(column),
                message,
            }
        }
        None => Problem {
            line: None,
            column: None,
            message,
        },
    }
}

/// The largest char boundary at or below `i` (spans are byte offsets).
fn floor_char_boundary(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORWARD: &str = r#"
[dataplane]
ports = [{ name = "left", device = "net_null0" }, { name = "right", device = "net_null1" }]
[forward]
pairs = [["left", "right"]]
"#;

    fn problems(text: &str) -> Vec<String> {
        Config::parse(text, "x.toml")
            .unwrap_err()
            .problems()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn embedded_default_config_is_valid() {
        let cfg = Config::parse(DEFAULT_CONFIG, "default").unwrap();
        assert!(cfg.switch.is_some());
        assert!(!cfg.participants.is_empty() && !cfg.routes.is_empty());
    }

    #[test]
    fn forward_pairs_make_a_peer_table() {
        let cfg = Config::parse(FORWARD, "f").unwrap();
        assert_eq!(cfg.peer_table(), vec![Some(1), Some(0)]);
    }

    #[test]
    fn forward_pair_naming_a_missing_port_says_which_and_where() {
        let text = FORWARD.replace(
            r#"pairs = [["left", "right"]]"#,
            r#"pairs = [["left", "nowhere"]]"#,
        );
        let err = Config::parse(&text, "x.toml").unwrap_err().to_string();
        assert!(
            err.starts_with("x.toml: line 5: ")
                && err.contains("\"nowhere\"")
                && err.contains("have: left, right"),
            "{err}"
        );
    }

    #[test]
    fn syntax_error_names_line_and_column_on_one_line() {
        let err = Config::parse("[dataplane]\nports = 7\n", "x.toml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("x.toml: line 2, column 9:"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn a_stray_control_character_gets_a_sentence_not_an_empty_message() {
        // Found by the clearway_config proptest twin: toml's own message is empty here.
        let all = problems("\r\0");
        assert_eq!(all.len(), 1, "{all:?}");
        assert!(
            all[0].starts_with("line 1, column 1: this is not valid TOML"),
            "{all:?}"
        );
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let text = format!("{FORWARD}\n[daemon]\nstats_every = 3\n");
        let all = problems(&text);
        assert_eq!(all.len(), 1, "{all:?}");
        assert!(
            all[0].starts_with("line 8, column 1:")
                && all[0].contains("unknown field `stats_every`"),
            "{all:?}"
        );
    }

    #[test]
    fn every_layout_problem_is_reported_at_its_own_line() {
        let text = r#"
[dataplane.eal]
worker_lcores = [1, 1]
file_prefix = "bad prefix"

[[dataplane.ports]]
name = "a"
device = "net_null0"
rx_desc = 100

[[dataplane.ports]]
name = "a"
device = "net_null1"

[[dataplane.ports]]
name = "c"
device = "3b:00.0"

[forward]
pairs = [["a", "a"]]
"#;
        let all = problems(text);
        let lines: Vec<&str> = all.iter().map(|p| p.split(':').next().unwrap()).collect();
        assert_eq!(
            lines,
            ["line 3", "line 4", "line 9", "line 12", "line 17", "line 20"],
            "{all:#?}"
        );
        assert!(all[3].contains("(first on line 7)"), "{all:#?}");
    }
}

#[cfg(test)]
mod switch_tests {
    use super::*;

    fn problems(text: &str) -> Vec<String> {
        Config::parse(text, "c.toml")
            .unwrap_err()
            .problems()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// The line of the `n`-th occurrence (0-based) of `needle` in the default config.
    fn line_of_nth(needle: &str, n: usize) -> usize {
        let at = DEFAULT_CONFIG.match_indices(needle).nth(n).unwrap().0;
        line_of(DEFAULT_CONFIG, at)
    }

    #[test]
    fn a_route_to_an_unknown_participant_is_refused_by_name_and_line() {
        let text =
            DEFAULT_CONFIG.replacen("participant = \"issuer-2\"", "participant = \"bank-x\"", 1);
        let all = problems(&text);
        let line = line_of_nth("participant = \"issuer-2\"", 0);
        assert_eq!(all.len(), 1, "{all:?}");
        assert!(
            all[0].starts_with(&format!("line {line}: ")) && all[0].contains("\"bank-x\""),
            "{all:?}"
        );
    }

    #[test]
    fn switch_port_must_exist() {
        let text = DEFAULT_CONFIG.replace("port = \"demo0\"", "port = \"uplink7\"");
        let all = problems(&text);
        let line = line_of_nth("port = \"demo0\"", 0);
        assert!(
            all[0].starts_with(&format!("line {line}: ")) && all[0].contains("uplink7"),
            "{all:?}"
        );
    }

    #[test]
    fn a_mac_key_file_mistake_names_the_key_file_line() {
        let text = DEFAULT_CONFIG.replacen(
            "sources = [\"10.0.1.1:5001\"]",
            "sources = [\"10.0.1.1:5001\"]\n\n[participants.mac]\nalgorithm = \"hmac-sha256-64\"\nkey_file = \"keys/acq1.hex\"",
            1,
        );
        let all = problems(&text);
        let line = line_of_nth("sources = [\"10.0.1.1:5001\"]", 0) + 4;
        assert_eq!(all.len(), 1, "{all:?}");
        assert!(
            all[0].starts_with(&format!("line {line}: ")) && all[0].contains("mac.key_file"),
            "{all:?}"
        );
    }

    #[test]
    fn participant_mistakes_are_all_reported_each_at_its_key() {
        let twice = "\n[[participants]]\nid = \"issuer-1\"\nroles = [\"issuer\"]\nsources = [\"10.0.9.9:1\"]\n";
        let text = DEFAULT_CONFIG
            .replace("sources = [\"10.0.1.2:5001\"]", "sources = [\"10.0.1.2\"]")
            .replace(
                "sources = [\"10.0.2.1:9001\"]",
                "sources = [\"10.0.2.1:9001\"]\nnext_hop_mac = \"02:00:00:00:00\"",
            )
            + twice;
        let all = problems(&text);
        assert_eq!(all.len(), 3, "{all:#?}");
        let sources = line_of_nth("sources = [\"10.0.1.2:5001\"]", 0);
        assert!(
            all[0].starts_with(&format!("line {sources}: ")) && all[0].contains("10.0.1.2"),
            "{all:#?}"
        );
        let mac = line_of_nth("sources = [\"10.0.2.1:9001\"]", 0) + 1;
        assert!(
            all[1].starts_with(&format!("line {mac}: ")) && all[1].contains("next_hop_mac"),
            "{all:#?}"
        );
        let first = line_of_nth("id = \"issuer-1\"", 0);
        // The id line of the appended entry: after the added next_hop_mac
        // line, a blank line and the [[participants]] header.
        let dup = DEFAULT_CONFIG.lines().count() + 4;
        assert_eq!(
            all[2],
            format!("line {dup}: participant id \"issuer-1\" is used twice: ids must be unique (first on line {first})")
        );
    }
}
