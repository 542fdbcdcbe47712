//! Which language each stretch of a recording is in, when the user leaves it to the model.
//!
//! whisper.cpp detects the language once, from the first 30 seconds of a call, and decodes
//! everything after in it; a recording that changes language then gets the second language
//! written as the first (or nothing at all). Here the language is detected for every window
//! ([`super::windows`]), from its first and last piece of speech between pauses; where they
//! disagree, or a window is unsure, or differs from a neighbour, each of its pieces is
//! detected on its own, so a change is followed to the pause where it happens. Each
//! detection is one encoder pass over its audio, paid only with a multilingual model and
//! language left to "auto".

use super::windows;
use crate::engine::EngineError;
use std::collections::HashMap;
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
/// Speech a piece needs to be detected on its own, in seconds.
const PIECE_SPEECH_MIN_S: f64 = 1.0;

/// The shortest encoder window a detection uses, in seconds, however short its audio: with
/// 10 s base took the shared Spanish clip for Italian or Portuguese; 20 s hears all six.
/// Detection with a shortened window is fragile either way: each of the shared clips alone
/// (about 5 s) was heard right in a 10 s window (Spanish only 0.82 sure), while a 21 s one
/// took the Spanish and Portuguese clips for English (0.26, 0.67). The English-only check
/// therefore believes its quick 10 s listen only when it is sure.
const DETECT_WINDOW_MIN_S: f64 = 20.0;
/// Silence kept after the audio in a detection's encoder window, in seconds.
const DETECT_WINDOW_MARGIN_S: f64 = 1.0;
/// Encoder positions per second of audio (one per 20 ms).
const POSITIONS_PER_S: f64 = 50.0;

/// The language of `samples` (16 kHz mono), by the model on `state`.
///
/// The encoder runs over the audio and a little silence (never less than
/// [`DETECT_WINDOW_MIN_S`]), not over the 30 s window a transcription pays for: a piece of a
/// few seconds between pauses costs two thirds of a full pass. The transcription's own calls
/// set their window again, and the text it is conditioned on is kept.
pub fn detect(state: &mut WhisperState, samples: &[f32], threads: usize) -> Result<Detected, EngineError> {
    detect_in_window(state, samples, DETECT_WINDOW_MIN_S, threads)
}

/// As [`detect`], with an encoder window of at least `window_min_s` instead.
pub fn detect_in_window(state: &mut WhisperState, samples: &[f32], window_min_s: f64, threads: usize) -> Result<Detected, EngineError> {
    let failed = |error: whisper_rs::WhisperError| EngineError::Inference(format!("whisper.cpp could not detect the language: {error}"));
    let audio_s = samples.len() as f64 / crate::audio::ENGINE_SAMPLE_RATE_HZ as f64;
    let window_s = (audio_s + DETECT_WINDOW_MARGIN_S).max(window_min_s);
    set_encoder_window(state, (window_s * POSITIONS_PER_S).ceil() as i32, threads)?;
    state.pcm_to_mel(samples, threads.max(1)).map_err(failed)?;
    let (id, probabilities) = state.lang_detect(0, threads.max(1)).map_err(failed)?;
    let code = whisper_rs::get_lang_str(id).unwrap_or("en").to_string();
    let probability = probabilities.get(id.max(0) as usize).copied().unwrap_or(0.0);
    Ok(Detected { code, probability })
}

