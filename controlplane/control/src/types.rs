//! The API's JSON documents, shared by the server and `clearctl`.
//!
//! Amounts are integers in minor units (never floats); currencies are ISO
//! 4217 numeric codes as in field 49. Every field name here is part of the
//! API contract: rename only with a new API version.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Body of every error response: `{"error":{"code":"not_found","message":"..."}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable machine-readable code: `bad_request`, `unauthorized`,
    /// `not_found`, `conflict`, `unavailable`, `internal`.
    pub code: String,
    /// One line for the operator, saying what to do.
    pub message: String,
}

/// What a participant may do, as in `roles = ["acquirer", "issuer"]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Acquirer,
    Issuer,
}

/// A participant as the operator writes it (clearway.toml's
/// `[[participants]]`, `clearctl participants add`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParticipantSpec {
    pub id: String,
    pub roles: Vec<Role>,
    #[serde(default)]
    pub institution_ids: Vec<String>,
    /// Source `ip:port` its messages must come from.
    pub sources: Vec<String>,
    /// Where requests for it are sent; defaults to the first source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_hop: Option<String>,
    /// Static MAC of the next hop, `02:00:00:00:00:20`; ARP otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_hop_mac: Option<String>,
    /// Issuer timeout; absent = the switch default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    #[serde(default)]
    pub suspended: bool,
    /// Requests per second it may send as an acquirer; above it the switch
    /// answers 39=91 at once. Absent = unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitSpec>,
    /// Message authentication: absent = unkeyed (no MAC checked or sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<MacSpec>,
}

impl ParticipantSpec {
    /// This spec with any inline key removed: what may be journaled or
    /// shown (key files are named, keys never).
    pub fn without_key_material(&self) -> ParticipantSpec {
        let mut spec = self.clone();
        if let Some(mac) = &mut spec.mac {
            mac.key = None;
        }
        spec
    }
}

/// A participant's MAC algorithm (field 64/128, 8 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MacAlgorithm {
    /// HMAC-SHA-256 truncated to 8 bytes; keys of 16-128 bytes.
    #[serde(rename = "hmac-sha256-64")]
    HmacSha256x64,
    /// AES-128-CMAC truncated to 8 bytes; 16-byte keys.
    #[serde(rename = "aes-cmac-64")]
    AesCmac64,
}

impl MacAlgorithm {
    pub const fn name(self) -> &'static str {
        match self {
            Self::HmacSha256x64 => "hmac-sha256-64",
            Self::AesCmac64 => "aes-cmac-64",
        }
    }
}

/// `mac = { algorithm = "aes-cmac-64", key_file = "/etc/clearway/keys/bank-a.key" }`.
/// The key file holds the key as hex text. An inline hex `key` is accepted
/// in clearway.toml only (the API refuses key material), and is never
/// journaled or shown.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MacSpec {
    pub algorithm: MacAlgorithm,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl std::fmt::Debug for MacSpec {
    // Never the inline key, even in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MacSpec")
            .field("algorithm", &self.algorithm)
            .field("key_file", &self.key_file)
            .field("key", &self.key.as_ref().map(|_| "(redacted)"))
            .finish()
    }
}

/// A participant's keys as the API shows them: names, never material.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MacView {
    pub algorithm: MacAlgorithm,
    /// First 8 hex digits of SHA-256 of the current key; absent when the
    /// key could not be loaded (the participant then fails closed: every
    /// message it sends is dropped until a key is rotated in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
    /// The key before the last rotation, while it still verifies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_key_id: Option<String>,
    /// When the previous key stops verifying (Unix milliseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlap_ends_at_ms: Option<u64>,
    /// Why the key is unavailable, when it is (found at start-up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// `clearctl participants rotate-key`: the key in `key_file` (read by the
/// switch, on its host) becomes current; the old one keeps verifying for
/// `overlap_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRotation {
    pub key_file: String,
    /// Absent: the participant's current algorithm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<MacAlgorithm>,
    /// Absent: [`DEFAULT_KEY_OVERLAP_MS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlap_ms: Option<u64>,
}

/// Ten minutes: time for a participant to switch to its new key.
pub const DEFAULT_KEY_OVERLAP_MS: u64 = 600_000;

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRotated {
    /// Route snapshot version that carries the new key.
    pub version: u64,
    pub mac: MacView,
}

/// `rate_limit = { per_second = 5000, burst = 500 }`: a sustained rate and
/// how many requests above it may arrive back to back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSpec {
    pub per_second: u32,
    /// Defaults to a tenth of a second's worth (at least 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
}

/// A partial update: absent fields keep their value. `if_revision` makes
/// the update conditional (409 when someone changed the participant since).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParticipantPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<Role>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub institution_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_hop: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_hop_mac: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_revision: Option<u64>,
}

