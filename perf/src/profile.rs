//! The load profile: the switch's address, the simulated participants and
//! the load shape, from a TOML file (`profiles/default.toml` is built in)
//! with command-line overrides applied on top.

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::mix::{Mix, MixError};

/// The built-in profile.
pub const DEFAULT_PROFILE: &str = include_str!("../profiles/default.toml");

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub target: TargetConfig,
    #[serde(default)]
    pub load: LoadConfig,
    pub acquirers: Vec<AcquirerConfig>,
    #[serde(default)]
    pub issuers: Vec<IssuerConfig>,
}

/// Where the switch listens.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    pub switch_ip: Ipv4Addr,
    #[serde(default = "default_switch_port")]
    pub switch_port: u16,
    /// `aa:bb:cc:dd:ee:ff`; learnt by ARP when absent.
    #[serde(default)]
    pub switch_mac: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LoadConfig {
    #[serde(default = "default_mix")]
    pub mix: String,
    #[serde(default = "default_frame_size")]
    pub frame_size: u16,
    #[serde(default = "default_deadline_ms")]
    pub deadline_ms: u64,
}

impl Default for LoadConfig {
    fn default() -> Self {
        LoadConfig {
            mix: default_mix(),
            frame_size: default_frame_size(),
            deadline_ms: default_deadline_ms(),
        }
    }
}

/// A simulated acquirer: its own address and STAN space.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AcquirerConfig {
    pub ip: Ipv4Addr,
    pub port: u16,
}

/// A simulated issuer: the BINs routed to it and how it answers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    pub ip: Ipv4Addr,
    pub port: u16,
    pub bins: Vec<String>,
    #[serde(default)]
    pub delay_us: u64,
    /// Share of requests (0..=1) never answered, to exercise timeouts.
    #[serde(default)]
    pub silent_share: f64,
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
}

/// A decline rule; every condition given must hold.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    #[serde(default)]
    pub pan_prefix: Option<String>,
    /// Amount (field 4, minor units) strictly above this.
    #[serde(default)]
    pub amount_over: Option<u64>,
    /// Share (0..=1) of the otherwise matching requests.
    #[serde(default)]
    pub share: Option<f64>,
    /// Field 39 to answer with.
    pub code: String,
}

fn default_switch_port() -> u16 {
    8583
}
fn default_mix() -> String {
    "0200:70,0100:10,0220:10,0400:5,0800:5".into()
}
fn default_frame_size() -> u16 {
    300
}
fn default_deadline_ms() -> u64 {
    2000
}

/// A profile that cannot drive a run, said so the operator can fix it.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("cannot read profile {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("profile {path}: {message}")]
    Parse { path: String, message: String },
    #[error("profile: {0}")]
    Mix(#[from] MixError),
    #[error("profile: {what}")]
    Invalid { what: String },
}

fn invalid(what: impl Into<String>) -> ProfileError {
    ProfileError::Invalid { what: what.into() }
}

