//! Quotes: segments copied with their timecode and speaker, one line each, through a
//! template the user sets (`[{time}] {speaker}: {text}` by default).

use super::Transcript;
use crate::units::clock_hms;

/// The template quotes use unless the user sets another.
pub const DEFAULT_QUOTE_TEMPLATE: &str = "[{time}] {speaker}: {text}";

/// The segments at `indices` (in transcript order) as quote lines joined by newlines.
/// `{time}` is the segment's start as `hh:mm:ss`, `{speaker}` its speaker's name and `{text}`
/// its text; a segment without a speaker drops `{speaker}` and the `": "` or space after it.
pub fn format_quote(transcript: &Transcript, indices: &[usize], template: &str) -> String {
    let mut sorted: Vec<usize> = indices.iter().copied().filter(|&index| index < transcript.segments.len()).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let lines: Vec<String> = sorted
        .into_iter()
        .map(|index| {
            let segment = &transcript.segments[index];
            let line = match transcript.segment_speaker_name(segment) {
                Some(name) => template.replace("{speaker}", name),
                None => template.replace("{speaker}: ", "").replace("{speaker} ", "").replace("{speaker}", ""),
            };
            line.replace("{time}", &clock_hms(segment.start_s)).replace("{text}", segment.text.trim())
        })
        .collect();
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Segment;

    #[test]
    fn quotes_carry_time_and_speaker_in_the_template() {
        let mut transcript = Transcript::new();
        for (start_s, text, speaker) in [(751.4, "We start now.", Some("S2")), (3.0, "Before.", None), (760.0, " And go on. ", Some("S2"))] {
            transcript.push_segment(Segment { start_s, end_s: start_s + 1.0, text: text.into(), speaker: speaker.map(str::to_string), words: vec![], revision_key: None, ..Default::default() });
        }
        transcript.rename_speaker("S2", "Speaker 2");
        assert_eq!(
            format_quote(&transcript, &[2, 0, 1, 0], DEFAULT_QUOTE_TEMPLATE),
            "[00:12:31] Speaker 2: We start now.\n[00:00:03] Before.\n[00:12:40] Speaker 2: And go on."
        );
        assert_eq!(format_quote(&transcript, &[0], "{speaker} ({time}): “{text}”"), "Speaker 2 (00:12:31): “We start now.”");
        assert_eq!(format_quote(&transcript, &[9], DEFAULT_QUOTE_TEMPLATE), "");
    }
}
