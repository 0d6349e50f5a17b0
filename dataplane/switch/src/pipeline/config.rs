//! The switch's own settings (the `[switch]` table of clearway.toml).

use std::net::Ipv4Addr;
use std::time::Duration;

use serde::Deserialize;

/// How the switch presents itself and sizes its per-lcore tables.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwitchConfig {
    /// The switch's IPv4 address on the service port (ARP and ping answered).
    pub service_ip: Ipv4Addr,
    /// Name of the port in `[[dataplane.ports]]` participants reach.
    pub port: String,
    /// The switch's MAC on that port ("02:00:00:00:00:01"); default: the
    /// port's own. Set it for a tap port, whose own MAC is the kernel's.
    pub service_mac: Option<String>,
    /// UDP port acquirers send to.
    #[serde(default = "default_service_port")]
    pub service_port: u16,
    /// Worker lcore `i` sends to issuers from UDP port `issuer_port_base + i`,
    /// so each issuer's reply comes back to the lcore owning the pending entry.
    #[serde(default = "default_issuer_port_base")]
    pub issuer_port_base: u16,
    /// Issuer timeout when a participant sets none.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// First 0420 retry interval; doubles each attempt.
    #[serde(default = "default_reversal_retry_ms")]
    pub reversal_retry_ms: u64,
    /// 0420 attempts before a reversal is reported for manual handling.
    #[serde(default = "default_reversal_attempts")]
    pub reversal_attempts: u8,
    /// Outstanding transactions per lcore (pending table, timer wheel).
    #[serde(default = "default_pending")]
    pub pending_capacity: u32,
    /// Recent requests remembered per lcore for duplicate detection.
    #[serde(default = "default_dedup")]
    pub dedup_capacity: u32,
    /// Bytes of each forwarded request kept to build stand-ins and 0420s.
    #[serde(default = "default_request_copy")]
    pub request_copy: u16,
    /// Largest ISO 8583 message accepted in a frame.
    #[serde(default = "default_max_message")]
    pub max_message: u16,
    /// Field spec: `default` or `default_ascii`.
    #[serde(default = "default_spec")]
    pub spec: String,
    /// How long a queued tx packet may wait for a full burst.
    #[serde(default = "default_tx_drain_us")]
    pub tx_drain_us: u64,
    /// A request whose field 7 (transmission date/time, UTC) is further
    /// than this from the switch's clock is refused (39=63): a captured
    /// request replayed after the duplicate filter forgot it. 0 = off.
    #[serde(default = "default_freshness_window_s")]
    pub freshness_window_s: u32,
    /// Pending-table occupancy (percent of `pending_capacity`) above which
    /// new requests are answered 39=91 at once, so admitted traffic keeps
    /// its latency and the table never fills.
    #[serde(default = "default_admission_percent")]
    pub admission_percent: u8,
}

fn default_service_port() -> u16 {
    8583
}
fn default_issuer_port_base() -> u16 {
    8600
}
fn default_timeout_ms() -> u64 {
    5000
}
fn default_reversal_retry_ms() -> u64 {
    1000
}
fn default_reversal_attempts() -> u8 {
    5
}
fn default_pending() -> u32 {
    1_000_000
}
fn default_dedup() -> u32 {
    1_000_000
}
fn default_request_copy() -> u16 {
    512
}
fn default_max_message() -> u16 {
    4096
}
fn default_spec() -> String {
    "default".into()
}
fn default_tx_drain_us() -> u64 {
    100
}
fn default_freshness_window_s() -> u32 {
    300
}
fn default_admission_percent() -> u8 {
    90
}

impl SwitchConfig {
    /// A config with every default and the given address and port name.
    pub fn new(service_ip: Ipv4Addr, port: &str) -> SwitchConfig {
        SwitchConfig {
            service_ip,
            port: port.into(),
            service_mac: None,
            service_port: default_service_port(),
            issuer_port_base: default_issuer_port_base(),
            timeout_ms: default_timeout_ms(),
            reversal_retry_ms: default_reversal_retry_ms(),
            reversal_attempts: default_reversal_attempts(),
            pending_capacity: default_pending(),
            dedup_capacity: default_dedup(),
            request_copy: default_request_copy(),
            max_message: default_max_message(),
            spec: default_spec(),
            tx_drain_us: default_tx_drain_us(),
            freshness_window_s: default_freshness_window_s(),
            admission_percent: default_admission_percent(),
        }
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// Problems an operator must fix, each said plainly.
    pub fn validate(&self, lcores: usize) -> Result<(), String> {
        if wire::iso8583::Spec::builtin(&self.spec).is_none() {
            return Err(format!(
                "[switch] spec = {:?}: use \"default\" or \"default_ascii\"",
                self.spec
            ));
        }
        let last = self.issuer_port_base as usize + lcores.max(1) - 1;
        if last > u16::MAX as usize {
            return Err(format!(
                "[switch] issuer_port_base {} + {lcores} lcores passes 65535",
                self.issuer_port_base
            ));
        }
        if (self.issuer_port_base as usize..=last).contains(&(self.service_port as usize)) {
            return Err(format!(
                "[switch] service_port {} falls inside the issuer-facing ports {}..={last}",
                self.service_port, self.issuer_port_base
            ));
        }
        if self.pending_capacity == 0 || self.dedup_capacity == 0 {
            return Err("[switch] pending_capacity and dedup_capacity must be at least 1".into());
        }
        if !(1..=100).contains(&self.admission_percent) {
            return Err(format!(
                "[switch] admission_percent = {}: give 1-100 (percent of pending_capacity)",
                self.admission_percent
            ));
        }
        if self.reversal_attempts == 0 {
            return Err("[switch] reversal_attempts must be at least 1".into());
        }
        Ok(())
    }
}
