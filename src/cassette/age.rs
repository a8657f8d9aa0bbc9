//! How old a cassette is: the one rule lint (`cassette-stale`), the drift
//! report and the record proxy (re-record stale answers) share, on
//! [`aws_smithy_types::DateTime`]. Also the calendar days (`YYYY-MM-DD`) that
//! lint's `--today` and the model table's `checked` are written in.

use std::time::{Duration, SystemTime};

use aws_smithy_types::date_time::{DateTime, Format};

/// Time from a cassette's `recorded_at` (RFC 3339 UTC) to `now`; `None` when
/// `recorded_at` does not parse. A date after `now` (clock skew, an authored
/// date in the future) has age zero: it is never stale.
pub fn age(recorded_at: &str, now: DateTime) -> Option<Duration> {
    let at = DateTime::from_str(recorded_at, Format::DateTime).ok()?;
    let nanos = (now.as_nanos() - at.as_nanos()).max(0);
    let secs = u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX);
    // The remainder of a division by 1e9 always fits a u32.
    let sub = u32::try_from(nanos % 1_000_000_000).unwrap_or(0);
    Some(Duration::new(secs, sub))
}

/// Whole days in a duration (rounded down), for messages.
pub fn whole_days(d: Duration) -> u64 {
    d.as_secs() / 86_400
}

/// Midnight UTC of a `YYYY-MM-DD` day (also accepts an RFC 3339 timestamp's
/// date part is not needed: lint and the model table write plain days).
pub fn parse_day(text: &str) -> Option<DateTime> {
    let text = text.trim();
    if text.len() != 10 {
        return None;
    }
    DateTime::from_str(&format!("{text}T00:00:00Z"), Format::DateTime).ok()
}

/// Midnight UTC of the day `now` falls on.
pub fn day_of(now: SystemTime) -> DateTime {
    let secs = DateTime::from(now).secs();
    DateTime::from_secs(secs - secs.rem_euclid(86_400))
}

/// Today at midnight UTC, from the system clock (read at the edge only).
pub fn today_utc() -> DateTime {
    day_of(SystemTime::now())
}

/// `YYYY-MM-DD` of a date, for messages.
pub fn format_day(day: DateTime) -> String {
    let full = day
        .fmt(Format::DateTime)
        .unwrap_or_else(|_| day.secs().to_string());
    full.get(..10).unwrap_or(&full).to_string()
}

/// `day` moved by `days` (negative: back).
pub fn add_days(day: DateTime, days: i64) -> DateTime {
    DateTime::from_secs(day.secs().saturating_add(days.saturating_mul(86_400)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_is_elapsed_time_and_never_negative() {
        let now = parse_day("2026-11-26").expect("day");
        let a = age("2025-11-26T00:00:00Z", now).expect("age");
        assert_eq!(whole_days(a), 365);
        let a = age("2026-11-25T12:00:00Z", now).expect("age");
        assert_eq!(a, Duration::from_secs(12 * 3600));
        assert_eq!(age("2027-01-01T00:00:00Z", now), Some(Duration::ZERO));
        assert_eq!(age("26/11/2026", now), None);
    }

    #[test]
    fn days_parse_and_print() {
        let d = parse_day("2024-02-29").expect("leap day");
        assert_eq!(format_day(d), "2024-02-29");
        assert_eq!(format_day(add_days(d, 1)), "2024-03-01");
        assert_eq!(parse_day("2025-02-29"), None);
        assert_eq!(parse_day("2026-13-01"), None);
        assert_eq!(parse_day("2026-11-26x"), None);
        assert_eq!(parse_day("2026-11-26T00:00:00Z"), None);
        let noon = SystemTime::UNIX_EPOCH + Duration::from_secs(86_400 + 43_200);
        assert_eq!(format_day(day_of(noon)), "1970-01-02");
    }
}
