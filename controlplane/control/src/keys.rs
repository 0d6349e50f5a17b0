//! Participant MAC keys on the control plane: key files → `auth::KeyRing`,
//! the clock rotation deadlines are set in, and what the API may show of a
//! ring (ids and overlap, never key material).
//!
//! Deadlines are in the lcores' clock (TSC ticks): the lcore compares its
//! `now` with a ring's overlap deadline and never reads another clock. The
//! journal records rotations in wall-clock time (Unix ms) so a restart
//! re-creates what is left of an overlap.

use crate::error::ControlError;
use crate::types::{MacAlgorithm, MacSpec, MacView};
use auth::{Algorithm, KeyRing, MacKey};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Longest key file path accepted (it goes into a journal record).
pub const MAX_KEY_FILE_LEN: usize = 512;
/// Largest key file read (a 128-byte key is 256 hex digits).
pub const MAX_KEY_FILE_BYTES: u64 = 4096;
/// Longest rotation overlap: a week.
pub const MAX_KEY_OVERLAP_MS: u64 = 7 * 24 * 3600 * 1000;

/// The lcores' clock, as the control plane sets deadlines in it.
pub trait KeyClock: Send + Sync {
    /// Now, in the lcores' units.
    fn now(&self) -> u64;
    /// `d` in the lcores' units.
    fn ticks(&self, d: Duration) -> u64;
}

/// The TSC, the lcores' clock. Its rate is the EAL's (`with_hz`) or,
/// when none is given, measured once against the monotonic clock over
/// 20 ms on first use (good to ~0.1 %: seconds over a day's overlap).
#[derive(Debug, Default)]
pub struct TscClock {
    hz: OnceLock<u64>,
}

impl TscClock {
    pub fn with_hz(hz: u64) -> Self {
        let clock = Self::default();
        let _ = clock.hz.set(hz.max(1));
        clock
    }

    fn hz(&self) -> u64 {
        *self.hz.get_or_init(|| {
            let (t0, c0) = (Instant::now(), rte::tsc::now());
            std::thread::sleep(Duration::from_millis(20));
            let (t1, c1) = (Instant::now(), rte::tsc::now());
            let ns = t1.duration_since(t0).as_nanos().max(1);
            ((u128::from(c1.wrapping_sub(c0)) * 1_000_000_000 / ns) as u64).max(1)
        })
    }
}

impl KeyClock for TscClock {
    fn now(&self) -> u64 {
        rte::tsc::now()
    }

    fn ticks(&self, d: Duration) -> u64 {
        (d.as_nanos() * u128::from(self.hz()) / 1_000_000_000).min(u128::from(u64::MAX)) as u64
    }
}

pub(crate) fn unix_now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub(crate) fn algorithm(a: MacAlgorithm) -> Algorithm {
    match a {
        MacAlgorithm::HmacSha256x64 => Algorithm::HmacSha256x64,
        MacAlgorithm::AesCmac64 => Algorithm::AesCmac64,
    }
}

fn invalid(field: &str, message: String) -> ControlError {
    ControlError::Invalid {
        field: field.to_string(),
        message,
    }
}

/// Checks a key file path: absolute (the switch reads it, from its own
/// working directory), and short enough for a journal record.
pub(crate) fn check_key_file(path: &str) -> Result<(), ControlError> {
    if path.is_empty() || path.len() > MAX_KEY_FILE_LEN || !path.starts_with('/') {
        return Err(invalid(
            "mac.key_file",
            format!(
                "{path:?} must be an absolute path of at most {MAX_KEY_FILE_LEN} bytes on the switch host"
            ),
        ));
    }
    Ok(())
}

/// Loads the key `spec` names (its key file, or in clearway.toml an inline
/// hex key) for participant `id`. Errors name the file, never the key.
pub(crate) fn load_key(id: &str, spec: &MacSpec) -> Result<MacKey, ControlError> {
    let alg = algorithm(spec.algorithm);
    let bad_key = |source: &str, e: auth::KeyError| {
        invalid(
            "mac",
            format!(
                "participant {id}: {source}: {e}; a key is hex text (32 hex digits for 16 bytes)"
            ),
        )
    };
    match (&spec.key_file, &spec.key) {
        (Some(_), Some(_)) => Err(invalid(
            "mac",
            format!("participant {id}: give key_file or key, not both (key_file is recommended)"),
        )),
        (None, None) => Err(invalid(
            "mac",
            format!("participant {id}: give key_file, the path of a file holding the key as hex"),
        )),
        (None, Some(hex)) => MacKey::from_hex(alg, hex).map_err(|e| bad_key("inline key", e)),
        (Some(path), None) => {
            check_key_file(path)?;
            let text = read_key_file(path).map_err(|message| {
                invalid("mac.key_file", format!("participant {id}: {message}"))
            })?;
            let key =
                MacKey::from_hex(alg, &text).map_err(|e| bad_key(&format!("key file {path}"), e));
            // The file's text is key material: wipe it rather than leave it
            // in freed heap memory.
            let mut bytes = text.into_bytes();
            bytes.fill(0);
            std::hint::black_box(&bytes);
            key
        }
    }
}

