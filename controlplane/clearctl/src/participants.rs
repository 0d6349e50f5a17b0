//! `clearctl participants list|show|add|update|suspend|resume|rotate-key`.

use crate::output::Output;
use crate::table;
use clap::{Args, Subcommand, ValueEnum};
use control::client::{segment, Client, Method};
use control::types::{
    KeyRotated, KeyRotation, MacAlgorithm, MacView, ParticipantPatch, ParticipantSpec,
    ParticipantView, Published, RateLimitSpec, Role,
};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum ParticipantsCommand {
    /// All participants with their index, roles and route count.
    List,
    /// One participant in full.
    Show { id: String },
    /// Adds a participant (at the next index; ids are never reused).
    Add(AddArgs),
    /// Changes the given fields of a participant.
    Update(UpdateArgs),
    /// Drops the participant's messages until it is resumed.
    Suspend { id: String },
    /// Lets a suspended participant's messages through again.
    Resume { id: String },
    /// Makes the key in a file on the switch host the participant's MAC key;
    /// the old key keeps verifying its messages during the overlap.
    RotateKey(RotateKeyArgs),
}

#[derive(Debug, Args)]
pub struct RotateKeyArgs {
    id: String,
    /// File holding the new key as hex (chmod 600), read by the switch on
    /// its host: use a new file per key. Relative paths are made absolute.
    #[arg(long)]
    key_file: PathBuf,
    /// hmac-sha256-64 or aes-cmac-64 (default: the participant's current one).
    #[arg(long, value_parser = parse_algorithm)]
    algorithm: Option<MacAlgorithm>,
    /// How long the old key still verifies: 90s, 10m, 2h, 1d, 500ms, or 0.
    #[arg(long, default_value = "10m", value_parser = parse_overlap)]
    overlap: u64,
}

fn parse_algorithm(s: &str) -> Result<MacAlgorithm, String> {
    [MacAlgorithm::HmacSha256x64, MacAlgorithm::AesCmac64]
        .into_iter()
        .find(|a| a.name() == s)
        .ok_or_else(|| format!("{s:?}: use hmac-sha256-64 or aes-cmac-64"))
}

/// "10m" → 600000 (milliseconds).
pub fn parse_overlap(s: &str) -> Result<u64, String> {
    let bad = || format!("{s:?}: give a number with ms, s, m, h or d, like 10m");
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let per = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "" if n == 0 => 0,
        _ => return Err(bad()),
    };
    n.checked_mul(per).ok_or_else(bad)
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Acquirer,
    Issuer,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Acquirer => Role::Acquirer,
            RoleArg::Issuer => Role::Issuer,
        }
    }
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// Participant id (letters, digits, '-', '_', '.').
    #[arg(required_unless_present = "file")]
    id: Option<String>,
    /// Read the participant as JSON (the API's document) instead.
    #[arg(long, conflicts_with_all = ["id", "role", "source"])]
    file: Option<PathBuf>,
    /// acquirer, issuer (repeat for both).
    #[arg(long = "role", value_enum, required_unless_present = "file")]
    role: Vec<RoleArg>,
    /// Source ip:port its messages come from (repeatable).
    #[arg(long = "source", required_unless_present = "file")]
    source: Vec<String>,
    /// Institution id it owns (repeatable): field 32 of its requests must be
    /// one of them; field 100 routes to it if it is an issuer.
    #[arg(long = "institution-id")]
    institution_id: Vec<String>,
    /// Where its requests go (default: the first source).
    #[arg(long)]
    next_hop: Option<String>,
    /// Static MAC of the next hop (default: ARP).
    #[arg(long)]
    next_hop_mac: Option<String>,
    /// Issuer timeout in ms (default: the switch's).
    #[arg(long)]
    timeout_ms: Option<u64>,
    /// Add it suspended (resume when the bank is ready).
    #[arg(long)]
    suspended: bool,
    #[command(flatten)]
    rate: RateArgs,
}

/// `--rate-limit 5000 [--burst 500]`: requests per second it may send.
#[derive(Debug, Args)]
pub struct RateArgs {
    /// Most requests per second it may send as an acquirer (over: 39=91).
    #[arg(long)]
    rate_limit: Option<u32>,
    /// Requests above the rate allowed back to back (default: rate/10).
    #[arg(long, requires = "rate_limit")]
    burst: Option<u32>,
}

