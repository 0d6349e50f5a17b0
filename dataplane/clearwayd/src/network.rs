//! Participants and routes as clearway.toml describes them, and the route
//! snapshot the switch lcores run on.

use std::collections::HashMap;
use std::net::SocketAddrV4;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use switch::bin_table::BinTableBuilder;
use switch::routes::{Participant, Roles, RouteSnapshot};
use switch::ParticipantIdx;

/// One `[[participants]]` entry (the same fields as the control plane's
/// `ParticipantSpec`, which the API takes).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ParticipantConfig {
    pub id: String,
    /// "acquirer", "issuer" or both.
    pub roles: Vec<Role>,
    /// Field 100 values routed to this participant.
    #[serde(default)]
    pub institution_ids: Vec<String>,
    /// Source ip:port its messages come from.
    pub sources: Vec<SocketAddrV4>,
    /// Where requests for it (as an issuer) are sent; defaults to the first source.
    pub next_hop: Option<SocketAddrV4>,
    /// Static MAC of the next hop ("02:00:00:00:00:20"); learnt by ARP otherwise.
    pub next_hop_mac: Option<String>,
    /// Issuer timeout in milliseconds (default: `[switch] timeout_ms`).
    pub timeout_ms: Option<u64>,
    #[serde(default)]
    pub suspended: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Acquirer,
    Issuer,
}

/// One `[[routes]]` entry: card numbers starting with `prefix` go to `participant`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    pub prefix: String,
    pub participant: String,
}

/// Parses "02:00:00:00:00:20".
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return None;
    }
    let mut mac = [0u8; 6];
    for (i, p) in parts.iter().enumerate() {
        if p.len() != 2 {
            return None;
        }
        mac[i] = u8::from_str_radix(p, 16).ok()?;
    }
    Some(mac)
}

/// Builds the snapshot, or says what is wrong in the operator's terms.
pub fn build_snapshot(
    participants: &[ParticipantConfig],
    routes: &[RouteConfig],
) -> Result<RouteSnapshot, String> {
    let mut list = Vec::with_capacity(participants.len());
    let mut index = HashMap::new();
    for (i, p) in participants.iter().enumerate() {
        if index
            .insert(p.id.as_str(), ParticipantIdx(i as u32))
            .is_some()
        {
            return Err(format!("[[participants]] id {:?} appears twice", p.id));
        }
        let next_hop_mac = match &p.next_hop_mac {
            Some(s) => Some(parse_mac(s).ok_or_else(|| {
                format!(
                    "participant {:?}: next_hop_mac {s:?} is not a MAC like 02:00:00:00:00:20",
                    p.id
                )
            })?),
            None => None,
        };
        let next_hop = p
            .next_hop
            .or_else(|| p.sources.first().copied())
            .ok_or_else(|| {
                format!(
                    "participant {:?}: give sources (and next_hop for an issuer)",
                    p.id
                )
            })?;
        list.push(Participant {
            id: p.id.clone(),
            roles: Roles {
                acquirer: p.roles.contains(&Role::Acquirer),
                issuer: p.roles.contains(&Role::Issuer),
            },
            institution_ids: p.institution_ids.clone(),
            sources: p.sources.clone(),
            next_hop,
            next_hop_mac,
            timeout: p.timeout_ms.map(Duration::from_millis),
            suspended: p.suspended,
            signed_off: false,
        });
    }
    let mut bins = BinTableBuilder::with_capacity(routes.len());
    for r in routes {
        let Some(&idx) = index.get(r.participant.as_str()) else {
            return Err(format!(
                "[[routes]] prefix {:?} names participant {:?}, which is not in [[participants]]",
                r.prefix, r.participant
            ));
        };
        if !list[idx.0 as usize].roles.issuer {
            return Err(format!(
                "[[routes]] prefix {:?}: participant {:?} is not an issuer",
                r.prefix, r.participant
            ));
        }
        bins.insert(r.prefix.as_bytes(), idx)
            .map_err(|e| format!("[[routes]] prefix {:?}: {e}", r.prefix))?;
    }
    let bins = bins.build().map_err(|e| format!("[[routes]]: {e}"))?;
    RouteSnapshot::new(list, Arc::new(bins)).map_err(|e| format!("[[participants]]: {e}"))
}

/// The configuration's participants and routes in the control plane's types.
pub fn control_specs(
    participants: &[ParticipantConfig],
    routes: &[RouteConfig],
) -> Result<
    (
        Vec<control::types::ParticipantSpec>,
        Vec<control::types::RouteRow>,
    ),
    String,
> {
    let specs = serde_json::to_value(participants)
        .and_then(serde_json::from_value)
        .map_err(|e| format!("[[participants]] for the control plane: {e}"))?;
    let rows = serde_json::to_value(routes)
        .and_then(serde_json::from_value)
        .map_err(|e| format!("[[routes]] for the control plane: {e}"))?;
    Ok((specs, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_parse_strictly() {
        assert_eq!(parse_mac("02:00:00:00:00:2a"), Some([2, 0, 0, 0, 0, 0x2a]));
        assert_eq!(parse_mac("02:00:00:00:00"), None);
        assert_eq!(parse_mac("02:00:00:00:00:zz"), None);
    }
}
