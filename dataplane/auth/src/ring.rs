//! A participant's keys: the current one, and during a rotation the
//! previous one until the overlap deadline.

use crate::key::{MacKey, Tag};
use std::fmt;

/// Which key of a ring verified a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUsed {
    Current,
    /// The previous key, inside the rotation overlap: the participant has
    /// not switched to the new key yet.
    Previous,
}

/// No key of the ring verified the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mismatch;

/// A participant's MAC keys. Immutable: a rotation builds a new ring
/// ([`KeyRing::rotate`]) that the control plane publishes in the next route
/// snapshot.
///
/// A ring may have no current key ([`KeyRing::unavailable`]): the
/// participant is keyed but its key could not be loaded (say, its key file
/// changed since the rotation was journaled). It fails closed: nothing
/// verifies and nothing can be signed for it until a new key is rotated in.
///
/// Time is whatever monotonic `u64` the caller uses (the switch: TSC
/// ticks); the ring only compares it with the overlap deadline, so the
/// builder of the ring and the caller of [`KeyRing::verify`] must use the
/// same clock.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyRing {
    current: Option<MacKey>,
    previous: Option<(MacKey, u64)>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("KeyRing");
        d.field("current", &self.current);
        if let Some((key, until)) = &self.previous {
            d.field("previous", key).field("overlap_until", until);
        }
        d.finish()
    }
}

impl KeyRing {
    /// A ring with one key and no overlap.
    pub fn new(current: MacKey) -> Self {
        Self {
            current: Some(current),
            previous: None,
        }
    }

    /// A ring that verifies nothing and signs nothing (fail closed).
    pub fn unavailable() -> Self {
        Self {
            current: None,
            previous: None,
        }
    }

    /// A ring whose `previous` key still verifies while `now < until`.
    pub fn with_previous(current: MacKey, previous: MacKey, until: u64) -> Self {
        Self {
            current: Some(current),
            previous: Some((previous, until)),
        }
    }

    /// The ring after rotating to `next`: this ring's current key (if it
    /// has one) becomes the previous one and verifies until `until`.
    pub fn rotate(&self, next: MacKey, until: u64) -> Self {
        Self {
            current: Some(next),
            previous: self.current.clone().map(|k| (k, until)),
        }
    }

    /// The key that signs everything sent to the participant; `None` for
    /// an unavailable ring.
    pub fn current(&self) -> Option<&MacKey> {
        self.current.as_ref()
    }

    /// The previous key and the end of its overlap, if a rotation left one
    /// (it may already be past its deadline).
    pub fn previous(&self) -> Option<(&MacKey, u64)> {
        self.previous.as_ref().map(|(k, until)| (k, *until))
    }

    /// Whether the previous key still verifies at `now`.
    #[inline]
    pub fn in_overlap(&self, now: u64) -> bool {
        self.previous
            .as_ref()
            .is_some_and(|(_, until)| now < *until)
    }

    /// The tag to send: always the current key's (`None` when the ring is
    /// unavailable).
    #[inline]
    pub fn sign(&self, data: &[u8]) -> Option<Tag> {
        self.current.as_ref().map(|k| k.tag(data))
    }

    /// Checks `tag` against the current key, then (inside the overlap) the
    /// previous one. Each comparison is constant-time; which key matched
    /// is not secret.
    #[inline]
    pub fn verify(&self, data: &[u8], tag: &Tag, now: u64) -> Result<KeyUsed, Mismatch> {
        if self.current.as_ref().is_some_and(|k| k.verify(data, tag)) {
            return Ok(KeyUsed::Current);
        }
        match &self.previous {
            Some((key, until)) if now < *until && key.verify(data, tag) => Ok(KeyUsed::Previous),
            _ => Err(Mismatch),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Algorithm;

    fn key(b: u8) -> MacKey {
        MacKey::new(Algorithm::HmacSha256x64, &[b; 32]).unwrap()
    }

    #[test]
    fn the_previous_key_verifies_only_until_the_overlap_deadline() {
        let old = KeyRing::new(key(1));
        let ring = old.rotate(key(2), 1_000);
        let data = b"0200 request";
        let by_old = old.sign(data).unwrap();
        let by_new = ring.sign(data).unwrap();
        assert_ne!(by_old, by_new);
        assert_eq!(ring.verify(data, &by_new, 0), Ok(KeyUsed::Current));
        assert_eq!(ring.verify(data, &by_old, 999), Ok(KeyUsed::Previous));
        assert_eq!(ring.verify(data, &by_old, 1_000), Err(Mismatch));
        assert_eq!(ring.verify(data, &by_new, 5_000), Ok(KeyUsed::Current));
        assert!(ring.in_overlap(999) && !ring.in_overlap(1_000));
    }

    #[test]
    fn a_ring_with_one_key_refuses_any_other_keys_tag() {
        let ring = KeyRing::new(key(1));
        let data = b"0200";
        assert_eq!(ring.verify(data, &key(9).tag(data), 0), Err(Mismatch));
        assert!(!ring.in_overlap(0));
    }

    #[test]
    fn an_unavailable_ring_verifies_and_signs_nothing_until_a_key_is_rotated_in() {
        let ring = KeyRing::unavailable();
        let data = b"0200";
        assert_eq!(ring.verify(data, &key(1).tag(data), 0), Err(Mismatch));
        assert_eq!(ring.sign(data), None);
        let ring = ring.rotate(key(1), 100);
        assert!(ring.previous().is_none(), "nothing to overlap with");
        assert_eq!(
            ring.verify(data, &key(1).tag(data), 0),
            Ok(KeyUsed::Current)
        );
    }

    #[test]
    fn rotation_signs_with_the_new_key_and_debug_shows_ids_only() {
        let ring = KeyRing::new(key(1)).rotate(key(2), 10);
        assert_eq!(ring.sign(b"x"), Some(key(2).tag(b"x")));
        assert_eq!(
            ring.previous().map(|(k, t)| (k.id(), t)),
            Some((key(1).id(), 10))
        );
        let shown = format!("{ring:?}");
        assert!(shown.contains(&key(2).id().to_string()), "{shown}");
        assert!(!shown.contains("0101"), "{shown}");
    }
}
