//! Speakers onto words: each word takes the speaker of the windows it overlaps most (where
//! voices overlap, the dominant one), a word over no window takes its neighbour's, and a
//! segment whose words change speaker is split at that word. No word is ever dropped.

use crate::events::{Segment, Word};

/// A stretch of time and the speaker heard in it.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeakerTurn {
    pub start_s: f64,
    pub end_s: f64,
    pub speaker: usize,
}

/// The speaker id the transcript and exports see for cluster `index` (kept raw in the JSON;
/// the transcript shows it as "Speaker N").
pub fn speaker_id(index: usize) -> String {
    format!("speaker_{index}")
}

/// The speaker heard most in `[start_s, end_s)`, or the nearest turn's when none overlaps.
pub fn dominant_speaker(turns: &[SpeakerTurn], start_s: f64, end_s: f64) -> Option<usize> {
    let mut overlap_s: Vec<f64> = Vec::new();
    for turn in turns {
        let overlap = turn.end_s.min(end_s) - turn.start_s.max(start_s);
        if overlap > 0.0 {
            if overlap_s.len() <= turn.speaker {
                overlap_s.resize(turn.speaker + 1, 0.0);
            }
            overlap_s[turn.speaker] += overlap;
        }
    }
    if let Some((speaker, _)) = overlap_s.iter().enumerate().filter(|(_, s)| **s > 0.0).max_by(|a, b| a.1.total_cmp(b.1)) {
        return Some(speaker);
    }
    let middle_s = (start_s + end_s) / 2.0;
    let distance = |turn: &SpeakerTurn| (turn.start_s - middle_s).max(middle_s - turn.end_s).max(0.0);
    turns.iter().min_by(|a, b| distance(a).total_cmp(&distance(b))).map(|turn| turn.speaker)
}

/// `segments` with speakers from `turns`, split where the speaker changes between words.
pub fn label_segments(segments: Vec<Segment>, turns: &[SpeakerTurn]) -> Vec<Segment> {
    let mut labelled = Vec::with_capacity(segments.len());
    for segment in segments {
        if segment.words.is_empty() {
            let speaker = dominant_speaker(turns, segment.start_s, segment.end_s).map(speaker_id);
            labelled.push(Segment { speaker, ..segment });
            continue;
        }
        let speakers: Vec<Option<String>> =
            segment.words.iter().map(|word| dominant_speaker(turns, word.start_s, word.end_s).map(speaker_id)).collect();
        labelled.extend(split_words_by_speaker(segment, &speakers));
    }
    labelled
}

/// `segment` cut into runs of words with the same speaker (`speakers[i]` is word `i`'s; a
/// word without one keeps the run it is in). The first piece starts where the segment did,
/// the last ends where it did; a segment of one speaker comes back whole, its text untouched.
pub fn split_words_by_speaker(segment: Segment, speakers: &[Option<String>]) -> Vec<Segment> {
    let mut runs: Vec<(Option<String>, Vec<Word>)> = Vec::new();
    for (word, speaker) in segment.words.iter().zip(speakers) {
        match runs.last_mut() {
            Some((run_speaker, words)) if speaker.is_none() || run_speaker == speaker => words.push(word.clone()),
            _ => runs.push((speaker.clone(), vec![word.clone()])),
        }
    }
    if runs.len() <= 1 {
        let speaker = runs.pop().and_then(|(speaker, _)| speaker);
        return vec![Segment { speaker, ..segment }];
    }
    let last = runs.len() - 1;
    runs.into_iter()
        .enumerate()
        .map(|(index, (speaker, words))| Segment {
            start_s: if index == 0 { segment.start_s.min(words[0].start_s) } else { words[0].start_s },
            end_s: if index == last { segment.end_s } else { words[words.len() - 1].end_s },
            text: words.iter().map(|word| word.text.as_str()).collect::<Vec<_>>().join(" "),
            speaker,
            words,
            revision_key: None,
            language: segment.language.clone(),
            low_confidence: segment.low_confidence,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(text: &str, start_s: f64, end_s: f64) -> Word {
        Word { text: text.to_string(), start_s, end_s, probability: None }
    }

    fn turn(start_s: f64, end_s: f64, speaker: usize) -> SpeakerTurn {
        SpeakerTurn { start_s, end_s, speaker }
    }

    #[test]
    fn a_segment_is_split_at_the_word_where_the_speaker_changes() {
        let segment = Segment {
            start_s: 0.0,
            end_s: 4.0,
            text: "Hello there. Hi, how are you?".to_string(),
            speaker: None,
            words: vec![word("Hello", 0.1, 0.5), word("there.", 0.5, 1.0), word("Hi,", 2.0, 2.3), word("how", 2.4, 2.6), word("are", 2.6, 2.8), word("you?", 2.8, 3.5)],
            revision_key: None,
            ..Default::default()
        };
        // Speaker 1 starts at 1.9 s; a little overlap at 1.9–2.1 goes to the dominant one.
        let turns = [turn(0.0, 2.1, 0), turn(1.9, 4.0, 1)];
        let pieces = label_segments(vec![segment], &turns);
        let summary: Vec<(&str, Option<&str>, f64, f64)> =
            pieces.iter().map(|s| (s.text.as_str(), s.speaker.as_deref(), s.start_s, s.end_s)).collect();
        assert_eq!(summary, [("Hello there.", Some("speaker_0"), 0.0, 1.0), ("Hi, how are you?", Some("speaker_1"), 2.0, 4.0)]);
        assert_eq!(pieces.iter().map(|s| s.words.len()).sum::<usize>(), 6, "no word dropped");
    }

    #[test]
    fn words_outside_every_turn_take_the_nearest_and_one_speaker_keeps_the_text() {
        let segment = Segment {
            start_s: 5.0,
            end_s: 6.0,
            text: "Well,  yes.".to_string(),
            speaker: None,
            words: vec![word("Well,", 5.0, 5.4), word("yes.", 5.5, 6.0)],
            revision_key: None,
            ..Default::default()
        };
        let pieces = label_segments(vec![segment], &[turn(0.0, 2.0, 0), turn(7.0, 9.0, 1)]);
        assert_eq!(pieces.len(), 1);
        assert_eq!((pieces[0].text.as_str(), pieces[0].speaker.as_deref()), ("Well,  yes.", Some("speaker_1")));
    }
}
