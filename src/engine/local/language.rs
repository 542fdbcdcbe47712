//! Which language each stretch of a recording is in, when the user leaves it to the model.
//!
//! whisper.cpp detects the language once, from the first 30 seconds of a call, and decodes
//! everything after in it; a recording that changes language then gets the second language
//! written as the first (or nothing at all). Here the language is detected for every window
//! ([`super::windows`]); where a window is unsure, or differs from a neighbour, each of its
//! pieces (speech between pauses) is detected on its own, so a change is followed to the
//! pause where it happens. Each detection is one encoder pass, paid only with a multilingual
//! model and language left to "auto".

use super::windows;
use crate::engine::EngineError;
use std::ops::Range;
use whisper_rs::WhisperState;

/// A detected language and how sure the model is of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Detected {
    pub code: String,
    pub probability: f32,
}

/// Below this a window's detection is looked at piece by piece.
const SURE_PROBABILITY: f32 = 0.8;
/// Below this a piece's own detection is not trusted over its neighbours'.
const PIECE_PROBABILITY: f32 = 0.5;

/// The language of `samples` (16 kHz mono), by the model on `state`.
pub fn detect(state: &mut WhisperState, samples: &[f32], threads: usize) -> Result<Detected, EngineError> {
    let failed = |error: whisper_rs::WhisperError| EngineError::Inference(format!("whisper.cpp could not detect the language: {error}"));
    state.pcm_to_mel(samples, threads.max(1)).map_err(failed)?;
    let (id, probabilities) = state.lang_detect(0, threads.max(1)).map_err(failed)?;
    let code = whisper_rs::get_lang_str(id).unwrap_or("en").to_string();
    let probability = probabilities.get(id.max(0) as usize).copied().unwrap_or(0.0);
    Ok(Detected { code, probability })
}

/// Spans to decode, each with its language: `windows` (from [`windows::plan_windows`]) as
/// they are where the language is clear, split into runs of pieces where it changes.
/// Windows without speech keep the language around them. `detect` is asked for a window's
/// or a piece's language by its frame range.
pub fn plan(
    active: &[bool],
    windows: &[Range<usize>],
    mut detect: impl FnMut(Range<usize>) -> Result<Detected, EngineError>,
) -> Result<Vec<(Range<usize>, String)>, EngineError> {
    let mut detected: Vec<Option<Detected>> = Vec::with_capacity(windows.len());
    for window in windows {
        detected.push(if windows::has_speech(active, window) { Some(detect(window.clone())?) } else { None });
    }
    let mut spans: Vec<(Range<usize>, String)> = Vec::new();
    for (index, window) in windows.iter().enumerate() {
        let Some(own) = &detected[index] else {
            let language = neighbour_language(&detected, index).unwrap_or_else(|| "en".to_string());
            spans.push((window.clone(), language));
            continue;
        };
        let differs = |other: Option<&Option<Detected>>| other.and_then(Option::as_ref).is_some_and(|d| d.code != own.code);
        let unsure = own.probability < SURE_PROBABILITY
            || differs(index.checked_sub(1).and_then(|i| detected.get(i)))
            || differs(detected.get(index + 1));
        if unsure {
            spans.extend(by_pieces(active, window.clone(), own, &mut detect)?);
        } else {
            spans.push((window.clone(), own.code.clone()));
        }
    }
    Ok(merge_neighbours(spans))
}

/// A window detected piece by piece: a piece the model is unsure of takes the language of
/// the piece before it (the window's own for the first).
fn by_pieces(
    active: &[bool],
    window: Range<usize>,
    own: &Detected,
    detect: &mut impl FnMut(Range<usize>) -> Result<Detected, EngineError>,
) -> Result<Vec<(Range<usize>, String)>, EngineError> {
    let pieces = windows::pieces(active, window.clone());
    if pieces.len() < 2 {
        return Ok(vec![(window, own.code.clone())]);
    }
    let mut spans = Vec::with_capacity(pieces.len());
    let mut current = own.code.clone();
    for piece in pieces {
        if windows::has_speech(active, &piece) {
            let found = detect(piece.clone())?;
            if found.probability >= PIECE_PROBABILITY {
                current = found.code;
            }
        }
        spans.push((piece, current.clone()));
    }
    Ok(spans)
}

fn neighbour_language(detected: &[Option<Detected>], index: usize) -> Option<String> {
    let before = detected[..index].iter().rev().flatten().next();
    let after = detected[index + 1..].iter().flatten().next();
    before.or(after).map(|d| d.code.clone())
}

/// Joins touching spans of one language whose total stays within a window's length.
fn merge_neighbours(spans: Vec<(Range<usize>, String)>) -> Vec<(Range<usize>, String)> {
    let max_len = (windows::WINDOW_MAX_S / crate::vad::FRAME_S).round() as usize;
    let mut merged: Vec<(Range<usize>, String)> = Vec::with_capacity(spans.len());
    for (range, language) in spans {
        match merged.last_mut() {
            Some((last, last_language)) if *last_language == language && last.end == range.start && range.end - last.start <= max_len => {
                last.end = range.end;
            }
            _ => merged.push((range, language)),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sure(code: &str) -> Detected {
        Detected { code: code.into(), probability: 0.95 }
    }

    #[test]
    fn a_change_inside_a_window_is_followed_to_its_pause() {
        // 0–12 s English, a pause, 13–20 s German: one window, detected as mostly English.
        let active: Vec<bool> = (0..1000).map(|i| !(600..650).contains(&i)).collect();
        let windows = vec![0..1000];
        let mut asked = Vec::new();
        let spans = plan(&active, &windows, |range| {
            asked.push(range.clone());
            Ok(match range {
                r if r == (0..1000) => Detected { code: "en".into(), probability: 0.6 },
                r if r.start == 0 => sure("en"),
                _ => sure("de"),
            })
        })
        .unwrap();
        assert_eq!(spans, vec![(0..625, "en".to_string()), (625..1000, "de".to_string())]);
        assert_eq!(asked.len(), 3, "the window, then each piece");
    }

    #[test]
    fn sure_windows_of_one_language_are_detected_once_each() {
        let active = vec![true; 3000];
        let windows = vec![0..1475, 1475..2950, 2950..3000];
        let mut asked = 0;
        let spans = plan(&active, &windows, |_| {
            asked += 1;
            Ok(sure("fr"))
        })
        .unwrap();
        assert_eq!(asked, 3);
        assert_eq!(spans.iter().map(|(range, _)| range.clone()).collect::<Vec<_>>(), windows);
        assert!(spans.iter().all(|(_, language)| language == "fr"));
    }

    #[test]
    fn silent_windows_take_the_language_around_them() {
        let mut active = vec![true; 3000];
        active[1500..3000].iter_mut().for_each(|a| *a = false);
        let spans = plan(&active, &[0..1500, 1500..3000], |_| Ok(sure("it"))).unwrap();
        assert!(spans.iter().all(|(_, language)| language == "it"), "{spans:?}");
    }
}
