//! Subtitle cues cut from the transcript: the rules every SRT and WebVTT file follows.
//!
//! Lines that fill the screen and cues that flash by are the most common complaint about
//! generated subtitles, so cues are cut with word timestamps where the engine gave them:
//!
//! 1. Segments are taken in time order. Consecutive segments of the same speaker that do not
//!    overlap form a *run*; a new speaker always starts a new run, so a new cue.
//! 2. Each run is cut at word boundaries by dynamic programming: every cue must fit the line
//!    and duration limits and may not span a long pause; among the cuts with the fewest cues,
//!    the one with even cues that end at punctuation and keep the reading speed wins.
//! 3. Times are then rounded to milliseconds and made safe: cues sorted by start, pushed
//!    apart where input segments overlap (each keeps a short visible slot), ends clamped to
//!    the next start, short or fast cues extended into the following silence, and nothing
//!    longer than the maximum duration.

use super::layout::{FrontPacker, Piece, balanced_lines};
use super::timecode::{ms_to_seconds, seconds_to_ms};
use super::tokens::{Punctuation, TimedToken, segment_span, segment_tokens};
use crate::transcript::Transcript;
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// How subtitles are cut. Every limit is configurable; the defaults follow common broadcast
/// guidelines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SubtitleRules {
    /// Characters per line (Unicode scalar values). A single word longer than this gets a
    /// line of its own rather than being cut.
    pub max_chars_per_line: usize,
    /// Lines per cue.
    pub max_lines_per_cue: usize,
    /// Longest time one cue stays on screen.
    pub max_cue_duration_s: f64,
    /// Shortest time a cue should stay on screen. A shorter cue is extended into the silence
    /// after it, never over the next cue.
    pub min_cue_duration_s: f64,
    /// Reading speed limit. A faster cue is split where that helps (uneven speech) and is
    /// extended into the silence after it; `None` switches the rule off.
    pub max_chars_per_second: Option<f64>,
    /// A cue never spans a pause between words longer than this.
    pub split_at_pause_s: f64,
    /// Show who speaks: `Alice: ` in front of each SRT cue, `<v Alice>` in WebVTT. Only
    /// segments that have a speaker are labelled.
    pub show_speakers: bool,
}

impl Default for SubtitleRules {
    fn default() -> Self {
        SubtitleRules {
            max_chars_per_line: 42,
            max_lines_per_cue: 2,
            max_cue_duration_s: 7.0,
            min_cue_duration_s: 1.0,
            max_chars_per_second: Some(20.0),
            split_at_pause_s: 1.0,
            show_speakers: true,
        }
    }
}

impl SubtitleRules {
    /// The same rules with nonsense replaced: zero limits raised to one, non-finite numbers
    /// replaced by the defaults, the minimum duration no longer than the maximum.
    pub fn sanitized(&self) -> SubtitleRules {
        let defaults = SubtitleRules::default();
        let positive = |value: f64, default: f64| {
            if value.is_finite() && value > 0.0 {
                value
            } else {
                default
            }
        };
        let max_cue_duration_s =
            positive(self.max_cue_duration_s, defaults.max_cue_duration_s).max(0.001);
        let min_cue_duration_s =
            if self.min_cue_duration_s.is_finite() && self.min_cue_duration_s >= 0.0 {
                self.min_cue_duration_s.min(max_cue_duration_s)
            } else {
                defaults.min_cue_duration_s.min(max_cue_duration_s)
            };
        SubtitleRules {
            max_chars_per_line: self.max_chars_per_line.max(1),
            max_lines_per_cue: self.max_lines_per_cue.max(1),
            max_cue_duration_s,
            min_cue_duration_s,
            max_chars_per_second: self
                .max_chars_per_second
                .filter(|cps| cps.is_finite() && *cps > 0.0),
            split_at_pause_s: if self.split_at_pause_s.is_nan() || self.split_at_pause_s < 0.0 {
                defaults.split_at_pause_s
            } else {
                self.split_at_pause_s
            },
            show_speakers: self.show_speakers,
        }
    }
}

/// One subtitle cue: what is on screen from `start_s` to `end_s`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cue {
    pub start_s: f64,
    pub end_s: f64,
    /// The lines as shown, without markup (a `Speaker: ` prefix is part of the first line
    /// when the speaker is shown as text).
    pub lines: Vec<String>,
    /// Display name of the speaker, when it is carried beside the text (WebVTT voice).
    pub speaker: Option<String>,
}

impl Cue {
    /// The lines joined with single spaces.
    pub fn text(&self) -> String {
        self.lines.join(" ")
    }
}