impl Profile {
    pub fn builtin() -> Profile {
        // The built-in text is part of the binary and covered by a test.
        Profile::from_toml("built-in", DEFAULT_PROFILE).expect("built-in profile parses")
    }

    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Profile::from_toml(&path.display().to_string(), &text)
    }

    pub fn from_toml(path: &str, text: &str) -> Result<Profile, ProfileError> {
        toml::from_str(text).map_err(|e| ProfileError::Parse {
            path: path.into(),
            message: e.to_string(),
        })
    }

    /// The switch MAC as bytes, if configured.
    pub fn switch_mac(&self) -> Result<Option<[u8; 6]>, ProfileError> {
        self.target
            .switch_mac
            .as_deref()
            .map(|s| {
                parse_mac(s).ok_or_else(|| {
                    invalid(format!(
                        "switch_mac {s:?}: write six hex bytes, aa:bb:cc:dd:ee:ff"
                    ))
                })
            })
            .transpose()
    }

    /// The parsed mix.
    pub fn mix(&self) -> Result<Mix, ProfileError> {
        Ok(Mix::parse(&self.load.mix)?)
    }

    /// Checks everything a run relies on.
    pub fn validate(&self) -> Result<(), ProfileError> {
        let mix = self.mix()?;
        self.switch_mac()?;
        if self.acquirers.is_empty() {
            return Err(invalid(
                "no acquirers: add an [[acquirers]] table or --acquirer IP:PORT",
            ));
        }
        if self.acquirers.len() > 1000 || self.issuers.len() > 1000 {
            return Err(invalid("at most 1000 acquirers and 1000 issuers"));
        }
        let routed = crate::mix::RequestKind::ALL
            .into_iter()
            .any(|k| k.routed() && mix.uses(k));
        if routed && self.issuers.iter().all(|i| i.bins.is_empty()) {
            return Err(invalid("the mix has routed requests but no issuer has a BIN: add [[issuers]] with bins = [\"4\"] or --issuer IP:PORT:BIN"));
        }
        if !(128..=1500).contains(&self.load.frame_size) {
            return Err(invalid(format!(
                "frame_size {} must be 128..=1500 bytes",
                self.load.frame_size
            )));
        }
        if self.load.deadline_ms == 0 {
            return Err(invalid("deadline_ms must be at least 1"));
        }
        let mut seen = HashSet::new();
        seen.insert(SocketAddrV4::new(
            self.target.switch_ip,
            self.target.switch_port,
        ));
        let ends = self
            .acquirers
            .iter()
            .map(|a| (a.ip, a.port))
            .chain(self.issuers.iter().map(|i| (i.ip, i.port)));
        for (ip, port) in ends {
            if ip == self.target.switch_ip {
                return Err(invalid(format!(
                    "participant {ip} uses the switch's own IP"
                )));
            }
            if !seen.insert(SocketAddrV4::new(ip, port)) {
                return Err(invalid(format!(
                    "address {ip}:{port} is used twice; give each participant its own IP:port"
                )));
            }
        }
        for (n, issuer) in self.issuers.iter().enumerate() {
            for bin in &issuer.bins {
                if bin.is_empty() || bin.len() > 12 || !bin.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(invalid(format!(
                        "issuer {n}: BIN {bin:?} must be 1..=12 digits"
                    )));
                }
            }
            check_share(&format!("issuer {n} silent_share"), issuer.silent_share)?;
            for rule in &issuer.rules {
                if rule.code.len() != 2 || !rule.code.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(invalid(format!(
                        "issuer {n}: rule code {:?} must be two letters or digits (e.g. \"05\")",
                        rule.code
                    )));
                }
                if let Some(share) = rule.share {
                    check_share(&format!("issuer {n} rule share"), share)?;
                }
                if let Some(p) = &rule.pan_prefix {
                    if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(invalid(format!(
                            "issuer {n}: pan_prefix {p:?} must be digits"
                        )));
                    }
                }
            }
        }
        Ok(())
    }
}

fn check_share(what: &str, share: f64) -> Result<(), ProfileError> {
    if (0.0..=1.0).contains(&share) {
        Ok(())
    } else {
        Err(invalid(format!("{what} {share} must be between 0 and 1")))
    }
}

/// `aa:bb:cc:dd:ee:ff` to bytes.
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = s.split(':');
    for b in &mut out {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// `IP:PORT` for --acquirer.
pub fn parse_acquirer(s: &str) -> Result<AcquirerConfig, String> {
    let addr: SocketAddrV4 = s
        .parse()
        .map_err(|_| format!("--acquirer {s:?}: write IP:PORT, e.g. 10.0.1.1:5001"))?;
    Ok(AcquirerConfig {
        ip: *addr.ip(),
        port: addr.port(),
    })
}

/// `IP:PORT:BIN[/BIN...]` for --issuer.
pub fn parse_issuer(s: &str) -> Result<IssuerConfig, String> {
    let hint = || format!("--issuer {s:?}: write IP:PORT:BIN[/BIN..], e.g. 10.0.2.1:9001:4/51");
    let (addr, bins) = s.rsplit_once(':').ok_or_else(hint)?;
    let addr: SocketAddrV4 = addr.parse().map_err(|_| hint())?;
    Ok(IssuerConfig {
        ip: *addr.ip(),
        port: addr.port(),
        bins: bins.split('/').map(str::to_owned).collect(),
        delay_us: 0,
        silent_share: 0.0,
        rules: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_profile_is_valid() {
        let p = Profile::builtin();
        p.validate().unwrap();
        assert_eq!(p.acquirers.len(), 2);
        assert_eq!(p.issuers.len(), 2);
        assert_eq!(p.target.switch_port, 8583);
    }

    #[test]
    fn command_line_participants_parse() {
        let i = parse_issuer("10.0.2.9:9100:4/51").unwrap();
        assert_eq!(i.bins, vec!["4".to_string(), "51".to_string()]);
        assert_eq!(parse_acquirer("10.0.1.7:6000").unwrap().port, 6000);
        assert!(parse_issuer("10.0.2.9:9100").is_err());
        assert_eq!(parse_mac("02:00:00:00:00:0a"), Some([2, 0, 0, 0, 0, 10]));
        assert_eq!(parse_mac("02:00:00"), None);
    }

    #[test]
    fn a_participant_on_the_switch_address_is_refused() {
        let mut p = Profile::builtin();
        p.acquirers[0].ip = p.target.switch_ip;
        assert!(p
            .validate()
            .unwrap_err()
            .to_string()
            .contains("switch's own IP"));
        let mut p = Profile::builtin();
        p.issuers[1].ip = p.issuers[0].ip;
        p.issuers[1].port = p.issuers[0].port;
        assert!(p.validate().unwrap_err().to_string().contains("used twice"));
    }
}
