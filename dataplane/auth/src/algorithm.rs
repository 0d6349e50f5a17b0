//! The MAC algorithms a participant can be configured with.

use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// A participant's MAC algorithm. Both produce an 8-byte tag: the full MAC
/// truncated to its first 8 bytes, which is what fits fields 64 and 128.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// HMAC-SHA-256 (RFC 2104, FIPS 180-4), the 32-byte MAC truncated to its
    /// first 8 bytes (RFC 4868 style truncation, 64 bits). Config name
    /// `hmac-sha256-64`.
    HmacSha256x64,
    /// AES-128-CMAC (NIST SP 800-38B, RFC 4493), the 16-byte tag truncated to
    /// its first 8 bytes (SP 800-38B allows 64-bit tags; the key must then be
    /// rotated well before 2^32 messages, which rotation through `clearctl`
    /// makes routine). Config name `aes-cmac-64`.
    AesCmac64,
}

impl Algorithm {
    pub const ALL: [Algorithm; 2] = [Algorithm::HmacSha256x64, Algorithm::AesCmac64];

    /// The name used in configuration and in the API.
    pub const fn name(self) -> &'static str {
        match self {
            Self::HmacSha256x64 => "hmac-sha256-64",
            Self::AesCmac64 => "aes-cmac-64",
        }
    }

    /// Key lengths accepted, in bytes (inclusive). HMAC keys shorter than
    /// 16 bytes are refused as too weak; AES-128 takes exactly 16.
    pub const fn key_len(self) -> (usize, usize) {
        match self {
            Self::HmacSha256x64 => (16, 128),
            Self::AesCmac64 => (16, 16),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown MAC algorithm {given:?}; use \"hmac-sha256-64\" or \"aes-cmac-64\"")]
pub struct UnknownAlgorithm {
    pub given: String,
}

impl FromStr for Algorithm {
    type Err = UnknownAlgorithm;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| UnknownAlgorithm {
                given: s.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for a in Algorithm::ALL {
            assert_eq!(a.name().parse::<Algorithm>(), Ok(a));
        }
        let err = "hmac-sha1".parse::<Algorithm>().unwrap_err();
        assert!(err.to_string().contains("aes-cmac-64"), "{err}");
    }
}
