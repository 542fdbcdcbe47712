//! The transcript: plain data and the rules for applying engine events to it.
//!
//! No UI and no I/O live here. The window draws it, the CLI prints from it, and every exporter
//! reads it, so a renamed speaker or an edited segment is what gets exported.

use crate::events::{EngineEvent, Hypothesis, Segment};
use serde::{Deserialize, Serialize};

/// A speaker: the engine's id and the name people see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Speaker {
    pub id: String,
    pub display_name: String,
}

/// Everything known about one transcription.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Transcript {
    /// Finished segments in the order they arrived (which is time order for every engine).
    pub segments: Vec<Segment>,
    /// Speakers in order of first appearance.
    pub speakers: Vec<Speaker>,
    /// The live tail, not yet final. Not exported.
    #[serde(skip)]
    pub hypothesis: Option<Hypothesis>,
    /// Language the engine reported (ISO 639-1), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Duration of the audio in seconds, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
}

impl Transcript {
    pub fn new() -> Transcript {
        Transcript::default()
    }

    /// Applies one engine event. Progress, lag, warnings and errors change nothing here: they are
    /// about the job, not the text.
    pub fn apply(&mut self, event: &EngineEvent) {
        match event {
            EngineEvent::Segment(segment) => self.push_segment(segment.clone()),
            EngineEvent::Hypothesis(hypothesis) => {
                self.hypothesis = if hypothesis.text.trim().is_empty() {
                    None
                } else {
                    Some(hypothesis.clone())
                };
            }
            EngineEvent::Done { language, duration_s } => {
                self.hypothesis = None;
                if language.is_some() {
                    self.language = language.clone();
                }
                if duration_s.is_some() {
                    self.duration_s = *duration_s;
                }
            }
            EngineEvent::Progress { .. } | EngineEvent::Lag { .. } | EngineEvent::Warning { .. } | EngineEvent::Error { .. } => {}
        }
    }

    /// Appends a finished segment, retiring the live hypothesis and registering a new speaker
    /// as "Speaker N" in order of first appearance.
    pub fn push_segment(&mut self, segment: Segment) {
        if let Some(id) = &segment.speaker {
            self.ensure_speaker(id);
        }
        self.hypothesis = None;
        self.segments.push(segment);
    }

    fn ensure_speaker(&mut self, id: &str) {
        if !self.speakers.iter().any(|speaker| speaker.id == id) {
            let display_name = format!("Speaker {}", self.speakers.len() + 1);
            self.speakers.push(Speaker { id: id.to_string(), display_name });
        }
    }

    /// The name to show for a speaker id (the id itself if it is unknown).
    pub fn speaker_name<'a>(&'a self, id: &'a str) -> &'a str {
        self.speakers
            .iter()
            .find(|speaker| speaker.id == id)
            .map(|speaker| speaker.display_name.as_str())
            .unwrap_or(id)
    }

    /// The display name of a segment's speaker, if it has one.
    pub fn segment_speaker_name<'a>(&'a self, segment: &'a Segment) -> Option<&'a str> {
        segment.speaker.as_deref().map(|id| self.speaker_name(id))
    }

    /// Renames a speaker everywhere. Returns `false` if no speaker has that id.
    pub fn rename_speaker(&mut self, id: &str, display_name: &str) -> bool {
        let display_name = display_name.trim();
        match self.speakers.iter_mut().find(|speaker| speaker.id == id) {
            Some(speaker) if !display_name.is_empty() => {
                speaker.display_name = display_name.to_string();
                true
            }
            _ => false,
        }
    }

    /// Gives segment `index` to speaker `id` (registered if new). Returns `false` when there
    /// is no such segment.
    pub fn set_segment_speaker(&mut self, index: usize, id: &str) -> bool {
        if index >= self.segments.len() {
            return false;
        }
        self.ensure_speaker(id);
        self.segments[index].speaker = Some(id.to_string());
        true
    }

    /// Replaces the text of segment `index`; word timings no longer match edited text, so
    /// they are dropped. Returns `false` when there is no such segment.
    pub fn edit_segment_text(&mut self, index: usize, text: &str) -> bool {
        match self.segments.get_mut(index) {
            Some(segment) => {
                if segment.text != text {
                    segment.text = text.to_string();
                    segment.words.clear();
                }
                true
            }
            None => false,
        }
    }

    /// The whole text, segments joined by single spaces.
    pub fn plain_text(&self) -> String {
        let mut text = String::new();
        for segment in &self.segments {
            let piece = segment.text.trim();
            if piece.is_empty() {
                continue;
            }
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(piece);
        }
        text
    }

    /// End time of the last segment, or 0.
    pub fn end_s(&self) -> f64 {
        self.segments.iter().map(|segment| segment.end_s).fold(0.0, f64::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(text: &str, speaker: Option<&str>) -> Segment {
        Segment {
            start_s: 0.0,
            end_s: 1.0,
            text: text.into(),
            speaker: speaker.map(str::to_string),
            words: vec![],
        }
    }

    #[test]
    fn speakers_are_numbered_in_order_of_first_appearance() {
        let mut transcript = Transcript::new();
        transcript.apply(&EngineEvent::Segment(segment("a", Some("SPEAKER_01"))));
        transcript.apply(&EngineEvent::Segment(segment("b", Some("SPEAKER_00"))));
        transcript.apply(&EngineEvent::Segment(segment("c", Some("SPEAKER_01"))));
        assert_eq!(transcript.speaker_name("SPEAKER_01"), "Speaker 1");
        assert_eq!(transcript.speaker_name("SPEAKER_00"), "Speaker 2");
        assert_eq!(transcript.speakers.len(), 2);
    }

    #[test]
    fn hypothesis_is_replaced_then_retired_by_a_segment() {
        let mut transcript = Transcript::new();
        transcript.apply(&EngineEvent::Hypothesis(Hypothesis { text: "hel".into(), start_s: None }));
        transcript.apply(&EngineEvent::Hypothesis(Hypothesis { text: "hello wor".into(), start_s: None }));
        assert_eq!(transcript.hypothesis.as_ref().map(|h| h.text.as_str()), Some("hello wor"));
        transcript.apply(&EngineEvent::Segment(segment("hello world", None)));
        assert!(transcript.hypothesis.is_none());
        assert_eq!(transcript.plain_text(), "hello world");
    }

    #[test]
    fn rename_and_reassign_reach_every_segment() {
        let mut transcript = Transcript::new();
        transcript.push_segment(segment("a", Some("left")));
        transcript.push_segment(segment("b", Some("right")));
        assert!(transcript.rename_speaker("left", "Alice"));
        assert!(!transcript.rename_speaker("left", "  "));
        assert!(transcript.set_segment_speaker(1, "left"));
        let names: Vec<_> = transcript
            .segments
            .iter()
            .map(|s| transcript.segment_speaker_name(s).unwrap_or(""))
            .collect();
        assert_eq!(names, ["Alice", "Alice"]);
        assert!(!transcript.set_segment_speaker(5, "left"));
    }
}
