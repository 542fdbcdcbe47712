//! Two decoders at once on one chunk: where the chunk's windows are split between them.
//!
//! whisper.cpp decodes one token at a time, and with two threads each of the hundred-odd
//! small steps of a token ends at a barrier where one thread waits for the other. Two
//! single-thread states on the two halves of a chunk keep both cores busy without those
//! waits: on a 2-core machine, the 10.4-minute benchmark recording took a median 24.6 s
//! with two decoders against 31.3 s with one (`scripts/bench`; 25.9 against 29.8 s in another
//! run; alternating runs, the same words). The price is
//! context: the second half starts without the text before it (but with the user's prompt),
//! and a second state's buffers.
//!
//! The windows are split where the work on each side is about even. A window costs one
//! encoder pass whatever it holds, and decoding in proportion to its speech.
//!
//! A second state holds about 170 MB while its chunk is decoded (the encoder's and decoder's
//! buffers, and the vocabulary logits whisper.cpp keeps for every token of a batch): 457 MB
//! peak for the 10.4-minute recording, against 284 MB with one, over the 400 MB the worker
//! keeps to by default. So it is the user's choice
//! ([`TranscribeOptions::parallel_decoders`](crate::engine::TranscribeOptions::parallel_decoders)).

use super::windows;
use crate::vad;
use std::ops::Range;

/// The fewest threads worth splitting into two lanes (each lane gets at least one).
pub const MIN_THREADS_FOR_TWO_LANES: usize = 2;

/// Threads of the first and second lane when `threads` are split in two.
pub fn lane_threads(threads: usize) -> (usize, usize) {
    let second = (threads / 2).max(1);
    (threads.saturating_sub(second).max(1), second)
}

/// Where the second lane starts in `spans`: `spans.len()` when the chunk is better decoded by
/// one lane (fewer than two windows with speech, or fewer than two threads).
pub fn split_index<T>(spans: &[(Range<usize>, T)], active: &[bool], threads: usize) -> usize {
    let costs: Vec<f64> = spans.iter().map(|(span, _)| window_cost(active, span)).collect();
    let windows_with_speech = costs.iter().filter(|&&cost| cost > 0.0).count();
    if threads < MIN_THREADS_FOR_TWO_LANES || windows_with_speech < 2 {
        return spans.len();
    }
    let total: f64 = costs.iter().sum();
    let mut before = 0.0;
    let mut best = (f64::INFINITY, spans.len());
    for (index, cost) in costs.iter().enumerate() {
        let imbalance = (total - 2.0 * before).abs();
        if before > 0.0 && imbalance < best.0 {
            best = (imbalance, index);
        }
        before += cost;
    }
    best.1
}

/// The work a window is: one encoder pass (about half of a full window's time) plus
/// decoding in proportion to its speech; nothing for a window without speech (skipped).
fn window_cost(active: &[bool], span: &Range<usize>) -> f64 {
    if !windows::has_speech(active, span) {
        return 0.0;
    }
    let speech_frames = active[span.start.min(active.len())..span.end.min(active.len())].iter().filter(|&&a| a).count();
    let full_window_frames = windows::WINDOW_MAX_S / vad::FRAME_S;
    1.0 + speech_frames as f64 / full_window_frames
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(seconds: f64) -> usize {
        (seconds / vad::FRAME_S).round() as usize
    }

    /// Spans of the given lengths (s), each all speech or all silence.
    fn chunk(spans_s: &[(f64, bool)]) -> (Vec<(Range<usize>, ())>, Vec<bool>) {
        let mut active = Vec::new();
        let mut spans = Vec::new();
        for &(length_s, speech) in spans_s {
            let start = active.len();
            active.extend(std::iter::repeat_n(speech, frames(length_s)));
            spans.push((start..active.len(), ()));
        }
        (spans, active)
    }

    #[test]
    fn threads_are_shared_with_at_least_one_each() {
        assert_eq!(lane_threads(2), (1, 1));
        assert_eq!(lane_threads(3), (2, 1));
        assert_eq!(lane_threads(4), (2, 2));
        assert_eq!(lane_threads(1), (1, 1));
    }

    #[test]
    fn equal_windows_are_split_in_the_middle() {
        let (spans, active) = chunk(&[(29.0, true); 10]);
        assert_eq!(split_index(&spans, &active, 2), 5);
        let (spans, active) = chunk(&[(29.0, true); 2]);
        assert_eq!(split_index(&spans, &active, 2), 1);
    }

    #[test]
    fn one_window_of_speech_or_one_thread_keeps_one_lane() {
        let (spans, active) = chunk(&[(29.0, true), (29.0, false), (29.0, false)]);
        assert_eq!(split_index(&spans, &active, 2), 3);
        let (spans, active) = chunk(&[(29.0, true); 4]);
        assert_eq!(split_index(&spans, &active, 1), 4);
        let (spans, active) = chunk(&[]);
        assert_eq!(split_index(&spans, &active, 2), 0);
    }

    #[test]
    fn silent_windows_weigh_nothing_and_short_ones_less() {
        // Four windows of speech after four silent ones: two on each side.
        let (spans, active) = chunk(&[(29.0, false), (29.0, false), (29.0, false), (29.0, false), (29.0, true), (29.0, true), (29.0, true), (29.0, true)]);
        assert_eq!(split_index(&spans, &active, 2), 6);
        // A full window (1 + 1) against two short ones (1.1 each).
        let (spans, active) = chunk(&[(29.5, true), (3.0, true), (3.0, true)]);
        assert_eq!(split_index(&spans, &active, 2), 1);
    }
}
