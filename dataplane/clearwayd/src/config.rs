//! clearway.toml as clearwayd reads it.

use std::collections::HashSet;

use nic_config::layout::Layout;
use serde::Deserialize;
use switch::pipeline::SwitchConfig;

use control::types::{ParticipantSpec, RouteRow};

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
    pub journal: Option<crate::money::JournalSection>,
    pub clearing: Option<crate::money::ClearingSection>,
    #[serde(default)]
    pub accounts: Vec<crate::money::AccountSection>,
    /// The operator API (clearctl, /metrics); off when absent.
    pub api: Option<crate::api::ApiSection>,
    /// Plain forwarding between port pairs instead of the switch (a
    /// baseline on the same plumbing, or a bring-up check of new ports).
    pub forward: Option<Forward>,
    #[serde(default)]
    pub daemon: Daemon,
}

/// Frames received on one port of a pair are sent out of the other.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Forward {
    pub pairs: Vec<[String; 2]>,
}

/// Process-level settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Daemon {
    /// How often the per-port table is printed, in milliseconds.
    #[serde(default = "second")]
    pub stats_interval_ms: u64,
    /// How long a queued tx packet may wait for a full burst, in microseconds.
    #[serde(default = "drain_us")]
    pub tx_drain_us: u64,
}

impl Default for Daemon {
    fn default() -> Self {
        Daemon {
            stats_interval_ms: second(),
            tx_drain_us: drain_us(),
        }
    }
}

fn second() -> u64 {
    1000
}
fn drain_us() -> u64 {
    100
}

/// A configuration problem, said so the operator knows what to change.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {message}")]
    Syntax { path: String, message: String },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
}

impl Config {
    /// Parses and checks a configuration text; `path` names it in errors.
    pub fn parse(text: &str, path: &str) -> Result<Config, ConfigError> {
        let cfg: Config = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: path.to_owned(),
            message: one_line_toml_error(text, &e),
        })?;
        cfg.check(path)?;
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

    fn check(&self, path: &str) -> Result<(), ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        };
        if let Err(errors) = self.dataplane.validate() {
            let list: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            return Err(invalid(format!("[dataplane]: {}", list.join("; "))));
        }
        let names: HashSet<&str> = self
            .dataplane
            .ports
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        match (&self.switch, &self.forward) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "give either [switch] or [forward], not both".into(),
                ));
            }
            (None, None) => {
                return Err(invalid(
                    "nothing to run: add a [switch] table (or [forward] pairs)".into(),
                ));
            }
            (Some(sw), None) => {
                if !names.contains(sw.port.as_str()) {
                    return Err(invalid(format!(
                        "[switch] port = {:?} is not in [[dataplane.ports]] (have: {})",
                        sw.port,
                        sorted(&names)
                    )));
                }
                // The control plane checks participants and routes exactly
                // as it will when it builds the lcores' first snapshot.
                control::ControlPlane::new(
                    self.participants.clone(),
                    self.routes.clone(),
                    std::sync::Arc::new(crate::api::UnjournaledChanges),
                )
                .map_err(|e| invalid(e.to_string()))?;
                if self.journal.is_some() != self.clearing.is_some() {
                    return Err(invalid(
                        "[journal] and [clearing] go together: give both (money state on) or neither".into(),
                    ));
                }
                for a in &self.accounts {
                    if !self.participants.iter().any(|p| p.id == a.participant) {
                        return Err(invalid(format!(
                            "[[accounts]] participant {:?} is not in [[participants]]",
                            a.participant
                        )));
                    }
                }
            }
            (None, Some(_)) => {}
        }
        let pairs = self
            .forward
            .as_ref()
            .map(|f| f.pairs.as_slice())
            .unwrap_or(&[]);
        let mut used = HashSet::new();
        for [a, b] in pairs {
            for p in [a, b] {
                if !names.contains(p.as_str()) {
                    return Err(invalid(format!(
                        "[forward] pairs names port {p:?}, which is not in [[dataplane.ports]] (have: {})",
                        sorted(&names)
                    )));
                }
                if !used.insert(p.as_str()) {
                    return Err(invalid(format!(
                        "[forward] port {p:?} is in more than one pair: each port forwards to one peer"
                    )));
                }
            }
            if a == b {
                return Err(invalid(format!(
                    "[forward] pair [{a:?}, {b:?}] pairs a port with itself"
                )));
            }
        }
        if self.daemon.stats_interval_ms == 0 {
            return Err(invalid(
                "[daemon] stats_interval_ms must be at least 1".into(),
            ));
        }
        Ok(())
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

fn sorted(names: &HashSet<&str>) -> String {
    let mut v: Vec<&str> = names.iter().copied().collect();
    v.sort_unstable();
    v.join(", ")
}

/// toml's errors span several lines with a caret drawing; keep line, column
/// and the message on one line.
fn one_line_toml_error(text: &str, e: &toml::de::Error) -> String {
    let msg = e.message().trim().to_owned();
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {col}: {msg}")
        }
        None => msg,
    }
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
    fn forward_pair_naming_a_missing_port_says_which() {
        let text = FORWARD.replace(
            r#"pairs = [["left", "right"]]"#,
            r#"pairs = [["left", "nowhere"]]"#,
        );
        let err = Config::parse(&text, "x.toml").unwrap_err().to_string();
        assert!(
            err.contains("\"nowhere\"") && err.contains("have: left, right"),
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
    fn unknown_keys_are_refused() {
        let text = format!("{FORWARD}\n[daemon]\nstats_every = 3\n");
        let err = Config::parse(&text, "x.toml").unwrap_err().to_string();
        assert!(err.contains("unknown field `stats_every`"), "{err}");
    }
}

#[cfg(test)]
mod switch_tests {
    use super::*;

    #[test]
    fn a_route_to_an_unknown_participant_is_refused_by_name() {
        let text = DEFAULT_CONFIG.replace("participant = \"issuer-2\"", "participant = \"bank-x\"");
        let err = Config::parse(&text, "c.toml").unwrap_err().to_string();
        assert!(err.contains("\"bank-x\""), "{err}");
    }

    #[test]
    fn switch_port_must_exist() {
        let text = DEFAULT_CONFIG.replace("port = \"demo0\"", "port = \"uplink7\"");
        let err = Config::parse(&text, "c.toml").unwrap_err().to_string();
        assert!(err.contains("uplink7"), "{err}");
    }
}