impl RateArgs {
    fn spec(&self) -> Option<RateLimitSpec> {
        self.rate_limit.map(|per_second| RateLimitSpec {
            per_second,
            burst: self.burst,
        })
    }
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    id: String,
    /// Replaces the roles (repeat for both).
    #[arg(long = "role", value_enum)]
    role: Vec<RoleArg>,
    /// Replaces the sources (repeatable).
    #[arg(long = "source")]
    source: Vec<String>,
    /// Replaces the institution ids (repeatable).
    #[arg(long = "institution-id")]
    institution_id: Vec<String>,
    /// Removes all institution ids.
    #[arg(long, conflicts_with = "institution_id")]
    no_institution_ids: bool,
    #[arg(long)]
    next_hop: Option<String>,
    #[arg(long)]
    next_hop_mac: Option<String>,
    #[arg(long)]
    timeout_ms: Option<u64>,
    #[command(flatten)]
    rate: RateArgs,
    /// Only if the participant is still at this revision (see `show`).
    #[arg(long)]
    if_revision: Option<u64>,
}

fn path(id: &str) -> String {
    format!("/v1/participants/{}", segment(id))
}

pub fn run(cmd: ParticipantsCommand, client: &Client, out: Output) -> anyhow::Result<()> {
    match cmd {
        ParticipantsCommand::List => {
            let list: Vec<ParticipantView> = client.get("/v1/participants")?;
            out.emit(&list, |list| {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|p| {
                        vec![
                            p.index.to_string(),
                            p.spec.id.clone(),
                            roles(&p.spec.roles),
                            state(p),
                            p.spec.sources.join(" "),
                            p.spec.institution_ids.join(" "),
                            p.routes.to_string(),
                        ]
                    })
                    .collect();
                table::print(
                    &[
                        "INDEX",
                        "ID",
                        "ROLES",
                        "STATE",
                        "SOURCES",
                        "INSTITUTIONS",
                        "ROUTES",
                    ],
                    &rows,
                );
            })
        }
        ParticipantsCommand::Show { id } => {
            let p: ParticipantView = client.get(&path(&id))?;
            out.emit(&p, |p| {
                table::print_pairs(&[
                    ("id", p.spec.id.clone()),
                    ("index", p.index.to_string()),
                    ("revision", p.revision.to_string()),
                    ("roles", roles(&p.spec.roles)),
                    ("state", state(p)),
                    ("sources", p.spec.sources.join(" ")),
                    ("institution ids", p.spec.institution_ids.join(" ")),
                    (
                        "next hop",
                        p.spec
                            .next_hop
                            .clone()
                            .unwrap_or_else(|| "(first source)".into()),
                    ),
                    (
                        "next hop MAC",
                        p.spec
                            .next_hop_mac
                            .clone()
                            .unwrap_or_else(|| "(ARP)".into()),
                    ),
                    (
                        "timeout",
                        p.spec
                            .timeout_ms
                            .map_or("(switch default)".into(), |t| format!("{t} ms")),
                    ),
                    (
                        "rate limit",
                        p.spec
                            .rate_limit
                            .map_or("(none)".into(), |r| match r.burst {
                                Some(b) => format!("{}/s, burst {b}", r.per_second),
                                None => format!("{}/s", r.per_second),
                            }),
                    ),
                    ("routes", p.routes.to_string()),
                    ("MAC", p.mac.as_ref().map_or("(none)".into(), mac_line)),
                ])
            })
        }
        ParticipantsCommand::Add(a) => {
            let spec = match &a.file {
                Some(file) => {
                    let text = std::fs::read_to_string(file).map_err(|e| {
                        anyhow::anyhow!("reading {}: {e}; check the path", file.display())
                    })?;
                    serde_json::from_str(&text).map_err(|e| {
                        anyhow::anyhow!("{} is not a participant document: {e}", file.display())
                    })?
                }
                None => ParticipantSpec {
                    id: a.id.clone().unwrap_or_default(),
                    roles: a.role.iter().map(|r| (*r).into()).collect(),
                    institution_ids: a.institution_id,
                    sources: a.source,
                    next_hop: a.next_hop,
                    next_hop_mac: a.next_hop_mac,
                    timeout_ms: a.timeout_ms,
                    suspended: a.suspended,
                    rate_limit: a.rate.spec(),
                    mac: None,
                },
            };
            let p: Published = client.send(Method::POST, "/v1/participants", &spec)?;
            out.emit(&p, |p| {
                println!("added {} (route version {})", spec.id, p.version)
            })
        }
        ParticipantsCommand::Update(u) => {
            let patch = ParticipantPatch {
                roles: (!u.role.is_empty()).then(|| u.role.iter().map(|r| (*r).into()).collect()),
                institution_ids: if u.no_institution_ids {
                    Some(Vec::new())
                } else {
                    (!u.institution_id.is_empty()).then_some(u.institution_id)
                },
                sources: (!u.source.is_empty()).then_some(u.source),
                next_hop: u.next_hop,
                next_hop_mac: u.next_hop_mac,
                timeout_ms: u.timeout_ms,
                rate_limit: u.rate.spec(),
                if_revision: u.if_revision,
            };
            if patch
                == (ParticipantPatch {
                    if_revision: patch.if_revision,
                    ..Default::default()
                })
            {
                anyhow::bail!("nothing to change; give at least one of --role, --source, --institution-id, --next-hop, --next-hop-mac, --timeout-ms");
            }
            let p: Published = client.send(Method::PATCH, &path(&u.id), &patch)?;
            out.emit(&p, |p| {
                println!("updated {} (route version {})", u.id, p.version)
            })
        }
        ParticipantsCommand::Suspend { id } => {
            let p: Published =
                client.call(Method::POST, &format!("{}/suspend", path(&id)), None)?;
            out.emit(&p, |p| {
                println!("suspended {id} (route version {})", p.version)
            })
        }
        ParticipantsCommand::RotateKey(r) => {
            let key_file = if r.key_file.is_absolute() {
                r.key_file
            } else {
                std::env::current_dir()?.join(&r.key_file)
            };
            let body = KeyRotation {
                key_file: key_file
                    .to_str()
                    .ok_or_else(|| anyhow::anyhow!("{}: not UTF-8", key_file.display()))?
                    .to_string(),
                algorithm: r.algorithm,
                overlap_ms: Some(r.overlap),
            };
            let done: KeyRotated =
                client.send(Method::POST, &format!("{}/rotate-key", path(&r.id)), &body)?;
            out.emit(&done, |d| {
                println!(
                    "{}: {} (route version {})",
                    r.id,
                    mac_line(&d.mac),
                    d.version
                )
            })
        }
        ParticipantsCommand::Resume { id } => {
            let p: Published = client.call(Method::POST, &format!("{}/resume", path(&id)), None)?;
            out.emit(&p, |p| {
                println!("resumed {id} (route version {})", p.version)
            })
        }
    }
}

