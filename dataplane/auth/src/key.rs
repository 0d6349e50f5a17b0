//! One MAC key with its keyed state computed once.
//!
//! HMAC's inner and outer pad states and AES's round keys (plus CMAC's two
//! subkeys) are derived when the key is built. Each MAC then clones that
//! state (a plain copy of a few hundred bytes) instead of running a key
//! schedule per message. Key bytes themselves are not kept: only the keyed
//! state and a SHA-256 fingerprint.

use crate::algorithm::Algorithm;
use aes::Aes128;
use cmac::Cmac;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;
use thiserror::Error;

/// Bytes of a MAC on the wire (binary fields 64/128).
pub const TAG_LEN: usize = 8;

/// A truncated MAC.
pub type Tag = [u8; TAG_LEN];

/// A key's public name: the first 4 bytes of SHA-256 of the key, shown as
/// 8 lower-case hex digits. Safe to print, log and return from the API.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; 4]);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// Why key bytes were refused. Never carries key material.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    /// The character itself is not shown: it sits among key material.
    #[error("key text has a character that is not a hex digit at position {offset}; a key is hex digits (0-9, a-f), whitespace ignored")]
    NotHex { offset: usize },
    #[error("key text has an odd number of hex digits ({digits}); a key is whole bytes, two digits each")]
    OddDigits { digits: usize },
    #[error("{algorithm} needs a key of {min} to {max} bytes (two hex digits a byte); this one has {len} bytes")]
    BadLength {
        algorithm: Algorithm,
        len: usize,
        min: usize,
        max: usize,
    },
}

#[derive(Clone)]
enum Keyed {
    Hmac(Hmac<Sha256>),
    /// Boxed: ~750 bytes (AES round keys for both the AES-NI and the
    /// software path). The box is made once per key; a MAC copies the
    /// state out of it onto the stack, never allocating.
    Cmac(Box<Cmac<Aes128>>),
}

/// A key ready to MAC: algorithm, fingerprint and precomputed keyed state.
#[derive(Clone)]
pub struct MacKey {
    algorithm: Algorithm,
    fingerprint: [u8; 32],
    keyed: Keyed,
}

impl fmt::Debug for MacKey {
    // Never the key: only what the API may show.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MacKey")
            .field("algorithm", &self.algorithm)
            .field("id", &self.id())
            .finish()
    }
}

/// Keys are equal when algorithm and the full SHA-256 of the key agree.
impl PartialEq for MacKey {
    fn eq(&self, other: &Self) -> bool {
        self.algorithm == other.algorithm && self.fingerprint == other.fingerprint
    }
}

impl Eq for MacKey {}

impl MacKey {
    /// Builds a key from raw bytes, checking the length the algorithm takes.
    pub fn new(algorithm: Algorithm, key: &[u8]) -> Result<Self, KeyError> {
        let (min, max) = algorithm.key_len();
        if !(min..=max).contains(&key.len()) {
            return Err(KeyError::BadLength {
                algorithm,
                len: key.len(),
                min,
                max,
            });
        }
        Ok(Self::build(algorithm, key))
    }

    /// Builds a key from hex text (a key file's contents); whitespace,
    /// including line breaks, is ignored.
    pub fn from_hex(algorithm: Algorithm, text: &str) -> Result<Self, KeyError> {
        // At most 128 key bytes: a fixed buffer, so the key never lands in
        // a heap allocation that outlives this call.
        let mut bytes = [0u8; 128];
        let mut len = 0usize;
        let mut high: Option<u8> = None;
        let mut digits = 0usize;
        for (offset, c) in text.chars().enumerate() {
            if c.is_ascii_whitespace() {
                continue;
            }
            let Some(v) = c.to_digit(16) else {
                bytes.fill(0);
                return Err(KeyError::NotHex { offset });
            };
            digits += 1;
            match high.take() {
                None => high = Some(v as u8),
                Some(h) => {
                    if len < bytes.len() {
                        bytes[len] = h << 4 | v as u8;
                    }
                    len += 1;
                }
            }
        }
        if high.is_some() {
            bytes.fill(0);
            return Err(KeyError::OddDigits { digits });
        }
        let (min, max) = algorithm.key_len();
        if !(min..=max).contains(&len) {
            bytes.fill(0);
            return Err(KeyError::BadLength {
                algorithm,
                len,
                min,
                max,
            });
        }
        let key = Self::build(algorithm, &bytes[..len]);
        bytes.fill(0);
        // Keep the wipe: the buffer is dead after it, which invites the
        // optimiser to drop the stores.
        std::hint::black_box(&bytes);
        Ok(key)
    }