/// Where a cue's speaker goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpeakerLabel {
    /// Not shown.
    Hidden,
    /// `Alice: ` in front of the first line, counted in the line length (SRT).
    Prefix,
    /// In [`Cue::speaker`] only, not in the lines (WebVTT `<v Alice>`).
    Voice,
}

/// Consecutive segments of one speaker might share a cue only if the next one starts no
/// earlier than this before the previous one ends.
const RUN_OVERLAP_TOLERANCE_S: f64 = 0.2;
/// A pause at least this long is as good a place to end a cue as a full stop.
const GOOD_BREAK_PAUSE_S: f64 = 0.5;
/// Price of one more cue in the cutting search. Ending a cue mid-phrase costs 50 and after a
/// comma 5, so one extra cue is worth it when it turns a mid-phrase break into a break at
/// punctuation; text without punctuation still gets the fewest cues.
const CUE_COST: f64 = 40.0;
/// Shortest slot a cue keeps when input segments overlap (milliseconds).
const MIN_SLOT_MS: i64 = 100;

/// Cuts the transcript into subtitle cues following `rules`, sorted by time, never
/// overlapping, each with `end_s > start_s` (whole milliseconds).
pub fn build_cues(transcript: &Transcript, rules: &SubtitleRules, label: SpeakerLabel) -> Vec<Cue> {
    let rules = rules.sanitized();
    let label = if rules.show_speakers {
        label
    } else {
        SpeakerLabel::Hidden
    };
    let mut drafts = Vec::new();
    for run in speaker_runs(transcript) {
        cut_run(&run, &rules, label, &mut drafts);
    }
    let audio_end_ms = transcript
        .duration_s
        .filter(|d| d.is_finite() && *d > 0.0)
        .map(seconds_to_ms);
    settle_times(&mut drafts, &rules, audio_end_ms);
    drafts
        .into_iter()
        .map(|draft| Cue {
            start_s: ms_to_seconds(draft.start_ms),
            end_s: ms_to_seconds(draft.end_ms),
            lines: draft.lines,
            speaker: if label == SpeakerLabel::Voice {
                draft.speaker
            } else {
                None
            },
        })
        .collect()
}

/// Tokens of consecutive, non-overlapping segments of one speaker.
struct Run {
    speaker: Option<String>,
    tokens: Vec<TimedToken>,
    /// Whether a segment ends after token `i`.
    segment_end_after: Vec<bool>,
}

fn display_name(transcript: &Transcript, id: Option<&str>) -> Option<String> {
    let name = transcript.speaker_name(id?);
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    let name: String = name.chars().filter(|c| !c.is_control()).collect();
    if name.is_empty() { None } else { Some(name) }
}

fn speaker_runs(transcript: &Transcript) -> Vec<Run> {
    let mut order: Vec<usize> = (0..transcript.segments.len()).collect();
    order.sort_by(|a, b| {
        let start = |index: usize| {
            transcript
                .segments
                .get(index)
                .map(|s| segment_span(s).0)
                .unwrap_or(0.0)
        };
        start(*a).total_cmp(&start(*b))
    });
    let mut runs: Vec<Run> = Vec::new();
    let mut run_speaker_id: Option<Option<&str>> = None;
    let mut run_end_s = 0.0f64;
    for index in order {
        let Some(segment) = transcript.segments.get(index) else {
            continue;
        };
        let tokens = segment_tokens(segment);
        if tokens.is_empty() {
            continue;
        }
        let (start_s, end_s) = segment_span(segment);
        let speaker_id = segment.speaker.as_deref();
        let joins =
            run_speaker_id == Some(speaker_id) && start_s >= run_end_s - RUN_OVERLAP_TOLERANCE_S;
        let last_end_s = tokens.last().map(|t| t.end_s).unwrap_or(end_s);
        match runs.last_mut() {
            Some(run) if joins => {
                run.tokens.extend(tokens);
                run.segment_end_after.resize(run.tokens.len(), false);
                run_end_s = run_end_s.max(end_s).max(last_end_s);
            }
            _ => {
                let count = tokens.len();
                runs.push(Run {
                    speaker: display_name(transcript, speaker_id),
                    tokens,
                    segment_end_after: vec![false; count],
                });
                run_speaker_id = Some(speaker_id);
                run_end_s = end_s.max(last_end_s);
            }
        }
        if let Some(run) = runs.last_mut() {
            if let Some(last) = run.segment_end_after.last_mut() {
                *last = true;
            }
        }
    }
    for run in &mut runs {
        // Segments of a run may overlap a little: keep times non-decreasing across them.
        let mut last_start = 0.0f64;
        let mut last_end = 0.0f64;
        for token in &mut run.tokens {
            token.start_s = token.start_s.max(last_start);
            token.end_s = token.end_s.max(token.start_s).max(last_end);
            last_start = token.start_s;
            last_end = token.end_s;
        }
    }
    runs
}

