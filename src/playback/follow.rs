//! From a playback position to the text and back: which segment and word are being spoken at
//! a time, where each word sits in its segment's text, and which word a character belongs
//! to. Pure functions over the transcript's segments (ordered by start), so the pane can
//! highlight and seek without knowing how playback works. A lookup is a binary search.

use crate::events::Segment;

/// The segment being spoken at `position_s`: the last one starting at or before it, if the
/// position is before its end (or before the next one starts: a pause keeps the last line).
pub fn segment_at(segments: &[Segment], position_s: f64) -> Option<usize> {
    let after = segments.partition_point(|segment| segment.start_s <= position_s);
    let index = after.checked_sub(1)?;
    let segment = &segments[index];
    let next_start = segments
        .get(index + 1)
        .map_or(f64::INFINITY, |next| next.start_s);
    (position_s < segment.end_s.max(next_start.min(segment.end_s + 1.0))).then_some(index)
}

/// The word of `segment` being spoken at `position_s` (the last one started; `None` before
/// the first word or when the segment has no word times).
pub fn word_at(segment: &Segment, position_s: f64) -> Option<usize> {
    let after = segment
        .words
        .partition_point(|word| word.start_s <= position_s);
    after.checked_sub(1)
}


/// The word whose text holds byte `offset` (or the nearest one before it).
pub fn word_for_offset(ranges: &[std::ops::Range<usize>], offset: usize) -> Option<usize> {
    let after = ranges.partition_point(|range| range.start <= offset);
    after.checked_sub(1).or((!ranges.is_empty()).then_some(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::word_ranges;
    use crate::events::Word;

    fn segment(start_s: f64, end_s: f64, words: &[(&str, f64)]) -> Segment {
        Segment {
            start_s,
            end_s,
            text: words
                .iter()
                .map(|(text, _)| *text)
                .collect::<Vec<_>>()
                .join("")
                .trim()
                .into(),
            speaker: None,
            words: words
                .iter()
                .map(|(text, start_s)| Word {
                    text: (*text).into(),
                    start_s: *start_s,
                    end_s: start_s + 0.3,
                    probability: None,
                })
                .collect(),
            revision_key: None,
            ..Default::default()
        }
    }

    #[test]
    fn the_segment_and_word_at_a_time_are_found() {
        let segments = vec![
            segment(1.0, 2.0, &[(" And", 1.0), (" so", 1.4)]),
            segment(
                5.0,
                7.0,
                &[(" my", 5.0), (" fellow", 5.5), (" Americans", 6.0)],
            ),
        ];
        assert_eq!(segment_at(&segments, 0.5), None);
        assert_eq!(segment_at(&segments, 1.5), Some(0));
        assert_eq!(
            segment_at(&segments, 2.5),
            Some(0),
            "a short pause keeps the line"
        );
        assert_eq!(segment_at(&segments, 4.0), None);
        assert_eq!(segment_at(&segments, 6.9), Some(1));
        assert_eq!(word_at(&segments[1], 5.7), Some(1));
        assert_eq!(word_at(&segments[1], 4.9), None);
    }

    #[test]
    fn words_are_located_in_the_text_and_offsets_map_back() {
        let segment = segment(
            0.0,
            3.0,
            &[(" my", 0.0), (" fellow", 0.5), (" Americans", 1.0)],
        );
        let ranges = word_ranges(&segment);
        assert_eq!(ranges, vec![0..2, 3..9, 10..19]);
        assert_eq!(&segment.text[ranges[1].clone()], "fellow");
        assert_eq!(word_for_offset(&ranges, 4), Some(1));
        assert_eq!(
            word_for_offset(&ranges, 9),
            Some(1),
            "the space after a word"
        );
        assert_eq!(word_for_offset(&ranges, 12), Some(2));
        assert_eq!(word_for_offset(&[], 0), None);
    }
}
