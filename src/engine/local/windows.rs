//! Cuts a chunk into the windows whisper.cpp decodes one call at a time.
//!
//! Each window is at most [`WINDOW_MAX_S`] (the encoder's 30 seconds, so one window is one
//! encoder pass) and ends in a pause, so no word is cut in two and the text of each window
//! can be checked against the speech in it before it is sent ([`super::pipeline`]). Inside a
//! window, pauses split the speech into pieces, which is where a language may change.
//! Positions are frames of [`vad::FRAME_S`].

use crate::vad;
use std::ops::Range;

/// The longest window: whisper's 30 s, less a little room at the end.
pub const WINDOW_MAX_S: f64 = 29.5;
/// The shortest window worth cutting for when the audio goes on: a cut is searched for in
/// the pauses between this and [`WINDOW_MAX_S`].
pub const WINDOW_MIN_S: f64 = 15.0;
/// The shortest pause that splits a window into pieces.
pub const PIECE_PAUSE_S: f64 = 0.4;

fn frames(seconds: f64) -> usize {
    (seconds / vad::FRAME_S).round() as usize
}

/// Windows that tile `active` from start to end, each cut in the longest pause found between
/// [`WINDOW_MIN_S`] and [`WINDOW_MAX_S`] after its start (the quietest frame by
/// `levels_dbfs` when there is no pause).
pub fn plan_windows(active: &[bool], levels_dbfs: &[f32]) -> Vec<Range<usize>> {
    let (min_len, max_len) = (frames(WINDOW_MIN_S), frames(WINDOW_MAX_S));
    let mut windows = Vec::new();
    let mut start = 0;
    while start < active.len() {
        let end = if active.len() - start <= max_len {
            active.len()
        } else {
            let search = start + min_len..start + max_len;
            longest_pause_middle(active, search.clone())
                .or_else(|| levels_dbfs.get(search.clone()).and_then(|levels| vad::quietest_window(levels, 1)).map(|i| search.start + i))
                .unwrap_or(search.end)
        };
        windows.push(start..end);
        start = end;
    }
    windows
}

/// The middle of the longest run of inactive frames in `range` (the later one of equals).
fn longest_pause_middle(active: &[bool], range: Range<usize>) -> Option<usize> {
    let mut best: Option<Range<usize>> = None;
    for pause in pauses(active, range, 1) {
        if best.as_ref().is_none_or(|b| pause.len() >= b.len()) {
            best = Some(pause);
        }
    }
    best.map(|pause| pause.start + pause.len() / 2)
}

/// Runs of at least `min_len` inactive frames inside `range`.
fn pauses(active: &[bool], range: Range<usize>, min_len: usize) -> Vec<Range<usize>> {
    let range = range.start.min(active.len())..range.end.min(active.len());
    let mut runs = Vec::new();
    let mut run_start: Option<usize> = None;
    for index in range.clone() {
        match (active[index], run_start) {
            (false, None) => run_start = Some(index),
            (true, Some(begun)) => {
                runs.push(begun..index);
                run_start = None;
            }
            _ => {}
        }
    }
    if let Some(begun) = run_start {
        runs.push(begun..range.end);
    }
    runs.retain(|run| run.len() >= min_len.max(1));
    runs
}

/// Runs of active frames inside `range`.
pub fn speech_runs(active: &[bool], range: Range<usize>) -> Vec<Range<usize>> {
    let range = range.start.min(active.len())..range.end.min(active.len());
    let mut runs = Vec::new();
    let mut cursor = range.start;
    for pause in pauses(active, range.clone(), 1) {
        if pause.start > cursor {
            runs.push(cursor..pause.start);
        }
        cursor = pause.end;
    }
    if cursor < range.end {
        runs.push(cursor..range.end);
    }
    runs
}

/// `window` cut into pieces at pauses of at least [`PIECE_PAUSE_S`], each cut in the middle
/// of its pause; the pieces tile the window.
pub fn pieces(active: &[bool], window: Range<usize>) -> Vec<Range<usize>> {
    let inner = pauses(active, window.clone(), frames(PIECE_PAUSE_S))
        .into_iter()
        .filter(|pause| pause.start > window.start && pause.end < window.end);
    let mut pieces = Vec::new();
    let mut start = window.start;
    for pause in inner {
        let cut = pause.start + pause.len() / 2;
        pieces.push(start..cut);
        start = cut;
    }
    pieces.push(start..window.end);
    pieces
}

/// Whether any frame of `range` is active.
pub fn has_speech(active: &[bool], range: &Range<usize>) -> bool {
    active.get(range.clone()).is_some_and(|frames| frames.iter().any(|&a| a))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Activity with `speech` spans (seconds) active, `total_s` long.
    fn activity(total_s: f64, speech: &[(f64, f64)]) -> Vec<bool> {
        (0..frames(total_s))
            .map(|i| {
                let t = i as f64 * vad::FRAME_S;
                speech.iter().any(|&(a, b)| t >= a && t < b)
            })
            .collect()
    }

    #[test]
    fn windows_tile_the_audio_and_are_cut_in_the_longest_pause() {
        let active = activity(70.0, &[(0.0, 20.0), (20.5, 24.0), (26.0, 40.0), (40.3, 70.0)]);
        let levels = vec![-20.0; active.len()];
        let windows = plan_windows(&active, &levels);
        assert_eq!(windows.first().map(|w| w.start), Some(0));
        assert_eq!(windows.last().map(|w| w.end), Some(active.len()));
        for pair in windows.windows(2) {
            assert_eq!(pair[0].end, pair[1].start, "windows must tile: {windows:?}");
        }
        for window in &windows {
            assert!(window.len() <= frames(WINDOW_MAX_S), "{window:?} too long");
        }
        // The 2-second pause at 24–26 s wins over the half-second one at 20 s.
        assert_eq!(windows[0].end, frames(25.0));
    }

    #[test]
    fn speech_without_pauses_is_cut_at_its_quietest_moment() {
        let active = vec![true; frames(45.0)];
        let mut levels = vec![-20.0; active.len()];
        levels[frames(22.0)] = -45.0;
        let windows = plan_windows(&active, &levels);
        assert_eq!(windows[0], 0..frames(22.0));
    }

    #[test]
    fn pieces_split_a_window_at_its_pauses() {
        let active = activity(12.0, &[(0.5, 4.0), (4.2, 6.0), (7.0, 11.0)]);
        let window = 0..active.len();
        // The 0.2-second gap at 4 s is no pause; the second at 6–7 s is.
        assert_eq!(pieces(&active, window.clone()), vec![0..frames(6.5), frames(6.5)..active.len()]);
        assert_eq!(speech_runs(&active, window.clone()).len(), 3);
        assert!(has_speech(&active, &window));
        assert!(!has_speech(&active, &(frames(11.0)..frames(12.0))));
    }
}