/// A cue before its times are settled.
struct Draft {
    start_ms: i64,
    end_ms: i64,
    lines: Vec<String>,
    speaker: Option<String>,
    /// Characters on screen, for the reading speed.
    chars: usize,
}

/// Cuts one run into cues (see the module documentation) and appends them to `drafts`.
fn cut_run(run: &Run, rules: &SubtitleRules, label: SpeakerLabel, drafts: &mut Vec<Draft>) {
    if run.tokens.is_empty() {
        return;
    }
    let prefix = match (&run.speaker, label) {
        (Some(name), SpeakerLabel::Prefix) => Some(format!("{name}:")),
        _ => None,
    };
    let prefix_width = prefix.as_ref().map(|p| p.chars().count());
    for range in best_cuts(run, rules, prefix_width) {
        if let Some(draft) = draft_cue(run, rules, range, prefix.as_deref()) {
            drafts.push(draft);
        }
    }
}

/// The cheapest way to cut the run's tokens into cues that fit the rules, as token ranges in
/// order (dynamic programming over where the last cue starts).
fn best_cuts(run: &Run, rules: &SubtitleRules, prefix_width: Option<usize>) -> Vec<Range<usize>> {
    let tokens = &run.tokens;
    let count = tokens.len();
    // best[end] = (cost, start of the last cue) for tokens 0..end.
    let mut best: Vec<(f64, usize)> = vec![(f64::INFINITY, 0); count + 1];
    if let Some(first) = best.first_mut() {
        *first = (0.0, 0);
    }
    for end in 1..=count {
        let mut packer = FrontPacker::new(rules.max_chars_per_line);
        let mut chars = prefix_width.map(|w| w + 1).unwrap_or(0);
        let mut cell = (f64::INFINITY, end - 1);
        for start in (0..end).rev() {
            let Some(token) = tokens.get(start) else {
                break;
            };
            let single = start + 1 == end;
            if !single {
                let next_start_s = tokens
                    .get(start + 1)
                    .map(|t| t.start_s)
                    .unwrap_or(token.end_s);
                if next_start_s - token.end_s > rules.split_at_pause_s {
                    break;
                }
            }
            packer.prepend(token.width);
            chars += token.width + usize::from(!single);
            let lines = match prefix_width {
                Some(width) => packer.lines_with(width),
                None => packer.lines(),
            };
            let span_s =
                tokens.get(end - 1).map(|t| t.end_s).unwrap_or(token.end_s) - token.start_s;
            if !single && (lines > rules.max_lines_per_cue || span_s > rules.max_cue_duration_s) {
                break;
            }
            let before = best.get(start).map(|b| b.0).unwrap_or(f64::INFINITY);
            let cost = before + cue_cost(run, rules, start, end, chars);
            if cost < cell.0 {
                cell = (cost, start);
            }
        }
        if let Some(slot) = best.get_mut(end) {
            *slot = cell;
        }
    }
    let mut bounds = Vec::new();
    let mut end = count;
    while end > 0 {
        let start = best.get(end).map(|b| b.1).unwrap_or(end - 1).min(end - 1);
        bounds.push(start..end);
        end = start;
    }
    bounds.reverse();
    bounds
}

/// How bad a cue of tokens `start..end` (`chars` on screen) is: a break away from a pause or
/// punctuation, room left unused, too short a time, too fast to read.
fn cue_cost(run: &Run, rules: &SubtitleRules, start: usize, end: usize, chars: usize) -> f64 {
    let tokens = &run.tokens;
    let (Some(first), Some(last)) = (tokens.get(start), tokens.get(end - 1)) else {
        return f64::INFINITY;
    };
    let capacity = (rules.max_chars_per_line * rules.max_lines_per_cue) as f64;
    let span_s = last.end_s - first.start_s;
    let mut cost = CUE_COST;
    if end < tokens.len() {
        let pause_s = tokens
            .get(end)
            .map(|next| next.start_s - last.end_s)
            .unwrap_or(0.0);
        let segment_end = run.segment_end_after.get(end - 1).copied().unwrap_or(false);
        cost += if segment_end || pause_s >= GOOD_BREAK_PAUSE_S {
            0.0
        } else {
            match last.punctuation {
                Punctuation::Sentence => 0.0,
                Punctuation::Clause => 5.0,
                Punctuation::None => 50.0,
            }
        };
    }
    let slack = (capacity - (chars as f64).min(capacity)) / capacity;
    cost += 30.0 * slack * slack;
    if span_s < rules.min_cue_duration_s && rules.min_cue_duration_s > 0.0 {
        cost += 40.0 * (1.0 - span_s / rules.min_cue_duration_s);
    }
    if let Some(max_cps) = rules.max_chars_per_second {
        let readable = max_cps * span_s.max(rules.min_cue_duration_s);
        cost += 5.0 * (chars as f64 - readable).max(0.0);
    }
    cost
}

