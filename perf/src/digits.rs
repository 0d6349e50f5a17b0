//! Fixed-width ASCII decimal numbers, written and read in place.
//!
//! ISO 8583 numeric fields (STAN, amount, RRN, times) are fixed-width
//! ASCII digits in the `default` spec, so templates patch them with these
//! instead of formatting strings on the fast path.

/// Writes `value` into `out` as exactly `out.len()` digits, zero-padded on
/// the left. Digits beyond the width are dropped (the value is taken
/// modulo 10^width), which is what a wrapping counter such as the STAN wants.
#[inline]
pub fn write_fixed(out: &mut [u8], mut value: u64) {
    // Two digits per division: a request patches ~50 digits, and this is
    // most of the cost of building one from its template.
    let mut chunks = out.rchunks_exact_mut(2);
    for pair in &mut chunks {
        let i = (value % 100) as usize * 2;
        pair.copy_from_slice(&PAIRS[i..i + 2]);
        value /= 100;
    }
    if let [first] = chunks.into_remainder() {
        *first = b'0' + (value % 10) as u8;
    }
}

/// "000102...9899": the ASCII of every two-digit number.
const PAIRS: [u8; 200] = {
    let mut t = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        t[2 * i] = b'0' + (i / 10) as u8;
        t[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    t
};

/// Reads 1 to 19 ASCII digits as a number; `None` for anything else.
#[inline]
pub fn parse(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > 19 {
        return None;
    }
    let mut v = 0u64;
    for &b in bytes {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u64::from(b - b'0');
    }
    Some(v)
}

/// Transmission date and time (field 7, `MMDDhhmmss`, UTC) for a Unix time.
pub fn transmission_time(unix_seconds: u64) -> [u8; 10] {
    let days = (unix_seconds / 86_400) as i64;
    let secs = unix_seconds % 86_400;
    let (_, month, day) = civil_from_days(days);
    let mut out = [0u8; 10];
    write_fixed(&mut out[0..2], month as u64);
    write_fixed(&mut out[2..4], day as u64);
    write_fixed(&mut out[4..6], secs / 3600);
    write_fixed(&mut out[6..8], secs / 60 % 60);
    write_fixed(&mut out[8..10], secs % 60);
    out
}

/// Gregorian (year, month, day) of a day count since 1970-01-01
/// (H. Hinnant's `civil_from_days`), so no date crate is needed for one field.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A 64-bit mix of `x` (splitmix64's finaliser): deterministic "random"
/// choices (declines, silent issuers, amounts) that a rerun reproduces.
#[inline]
pub fn mix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A share in [0, 1] as a threshold on the top 32 bits of [`mix64`].
pub fn share_threshold(share: f64) -> u64 {
    (share.clamp(0.0, 1.0) * (1u64 << 32) as f64) as u64
}

/// Whether `hash` falls inside a share made by [`share_threshold`].
#[inline]
pub fn in_share(hash: u64, threshold: u64) -> bool {
    (hash >> 32) < threshold
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_width_numbers_wrap_and_pad() {
        let mut b = [0u8; 6];
        write_fixed(&mut b, 42);
        assert_eq!(&b, b"000042");
        write_fixed(&mut b, 1_234_567);
        assert_eq!(&b, b"234567");
        let mut odd = [0u8; 5];
        write_fixed(&mut odd, 9_876_543);
        assert_eq!(&odd, b"76543");
        for v in [0u64, 7, 10, 99, 100, 12_345, 999_999_999_999, u64::MAX] {
            let mut w = [0u8; 12];
            write_fixed(&mut w, v);
            assert_eq!(
                std::str::from_utf8(&w).unwrap(),
                format!("{:012}", v % 1_000_000_000_000)
            );
        }
        assert_eq!(parse(b"000042"), Some(42));
        assert_eq!(parse(b"12a"), None);
        assert_eq!(parse(b""), None);
    }

    #[test]
    fn field_7_is_month_day_time_in_utc() {
        // 2024-02-29 13:14:15 UTC
        assert_eq!(&transmission_time(1_709_212_455), b"0229131415");
        assert_eq!(&transmission_time(0), b"0101000000");
    }

    #[test]
    fn shares_cover_the_expected_fraction_of_hashes() {
        let t = share_threshold(0.25);
        let hits = (0..100_000u64).filter(|&i| in_share(mix64(i), t)).count();
        assert!((24_000..26_000).contains(&hits), "{hits}");
        assert!(!in_share(mix64(7), share_threshold(0.0)));
        assert!(in_share(mix64(7), share_threshold(1.0)));
    }
}
