//! The smaller tables of clearway.toml: money state, the operator API,
//! plain forwarding and process settings. Parsing only; [`super::check`]
//! says whether they fit together.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

/// `[journal]`: where and how durably money-moving changes are recorded.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalSection {
    pub dir: PathBuf,
    /// "sync" (default): an approval leaves only once its record is on
    /// disk. "async": at once; a crash can lose about one fsync interval.
    #[serde(default = "sync")]
    pub durability: String,
}

/// `[clearing]`: windows, cutoffs, settlement.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClearingSection {
    /// "command", "every 60m" or "at 10:00,14:00,22:00" (UTC).
    #[serde(default = "on_command")]
    pub cutoff: String,
    pub settlement_dir: PathBuf,
    /// After a cutoff, how long late answers of the closed window may come.
    #[serde(default = "grace")]
    pub in_flight_grace_ms: u64,
    /// Authorisation holds not completed within this are released.
    #[serde(default = "hold_ttl")]
    pub hold_ttl_ms: u64,
}

/// One `[[accounts]]` entry: a reserve account opened on first start.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSection {
    pub participant: String,
    /// ISO 4217 numeric, e.g. 156 (CNY).
    pub currency: u16,
    /// Initial reserve in minor units.
    pub reserve: u64,
    #[serde(default)]
    pub net_debit_cap: u64,
}

/// `[api]`: where the operator API listens.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSection {
    /// Unix socket (mode 0600); clearctl's default is /run/clearway/api.sock.
    pub socket: PathBuf,
    /// Optional TCP listener; requires `token_file` (bearer token).
    pub tcp: Option<SocketAddr>,
    pub token_file: Option<PathBuf>,
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

fn sync() -> String {
    "sync".into()
}
fn on_command() -> String {
    "command".into()
}
fn grace() -> u64 {
    30_000
}
fn hold_ttl() -> u64 {
    7 * 24 * 3600 * 1000
}
fn second() -> u64 {
    1000
}
fn drain_us() -> u64 {
    100
}
