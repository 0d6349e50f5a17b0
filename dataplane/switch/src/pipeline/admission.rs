//! Admission checks a request passes before it may cost the switch a
//! pending entry or the issuer a look: field 7 freshness against the
//! switch's clock (replay defence beyond the duplicate filter's window) and
//! per-participant rate limits shared by all lcores.
//!
//! Both run on the lcore for every request, so neither reads the system
//! clock nor takes a lock: wall time is derived from the TSC and one
//! reference pair taken at start, and each rate limit is one atomic word
//! (GCRA's "theoretical arrival time") updated with compare-and-swap.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::routes::RateLimit;
use crate::ParticipantIdx;

/// Wall-clock seconds from TSC ticks: `unix_at_ref` was the time when the
/// TSC read `tsc_ref`. Drift over a day is far below the freshness window.
#[derive(Debug, Clone, Copy)]
pub struct WallClock {
    unix_at_ref: i64,
    tsc_ref: u64,
    hz: u64,
}

impl WallClock {
    /// Pins Unix time `unix_secs` to TSC reading `tsc` (tests use this
    /// with a fake TSC).
    pub fn pinned(unix_secs: i64, tsc: u64, hz: u64) -> WallClock {
        assert!(hz > 0, "a TSC frequency of 0 is a wiring bug");
        WallClock {
            unix_at_ref: unix_secs,
            tsc_ref: tsc,
            hz,
        }
    }

    /// Now, from the system clock and the TSC read at the same moment.
    pub fn now(tsc_now: u64, hz: u64) -> WallClock {
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        WallClock::pinned(unix, tsc_now, hz)
    }

    /// Unix seconds at TSC reading `tsc`.
    #[inline]
    pub fn unix_secs(&self, tsc: u64) -> i64 {
        // Signed: a test's fake TSC may run from before the reference.
        let delta = tsc.wrapping_sub(self.tsc_ref) as i64;
        self.unix_at_ref + delta / self.hz as i64
    }
}

/// How far field 7 is from the switch's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Within the window.
    Fresh,
    /// Off by this many seconds (negative: from the past).
    Stale { skew_secs: i64 },
    /// Not a date and time (`MMDDhhmmss` out of range).
    Invalid,
}

const DAY: i64 = 86_400;

/// Field 7 (`MMDDhhmmss`, UTC) for Unix second `t`: what an acquirer
/// stamps on a request it sends at `t`.
pub fn field7_at(t: i64) -> [u8; 10] {
    let (_, month, day) = civil_from_unix(t);
    let secs = t.rem_euclid(DAY);
    let mut out = [b'0'; 10];
    for (i, v) in [
        i64::from(month),
        i64::from(day),
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
    ]
    .into_iter()
    .enumerate()
    {
        out[2 * i] = b'0' + (v / 10) as u8;
        out[2 * i + 1] = b'0' + (v % 10) as u8;
    }
    out
}

/// Checks field 7 (`MMDDhhmmss`, UTC, no year) against the switch's clock
/// with a window of `window_secs`. The year is the one that puts the stamp
/// nearest to now, so a request sent at 23:59:59 on 31 December and
/// checked at 00:00:01 on 1 January is two seconds old, not a year.
///
/// One per lcore: the year arithmetic is done once a year instead of per
/// request (the starts of the previous, current and next year are kept,
/// and a stamp is placed by a table of month offsets).
#[derive(Debug, Clone)]
pub struct FreshnessCheck {
    window_secs: u32,
    /// Unix second of 1 January 00:00 of years `year - 1 ..= year + 2`.
    starts: [i64; 4],
    leap: [bool; 3],
}

/// Days before each month (index 1..=12) in a common and a leap year.
const DAYS_BEFORE: [[i64; 13]; 2] = [
    [0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334],
    [0, 0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335],
];

impl FreshnessCheck {
    pub fn new(window_secs: u32) -> FreshnessCheck {
        let mut f = FreshnessCheck {
            window_secs,
            starts: [0; 4],
            leap: [false; 3],
        };
        f.set_year(1970);
        f
    }

    fn set_year(&mut self, year: i64) {
        for (i, y) in (year - 1..=year + 2).enumerate() {
            self.starts[i] = days_from_civil(y, 1, 1) * DAY;
        }
        for (i, y) in (year - 1..=year + 1).enumerate() {
            self.leap[i] = is_leap(y);
        }
    }

