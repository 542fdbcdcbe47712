//! The transcript: plain data and the rules for applying engine events and user edits to it.
//!
//! No UI and no I/O live here. The window draws it, the CLI prints from it, and every exporter
//! reads it, so a renamed speaker or an edited segment is what gets exported.
//!
//! **Every segment has a stable [`SegmentId`]**, kept beside it (not in the engine's
//! [`Segment`], which is the engines' vocabulary). Engines only append segments, or replace
//! one in place by a later version with the same [`Segment::revision_key`] (a live engine's
//! refined sentence); the user may also split and merge segments, which moves indices. So
//! the window addresses edits by id: an edit made while a recording goes on — with more text
//! and revisions arriving, and splits above it — lands on the segment the user saw, and a
//! revision never undoes what the user changed in it (see [`Transcript::revise_segment`]).
//!
//! The edits themselves (text with word times kept, split, merge, speakers, undo / redo) are
//! in [`edit`]; search and replace in [`search`]; low-confidence words in [`review`]; quotes
//! in [`quote`].

pub mod edit;
pub mod history;
pub mod quote;
pub mod retime;
pub mod review;
pub mod nudge;
pub mod search;

use crate::events::{EngineEvent, Hypothesis, Segment};
use history::History;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};

/// A speaker: the engine's id and the name people see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Speaker {
    pub id: String,
    pub display_name: String,
}

/// A segment's identity for as long as the transcript lives in memory (unique in the
/// process, not saved): it survives revisions, edits, splits (the first half keeps it) and
/// merges (the merged segment keeps the first one's), and undo / redo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SegmentId(pub u64);

/// What the transcript knows about a segment beyond the engine's data.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SegmentMeta {
    pub id: SegmentId,
    /// The user set the text by hand: a revision keeps it.
    pub text_edited: bool,
    /// The user set the speaker by hand: a revision keeps it.
    pub speaker_edited: bool,
    /// The segment was split or merged by hand: a revision keeps its times too.
    pub times_edited: bool,
    /// Words (by index) the user accepted although the engine was unsure of them.
    pub reviewed_words: BTreeSet<usize>,
    /// Revision keys of segments merged into this one: their later revisions are dropped.
    pub absorbed_keys: Vec<String>,
}

/// Everything known about one transcription.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Transcript {
    /// Finished segments in the order they arrived (which is time order for every engine).
    pub segments: Vec<Segment>,
    /// Speakers in order of first appearance.
    pub speakers: Vec<Speaker>,
    /// The live tail, not yet final. Not exported.
    #[serde(skip)]
    pub hypothesis: Option<Hypothesis>,
    /// One entry per segment, in the same order (kept in step by every method here; segments
    /// pushed into `segments` directly get theirs on the next change).
    #[serde(skip)]
    meta: Vec<SegmentMeta>,
    #[serde(skip)]
    history: History,
    /// Language the engine reported (ISO 639-1), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Duration of the audio in seconds, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
}

/// Two transcripts are equal when they would export the same: ids, edit flags and history
/// are bookkeeping; accepted words count (they are saved).
impl PartialEq for Transcript {
    fn eq(&self, other: &Transcript) -> bool {
        let reviewed = |transcript: &Transcript| -> Vec<(usize, usize)> {
            (0..transcript.segments.len())
                .flat_map(|index| transcript.reviewed_words(index).map(move |word| (index, word)))
                .collect()
        };
        self.segments == other.segments
            && self.speakers == other.speakers
            && self.hypothesis == other.hypothesis
            && self.language == other.language
            && self.duration_s == other.duration_s
            && reviewed(self) == reviewed(other)
    }
}

impl Transcript {
    pub fn new() -> Transcript {
        Transcript::default()
    }

    /// A transcript from saved parts (a JSON file, an imported subtitle file), every segment
    /// with its id and the words in `reviewed` (segment index, word index) accepted.
    pub fn from_parts(
        segments: Vec<Segment>,
        speakers: Vec<Speaker>,
        reviewed: impl IntoIterator<Item = (usize, usize)>,
    ) -> Transcript {
        let mut transcript = Transcript { segments, speakers, ..Transcript::default() };
        transcript.sync_meta();
        for (segment, word) in reviewed {
            if let Some(meta) = transcript.meta.get_mut(segment) {
                meta.reviewed_words.insert(word);
            }
        }
        transcript
    }

    /// Gives segments pushed into `segments` directly their entries (and drops extra ones).
    fn sync_meta(&mut self) {
        self.meta.truncate(self.segments.len());
        while self.meta.len() < self.segments.len() {
            let id = self.fresh_id();
            self.meta.push(SegmentMeta { id, ..SegmentMeta::default() });
        }
    }