/// The cue for tokens `range`: its lines balanced (after the speaker prefix, if any) and its
/// times.
fn draft_cue(
    run: &Run,
    rules: &SubtitleRules,
    range: Range<usize>,
    prefix: Option<&str>,
) -> Option<Draft> {
    let cue_tokens = run.tokens.get(range)?;
    let (first, last) = (cue_tokens.first()?, cue_tokens.last()?);
    let mut pieces: Vec<Piece> = Vec::with_capacity(cue_tokens.len() + 1);
    let mut texts: Vec<&str> = Vec::with_capacity(cue_tokens.len() + 1);
    if let Some(prefix) = prefix {
        pieces.push(Piece {
            width: prefix.chars().count(),
            punctuation: Punctuation::None,
        });
        texts.push(prefix);
    }
    for token in cue_tokens {
        pieces.push(Piece {
            width: token.width,
            punctuation: token.punctuation,
        });
        texts.push(&token.text);
    }
    let lines: Vec<String> =
        balanced_lines(&pieces, rules.max_chars_per_line, rules.max_lines_per_cue)
            .into_iter()
            .filter_map(|line| texts.get(line).map(|words| words.join(" ")))
            .collect();
    let chars = lines.iter().map(|line| line.chars().count()).sum();
    Some(Draft {
        start_ms: seconds_to_ms(first.start_s),
        end_ms: seconds_to_ms(last.end_s),
        lines,
        speaker: run.speaker.clone(),
        chars,
    })
}

