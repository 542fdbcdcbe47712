//! Sending one upload part's segments to the sink at their place in the whole file.
//!
//! A file split into parts is transcribed part by part; each part's times start at zero, so
//! they are shifted by the part's start. Speaker ids are only meaningful within one part, so
//! from the second part on they are made distinct (`P2_SPEAKER_00`). What the parts say
//! about the whole file (its language, its duration) is gathered into the engine's outcome.

use super::upload::PreparedUpload;
use crate::engine::EngineOutcome;
use crate::events::{EventSink, Segment};

/// Where a part's events go, shifted to the part's place in the file.
pub struct PartOutput<'a> {
    sink: &'a EventSink,
    offset_s: f64,
    speaker_prefix: Option<String>,
    /// Segments sent so far for the whole file (across parts).
    pub segments_sent: usize,
    /// Progress total, when the file's duration is known.
    pub total_s: Option<f64>,
}

impl<'a> PartOutput<'a> {
    pub fn new(sink: &'a EventSink, total_s: Option<f64>) -> PartOutput<'a> {
        PartOutput {
            sink,
            offset_s: 0.0,
            speaker_prefix: None,
            segments_sent: 0,
            total_s,
        }
    }

    /// Moves on to part `index` (0-based) starting at `offset_s` in the file.
    pub fn start_part(&mut self, index: usize, offset_s: f64) {
        self.offset_s = offset_s;
        self.speaker_prefix = (index > 0).then(|| format!("P{}_", index + 1));
    }

    pub fn offset_s(&self) -> f64 {
        self.offset_s
    }

    pub fn sink(&self) -> &EventSink {
        self.sink
    }

    /// Sends a segment whose times are relative to the current part.
    pub fn segment(&mut self, mut segment: Segment) {
        segment.start_s += self.offset_s;
        segment.end_s = (segment.end_s + self.offset_s).max(segment.start_s);
        for word in &mut segment.words {
            word.start_s += self.offset_s;
            word.end_s = (word.end_s + self.offset_s).max(word.start_s);
        }
        if let (Some(prefix), Some(speaker)) = (&self.speaker_prefix, &segment.speaker) {
            segment.speaker = Some(format!("{prefix}{speaker}"));
        }
        let end_s = segment.end_s;
        self.sink.segment(segment);
        self.segments_sent += 1;
        self.sink.progress(end_s, self.total_s);
    }

    /// Replaces the live tail (start relative to the current part).
    pub fn hypothesis(&self, text: &str, start_s: Option<f64>) {
        self.sink
            .hypothesis(text, start_s.map(|start| start + self.offset_s));
    }

    pub fn warning(&self, message: impl Into<String>) {
        self.sink.warning(message);
    }
}

/// What the parts of one file said about it, gathered into the engine's outcome.
#[derive(Debug, Default)]
pub struct PartsSummary {
    detected_language: Option<String>,
    last_duration_s: Option<f64>,
}

impl PartsSummary {
    /// Notes one part's answer: the first language detected is kept, and its duration.
    pub fn note_part(&mut self, language: Option<String>, duration_s: Option<f64>) {
        self.detected_language = self.detected_language.take().or(language);
        self.last_duration_s = duration_s;
    }

    /// The detected language, else the one asked for; the file's duration, else (for a file
    /// sent in one part) the one the service reported.
    pub fn outcome(
        self,
        requested_language: Option<String>,
        prepared: &PreparedUpload,
    ) -> EngineOutcome {
        let reported_duration_s = if prepared.parts.len() == 1 {
            self.last_duration_s
        } else {
            None
        };
        EngineOutcome {
            language: self.detected_language.or(requested_language),
            duration_s: prepared.total_duration_s.or(reported_duration_s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{EngineEvent, Word};

    #[test]
    fn later_parts_are_shifted_and_their_speakers_kept_apart() {
        let (sink, mut events) = EventSink::channel();
        let mut output = PartOutput::new(&sink, Some(100.0));
        let segment = Segment {
            revision_key: None,
            start_s: 1.0,
            end_s: 2.0,
            text: "hi".into(),
            speaker: Some("SPEAKER_00".into()),
            words: vec![Word {
                text: "hi".into(),
                start_s: 1.0,
                end_s: 1.5,
                probability: None,
            }],
            ..Default::default()
        };
        output.segment(segment.clone());
        output.start_part(1, 60.0);
        output.segment(segment);
        let mut segments = Vec::new();
        while let Ok(event) = events.try_recv() {
            if let EngineEvent::Segment(segment) = event {
                segments.push(segment);
            }
        }
        assert_eq!(segments[0].start_s, 1.0);
        assert_eq!(segments[0].speaker.as_deref(), Some("SPEAKER_00"));
        assert_eq!(segments[1].start_s, 61.0);
        assert_eq!(segments[1].words[0].end_s, 61.5);
        assert_eq!(segments[1].speaker.as_deref(), Some("P2_SPEAKER_00"));
        assert_eq!(output.segments_sent, 2);
    }
}