    /// Any key length the algorithm itself accepts (RFC test vectors use
    /// 4-byte HMAC keys); policy checks are in [`MacKey::new`].
    pub(crate) fn build(algorithm: Algorithm, key: &[u8]) -> Self {
        let keyed = match algorithm {
            // HMAC takes keys of any length: new_from_slice cannot fail.
            Algorithm::HmacSha256x64 => Keyed::Hmac(
                <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts any key length"),
            ),
            Algorithm::AesCmac64 => {
                let mut k = [0u8; 16];
                let n = key.len().min(16);
                k[..n].copy_from_slice(&key[..n]);
                debug_assert_eq!(key.len(), 16, "AES-128 keys are 16 bytes");
                Keyed::Cmac(Box::new(<Cmac<Aes128> as cmac::digest::KeyInit>::new(
                    &k.into(),
                )))
            }
        };
        Self {
            algorithm,
            fingerprint: Sha256::digest(key).into(),
            keyed,
        }
    }

    pub const fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The key's public name (first 4 bytes of SHA-256 of the key).
    pub fn id(&self) -> KeyId {
        KeyId([
            self.fingerprint[0],
            self.fingerprint[1],
            self.fingerprint[2],
            self.fingerprint[3],
        ])
    }

    /// The full MAC of `data` (32 bytes for HMAC-SHA-256, 16 for CMAC),
    /// written into `out`; returns its length. For test vectors.
    pub(crate) fn full_mac(&self, data: &[u8], out: &mut [u8; 32]) -> usize {
        match &self.keyed {
            Keyed::Hmac(h) => {
                let mut m = h.clone();
                m.update(data);
                out.copy_from_slice(&m.finalize().into_bytes());
                32
            }
            Keyed::Cmac(c) => {
                let mut m = Cmac::<Aes128>::clone(c);
                Mac::update(&mut m, data);
                out[..16].copy_from_slice(&m.finalize().into_bytes());
                16
            }
        }
    }

