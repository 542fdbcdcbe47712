//! Times and sizes written for people: the one home of every clock and byte-count format the
//! window, the CLI and the engines' messages show.
//!
//! Where two places want different text on purpose they get different named functions here
//! (a player's position rounds down, a file's length to the nearest second; a live line shows
//! centiseconds). Subtitle timestamps (`00:00:01,000`) belong to their file formats and live
//! in [`crate::export::timecode`].

/// `m:ss`, or `h:mm:ss` from an hour on, rounded down (a position: "0:59" until the minute is
/// full). Negative and NaN times read `0:00`.
pub fn clock(seconds: f64) -> String {
    let whole = if seconds.is_finite() && seconds > 0.0 {
        seconds.floor() as u64
    } else {
        0
    };
    clock_from_whole_seconds(whole)
}

/// [`clock`], rounded to the nearest second (a length: a 59.6 s file is "1:00").
pub fn clock_rounded(seconds: f64) -> String {
    clock_from_whole_seconds(seconds.max(0.0).round() as u64)
}

fn clock_from_whole_seconds(total: u64) -> String {
    let (hours, minutes, secs) = (total / 3600, total / 60 % 60, total % 60);
    if hours > 0 {
        format!("{hours}:{minutes:02}:{secs:02}")
    } else {
        format!("{minutes}:{secs:02}")
    }
}

/// `hh:mm:ss` always with hours, rounded down (a quote's timecode: `[00:12:31]`).
pub fn clock_hms(seconds: f64) -> String {
    let total = if seconds.is_finite() && seconds > 0.0 { seconds.floor() as u64 } else { 0 };
    format!("{:02}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60)
}

/// `mm:ss.cc`, minutes not wrapped into hours (the CLI's live segment lines).
pub fn clock_centiseconds(seconds: f64) -> String {
    let centiseconds = (seconds.max(0.0) * 100.0).round() as u64;
    let minutes = centiseconds / 6000;
    let rest = centiseconds % 6000;
    format!("{:02}:{:02}.{:02}", minutes, rest / 100, rest % 100)
}

/// A size in a message ("25 MB", "10.5 MB", "512 KB", "900 bytes"), in decimal units.
pub fn describe_size(size_bytes: u64) -> String {
    if size_bytes >= 1_000_000 {
        let megabytes = size_bytes as f64 / 1e6;
        if (megabytes - megabytes.round()).abs() < 0.05 {
            format!("{} MB", megabytes.round())
        } else {
            format!("{megabytes:.1} MB")
        }
    } else if size_bytes >= 1_000 {
        format!("{} KB", size_bytes / 1_000)
    } else {
        format!("{size_bytes} bytes")
    }
}

/// A size at a glance, as the window shows it ("1.5 GB", "142 MB", "75 kB").
pub fn short_size(size_bytes: u64) -> String {
    let size = size_bytes as f64;
    if size >= 1e9 {
        format!("{:.1} GB", size / 1e9)
    } else if size >= 1e6 {
        format!("{:.0} MB", size / 1e6)
    } else {
        format!("{:.0} kB", size / 1e3)
    }
}

/// Megabytes with one decimal ("141.9 MB"), as the CLI's model lists show them.
pub fn megabytes(size_bytes: u64) -> String {
    format!("{:.1} MB", size_bytes as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_format_grows_hours_only_when_needed() {
        assert_eq!(clock(0.0), "0:00");
        assert_eq!(clock(61.9), "1:01");
        assert_eq!(clock(3725.0), "1:02:05");
        assert_eq!(clock(f64::NAN), "0:00");
    }

    #[test]
    fn a_position_rounds_down_and_a_length_to_the_nearest_second() {
        assert_eq!(clock(59.6), "0:59");
        assert_eq!(clock_rounded(59.6), "1:00");
        assert_eq!(clock_rounded(3600.0), "1:00:00");
        assert_eq!(clock_rounded(-4.0), "0:00");
        assert_eq!(clock_rounded(f64::NAN), "0:00");
        assert_eq!(clock(-4.0), "0:00");
    }

    #[test]
    fn live_lines_show_centiseconds_and_unwrapped_minutes() {
        assert_eq!(clock_centiseconds(1.2), "00:01.20");
        assert_eq!(clock_centiseconds(3723.456), "62:03.46");
        assert_eq!(clock_centiseconds(-1.0), "00:00.00");
    }

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(describe_size(25_000_000), "25 MB");
        assert_eq!(describe_size(10_500_000), "10.5 MB");
        assert_eq!(describe_size(2_048), "2 KB");
        assert_eq!(describe_size(900), "900 bytes");
        assert_eq!(short_size(1_500_000_000), "1.5 GB");
        assert_eq!(short_size(141_900_000), "142 MB");
        assert_eq!(short_size(75_000), "75 kB");
        assert_eq!(megabytes(141_900_000), "141.9 MB");
    }
}
