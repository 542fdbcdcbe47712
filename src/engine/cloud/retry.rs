//! How long to wait before trying a request again.
//!
//! Exponential backoff with jitter (1 s, 2 s, 4 s… up to a bound, each stretched by up to a
//! quarter so many clients do not retry in step), and the server's own `Retry-After`, which
//! always wins when present.

use std::time::{Duration, SystemTime};

/// Backoff pacing (one type for every retrying client); built from [`super::NetworkOptions`].
pub use crate::backoff::Backoff;

/// Parses a `Retry-After` value: whole seconds, or an HTTP date (its distance from now).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    if let Ok(seconds) = value.parse::<f64>()
        && seconds.is_finite()
        && seconds >= 0.0
    {
        return Some(Duration::from_secs_f64(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// A duration as people read it in a message ("1 s", "1.5 s", "250 ms").
pub fn describe_duration(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds < 1.0 {
        format!("{} ms", duration.as_millis())
    } else if (seconds - seconds.round()).abs() < 0.05 {
        format!("{} s", seconds.round() as u64)
    } else {
        format!("{seconds:.1} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 0 "), Some(Duration::ZERO));
        let later = SystemTime::now() + Duration::from_secs(120);
        let parsed = parse_retry_after(&httpdate::fmt_http_date(later)).unwrap();
        assert!(parsed > Duration::from_secs(100) && parsed <= Duration::from_secs(120));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(describe_duration(Duration::from_millis(250)), "250 ms");
        assert_eq!(describe_duration(Duration::from_secs(2)), "2 s");
        assert_eq!(describe_duration(Duration::from_millis(1500)), "1.5 s");
    }
}