fn read_key_file(path: &str) -> Result<String, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| {
        format!("cannot open key file {path}: {e}; check the path on the switch host")
    })?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot stat key file {path}: {e}"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o004 != 0 {
            return Err(format!(
                "key file {path} is readable by everyone; `chmod 600` it (and keep it owned by the switch's user)"
            ));
        }
    }
    if meta.len() > MAX_KEY_FILE_BYTES {
        return Err(format!(
            "key file {path} is {} bytes; a key file holds one hex key (at most {MAX_KEY_FILE_BYTES} bytes)",
            meta.len()
        ));
    }
    let mut text = String::new();
    file.take(MAX_KEY_FILE_BYTES)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read key file {path}: {e}; it must be hex text"))?;
    Ok(text)
}

/// What the API shows of a participant's keys.
pub(crate) fn view(
    spec: &MacSpec,
    ring: Option<&KeyRing>,
    clock: &dyn KeyClock,
    problem: Option<&str>,
) -> MacView {
    let now = clock.now();
    let previous = ring
        .and_then(|r| r.previous())
        .filter(|(_, until)| now < *until);
    let overlap_ends_at_ms = previous.map(|(_, until)| {
        let per_ms = clock.ticks(Duration::from_millis(1)).max(1);
        unix_now_ms() + (until - now) / per_ms
    });
    MacView {
        algorithm: spec.algorithm,
        key_id: ring.and_then(|r| r.current()).map(|k| k.id().to_string()),
        key_file: spec.key_file.clone(),
        previous_key_id: previous.map(|(k, _)| k.id().to_string()),
        overlap_ends_at_ms,
        problem: problem.map(str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(key_file: Option<&str>, key: Option<&str>) -> MacSpec {
        MacSpec {
            algorithm: MacAlgorithm::AesCmac64,
            key_file: key_file.map(str::to_string),
            key: key.map(str::to_string),
        }
    }

    #[test]
    fn a_key_comes_from_a_private_file_or_inline_hex_and_errors_never_show_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bank-a.key");
        let hex = "2b7e151628aed2a6abf7158809cf4f3c";
        std::fs::write(&path, format!("{hex}\n")).unwrap();
        let path = path.to_str().unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let from_file = load_key("bank-a", &spec(Some(path), None)).unwrap();
        let inline = load_key("bank-a", &spec(None, Some(hex))).unwrap();
        assert_eq!(from_file, inline);

        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = load_key("bank-a", &spec(Some(path), None)).unwrap_err();
        assert!(e.to_string().contains("chmod 600"), "{e}");
        assert!(!e.to_string().contains(hex));

        let short = load_key("bank-a", &spec(None, Some("00112233"))).unwrap_err();
        assert!(short.to_string().contains("16 to 16 bytes"), "{short}");
        assert!(!short.to_string().contains("00112233"), "{short}");
    }

    #[test]
    fn key_file_paths_are_absolute_and_one_source_only() {
        for (s, words) in [
            (spec(Some("keys/a.key"), None), "absolute"),
            (spec(Some("/nonexistent/a.key"), None), "cannot open"),
            (spec(None, None), "give key_file"),
            (spec(Some("/a"), Some("00")), "not both"),
        ] {
            let e = load_key("p", &s).unwrap_err();
            assert!(e.to_string().contains(words), "{e}");
        }
    }

    #[test]
    fn the_tsc_clock_converts_durations_at_its_rate() {
        let c = TscClock::with_hz(2_000_000_000);
        assert_eq!(c.ticks(Duration::from_millis(3)), 6_000_000);
        assert_eq!(
            c.ticks(Duration::from_secs(u64::MAX)),
            u64::MAX,
            "saturates"
        );
    }
}
