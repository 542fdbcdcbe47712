//! Subtitle timestamps: seconds to whole milliseconds and back to text.
//!
//! Every subtitle writer rounds times to milliseconds once, here, so that the rules about
//! overlaps and durations are checked on exactly the numbers that end up in the file.

/// The largest time written (about 277 777 hours); larger or infinite times are clamped to
/// it. Hours take as many digits as they need, at least two.
pub const MAX_MS: i64 = 1_000_000_000_000;

/// Seconds to whole milliseconds, clamped to `0..=MAX_MS`; NaN becomes 0.
pub fn seconds_to_ms(seconds: f64) -> i64 {
    if seconds.is_nan() || seconds <= 0.0 {
        return 0;
    }
    let ms = (seconds * 1000.0).round();
    if ms >= MAX_MS as f64 {
        MAX_MS
    } else {
        ms as i64
    }
}

/// Whole milliseconds to seconds.
pub fn ms_to_seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

/// `HH:MM:SS` followed by `separator` and three digits of milliseconds (`,` for SRT, `.` for
/// WebVTT).
pub fn format_ms(ms: i64, separator: char) -> String {
    let ms = ms.max(0);
    let hours = ms / 3_600_000;
    let minutes = ms / 60_000 % 60;
    let seconds = ms / 1000 % 60;
    let millis = ms % 1000;
    format!("{hours:02}:{minutes:02}:{seconds:02}{separator}{millis:03}")
}

/// SRT timestamp, `HH:MM:SS,mmm`.
pub fn srt_timestamp(ms: i64) -> String {
    format_ms(ms, ',')
}

/// WebVTT timestamp, `HH:MM:SS.mmm`.
pub fn vtt_timestamp(ms: i64) -> String {
    format_ms(ms, '.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_hours_minutes_seconds_and_millis() {
        assert_eq!(srt_timestamp(0), "00:00:00,000");
        assert_eq!(srt_timestamp(3_723_004), "01:02:03,004");
        assert_eq!(vtt_timestamp(59_999), "00:00:59.999");
        assert_eq!(vtt_timestamp(100 * 3_600_000 + 1), "100:00:00.001");
        assert_eq!(srt_timestamp(-5), "00:00:00,000");
    }

    #[test]
    fn rounds_and_clamps_seconds() {
        assert_eq!(seconds_to_ms(1.0005), 1001);
        assert_eq!(seconds_to_ms(1.2344), 1234);
        assert_eq!(seconds_to_ms(-3.0), 0);
        assert_eq!(seconds_to_ms(f64::NAN), 0);
        assert_eq!(seconds_to_ms(f64::INFINITY), MAX_MS);
    }
}
