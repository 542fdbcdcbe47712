//! How long to wait before trying a request again.
//!
//! Exponential backoff with jitter (1 s, 2 s, 4 s… up to a bound, each stretched by up to a
//! quarter so many clients do not retry in step), and the server's own `Retry-After`, which
//! always wins when present.
//!
//! Every wait that comes from outside — a server's `Retry-After` or poll interval, a setting —
//! goes through [`bounded_duration`]: `Duration::from_secs_f64` panics on a number too big
//! for it (`Retry-After: 1e20`), and a wait of centuries would hang the job instead.

use std::time::{Duration, SystemTime};

/// Backoff pacing (one type for every retrying client); built from [`super::NetworkOptions`].
pub use crate::backoff::Backoff;

/// A wait asked for from outside that is longer than allowed (or not a number).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TooLong {
    /// What was asked for, in seconds, however large.
    pub seconds: f64,
}

impl std::fmt::Display for TooLong {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&describe_seconds(self.seconds))
    }
}

/// `seconds` from outside as a [`Duration`], if it is no longer than `longest`; never panics.
/// Below zero counts as zero; NaN and infinity are [`TooLong`].
pub fn bounded_duration(seconds: f64, longest: Duration) -> Result<Duration, TooLong> {
    if seconds.is_nan() {
        return Err(TooLong { seconds });
    }
    match Duration::try_from_secs_f64(seconds.max(0.0)) {
        Ok(duration) if duration <= longest => Ok(duration),
        _ => Err(TooLong { seconds }),
    }
}

/// Parses a `Retry-After` value into seconds (as the server gave them, however many):
/// whole or fractional seconds, or an HTTP date (its distance from now).
pub fn parse_retry_after(value: &str) -> Option<f64> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then_some(seconds);
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
            .as_secs_f64(),
    )
}

/// A duration as people read it in a message ("1 s", "1.5 s", "250 ms").
pub fn describe_duration(duration: Duration) -> String {
    describe_seconds(duration.as_secs_f64())
}

/// Seconds as people read them: "250 ms", "1.5 s", "90 s", "2 h", "3 days", "3171 years".
pub fn describe_seconds(seconds: f64) -> String {
    const HOUR_S: f64 = 3600.0;
    const DAY_S: f64 = 24.0 * HOUR_S;
    const YEAR_S: f64 = 365.25 * DAY_S;
    let rounded = |value: f64, unit: &str| {
        if (value < 10.0 || unit == "s") && (value - value.round()).abs() >= 0.05 {
            format!("{value:.1} {unit}")
        } else {
            format!("{value:.0} {unit}")
        }
    };
    if !seconds.is_finite() {
        "forever".to_string()
    } else if seconds < 1.0 {
        format!("{:.0} ms", seconds.max(0.0) * 1000.0)
    } else if seconds < HOUR_S {
        rounded(seconds, "s")
    } else if seconds < 2.0 * DAY_S {
        rounded(seconds / HOUR_S, "h")
    } else if seconds < YEAR_S {
        rounded(seconds / DAY_S, "days")
    } else {
        rounded(seconds / YEAR_S, "years")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(parse_retry_after("3"), Some(3.0));
        assert_eq!(parse_retry_after(" 0 "), Some(0.0));
        assert_eq!(parse_retry_after("1.5"), Some(1.5));
        let later = SystemTime::now() + Duration::from_secs(120);
        let parsed = parse_retry_after(&httpdate::fmt_http_date(later)).unwrap();
        assert!(parsed > 100.0 && parsed <= 120.0);
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(0.0));
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after("-5"), None);
        assert_eq!(parse_retry_after("NaN"), None);
    }

    #[test]
    fn absurd_waits_are_read_without_panicking_and_refused_by_the_bound() {
        let longest = Duration::from_secs(300);
        for header in ["1e20", "99999999999999999999", "18446744073709551616", "1e308"] {
            let seconds = parse_retry_after(header).unwrap_or_else(|| panic!("{header} unread"));
            let refused = bounded_duration(seconds, longest);
            assert_eq!(refused, Err(TooLong { seconds }), "{header}");
        }
        assert_eq!(
            bounded_duration(1e11, longest).map_err(|too_long| too_long.to_string()),
            Err("3169 years".to_string())
        );
        assert_eq!(bounded_duration(f64::INFINITY, longest), Err(TooLong { seconds: f64::INFINITY }));
        assert!(bounded_duration(f64::NAN, longest).is_err());
        assert_eq!(bounded_duration(300.0, longest), Ok(longest));
        assert_eq!(bounded_duration(300.001, longest), Err(TooLong { seconds: 300.001 }));
        assert_eq!(bounded_duration(-1.0, longest), Ok(Duration::ZERO));
        assert_eq!(bounded_duration(0.25, longest), Ok(Duration::from_millis(250)));
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(describe_duration(Duration::from_millis(250)), "250 ms");
        assert_eq!(describe_duration(Duration::from_secs(2)), "2 s");
        assert_eq!(describe_duration(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(describe_duration(Duration::from_secs(300)), "300 s");
        assert_eq!(describe_duration(Duration::from_secs(4 * 3600)), "4 h");
        assert_eq!(describe_seconds(5.0 * 86400.0), "5 days");
        assert_eq!(describe_seconds(f64::INFINITY), "forever");
    }
}