    /// Field 7 against `now_unix`.
    #[inline]
    pub fn check(&mut self, field7: &[u8], now_unix: i64) -> Freshness {
        if !(self.starts[1]..self.starts[2]).contains(&now_unix) {
            self.set_year(year_of(now_unix));
        }
        let Some(stamp) = parse_mmddhhmmss(field7) else {
            return Freshness::Invalid;
        };
        // The stamp in the previous, current and next year; the nearest
        // one that exists wins (29 February may exist in none of them).
        let mut best: Option<i64> = None;
        for i in 0..3 {
            let leap = self.leap[i];
            if stamp.day > days_in_month(leap, stamp.month) {
                continue;
            }
            let days =
                DAYS_BEFORE[usize::from(leap)][stamp.month as usize] + i64::from(stamp.day) - 1;
            let skew = self.starts[i] + days * DAY + stamp.secs_of_day - now_unix;
            if best.is_none_or(|b| skew.abs() < b.abs()) {
                best = Some(skew);
            }
        }
        match best {
            None => Freshness::Invalid,
            Some(s) if s.abs() <= i64::from(self.window_secs) => Freshness::Fresh,
            Some(s) => Freshness::Stale { skew_secs: s },
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Stamp {
    month: u32,
    day: u32,
    secs_of_day: i64,
}

fn parse_mmddhhmmss(f: &[u8]) -> Option<Stamp> {
    let f: &[u8; 10] = f.try_into().ok()?;
    let two = |i: usize| -> Option<u32> {
        let (a, b) = (f[i].wrapping_sub(b'0'), f[i + 1].wrapping_sub(b'0'));
        (a <= 9 && b <= 9).then_some(u32::from(a) * 10 + u32::from(b))
    };
    let (month, day, h, m, s) = (two(0)?, two(2)?, two(4)?, two(6)?, two(8)?);
    if !(1..=12).contains(&month) || day == 0 || h > 23 || m > 59 || s > 59 {
        return None;
    }
    Some(Stamp {
        month,
        day,
        secs_of_day: i64::from(h * 3600 + m * 60 + s),
    })
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(leap: bool, m: u32) -> u32 {
    match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Year, month and day of Unix second `t` (the inverse of the above,
/// H. Hinnant's `civil_from_days`).
fn civil_from_unix(t: i64) -> (i64, u32, u32) {
    let z = t.div_euclid(DAY) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The Gregorian year containing Unix second `t`.
fn year_of(t: i64) -> i64 {
    civil_from_unix(t).0
}

/// Per-participant rate-limit state shared by every lcore, indexed by
/// [`ParticipantIdx`] (indices are stable across snapshots).
///
/// GCRA: each participant's word holds the theoretical arrival time (TAT,
/// TSC ticks) of its next request; a request at `now` is admitted if
/// `TAT − now ≤ burst × interval`, which moves TAT one interval on. One
/// participant hit from several lcores costs a contended CAS, not a lock;
/// the common case (a participant's sources hash to one lcore) is one
/// uncontended CAS.
pub struct RateBoard {
    tat: Box<[AtomicU64]>,
}

impl RateBoard {
    pub fn new(participants: usize) -> RateBoard {
        RateBoard {
            tat: (0..participants).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Whether participant `p`'s request at TSC `now` is within `limit`.
    /// A participant beyond the board's size is admitted (the board is
    /// sized for the switch's participant limit; see `MAX_PARTICIPANTS`).
    #[inline]
    pub fn admit(&self, p: ParticipantIdx, limit: RateLimit, now: u64, hz: u64) -> bool {
        let Some(word) = self.tat.get(p.0 as usize) else {
            return true;
        };
        let interval = (hz / u64::from(limit.per_second.max(1))).max(1);
        let tolerance = interval.saturating_mul(u64::from(limit.burst));
        let mut tat = word.load(Ordering::Relaxed);
        loop {
            let start = if tat > now { tat } else { now };
            if start - now > tolerance {
                return false;
            }
            match word.compare_exchange_weak(
                tat,
                start + interval,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(seen) => tat = seen,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-27 09:30:15 UTC.
    const NOW: i64 = 1_795_771_815;

    /// A fresh checker per call: the calendar computed for `now` alone.
    fn check_field7(field7: &[u8], now: i64, window_secs: u32) -> Freshness {
        FreshnessCheck::new(window_secs).check(field7, now)
    }

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2026, 11, 27) * DAY + 34_215, NOW);
        for t in [0, NOW, 951_782_400 /* 2000-02-29 */, 4_102_444_799] {
            let (y, m, d) = civil_from_unix(t);
            assert_eq!(days_from_civil(y, m, d), t.div_euclid(DAY));
            assert_eq!(year_of(t), y);
            assert!(days_from_civil(y, 1, 1) * DAY <= t);
            assert!(t < days_from_civil(y + 1, 1, 1) * DAY);
        }
    }

    #[test]
    fn field_7_within_the_window_is_fresh_and_outside_is_stale() {
        assert_eq!(check_field7(b"1127093015", NOW, 300), Freshness::Fresh);
        assert_eq!(check_field7(b"1127093515", NOW, 300), Freshness::Fresh);
        assert_eq!(
            check_field7(b"1127092015", NOW, 300),
            Freshness::Stale { skew_secs: -600 }
        );
        assert_eq!(
            check_field7(b"1126093015", NOW, 300),
            Freshness::Stale { skew_secs: -DAY }
        );
    }

    #[test]
    fn the_year_is_the_one_nearest_to_now_across_new_year() {
        let new_year_2027 = days_from_civil(2027, 1, 1) * DAY;
        assert_eq!(
            check_field7(b"1231235959", new_year_2027 + 1, 300),
            Freshness::Fresh,
            "sent a second before midnight, checked a second after"
        );
        assert_eq!(
            check_field7(b"0101000001", new_year_2027 - 1, 300),
            Freshness::Fresh
        );
    }

    #[test]
    fn impossible_stamps_are_invalid_not_stale() {
        for bad in [
            &b"1327093015"[..],
            b"0027093015",
            b"1100093015",
            b"1127243015",
            b"1127096015",
            b"112709301",
            b"11270930x5",
            b"0230000000",
        ] {
            assert_eq!(check_field7(bad, NOW, 300), Freshness::Invalid, "{bad:?}");
        }
        // 29 February exists in 2028, the nearest leap year to early 2028.
        let march_2028 = days_from_civil(2028, 2, 29) * DAY + 10;
        assert_eq!(
            check_field7(b"0229000000", march_2028, 300),
            Freshness::Fresh
        );
    }

    #[test]
    fn field_7_is_formatted_as_sent_and_checks_fresh() {
        assert_eq!(&field7_at(NOW), b"1127093015");
        assert_eq!(
            &field7_at(days_from_civil(2028, 2, 29) * DAY + 3_723),
            b"0229010203"
        );
        for t in (0..400).map(|i| NOW + i * 7_919_993) {
            assert_eq!(check_field7(&field7_at(t), t, 0), Freshness::Fresh, "{t}");
        }
    }

    #[test]
    fn one_checker_kept_across_years_agrees_with_a_fresh_one() {
        let mut cached = FreshnessCheck::new(300);
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for i in 0..20_000i64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Times around several new years, leap days included.
            let now =
                days_from_civil(2024 + (i % 6), 1, 1) * DAY + (x % (2 * DAY as u64)) as i64 - DAY;
            let stamp_at = now + (x >> 20) as i64 % 900 - 450;
            let mut f7 = field7_at(stamp_at);
            if i % 7 == 0 {
                f7[(x % 10) as usize] = b'0' + (x >> 40) as u8 % 10;
            }
            assert_eq!(
                cached.check(&f7, now),
                check_field7(&f7, now, 300),
                "{:?} at {now}",
                std::str::from_utf8(&f7)
            );
        }
        assert_eq!(
            cached.check(b"0229000000", days_from_civil(2028, 2, 29) * DAY + 10),
            Freshness::Fresh
        );
        assert_eq!(cached.check(b"1399999999", NOW), Freshness::Invalid);
    }

    #[test]
    fn the_wall_clock_follows_the_tsc() {
        let c = WallClock::pinned(NOW, 5_000, 1_000);
        assert_eq!(c.unix_secs(5_000), NOW);
        assert_eq!(c.unix_secs(65_000), NOW + 60);
        assert_eq!(c.unix_secs(2_000), NOW - 3, "a TSC before the reference");
    }

    #[test]
    fn gcra_admits_the_burst_then_the_rate() {
        let board = RateBoard::new(4);
        let p = ParticipantIdx(2);
        let limit = RateLimit {
            per_second: 100,
            burst: 5,
        };
        let hz = 1_000_000; // interval 10_000 ticks
        let t0 = 1_000_000_000;
        let admitted = (0..20).filter(|_| board.admit(p, limit, t0, hz)).count();
        assert_eq!(admitted, 6, "burst 5 above the first one, at one instant");
        // One interval later exactly one more fits.
        assert!(board.admit(p, limit, t0 + 10_000, hz));
        assert!(!board.admit(p, limit, t0 + 10_000, hz));
        // A second of quiet restores the whole burst.
        let later = t0 + 2 * hz;
        let admitted = (0..20).filter(|_| board.admit(p, limit, later, hz)).count();
        assert_eq!(admitted, 6);
        // Others are not affected.
        assert!(board.admit(ParticipantIdx(1), limit, t0, hz));
    }

    #[test]
    fn over_a_second_of_steady_arrivals_the_rate_holds() {
        let board = RateBoard::new(1);
        let limit = RateLimit {
            per_second: 1_000,
            burst: 10,
        };
        let hz = 2_000_000_000;
        // 5,000 requests spread evenly over one second: 5× the rate.
        let admitted = (0..5_000u64)
            .filter(|i| board.admit(ParticipantIdx(0), limit, i * hz / 5_000, hz))
            .count();
        assert!((1_000..=1_011).contains(&admitted), "{admitted}");
    }
}
