//! The message mix: which request types the acquirers send, and how often.
//!
//! Written `0200:70,0100:10,0220:10,0400:5,0800:5` (weights, not
//! necessarily summing to 100). It becomes a cyclic table laid out by
//! smooth weighted round robin, so request `seq` has type
//! `table[seq % len]`: deterministic, evenly spread, one array read.

use std::fmt;

/// The request types the generator builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RequestKind {
    /// 0100 authorisation request.
    Auth,
    /// 0200 financial request.
    Financial,
    /// 0220 completion advice.
    Completion,
    /// 0400 reversal request.
    Reversal,
    /// 0420 reversal advice.
    ReversalAdvice,
    /// 0800 network management (echo), answered by the switch itself.
    Echo,
}

impl RequestKind {
    pub const ALL: [RequestKind; 6] = [
        RequestKind::Auth,
        RequestKind::Financial,
        RequestKind::Completion,
        RequestKind::Reversal,
        RequestKind::ReversalAdvice,
        RequestKind::Echo,
    ];

    pub fn mti(self) -> &'static [u8; 4] {
        match self {
            RequestKind::Auth => b"0100",
            RequestKind::Financial => b"0200",
            RequestKind::Completion => b"0220",
            RequestKind::Reversal => b"0400",
            RequestKind::ReversalAdvice => b"0420",
            RequestKind::Echo => b"0800",
        }
    }

    /// Whether the request goes to an issuer (routed by PAN).
    pub fn routed(self) -> bool {
        self != RequestKind::Echo
    }

    pub fn index(self) -> usize {
        self as usize
    }

    fn from_mti(s: &str) -> Option<RequestKind> {
        RequestKind::ALL
            .into_iter()
            .find(|k| k.mti() == s.as_bytes())
    }
}

impl fmt::Display for RequestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(std::str::from_utf8(self.mti()).unwrap_or("????"))
    }
}

/// A mix that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MixError {
    #[error("mix entry {entry:?}: write MTI:WEIGHT, e.g. 0200:70")]
    Syntax { entry: String },
    #[error("mix entry {entry:?}: MTI must be one of 0100, 0200, 0220, 0400, 0420, 0800")]
    UnknownMti { entry: String },
    #[error("mix entry {entry:?}: weight must be a whole number 1..=10000")]
    BadWeight { entry: String },
    #[error("mix names {mti} twice; give each MTI once")]
    Repeated { mti: String },
    #[error("mix is empty: give at least one MTI:WEIGHT")]
    Empty,
}

/// Weighted request types as a cyclic table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mix {
    weights: Vec<(RequestKind, u32)>,
    table: Vec<RequestKind>,
}

impl Mix {
    /// Parses `MTI:WEIGHT,...`.
    pub fn parse(text: &str) -> Result<Mix, MixError> {
        let mut weights: Vec<(RequestKind, u32)> = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (mti, weight) = entry.split_once(':').ok_or_else(|| MixError::Syntax {
                entry: entry.into(),
            })?;
            let kind = RequestKind::from_mti(mti.trim()).ok_or_else(|| MixError::UnknownMti {
                entry: entry.into(),
            })?;
            let weight: u32 = weight
                .trim()
                .parse()
                .ok()
                .filter(|w| (1..=10_000).contains(w))
                .ok_or_else(|| MixError::BadWeight {
                    entry: entry.into(),
                })?;
            if weights.iter().any(|(k, _)| *k == kind) {
                return Err(MixError::Repeated {
                    mti: kind.to_string(),
                });
            }
            weights.push((kind, weight));
        }
        if weights.is_empty() {
            return Err(MixError::Empty);
        }
        let g = weights.iter().fold(0, |g, (_, w)| gcd(g, *w));
        for (_, w) in &mut weights {
            *w /= g;
        }
        let table = smooth_round_robin(&weights);
        Ok(Mix { weights, table })
    }

    /// The type of request number `seq`.
    #[inline]
    pub fn pick(&self, seq: u64) -> RequestKind {
        self.table[(seq % self.table.len() as u64) as usize]
    }

    /// One full cycle of the table.
    pub fn cycle(&self) -> &[RequestKind] {
        &self.table
    }

    /// Reduced weights, in the order given.
    pub fn weights(&self) -> &[(RequestKind, u32)] {
        &self.weights
    }

    pub fn uses(&self, kind: RequestKind) -> bool {
        self.weights.iter().any(|(k, _)| *k == kind)
    }
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (k, w)) in self.weights.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{k}:{w}")?;
        }
        Ok(())
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// nginx's smooth weighted round robin: each step every entry gains its
/// weight, the largest current value is picked and pays the total back.
fn smooth_round_robin(weights: &[(RequestKind, u32)]) -> Vec<RequestKind> {
    let total: i64 = weights.iter().map(|(_, w)| i64::from(*w)).sum();
    let mut current = vec![0i64; weights.len()];
    let mut table = Vec::with_capacity(total as usize);
    for _ in 0..total {
        let mut best = 0;
        for (i, (_, w)) in weights.iter().enumerate() {
            current[i] += i64::from(*w);
            if current[i] > current[best] {
                best = i;
            }
        }
        current[best] -= total;
        table.push(weights[best].0);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cycle_holds_each_type_in_proportion_to_its_weight() {
        let mix = Mix::parse("0200:70, 0100:10,0220:10,0400:5,0800:5").unwrap();
        // Weights reduce by their gcd (5): a cycle is 20 requests.
        assert_eq!(mix.cycle().len(), 20);
        let count = |k| mix.cycle().iter().filter(|&&x| x == k).count();
        assert_eq!(count(RequestKind::Financial), 14);
        assert_eq!(count(RequestKind::Auth), 2);
        assert_eq!(count(RequestKind::Echo), 1);
        assert_eq!(mix.pick(20), mix.pick(0));
        assert_eq!(mix.to_string(), "0200:14,0100:2,0220:2,0400:1,0800:1");
    }

    #[test]
    fn heavy_types_are_spread_not_bunched() {
        let mix = Mix::parse("0200:1,0800:1").unwrap();
        assert_eq!(mix.cycle(), &[RequestKind::Financial, RequestKind::Echo]);
    }

    #[test]
    fn bad_mixes_say_what_to_write() {
        assert!(matches!(Mix::parse("0200"), Err(MixError::Syntax { .. })));
        assert!(matches!(
            Mix::parse("0300:1"),
            Err(MixError::UnknownMti { .. })
        ));
        assert!(matches!(
            Mix::parse("0200:0"),
            Err(MixError::BadWeight { .. })
        ));
        assert!(matches!(
            Mix::parse("0200:1,0200:2"),
            Err(MixError::Repeated { .. })
        ));
        assert_eq!(Mix::parse(" , "), Err(MixError::Empty));
    }
}