/// Sorts the cues and settles their times in whole milliseconds (step 3 of the module
/// documentation).
fn settle_times(drafts: &mut [Draft], rules: &SubtitleRules, audio_end_ms: Option<i64>) {
    // Stable: cues that start together keep the order they were cut in.
    drafts.sort_by_key(|draft| draft.start_ms);
    let min_ms = seconds_to_ms(rules.min_cue_duration_s);
    let max_ms = seconds_to_ms(rules.max_cue_duration_s).max(1);
    let slot_floor_ms = MIN_SLOT_MS.min(max_ms).max(1);
    // Overlapping input: each cue keeps at least a short slot before the next may start.
    for index in 1..drafts.len() {
        let (before, after) = drafts.split_at_mut(index);
        let (Some(previous), Some(current)) = (before.last(), after.first_mut()) else {
            continue;
        };
        let natural_ms = previous.end_ms - previous.start_ms;
        let slot_ms = natural_ms.min(min_ms).max(slot_floor_ms);
        current.start_ms = current.start_ms.max(previous.start_ms + slot_ms);
    }
    let starts: Vec<i64> = drafts.iter().map(|draft| draft.start_ms).collect();
    for (index, draft) in drafts.iter_mut().enumerate() {
        let next_start_ms = starts.get(index + 1).copied();
        draft.end_ms = draft.end_ms.max(draft.start_ms + 1);
        if let Some(next) = next_start_ms {
            draft.end_ms = draft.end_ms.min(next);
        }
        // Short or fast cues stay longer when the silence after them allows.
        let reading_ms = match rules.max_chars_per_second {
            Some(cps) => seconds_to_ms(draft.chars as f64 / cps),
            None => 0,
        };
        let wanted_ms = min_ms.max(reading_ms).min(max_ms);
        if draft.end_ms - draft.start_ms < wanted_ms {
            let limit_ms = match (next_start_ms, audio_end_ms) {
                (Some(next), _) => next,
                // The last cue stays within the audio, unless bad word times already put
                // it past the end.
                (None, Some(audio_end)) if audio_end > draft.start_ms => {
                    audio_end.max(draft.end_ms)
                }
                (None, _) => i64::MAX,
            };
            draft.end_ms = draft.end_ms.max((draft.start_ms + wanted_ms).min(limit_ms));
        }
        draft.end_ms = draft.end_ms.min(draft.start_ms + max_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Segment, Word};

    fn timed_segment(words: &[(&str, f64, f64)], speaker: Option<&str>) -> Segment {
        Segment {
            revision_key: None,
            start_s: words.first().map(|w| w.1).unwrap_or(0.0),
            end_s: words.last().map(|w| w.2).unwrap_or(0.0),
            text: words.iter().map(|w| w.0).collect::<Vec<_>>().join(" "),
            speaker: speaker.map(str::to_string),
            words: words
                .iter()
                .map(|(text, start_s, end_s)| Word {
                    text: (*text).into(),
                    start_s: *start_s,
                    end_s: *end_s,
                    probability: None,
                })
                .collect(),
                ..Default::default()
        }
    }

    #[test]
    fn cue_times_come_from_word_times() {
        let mut transcript = Transcript::new();
        let words: Vec<(String, f64, f64)> = (0..30)
            .map(|i| {
                (
                    format!("word{i}"),
                    10.0 + i as f64 * 0.4,
                    10.0 + i as f64 * 0.4 + 0.3,
                )
            })
            .collect();
        let borrowed: Vec<(&str, f64, f64)> =
            words.iter().map(|(t, s, e)| (t.as_str(), *s, *e)).collect();
        transcript.push_segment(timed_segment(&borrowed, None));
        let cues = build_cues(&transcript, &SubtitleRules::default(), SpeakerLabel::Hidden);
        assert!(cues.len() >= 3, "{cues:?}");
        let first_word_of_each: Vec<String> = cues
            .iter()
            .map(|cue| cue.lines[0].split(' ').next().unwrap_or("").to_string())
            .collect();
        for (cue, first_word) in cues.iter().zip(first_word_of_each) {
            let index: usize = first_word.trim_start_matches("word").parse().unwrap();
            assert_eq!(
                seconds_to_ms(cue.start_s),
                seconds_to_ms(10.0 + index as f64 * 0.4)
            );
        }
    }

    #[test]
    fn speaker_change_starts_a_new_cue_with_a_prefix() {
        let mut transcript = Transcript::new();
        transcript.push_segment(timed_segment(&[("Hi", 0.0, 0.5)], Some("a")));
        transcript.push_segment(timed_segment(&[("Hello", 0.6, 1.0)], Some("b")));
        transcript.rename_speaker("a", "Alice");
        let cues = build_cues(&transcript, &SubtitleRules::default(), SpeakerLabel::Prefix);
        let texts: Vec<String> = cues.iter().map(Cue::text).collect();
        assert_eq!(texts, ["Alice: Hi", "Speaker 2: Hello"]);
        assert_eq!(seconds_to_ms(cues[0].end_s), 600);
        let voiced = build_cues(&transcript, &SubtitleRules::default(), SpeakerLabel::Voice);
        assert_eq!(voiced[0].speaker.as_deref(), Some("Alice"));
        assert_eq!(voiced[0].text(), "Hi");
    }

    #[test]
    fn overlapping_segments_are_pushed_apart() {
        let mut transcript = Transcript::new();
        transcript.push_segment(timed_segment(&[("left", 0.3, 4.9)], Some("l")));
        transcript.push_segment(timed_segment(&[("right", 0.3, 2.6)], Some("r")));
        let cues = build_cues(&transcript, &SubtitleRules::default(), SpeakerLabel::Hidden);
        assert_eq!(cues.len(), 2);
        assert_eq!((cues[0].start_s, cues[0].end_s), (0.3, 1.3));
        assert_eq!((cues[1].start_s, cues[1].end_s), (1.3, 2.6));
    }

    #[test]
    fn short_cue_is_extended_into_silence_only() {
        let mut transcript = Transcript::new();
        transcript.push_segment(timed_segment(&[("Yes.", 1.0, 1.2)], None));
        transcript.push_segment(timed_segment(&[("No.", 1.7, 1.9)], None));
        transcript.push_segment(timed_segment(&[("Maybe.", 5.0, 5.1)], None));
        let rules = SubtitleRules {
            split_at_pause_s: 0.1,
            ..SubtitleRules::default()
        };
        let cues = build_cues(&transcript, &rules, SpeakerLabel::Hidden);
        let times: Vec<(f64, f64)> = cues.iter().map(|c| (c.start_s, c.end_s)).collect();
        assert_eq!(times, [(1.0, 1.7), (1.7, 2.7), (5.0, 6.0)]);
    }
}