fn roles(r: &[Role]) -> String {
    r.iter()
        .map(|r| match r {
            Role::Acquirer => "acquirer",
            Role::Issuer => "issuer",
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Key ids and overlap, never key material (the API has none to give).
fn mac_line(m: &MacView) -> String {
    let mut line = match &m.key_id {
        Some(id) => format!("{} key {id}", m.algorithm.name()),
        None => format!("{} key UNAVAILABLE (messages dropped)", m.algorithm.name()),
    };
    if let (Some(prev), Some(ends)) = (&m.previous_key_id, m.overlap_ends_at_ms) {
        let left = ends.saturating_sub(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
        );
        line.push_str(&format!(
            "; previous key {prev} verifies for {} s more",
            left / 1000
        ));
    }
    if let Some(problem) = &m.problem {
        line.push_str(&format!("; {problem}"));
    }
    line
}

fn state(p: &ParticipantView) -> String {
    match (p.spec.suspended, p.signed_off) {
        (true, _) => "suspended".into(),
        (false, true) => "signed-off".into(),
        _ => "active".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlaps_read_as_durations_in_milliseconds() {
        assert_eq!(parse_overlap("10m"), Ok(600_000));
        assert_eq!(parse_overlap("90s"), Ok(90_000));
        assert_eq!(parse_overlap("500ms"), Ok(500));
        assert_eq!(parse_overlap("2h"), Ok(7_200_000));
        assert_eq!(parse_overlap("1d"), Ok(86_400_000));
        assert_eq!(parse_overlap("0"), Ok(0));
        for bad in ["", "10", "m", "10 m", "1y", "-1s", "99999999999999999999d"] {
            assert!(parse_overlap(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn algorithms_have_their_config_names() {
        assert_eq!(parse_algorithm("aes-cmac-64"), Ok(MacAlgorithm::AesCmac64));
        assert_eq!(
            parse_algorithm("hmac-sha256-64"),
            Ok(MacAlgorithm::HmacSha256x64)
        );
        assert!(parse_algorithm("hmac").is_err());
    }
}
