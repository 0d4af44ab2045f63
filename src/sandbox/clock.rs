//! Time: the capped clock arithmetic behind [`Sandbox::advance`](super::Sandbox::advance), and
//! the timestamp forms the providers print (RFC 3339, zone-less local time, Unix seconds).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The longest span the sandbox adds to a clock reading; options and
/// [`Sandbox::advance`](super::Sandbox::advance) beyond it are treated as it.
pub(super) const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// `at + by`, with `by` capped at a century so that no option can overflow the clock.
pub(super) fn later<T: std::ops::Add<Duration, Output = T> + Copy>(at: T, by: Duration) -> T {
    at + by.min(CENTURY)
}

/// Whole seconds, rounded up (a client told "wait 0 s" would ask again at once).
pub(super) fn ceil_secs(duration: Duration) -> u64 {
    duration
        .as_secs()
        .saturating_add(u64::from(duration.subsec_nanos() > 0))
}

/// Seconds since the Unix epoch.
pub(super) fn unix(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Year, month, day, hour, minute, second of a Unix time (proleptic Gregorian, UTC).
fn civil(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let rest = secs.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Every value below is in range by construction (day ≤ 31, month ≤ 12, rest < 86400).
    let small = |v: i64| u32::try_from(v).unwrap_or(0);
    (
        year,
        small(month),
        small(day),
        small(rest / 3600),
        small(rest % 3600 / 60),
        small(rest % 60),
    )
}

/// `2026-02-01T00:00:00Z`
pub(super) fn rfc3339(at: SystemTime) -> String {
    let (y, mo, d, h, mi, s) = civil(unix(at));
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// `2023-12-05 08:24:48` at a fixed offset from UTC, with no zone written.
pub(super) fn naive_time(at: SystemTime, offset_secs: i64) -> String {
    let (y, mo, d, h, mi, s) = civil(unix(at).saturating_add(offset_secs));
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
}

/// The first instant of next month (UTC), in RFC 3339: when a monthly quota resets.
pub(super) fn next_month(at: SystemTime) -> String {
    let (y, mo, ..) = civil(unix(at));
    let (y, mo) = if mo == 12 { (y + 1, 1) } else { (y, mo + 1) };
    format!("{y:04}-{mo:02}-01T00:00:00Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_are_right() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        // 2023-12-05 08:24:48 UTC
        assert_eq!(civil(1_701_764_688), (2023, 12, 5, 8, 24, 48));
        // 2024-02-29 23:59:59 UTC
        assert_eq!(civil(1_709_251_199), (2024, 2, 29, 23, 59, 59));
        let dec = UNIX_EPOCH + Duration::from_secs(1_701_764_688);
        assert_eq!(next_month(dec), "2024-01-01T00:00:00Z");
        assert_eq!(rfc3339(dec), "2023-12-05T08:24:48Z");
        assert_eq!(naive_time(dec, 19_800), "2023-12-05 13:54:48");
    }
}
