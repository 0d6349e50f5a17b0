//! Operator participant specs ↔ the switch's `Participant`, checked field
//! by field so every refusal names the field and what to write instead.

use crate::error::ControlError;
use crate::types::{ParticipantPatch, ParticipantSpec, Role};
use std::net::SocketAddrV4;
use std::time::Duration;
use switch::routes::{Participant, RateLimit, Roles};

/// Longest participant id (it goes into journal records and file names).
pub const MAX_ID_LEN: usize = 64;
/// Most sources or institution ids per participant (one journal record).
pub const MAX_LIST_LEN: usize = 16;

fn invalid(field: &str, message: String) -> ControlError {
    ControlError::Invalid {
        field: field.to_string(),
        message,
    }
}

/// Ids are what operators type: letters, digits, `-`, `_`, `.`.
pub fn check_id(id: &str) -> Result<(), ControlError> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "id",
            format!("{id:?} must be 1-{MAX_ID_LEN} letters, digits, '-', '_' or '.'"),
        ))
    }
}

fn parse_addr(field: &str, s: &str) -> Result<SocketAddrV4, ControlError> {
    s.parse().map_err(|_| {
        invalid(
            field,
            format!("{s:?} is not an IPv4 address with port, like 10.0.0.10:40000"),
        )
    })
}

/// Parses "02:00:00:00:00:20".
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for byte in mac.iter_mut() {
        let p = parts.next()?;
        if p.len() != 2 {
            return None;
        }
        *byte = u8::from_str_radix(p, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

/// Checks `spec` and builds the switch's view of it. `signed_off` is
/// switch state carried over from the running participant.
pub fn to_participant(
    spec: &ParticipantSpec,
    signed_off: bool,
) -> Result<Participant, ControlError> {
    check_id(&spec.id)?;
    if spec.roles.is_empty() {
        return Err(invalid(
            "roles",
            "give at least one of acquirer, issuer".to_string(),
        ));
    }
    if spec.sources.is_empty() {
        return Err(invalid(
            "sources",
            "give the ip:port the participant sends from".to_string(),
        ));
    }
    for (field, len) in [
        ("sources", spec.sources.len()),
        ("institution_ids", spec.institution_ids.len()),
    ] {
        if len > MAX_LIST_LEN {
            return Err(invalid(
                field,
                format!("{len} entries; at most {MAX_LIST_LEN} per participant"),
            ));
        }
    }
    let sources = spec
        .sources
        .iter()
        .map(|s| parse_addr("sources", s))
        .collect::<Result<Vec<_>, _>>()?;
    let next_hop = match &spec.next_hop {
        Some(s) => parse_addr("next_hop", s)?,
        None => sources[0],
    };
    let next_hop_mac = match &spec.next_hop_mac {
        Some(s) => Some(parse_mac(s).ok_or_else(|| {
            invalid(
                "next_hop_mac",
                format!("{s:?} is not a MAC like 02:00:00:00:00:20"),
            )
        })?),
        None => None,
    };
    if spec.timeout_ms == Some(0) {
        return Err(invalid(
            "timeout_ms",
            "must be above 0; leave it out for the switch default".to_string(),
        ));
    }
    let rate_limit = match spec.rate_limit {
        None => None,
        Some(r) => {
            let burst = r.burst.unwrap_or((r.per_second / 10).max(1));
            if r.per_second == 0 || burst == 0 {
                return Err(invalid(
                    "rate_limit",
                    "per_second and burst must be at least 1; leave rate_limit out for no limit"
                        .to_string(),
                ));
            }
            Some(RateLimit {
                per_second: r.per_second,
                burst,
            })
        }
    };
    Ok(Participant {
        id: spec.id.clone(),
        roles: Roles {
            acquirer: spec.roles.contains(&Role::Acquirer),
            issuer: spec.roles.contains(&Role::Issuer),
        },
        institution_ids: spec.institution_ids.clone(),
        sources,
        next_hop,
        next_hop_mac,
        timeout: spec.timeout_ms.map(Duration::from_millis),
        suspended: spec.suspended,
        signed_off,
        rate_limit,
        // Keys are loaded by the control plane (file I/O, kept across
        // updates), never rebuilt from the spec here.
        mac: None,
    })
}

/// `spec` with the fields `patch` gives replaced.
pub fn apply_patch(spec: &ParticipantSpec, patch: &ParticipantPatch) -> ParticipantSpec {
    let mut next = spec.clone();
    if let Some(v) = &patch.roles {
        next.roles = v.clone();
    }
    if let Some(v) = &patch.institution_ids {
        next.institution_ids = v.clone();
    }
    if let Some(v) = &patch.sources {
        next.sources = v.clone();
    }
    if let Some(v) = &patch.next_hop {
        next.next_hop = Some(v.clone());
    }
    if let Some(v) = &patch.next_hop_mac {
        next.next_hop_mac = Some(v.clone());
    }
    if let Some(v) = patch.timeout_ms {
        next.timeout_ms = Some(v);
    }
    if let Some(v) = patch.rate_limit {
        next.rate_limit = Some(v);
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ParticipantSpec {
        ParticipantSpec {
            id: "bank-a".into(),
            roles: vec![Role::Acquirer],
            institution_ids: vec![],
            sources: vec!["10.0.0.10:40000".into()],
            next_hop: None,
            next_hop_mac: Some("02:00:00:00:00:10".into()),
            timeout_ms: None,
            suspended: false,
            rate_limit: None,
            mac: None,
        }
    }

    #[test]
    fn next_hop_defaults_to_the_first_source() {
        let p = to_participant(&spec(), false).unwrap();
        assert_eq!(p.next_hop, "10.0.0.10:40000".parse().unwrap());
        assert_eq!(p.next_hop_mac, Some([2, 0, 0, 0, 0, 0x10]));
    }

    #[test]
    fn every_refusal_names_its_field() {
        type Mutation = Box<dyn Fn(&mut ParticipantSpec)>;
        let cases: Vec<(&str, Mutation)> = vec![
            ("id", Box::new(|s| s.id = "bank a".into())),
            ("id", Box::new(|s| s.id = String::new())),
            ("roles", Box::new(|s| s.roles.clear())),
            ("sources", Box::new(|s| s.sources = vec!["10.0.0.1".into()])),
            ("sources", Box::new(|s| s.sources.clear())),
            ("next_hop", Box::new(|s| s.next_hop = Some("x:1".into()))),
            (
                "next_hop_mac",
                Box::new(|s| s.next_hop_mac = Some("02:00".into())),
            ),
            ("timeout_ms", Box::new(|s| s.timeout_ms = Some(0))),
        ];
        for (field, mutate) in cases {
            let mut s = spec();
            mutate(&mut s);
            match to_participant(&s, false) {
                Err(ControlError::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: expected Invalid, got {other:?}"),
            }
        }
    }

    #[test]
    fn macs_parse_strictly() {
        assert_eq!(parse_mac("02:00:00:00:00:2a"), Some([2, 0, 0, 0, 0, 0x2a]));
        assert_eq!(parse_mac("02:00:00:00:00"), None);
        assert_eq!(parse_mac("02:00:00:00:00:00:00"), None);
        assert_eq!(parse_mac("02:00:00:00:00:zz"), None);
    }

    #[test]
    fn a_patch_changes_only_what_it_names() {
        let patch = ParticipantPatch {
            timeout_ms: Some(2500),
            ..Default::default()
        };
        let next = apply_patch(&spec(), &patch);
        assert_eq!(next.timeout_ms, Some(2500));
        assert_eq!(next.sources, spec().sources);
    }
}
