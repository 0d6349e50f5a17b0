//! The issuer simulator: decides each request's fate and answers in place.
//!
//! Decisions are deterministic functions of the request (PAN, amount and
//! the transaction key carried in field 37), so a rerun declines and
//! ignores exactly the same transactions. The answer reuses the request's
//! buffer: response MTI, 39 (and 38 when approved), sender fields dropped,
//! lengths and checksums fixed, addresses and ports swapped back to the
//! switch's lcore port the request came from.

use wire::iso8583::{self, build_response, FieldIndex, ResponsePolicy, Spec};
use wire::net::headers::Headers;
use wire::net::rewrite::{reflect_udp, set_udp_payload_len};

use crate::digits::{in_share, mix64, share_threshold};
use crate::latency::us_to_ticks;
use crate::profile::IssuerConfig;

/// What the issuer does with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Never answers (the switch's timeout path).
    Silent,
    /// Answers with this field 39.
    Answer([u8; 2]),
}

#[derive(Debug, Clone)]
struct Rule {
    pan_prefix: Option<Vec<u8>>,
    amount_over: Option<u64>,
    share: Option<u64>,
    code: [u8; 2],
}

/// One simulated issuer.
#[derive(Debug, Clone)]
pub struct IssuerSim {
    pub delay_ticks: u64,
    silent: u64,
    rules: Vec<Rule>,
}

/// Salts so the silent and the decline draws are independent.
const SILENT_SALT: u64 = 0x5149_4c45_4e54;
const RULE_SALT: u64 = 0x5255_4c45;

impl IssuerSim {
    /// From a validated profile entry; `hz` converts the delay to ticks.
    pub fn new(cfg: &IssuerConfig, hz: u64) -> IssuerSim {
        let rules = cfg
            .rules
            .iter()
            .map(|r| {
                let c = r.code.as_bytes();
                Rule {
                    pan_prefix: r.pan_prefix.as_ref().map(|p| p.as_bytes().to_vec()),
                    amount_over: r.amount_over,
                    share: r.share.map(share_threshold),
                    code: [
                        c.first().copied().unwrap_or(b'9'),
                        c.get(1).copied().unwrap_or(b'6'),
                    ],
                }
            })
            .collect();
        IssuerSim {
            delay_ticks: us_to_ticks(cfg.delay_us, hz),
            silent: share_threshold(cfg.silent_share),
            rules,
        }
    }

    /// The fate of a request with this PAN, amount and transaction key.
    pub fn decide(&self, pan: &[u8], amount: Option<u64>, key: u64) -> Decision {
        if in_share(mix64(key ^ SILENT_SALT), self.silent) {
            return Decision::Silent;
        }
        let draw = mix64(key ^ RULE_SALT);
        for rule in &self.rules {
            let prefix_ok = match &rule.pan_prefix {
                Some(p) => pan.starts_with(p),
                None => true,
            };
            let amount_ok = match rule.amount_over {
                Some(limit) => amount.is_some_and(|a| a > limit),
                None => true,
            };
            let share_ok = match rule.share {
                Some(t) => in_share(draw, t),
                None => true,
            };
            if prefix_ok && amount_ok && share_ok {
                return Decision::Answer(rule.code);
            }
        }
        Decision::Answer(*b"00")
    }
}

/// An answer that could not be built from the request.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error("issuer answer: ISO 8583: {0}")]
    Iso(#[from] iso8583::Error),
    #[error("issuer answer: headers: {0}")]
    Net(#[from] wire::net::Error),
}

/// Turns the request frame in `buf` (its whole capacity; `headers` parsed
/// from its start) into the issuer's response to the sender, in place.
/// `index` is the request's field index (from the message after the frame
/// header). Returns the new frame length.
pub fn answer_in_place(
    buf: &mut [u8],
    headers: &Headers,
    index: &FieldIndex,
    spec: &Spec,
    code: &[u8; 2],
    auth_id: Option<&[u8]>,
) -> Result<usize, AnswerError> {
    let frame_at = headers.payload;
    let msg_at = frame_at + wire::frame::HEADER_LEN;
    let policy = ResponsePolicy::default();
    let len = build_response(&mut buf[msg_at..], index, spec, code, auth_id, &policy)?;
    buf[frame_at..msg_at].copy_from_slice(&(len as u16).to_be_bytes());
    let end = msg_at + len;
    let resized = set_udp_payload_len(&mut buf[..end], headers, wire::frame::HEADER_LEN + len)?;
    reflect_udp(&mut buf[..end], &resized)?;
    Ok(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::RuleConfig;

    fn cfg(silent: f64, rules: Vec<RuleConfig>) -> IssuerConfig {
        IssuerConfig {
            ip: "10.0.2.1".parse().unwrap(),
            port: 9001,
            bins: vec!["4".into()],
            delay_us: 250,
            silent_share: silent,
            rules,
        }
    }

    fn rule(prefix: Option<&str>, over: Option<u64>, share: Option<f64>, code: &str) -> RuleConfig {
        RuleConfig {
            pan_prefix: prefix.map(Into::into),
            amount_over: over,
            share,
            code: code.into(),
        }
    }

    #[test]
    fn first_matching_rule_decides_and_the_rest_approve() {
        let sim = IssuerSim::new(
            &cfg(
                0.0,
                vec![
                    rule(Some("4999"), None, None, "14"),
                    rule(None, Some(1000), None, "51"),
                ],
            ),
            1_000_000_000,
        );
        assert_eq!(sim.delay_ticks, 250_000);
        assert_eq!(
            sim.decide(b"4999000011112222", Some(5), 1),
            Decision::Answer(*b"14")
        );
        assert_eq!(
            sim.decide(b"4000000011112222", Some(1001), 1),
            Decision::Answer(*b"51")
        );
        assert_eq!(
            sim.decide(b"4000000011112222", Some(1000), 1),
            Decision::Answer(*b"00")
        );
        assert_eq!(
            sim.decide(b"", None, 1),
            Decision::Answer(*b"00"),
            "no amount never exceeds"
        );
    }

    #[test]
    fn shares_are_reproducible_and_roughly_sized() {
        let sim = IssuerSim::new(&cfg(0.1, vec![rule(None, None, Some(0.2), "05")]), 1);
        let fates: Vec<Decision> = (0..20_000).map(|k| sim.decide(b"4", Some(1), k)).collect();
        let again: Vec<Decision> = (0..20_000).map(|k| sim.decide(b"4", Some(1), k)).collect();
        assert_eq!(fates, again);
        let silent = fates.iter().filter(|d| **d == Decision::Silent).count();
        let declined = fates
            .iter()
            .filter(|d| **d == Decision::Answer(*b"05"))
            .count();
        assert!((1_700..2_300).contains(&silent), "{silent}");
        // 20% of the 90% answered.
        assert!((3_200..4_000).contains(&declined), "{declined}");
    }
}