    /// The 8-byte MAC of `data`: the first 8 bytes of the full MAC.
    #[inline]
    pub fn tag(&self, data: &[u8]) -> Tag {
        let mut full = [0u8; 32];
        self.full_mac(data, &mut full);
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&full[..TAG_LEN]);
        tag
    }

    /// Whether `tag` is the MAC of `data`, compared in constant time.
    #[inline]
    pub fn verify(&self, data: &[u8], tag: &Tag) -> bool {
        self.tag(data).ct_eq(tag).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
        let mut out = [0u8; 32];
        let n = MacKey::build(Algorithm::HmacSha256x64, key).full_mac(data, &mut out);
        out[..n].to_vec()
    }

    /// RFC 4231 section 4: HMAC-SHA-256 test cases 1-7.
    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        let aa131 = [0xaau8; 131];
        let key4: Vec<u8> = (1..=25).collect();
        let cases: [(&[u8], &[u8], &str); 7] = [
            (&[0x0b; 20], b"Hi There",
             "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (b"Jefe", b"what do ya want for nothing?",
             "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            (&[0xaa; 20], &[0xdd; 50],
             "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
            (&key4, &[0xcd; 50],
             "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
            // Case 5 publishes only the 128-bit truncation.
            (&[0x0c; 20], b"Test With Truncation", "a3b6167473100ee06e0c796c2955552b"),
            (&aa131, b"Test Using Larger Than Block-Size Key - Hash Key First",
             "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
            (&aa131, b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.",
             "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
        ];
        for (i, (key, data, expected)) in cases.iter().enumerate() {
            let expected = hex(expected);
            let full = hmac(key, data);
            assert_eq!(
                &full[..expected.len()],
                &expected[..],
                "RFC 4231 case {}",
                i + 1
            );
            let tag = MacKey::build(Algorithm::HmacSha256x64, key).tag(data);
            assert_eq!(&tag[..], &expected[..8], "truncated, case {}", i + 1);
        }
    }

    /// RFC 4493 section 4 (= NIST SP 800-38B appendix D.1): AES-128-CMAC.
    #[test]
    fn aes_cmac_matches_rfc_4493() {
        let key = hex("2b7e1516 28aed2a6 abf71588 09cf4f3c");
        let m = hex(
            "6bc1bee2 2e409f96 e93d7e11 7393172a ae2d8a57 1e03ac9c 9eb76fac 45af8e51
             30c81c46 a35ce411 e5fbc119 1a0a52ef f69f2445 df4f9b17 ad2b417b e66c3710",
        );
        let cases = [
            (0, "bb1d6929 e9593728 7fa37d12 9b756746"),
            (16, "070a16b4 6b4d4144 f79bdd9d d04a287c"),
            (40, "dfa66747 de9ae630 30ca3261 1497c827"),
            (64, "51f0bebf 7e3b9d92 fc497417 79363cfe"),
        ];
        let k = MacKey::new(Algorithm::AesCmac64, &key).unwrap();
        for (len, expected) in cases {
            let expected = hex(expected);
            let mut out = [0u8; 32];
            let n = k.full_mac(&m[..len], &mut out);
            assert_eq!(&out[..n], &expected[..], "RFC 4493, Mlen = {len}");
            assert_eq!(
                &k.tag(&m[..len])[..],
                &expected[..8],
                "truncated, Mlen = {len}"
            );
            assert!(k.verify(&m[..len], &expected[..8].try_into().unwrap()));
        }
    }

    #[test]
    fn hex_keys_ignore_whitespace_and_name_the_bad_character() {
        let text = "2b7e1516 28aed2a6\nABF71588 09cf4f3c\n";
        let a = MacKey::from_hex(Algorithm::AesCmac64, text).unwrap();
        let b = MacKey::new(Algorithm::AesCmac64, &hex(text)).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            MacKey::from_hex(Algorithm::AesCmac64, "2b7g").unwrap_err(),
            KeyError::NotHex { offset: 3 }
        );
        assert_eq!(
            MacKey::from_hex(Algorithm::AesCmac64, "abc").unwrap_err(),
            KeyError::OddDigits { digits: 3 }
        );
    }

    #[test]
    fn key_lengths_follow_the_algorithm() {
        let short = MacKey::from_hex(Algorithm::HmacSha256x64, "00112233").unwrap_err();
        assert!(matches!(
            short,
            KeyError::BadLength {
                len: 4,
                min: 16,
                ..
            }
        ));
        assert!(MacKey::new(Algorithm::AesCmac64, &[7; 32]).is_err());
        assert!(MacKey::new(Algorithm::HmacSha256x64, &[7; 32]).is_ok());
        assert!(MacKey::new(Algorithm::HmacSha256x64, &[7; 129]).is_err());
    }

    #[test]
    fn debug_and_id_never_show_the_key() {
        let key = [0x5a; 16];
        let k = MacKey::new(Algorithm::AesCmac64, &key).unwrap();
        let shown = format!("{k:?} {}", k.id());
        assert!(!shown.to_lowercase().contains("5a5a5a"), "{shown}");
        // id = first 4 bytes of SHA-256(key)
        let digest = Sha256::digest(key);
        assert_eq!(k.id().0, [digest[0], digest[1], digest[2], digest[3]]);
        assert_eq!(k.id().to_string().len(), 8);
    }
}