    /// An id no segment of any transcript in this process has (so a window's selection or
    /// review of one file can never name a segment of another).
    fn fresh_id(&mut self) -> SegmentId {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        SegmentId(NEXT_ID.fetch_add(1, Ordering::Relaxed))
    }

    /// The id of segment `index`.
    pub fn id_at(&self, index: usize) -> Option<SegmentId> {
        self.meta.get(index).map(|meta| meta.id)
    }

    /// Where segment `id` is now.
    pub fn index_of(&self, id: SegmentId) -> Option<usize> {
        self.meta.iter().position(|meta| meta.id == id)
    }

    /// What the transcript knows about segment `index` beyond its data.
    pub fn meta(&self, index: usize) -> Option<&SegmentMeta> {
        self.meta.get(index)
    }

    /// The words of segment `index` the user accepted.
    /// Whether the user accepted word `word` of segment `segment`.
    pub fn is_reviewed(&self, segment: usize, word: usize) -> bool {
        self.meta.get(segment).is_some_and(|meta| meta.reviewed_words.contains(&word))
    }

    pub fn reviewed_words(&self, index: usize) -> impl Iterator<Item = usize> + '_ {
        self.meta.get(index).into_iter().flat_map(|meta| meta.reviewed_words.iter().copied())
    }

    /// The undo / redo history.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// Applies one engine event. Progress, lag, warnings and errors change nothing here: they are
    /// about the job, not the text.
    pub fn apply(&mut self, event: &EngineEvent) {
        match event {
            EngineEvent::Segment(segment) => {
                self.add_segment(segment.clone());
            }
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

    /// A segment from an engine: in place of the earlier one with the same revision key
    /// ([`Transcript::revise_segment`]), else appended ([`Transcript::push_segment`]). A
    /// revision of a segment the user merged into another is dropped (the merge wins).
    /// Returns its index.
    pub fn add_segment(&mut self, segment: Segment) -> usize {
        self.sync_meta();
        if let Some(key) = segment.revision_key.as_deref() {
            if let Some(index) = self.index_of_revision(key) {
                self.revise_segment(index, segment);
                return index;
            }
            if let Some(index) = self.meta.iter().rposition(|meta| meta.absorbed_keys.iter().any(|k| k == key)) {
                return index;
            }
        }
        self.push_segment(segment);
        self.segments.len() - 1
    }

    /// The index of the segment with this revision key (the latest, should two share it).
    pub fn index_of_revision(&self, key: &str) -> Option<usize> {
        self.segments.iter().rposition(|segment| segment.revision_key.as_deref() == Some(key))
    }

    /// Puts a new version of segment `index` in its place. What the user changed by hand
    /// stays: edited text (and its words), a speaker given by hand, the times of a segment
    /// split or merged by hand; a revision without a speaker keeps the segment's. The live
    /// hypothesis stays too (it belongs to a later phrase). Returns `false` when there is no
    /// such segment.
    pub fn revise_segment(&mut self, index: usize, revision: Segment) -> bool {
        self.sync_meta();
        let Some(meta) = self.meta.get(index) else {
            return false;
        };
        let keep_text = meta.text_edited;
        let keep_times = meta.times_edited;
        let keep_speaker = meta.speaker_edited || revision.speaker.is_none();
        if let (false, Some(id)) = (keep_speaker, &revision.speaker) {
            self.ensure_speaker(id);
        }
        let segment = &mut self.segments[index];
        if !keep_times {
            segment.start_s = revision.start_s;
            segment.end_s = revision.end_s;
        }
        segment.revision_key = revision.revision_key;
        if !keep_text {
            segment.text = revision.text;
            segment.words = revision.words;
            self.meta[index].reviewed_words.clear();
            segment.low_confidence = revision.low_confidence;
            segment.language = revision.language;
        }
        if !keep_speaker {
            segment.speaker = revision.speaker;
        }
        true
    }

    /// Appends a finished segment, retiring the live hypothesis and registering a new speaker
    /// as "Speaker N" in order of first appearance.
    pub fn push_segment(&mut self, segment: Segment) {
        self.sync_meta();
        if let Some(id) = &segment.speaker {
            self.ensure_speaker(id);
        }
        self.hypothesis = None;
        self.segments.push(segment);
        self.sync_meta();
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

    /// Gives segment `index` to speaker `id` (registered if new), as one undo step. Returns
    /// `false` when there is no such segment.
    pub fn set_segment_speaker(&mut self, index: usize, id: &str) -> bool {
        self.sync_meta();
        match self.id_at(index) {
            Some(segment) => {
                self.set_speaker(segment, id);
                true
            }
            None => false,
        }
    }

    /// Replaces the text of segment `index`, keeping the times of the words that did not
    /// change ([`Transcript::edit_text`]). Returns `false` when there is no such segment.
    pub fn edit_segment_text(&mut self, index: usize, text: &str) -> bool {
        self.sync_meta();
        match self.id_at(index) {
            Some(segment) => {
                self.edit_text(segment, text);
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

/// Byte ranges of the segment's words in its text, in order (a word not found in the text,
/// after an edit, gets an empty range where the search stopped).
pub fn word_ranges(segment: &crate::events::Segment) -> Vec<std::ops::Range<usize>> {
    let text = segment.text.as_str();
    let mut cursor = 0;
    segment
        .words
        .iter()
        .map(|word| {
            let needle = word.text.trim();
            let found = (!needle.is_empty())
                .then(|| text.get(cursor..)?.find(needle))
                .flatten();
            match found {
                Some(offset) => {
                    let start = cursor + offset;
                    cursor = start + needle.len();
                    start..cursor
                }
                None => cursor..cursor,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(text: &str, speaker: Option<&str>) -> Segment {
        Segment {
            revision_key: None,
            start_s: 0.0,
            end_s: 1.0,
            text: text.into(),
            speaker: speaker.map(str::to_string),
            words: vec![],
            ..Default::default()
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

    fn revisable(text: &str, key: &str, speaker: Option<&str>) -> Segment {
        Segment { revision_key: Some(key.into()), ..segment(text, speaker) }
    }

    fn texts(transcript: &Transcript) -> Vec<&str> {
        transcript.segments.iter().map(|s| s.text.as_str()).collect()
    }

    #[test]
    fn a_revision_replaces_in_place_and_keeps_a_users_rename() {
        let mut transcript = Transcript::new();
        transcript.apply(&EngineEvent::Segment(revisable("hello wrld", "60db:1", Some("SPEAKER_00"))));
        transcript.apply(&EngineEvent::Segment(revisable("second", "60db:2", Some("SPEAKER_01"))));
        assert!(transcript.rename_speaker("SPEAKER_00", "Alice"));
        assert!(transcript.set_segment_speaker(1, "SPEAKER_00"));
        transcript.apply(&EngineEvent::Hypothesis(Hypothesis { text: "thi".into(), start_s: Some(3.0) }));

        let mut refined = revisable("Hello, world.", "60db:1", Some("SPEAKER_00"));
        refined.end_s = 1.5;
        transcript.apply(&EngineEvent::Segment(refined));
        // The speaker given by hand to segment 1 stays though the engine says otherwise.
        transcript.apply(&EngineEvent::Segment(revisable("Second.", "60db:2", Some("SPEAKER_01"))));

        assert_eq!(texts(&transcript), ["Hello, world.", "Second."]);
        assert_eq!(transcript.segments[0].end_s, 1.5);
        let names: Vec<_> = transcript.segments.iter().map(|s| transcript.segment_speaker_name(s).unwrap_or("")).collect();
        assert_eq!(names, ["Alice", "Alice"]);
        // A revision is about an earlier phrase: the live tail of the current one stays.
        assert_eq!(transcript.hypothesis.as_ref().map(|h| h.text.as_str()), Some("thi"));
        // A new key appends (and retires the tail).
        transcript.apply(&EngineEvent::Segment(revisable("third", "60db:3", None)));
        assert_eq!(texts(&transcript), ["Hello, world.", "Second.", "third"]);
        assert!(transcript.hypothesis.is_none());
    }

    #[test]
    fn an_edit_made_before_a_later_revision_lands_on_its_own_segment() {
        let mut transcript = Transcript::new();
        for (text, key) in [("one", "k0"), ("two", "k1"), ("three", "k2")] {
            transcript.apply(&EngineEvent::Segment(revisable(text, key, None)));
        }
        // The user edits segment 0 (N) and segment 1, then revisions of 2 (M) and 1 arrive,
        // and more text after them.
        assert!(transcript.edit_segment_text(0, "One (checked)"));
        assert!(transcript.edit_segment_text(1, "Two, by hand"));
        transcript.apply(&EngineEvent::Segment(revisable("Three.", "k2", None)));
        transcript.apply(&EngineEvent::Segment(revisable("Two.", "k1", None)));
        transcript.apply(&EngineEvent::Segment(segment("four", None)));
        assert_eq!(texts(&transcript), ["One (checked)", "Two, by hand", "Three.", "four"]);
        // An edit made after the text arrived still finds its segment by the same index.
        assert!(transcript.edit_segment_text(2, "Three!"));
        transcript.apply(&EngineEvent::Segment(revisable("Three?", "k2", None)));
        assert_eq!(transcript.segments[2].text, "Three!");
        assert_eq!(transcript.index_of_revision("k2"), Some(2));
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