/// Sets the encoder window `lang_detect` uses on `state`, in positions of 20 ms (at most the
/// model's 1500). whisper.cpp's `lang_detect` encodes with the window of the state's last
/// `full` call (there is no other way to set it). A `full` call over exactly 100 ms sets it
/// and stops before encoding anything: whisper.cpp sets the window once the input is at least
/// 100 ms, and leaves its loop while less than 100 ms is left. It keeps the text the state
/// is conditioned on (with context, and no prompt of its own).
fn set_encoder_window(state: &mut WhisperState, positions: i32, threads: usize) -> Result<(), EngineError> {
    const PRIMING_MS: i32 = 100;
    const MODEL_POSITIONS: i32 = 1500;
    let mut params = whisper_rs::FullParams::new(whisper_rs::SamplingStrategy::Greedy { best_of: 1 });
    params.set_audio_ctx(positions.clamp(1, MODEL_POSITIONS));
    params.set_language(Some("en"));
    params.set_no_context(false);
    params.set_n_threads(threads.max(1) as i32);
    params.set_duration_ms(PRIMING_MS);
    params.set_print_progress(false);
    params.set_print_realtime(false);
    params.set_print_special(false);
    params.set_print_timestamps(false);
    let silence = vec![0.0f32; crate::audio::ENGINE_SAMPLE_RATE_HZ as usize * 2 * PRIMING_MS as usize / 1000];
    state
        .full(params, &silence)
        .map(|_| ())
        .map_err(|error| EngineError::Model(format!("whisper.cpp could not prepare language detection: {error}")))
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
    // A piece looked at for its window is not detected again for the window's pieces.
    let mut heard: HashMap<Range<usize>, Detected> = HashMap::new();
    let mut detect = |range: Range<usize>| -> Result<Detected, EngineError> {
        if let Some(found) = heard.get(&range) {
            return Ok(found.clone());
        }
        let found = detect(range.clone())?;
        heard.insert(range, found.clone());
        Ok(found)
    };
    let mut detected: Vec<Option<Detected>> = Vec::with_capacity(windows.len());
    for window in windows {
        detected.push(if windows::has_speech(active, window) { Some(window_language(active, window, &mut detect)?) } else { None });
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

/// A window's language, from its first and last piece of speech when they agree and are sure
/// of it: a window's detection hears its main language and can be sure of it over a first
/// sentence in another, which would then be decoded as the main one (English written as one
/// German word). When they disagree, or are unsure, or the window is one piece, the window's
/// own detection, sure only as far as its ends are, so that a disagreement is followed
/// piece by piece.
fn window_language(
    active: &[bool],
    window: &Range<usize>,
    detect: &mut impl FnMut(Range<usize>) -> Result<Detected, EngineError>,
) -> Result<Detected, EngineError> {
    let speech_pieces: Vec<Range<usize>> = windows::pieces(active, window.clone()).into_iter().filter(|piece| heard_alone(active, piece)).collect();
    let [first, .., last] = speech_pieces.as_slice() else {
        return detect(window.clone());
    };
    let (first, last) = (detect(first.clone())?, detect(last.clone())?);
    let ends_probability = first.probability.min(last.probability);
    if first.code == last.code && ends_probability >= SURE_PROBABILITY {
        return Ok(Detected { code: first.code, probability: ends_probability });
    }
    let own = detect(window.clone())?;
    let probability = if first.code == last.code { own.probability } else { own.probability.min(SURE_PROBABILITY / 2.0) };
    Ok(Detected { probability, ..own })
}

/// Whether a piece has speech enough to be told its language on its own. A breath or a
/// click at the end of a window, heard alone, is "English" as surely as any sentence, and
/// decoded alone it becomes an invented "Thank you."; it keeps the language around it.
fn heard_alone(active: &[bool], piece: &Range<usize>) -> bool {
    crate::vad::speech_s(active, piece.clone()) >= PIECE_SPEECH_MIN_S
}

/// A window detected piece by piece: a piece the model is unsure of, or too short to be
/// heard alone, takes the language of the piece before it (the window's own for the first).
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
        if heard_alone(active, &piece) {
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
    fn a_first_sentence_in_another_language_is_heard_though_the_window_is_sure_of_its_main_one() {
        // 0–4 s English, a pause, 5–20 s German: the window alone is sure it is German.
        let active: Vec<bool> = (0..1000).map(|i| !(200..250).contains(&i)).collect();
        let spans = plan(&active, &[0..1000], |range| {
            Ok(match range {
                r if r == (0..1000) => sure("de"),
                r if r.start == 0 => sure("en"),
                _ => sure("de"),
            })
        })
        .unwrap();
        assert_eq!(spans, vec![(0..225, "en".to_string()), (225..1000, "de".to_string())]);
    }

    #[test]
    fn a_window_whose_ends_agree_is_not_detected_whole() {
        let active: Vec<bool> = (0..1000).map(|i| !(200..250).contains(&i) && !(600..650).contains(&i)).collect();
        let mut asked = Vec::new();
        let spans = plan(&active, &[0..1000], |range| {
            asked.push(range);
            Ok(sure("it"))
        })
        .unwrap();
        assert_eq!(asked, vec![0..225, 625..1000], "the first and the last piece");
        assert_eq!(spans, vec![(0..1000, "it".to_string())]);
    }

    #[test]
    fn a_breath_at_the_end_of_a_window_keeps_the_windows_language() {
        // 0–6 s Italian, a pause, then 0.4 s of breath the model would call English.
        let active: Vec<bool> = (0..500).map(|i| i < 300 || (400..420).contains(&i)).collect();
        let mut asked = Vec::new();
        let spans = plan(&active, &[0..500], |range| {
            asked.push(range.clone());
            Ok(if range.start >= 350 { sure("en") } else { sure("it") })
        })
        .unwrap();
        assert_eq!(spans, vec![(0..500, "it".to_string())]);
        assert!(asked.iter().all(|range| range.start < 350), "the breath is not detected alone: {asked:?}");
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
