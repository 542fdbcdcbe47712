//! Re-timing subtitle cues by hand: nudge one segment's start or end, or shift every segment
//! by an offset (subtitles that run early or late against their audio).
//!
//! Each is one step of the transcript's undo history, like the other edits. A segment's words
//! move with it (a shift) or are kept inside it (a nudge); no time goes below zero and no
//! segment ends at or before it starts.

use super::{SegmentMeta, Transcript};
use crate::events::Segment;

/// Shortest a segment can be made by a nudge.
pub const MIN_SEGMENT_S: f64 = 0.05;

/// Which end of a segment a nudge moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentEdge {
    Start,
    End,
}

/// Moves segment `index`'s `edge` by `delta_s` (negative: earlier), as one undo step. The
/// start stays at or after zero and at least [`MIN_SEGMENT_S`] before the end; words are kept
/// within the segment; a later revision from the engine keeps the new times. Returns whether
/// anything changed.
pub fn nudge_segment(transcript: &mut Transcript, index: usize, edge: SegmentEdge, delta_s: f64) -> bool {
    transcript.sync_meta();
    let Some(segment) = transcript.segments.get(index) else { return false };
    if !delta_s.is_finite() {
        return false;
    }
    let (start_s, end_s) = match edge {
        // `min` then `max`, not `clamp`: a cue shorter than MIN_SEGMENT_S from zero has its
        // upper bound below zero.
        SegmentEdge::Start => ((segment.start_s + delta_s).min(segment.end_s - MIN_SEGMENT_S).max(0.0), segment.end_s),
        SegmentEdge::End => (segment.start_s, (segment.end_s + delta_s).max(segment.start_s + MIN_SEGMENT_S)),
    };
    if start_s == segment.start_s && end_s == segment.end_s {
        return false;
    }
    let mut moved = segment.clone();
    moved.start_s = start_s;
    moved.end_s = end_s;
    for word in &mut moved.words {
        word.start_s = word.start_s.clamp(start_s, end_s);
        word.end_s = word.end_s.clamp(word.start_s, end_s);
    }
    let meta = SegmentMeta { times_edited: true, ..transcript.meta[index].clone() };
    let splice = transcript.splice_segments(index, 1, vec![(moved, meta)]);
    transcript.record(vec![splice], None)
}

/// Shifts every segment and word by `offset_s`, as one undo step. An offset that would put
/// the first segment before zero is reduced so it starts at zero. Returns whether anything
/// changed.
pub fn shift_all(transcript: &mut Transcript, offset_s: f64) -> bool {
    transcript.sync_meta();
    let earliest = transcript.segments.iter().map(|segment| segment.start_s).fold(f64::INFINITY, f64::min);
    if !offset_s.is_finite() || !earliest.is_finite() {
        return false;
    }
    let offset_s = offset_s.max(-earliest);
    if offset_s == 0.0 {
        return false;
    }
    let shifted: Vec<(Segment, SegmentMeta)> = transcript
        .segments
        .iter()
        .zip(&transcript.meta)
        .map(|(segment, meta)| {
            let mut segment = segment.clone();
            segment.start_s += offset_s;
            segment.end_s += offset_s;
            for word in &mut segment.words {
                word.start_s += offset_s;
                word.end_s += offset_s;
            }
            (segment, SegmentMeta { times_edited: true, ..meta.clone() })
        })
        .collect();
    let count = shifted.len();
    let splice = transcript.splice_segments(0, count, shifted);
    transcript.record(vec![splice], None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Word;

    fn transcript() -> Transcript {
        let mut transcript = Transcript::new();
        for (start_s, end_s) in [(1.0, 2.0), (3.0, 4.0)] {
            transcript.push_segment(Segment {
                revision_key: None,
                start_s,
                end_s,
                text: "a b".into(),
                speaker: None,
                words: vec![
                    Word { text: "a".into(), start_s, end_s: start_s + 0.5, probability: None },
                    Word { text: "b".into(), start_s: start_s + 0.5, end_s, probability: None },
                ],
                ..Default::default()
            });
        }
        transcript
    }

    #[test]
    fn a_nudge_moves_one_edge_and_keeps_the_segment_valid() {
        let mut t = transcript();
        assert!(nudge_segment(&mut t, 0, SegmentEdge::Start, 0.1));
        assert!((t.segments[0].start_s - 1.1).abs() < 1e-9);
        assert!(t.segments[0].words[0].start_s >= t.segments[0].start_s);
        assert!(nudge_segment(&mut t, 0, SegmentEdge::End, -5.0));
        assert!((t.segments[0].end_s - (1.1 + MIN_SEGMENT_S)).abs() < 1e-9);
        assert!(t.segments[0].words.iter().all(|w| w.end_s <= t.segments[0].end_s));
        assert!(nudge_segment(&mut t, 1, SegmentEdge::Start, -10.0));
        assert_eq!(t.segments[1].start_s, 0.0);
        assert!(!nudge_segment(&mut t, 1, SegmentEdge::Start, -0.1), "already at zero");
        assert!(!nudge_segment(&mut t, 7, SegmentEdge::End, 0.1));
    }

    #[test]
    fn a_shift_moves_everything_and_stops_at_zero() {
        let mut t = transcript();
        assert!(shift_all(&mut t, 0.5));
        assert_eq!((t.segments[1].start_s, t.segments[1].words[1].end_s), (3.5, 4.5));
        assert!(shift_all(&mut t, -9.0));
        assert_eq!(t.segments[0].start_s, 0.0);
        assert_eq!(t.segments[1].start_s, 2.0);
        assert!(!shift_all(&mut t, -1.0));
    }

    #[test]
    fn a_cue_shorter_than_the_minimum_from_zero_is_left_alone_not_a_panic() {
        let mut t = Transcript::new();
        t.push_segment(Segment { start_s: 0.0, end_s: 0.04, text: "a".into(), ..Default::default() });
        assert!(!nudge_segment(&mut t, 0, SegmentEdge::Start, 0.1));
        assert_eq!((t.segments[0].start_s, t.segments[0].end_s), (0.0, 0.04));
    }

    #[test]
    fn nudges_and_shifts_are_undone_one_step_each() {
        let mut t = transcript();
        let original: Vec<(f64, f64)> = t.segments.iter().map(|s| (s.start_s, s.end_s)).collect();
        assert!(nudge_segment(&mut t, 1, SegmentEdge::End, 0.3));
        assert!(shift_all(&mut t, 1.0));
        assert!(t.undo());
        assert_eq!((t.segments[1].start_s, t.segments[1].end_s), (3.0, 4.3), "the shift is undone, the nudge stays");
        assert!(t.undo());
        assert_eq!(t.segments.iter().map(|s| (s.start_s, s.end_s)).collect::<Vec<_>>(), original);
        assert!(t.redo() && t.redo());
        assert_eq!((t.segments[1].start_s, t.segments[1].end_s), (4.0, 5.3));
    }
}
