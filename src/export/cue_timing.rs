//! The one reader of subtitle times, for every parser of SRT and WebVTT in the crate: the
//! strict yardstick ([`super::parse`]), the tolerant importer ([`super::import`]) and, through
//! the importer, PolarGrid's `srt`/`vtt` results.
//!
//! A timestamp is split once (`[hours:]minutes:seconds[(,|.)fraction]`) and then held to the
//! rules of a [`TimeRules`]: a format's exact form, or anything a person could mean.

/// How exactly a time must be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeRules {
    /// SRT as a careful writer produces it: `HH:MM:SS,mmm` (hours two digits or more).
    StrictSrt,
    /// WebVTT as a careful writer produces it: `[HH:]MM:SS.mmm`.
    StrictVtt,
    /// Files people bring: `[H…:]M[M]:S[S][(,|.)f…]`, hours up to six digits, one to nine
    /// fraction digits or none.
    Tolerant,
}

impl TimeRules {
    fn is_strict(self) -> bool {
        self != TimeRules::Tolerant
    }
}

/// A timestamp in milliseconds, and the decimal separator it used (if any); `None` when it
/// breaks `rules` or is not a time (minutes or seconds over 59).
pub fn parse_timestamp(text: &str, rules: TimeRules) -> Option<(i64, Option<char>)> {
    let (clock, fraction, separator) = match text.rfind([',', '.']) {
        Some(position) => (
            text.get(..position)?,
            text.get(position + 1..)?,
            text.get(position..)?.chars().next(),
        ),
        None => (text, "", None),
    };
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = clock.split(':').collect();
    let (hours, minutes, seconds) = match parts.as_slice() {
        [hours, minutes, seconds] => (Some(*hours), *minutes, *seconds),
        [minutes, seconds] => (None, *minutes, *seconds),
        _ => return None,
    };
    let fraction_ok = match rules {
        TimeRules::StrictSrt => separator == Some(',') && fraction.len() == 3 && digits(fraction),
        TimeRules::StrictVtt => separator == Some('.') && fraction.len() == 3 && digits(fraction),
        TimeRules::Tolerant => separator.is_none() || (digits(fraction) && fraction.len() <= 9),
    };
    let hours_ok = match (hours, rules) {
        (None, TimeRules::StrictSrt) => false,
        (None, _) => true,
        (Some(hours), TimeRules::Tolerant) => digits(hours) && hours.len() <= 6,
        (Some(hours), _) => digits(hours) && hours.len() >= 2,
    };
    let two_digits = |part: &str| {
        digits(part) && if rules.is_strict() { part.len() == 2 } else { part.len() <= 2 }
    };
    if !(fraction_ok && hours_ok && two_digits(minutes) && two_digits(seconds)) {
        return None;
    }
    let hours: i64 = hours.map_or(Some(0), |hours| hours.parse().ok())?;
    let minutes: i64 = minutes.parse().ok()?;
    let seconds: i64 = seconds.parse().ok()?;
    if minutes > 59 || seconds > 59 {
        return None;
    }
    let millis = if fraction.is_empty() {
        0
    } else {
        let value: f64 = format!("0.{fraction}").parse().ok()?;
        (value * 1000.0).round() as i64
    };
    let ms = hours
        .checked_mul(3_600_000)?
        .checked_add(minutes * 60_000 + seconds * 1000 + millis)?;
    Some((ms, separator))
}

/// A timing line's parts: the start, the end, and what follows the end (WebVTT cue settings,
/// SRT coordinates). Strict rules want exactly ` --> ` and, for SRT, nothing after the end;
/// tolerant ones take any spacing around `-->` and ignore what follows the end. `None` when
/// a strict line has no ` --> `.
pub fn split_timing_line(line: &str, rules: TimeRules) -> Option<(&str, &str, Option<&str>)> {
    match rules {
        TimeRules::StrictSrt => {
            let (start, end) = line.split_once(" --> ")?;
            Some((start, end, None))
        }
        TimeRules::StrictVtt => {
            let (start, rest) = line.split_once(" --> ")?;
            Some(match rest.split_once(' ') {
                Some((end, settings)) => (start, end, Some(settings)),
                None => (start, rest, None),
            })
        }
        TimeRules::Tolerant => {
            let (start, rest) = line.split_once("-->").unwrap_or((line, ""));
            let rest = rest.trim_start();
            let (end, after) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let after = after.trim();
            Some((start.trim(), end, (!after.is_empty()).then_some(after)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_rules_take_only_the_format_s_own_form() {
        let srt = |text| parse_timestamp(text, TimeRules::StrictSrt).map(|(ms, _)| ms);
        let vtt = |text| parse_timestamp(text, TimeRules::StrictVtt).map(|(ms, _)| ms);
        assert_eq!(srt("01:02:03,004"), Some(3_723_004));
        assert_eq!(srt("100:00:00,001"), Some(360_000_001));
        for bad in ["1:02:03,004", "02:03,004", "01:02:03.004", "01:02:03,04", "01:2:03,004", "01:02:60,000"] {
            assert_eq!(srt(bad), None, "{bad}");
        }
        assert_eq!(vtt("02:03.004"), Some(123_004));
        assert_eq!(vtt("01:02:03.004"), Some(3_723_004));
        for bad in ["02:03,004", "2:03.004", "02:03.0040", "02:03", "1:02:03.004"] {
            assert_eq!(vtt(bad), None, "{bad}");
        }
        assert_eq!(srt(&format!("{}:00:00,000", "9".repeat(30))), None);
    }

    #[test]
    fn tolerant_rules_take_what_people_write() {
        let tolerant = |text| parse_timestamp(text, TimeRules::Tolerant);
        assert_eq!(tolerant("1:2:3"), Some((3_723_000, None)));
        assert_eq!(tolerant("00:01.5"), Some((1_500, Some('.'))));
        assert_eq!(tolerant("0:00:01,25"), Some((1_250, Some(','))));
        assert_eq!(tolerant("1234567:00:00"), None);
        assert_eq!(tolerant("00:01.1234567890"), None);
    }

    #[test]
    fn timing_lines_split_by_the_rules() {
        let line = "00:00:01.000 --> 00:00:02.000 align:start line:0";
        assert_eq!(
            split_timing_line(line, TimeRules::StrictVtt),
            Some(("00:00:01.000", "00:00:02.000", Some("align:start line:0")))
        );
        assert_eq!(
            split_timing_line(line, TimeRules::StrictSrt),
            Some(("00:00:01.000", "00:00:02.000 align:start line:0", None))
        );
        assert_eq!(split_timing_line("00:01-->00:02", TimeRules::StrictVtt), None);
        assert_eq!(
            split_timing_line(" 00:01-->00:02  X1:2 ", TimeRules::Tolerant),
            Some(("00:01", "00:02", Some("X1:2")))
        );
    }
}