/// A participant as the switch runs it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantView {
    /// Position in the switch's tables (stable for the daemon's life).
    pub index: u32,
    /// Bumped by every change to this participant.
    pub revision: u64,
    pub spec: ParticipantSpec,
    /// Signed off by an 0800 (switch state, not configuration).
    pub signed_off: bool,
    /// BIN prefixes routed to it.
    pub routes: u64,
    /// Its MAC keys (ids and overlap only), when it is keyed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<MacView>,
}

/// Outcome of a change: the route snapshot version that now carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    pub version: u64,
}

/// One BIN route: PANs starting with `prefix` go to `participant`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteRow {
    pub prefix: String,
    pub participant: String,
}

/// A page of routes in prefix order; ask again with `after = next` for more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutePage {
    pub total: u64,
    pub routes: Vec<RouteRow>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// Result of `routes import`: the whole table swapped at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportOutcome {
    pub rows: u64,
    /// CRC32C of the canonical table (sorted `prefix,participant` lines).
    pub crc32c: u32,
    pub version: u64,
    /// Parse + validate + build + publish, server side.
    pub took_ms: u64,
}

/// One DPDK port.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortStatus {
    pub name: String,
    pub port_id: u16,
    pub link_up: bool,
    pub speed_mbps: u32,
    pub rx_packets: u64,
    pub tx_packets: u64,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub rx_missed: u64,
    pub rx_errors: u64,
    pub tx_errors: u64,
    pub rx_nombuf: u64,
    /// Driver extended statistics by name (`rte_eth_xstats_get`).
    #[serde(default)]
    pub xstats: BTreeMap<String, u64>,
}

/// One worker lcore: polls that found packets vs polls that found none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LcoreStatus {
    pub lcore: u32,
    pub busy_polls: u64,
    pub idle_polls: u64,
}

impl LcoreStatus {
    /// Share of polls that found work, 0.0-1.0 (0 before the first poll).
    pub fn busy_ratio(&self) -> f64 {
        let total = self.busy_polls + self.idle_polls;
        if total == 0 {
            0.0
        } else {
            self.busy_polls as f64 / total as f64
        }
    }
}

/// `clearctl status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    pub version: String,
    pub uptime_secs: u64,
    pub ports: Vec<PortStatus>,
    pub lcores: Vec<LcoreStatus>,
    /// Responses sent to acquirers in the last full second.
    pub tps: u64,
    pub pending: u64,
    pub routes_version: u64,
    pub participants: u64,
    pub routes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<WindowSummary>,
    /// The money journal's health: a failed journal means money-moving
    /// requests are declined with 96 until it is fixed.
    #[serde(default)]
    pub journal: JournalHealth,
}

/// `journal` in [`StatusReport`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalHealth {
    pub failed: bool,
    /// The failure and its remedy, when `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// Records appended but not yet durable.
    pub lag_records: u64,
}

/// `clearctl stats`: cumulative counters (deltas are the client's job).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsReport {
    /// Milliseconds since the API started, for rates between two reports.
    pub at_ms: u64,
    /// Switch counters by name: `rx`, `tx`, `mti_0200`, `response_00`,
    /// `drop_unknown_sender`, `timeouts`, ... (summed over lcores).
    pub counters: BTreeMap<String, u64>,
    pub pending: u64,
}

/// One reserve account: a participant in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub participant: String,
    pub currency: u16,
    pub reserve_balance: i64,
    pub net_debit_cap: i64,
    /// Positive: the participant owes the network.
    pub net_position: i64,
    pub holds: i64,
    /// reserve + cap − position − holds.
    pub available: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_transaction_limit: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_limit: Option<i64>,
}

/// A deposit or withdrawal on a reserve account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReserveChange {
    /// Absent: the participant's only account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<u16>,
    /// Minor units, > 0.
    pub amount: i64,
    /// Why, for the journal (1-128 bytes).
    pub reason: String,
}

/// Which limit `accounts set-limit` changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    NetDebitCap,
    PerTransaction,
    Daily,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<u16>,
    pub kind: LimitKind,
    /// Minor units, >= 0.
    pub amount: i64,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WindowState {
    Open,
    Closing,
    Settled,
}

/// A clearing window (an epoch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowSummary {
    pub number: u64,
    pub state: WindowState,
    /// Unix milliseconds.
    pub opened_at_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at_ms: Option<u64>,
    pub transactions: u64,
}

/// One participant's net result in a window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetPosition {
    pub participant: String,
    pub currency: u16,
    pub debit: i64,
    pub credit: i64,
    /// credit − debit; the sum over participants is zero.
    pub net: i64,
    pub count: u64,
}

/// `clearctl windows show N` and `clearctl settlement show N`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowDetail {
    pub window: WindowSummary,
    pub positions: Vec<NetPosition>,
}

/// What `cutoff` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CutoffOutcome {
    pub closed: u64,
    pub opened: u64,
    /// From the flip to the closed window being netted and settled.
    pub took_ms: u64,
}

/// One settlement file, as the money state wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementFile {
    /// File name only (`settlement-000042.csv`); never a path.
    pub name: String,
    pub contents: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementFiles {
    pub window: u64,
    pub files: Vec<SettlementFile>,
}
