//! Per-participant message authentication for the Clearway switch.
//!
//! What it is: the MAC algorithms a participant may be configured with
//! ([`Algorithm`]: HMAC-SHA-256 truncated to 8 bytes, AES-128-CMAC truncated to
//! 8 bytes), keys whose keyed state is computed once ([`MacKey`]), a
//! participant's [`KeyRing`] (the current key, plus the previous one during a
//! rotation's overlap), and the ISO 8583 operations the lcore runs on every
//! message of a keyed participant: [`verify`], [`seal`], [`append`] and
//! [`seal_or_append`] over the MAC field (64, or 128 when a secondary bitmap is
//! present), described for a spec by a [`MacFormat`].
//!
//! What it is not: a key store. Keys come from the control plane (which reads
//! key files and never returns key material through the API); nothing here
//! reads files or clocks. Time is an abstract monotonic `u64` the caller
//! passes (the switch passes TSC ticks) and compares with a ring's overlap
//! deadline.
//!
//! Hot path: [`verify`] and [`seal`] clone a precomputed keyed state (a few
//! hundred bytes copied, no key schedule), hash the message once, and compare
//! in constant time. No allocation, lock or system call.
#![forbid(unsafe_code)]

mod algorithm;
mod key;
mod message;
mod ring;

pub use algorithm::{Algorithm, UnknownAlgorithm};
pub use key::{KeyError, KeyId, MacKey, Tag, TAG_LEN};
pub use message::{
    append, mac_field, seal, seal_or_append, verify, FormatError, MacError, MacFormat, TagEncoding,
};
pub use ring::{KeyRing, KeyUsed, Mismatch};
