//! Reading the parts of `clearway.toml` this crate owns.
//!
//! The file is shared: `[dataplane]` is [`Layout`] (strict: unknown keys are errors), the other
//! tables (participants, routes, accounts, journal, api, metrics) belong to other crates and are
//! ignored here, except `journal.dir`, which the systemd unit must make writable.

use crate::layout::Layout;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Where `clearwayd` and `clearway-nic` look when `--config` is not given.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/clearway/clearway.toml";
/// Journal directory when the config does not name one.
pub const DEFAULT_JOURNAL_DIR: &str = "/var/lib/clearway/journal";

/// What this crate reads from `clearway.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataplaneConfig {
    pub layout: Layout,
    /// `journal.dir`, if the file sets it.
    pub journal_dir: Option<PathBuf>,
}

impl DataplaneConfig {
    pub fn journal_dir(&self) -> &Path {
        self.journal_dir
            .as_deref()
            .unwrap_or(Path::new(DEFAULT_JOURNAL_DIR))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path} has no [dataplane] table: add one with at least one [[dataplane.ports]]")]
    NoDataplane { path: PathBuf },
}

/// Only the tables this crate needs; serde ignores the rest of the file, while `Layout` itself
/// keeps `deny_unknown_fields`, so a typo inside `[dataplane]` is still caught.
#[derive(Deserialize)]
struct FileView {
    dataplane: Option<Layout>,
    journal: Option<JournalView>,
}

#[derive(Deserialize)]
struct JournalView {
    dir: Option<PathBuf>,
}

/// Parses `text` (named `path` in messages).
pub fn parse(text: &str, path: &Path) -> Result<DataplaneConfig, ConfigError> {
    let view: FileView = toml::from_str(text).map_err(|e| ConfigError::Parse {
        path: path.into(),
        message: e.to_string(),
    })?;
    let layout = view
        .dataplane
        .ok_or_else(|| ConfigError::NoDataplane { path: path.into() })?;
    Ok(DataplaneConfig {
        layout,
        journal_dir: view.journal.and_then(|j| j.dir),
    })
}

/// Reads and parses the file at `path`.
pub fn load(path: &Path) -> Result<DataplaneConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.into(),
        source,
    })?;
    parse(&text, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[api]
socket = "/run/clearway/api.sock"

[journal]
dir = "/srv/clearway/journal"
durability = "sync"

[dataplane.eal]
hugepages = false

[[dataplane.ports]]
name = "demo0"
device = "net_null0"

[[participants]]
id = "acq-a"
"#;

    #[test]
    fn other_tables_are_ignored_and_journal_dir_is_read() {
        let config = parse(FILE, Path::new("clearway.toml")).unwrap();
        assert_eq!(config.layout.ports[0].name, "demo0");
        assert!(!config.layout.eal.hugepages);
        assert_eq!(config.journal_dir(), Path::new("/srv/clearway/journal"));
    }

    #[test]
    fn typos_inside_dataplane_are_still_errors() {
        let text = FILE.replace("hugepages = false", "hugepage = false");
        let err = parse(&text, Path::new("clearway.toml")).unwrap_err();
        assert!(err.to_string().contains("hugepage"), "{err}");
    }

    #[test]
    fn a_file_without_dataplane_says_what_to_add() {
        let err = parse("[api]\n", Path::new("x.toml")).unwrap_err();
        assert!(matches!(err, ConfigError::NoDataplane { .. }));
        assert_eq!(
            parse("[journal]\n", Path::new("x.toml"))
                .unwrap_err()
                .to_string(),
            "x.toml has no [dataplane] table: add one with at least one [[dataplane.ports]]"
        );
    }
}
