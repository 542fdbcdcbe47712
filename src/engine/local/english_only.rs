//! English-only models and other languages.
//!
//! An English-only model (tiny.en, the default) has no language detection and writes
//! invented English over any other language, without a hint that anything is wrong. When
//! one is used with the language left to "auto", a multilingual model installed next to it
//! (the smallest, see [`find_detector`]) listens to the first speech of each chunk; when it
//! hears another language the user is told which, and what to pick instead.
//!
//! The detector is loaded for each chunk and let go once it has listened (base: about 220 MB;
//! one load per chunk of minutes), so that it never sits in memory
//! beside the transcribing model's buffers, which are given back between chunks too.

use super::{language, pipeline, windows};
use crate::engine::{EngineError, TranscribeOptions};
use crate::events::EventSink;
use crate::models::ModelStore;
use crate::models::store::model_name_of as model_name;
use crate::units::clock;
use crate::vad;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use whisper_rs::WhisperState;

/// Below this the detector is not sure enough of a language to warn about it.
const HEARD_PROBABILITY: f32 = 0.5;
/// Speech the detector listens to in each chunk, and its encoder window: two thirds of the
/// 30 s window whisper.cpp encodes otherwise. Measured on this 2-core machine with tiny.en
/// and base as the detector, `verbatim transcribe two_cities.wav` (44 s), alternating runs:
/// 4.9-5.1 s with the full window, 3.8-4.0 s with this, about 2.5 s without the check
/// (`--language en`). 10 s was faster still but missed the Spanish clip of the shared
/// recordings (20 s hears all six languages there, and no English one as another).
/// [`language::detect`] fits its encoder window to what it is given.
const LISTEN_S: f64 = 20.0;
/// A first, quicker listen: the first this many seconds of that speech in a 10 s encoder
/// window, believed when the detector is at least [`QUICK_SURE_PROBABILITY`] sure (English
/// or not); only otherwise does it listen to all [`LISTEN_S`]. Measured with base on the
/// shared recordings: the five English ones 0.97-1.00 English, the twelve in five other
/// languages at most 0.05 English (Spanish 0.82 Spanish, the rest 0.96-1.00 their own), and
/// the encoder 0.30 s against 1.2 s for the full listen (a 20 s window). `verbatim
/// transcribe two_cities.wav` with the default options: 3.3-3.6 s against 2.85-2.95 s with
/// `--language en`, where the full listen alone cost about 1.1 s more.
const QUICK_LISTEN_S: f64 = 9.0;
const QUICK_WINDOW_S: f64 = 10.0;
const QUICK_SURE_PROBABILITY: f32 = 0.9;

/// The smallest installed multilingual model, to tell which language is spoken.
pub fn find_detector(store: &ModelStore) -> Option<PathBuf> {
    let mut models = store.list().ok()?;
    models.sort_by_key(|model| model.size_bytes);
    models.into_iter().map(|model| model.path).find(|path| super::is_multilingual(path) == Some(true))
}

/// A multilingual model listening to what an English-only one transcribes.
pub struct EnglishOnlyCheck {
    model_name: String,
    detector_path: PathBuf,
    detector_name: String,
    /// The detector, loaded for the chunk about to be listened to.
    loaded: Option<WhisperState>,
    threads: usize,
    /// Languages already warned about (one warning each).
    warned: BTreeSet<String>,
}

impl EnglishOnlyCheck {
    /// The check for this job, when it applies: an English-only model (`multilingual` is
    /// false), the language left to auto, and a multilingual model to listen with. A
    /// detector that cannot be loaded is reported and the job goes on without the check.
    pub fn start(
        model_path: &Path,
        detector_path: Option<&Path>,
        options: &TranscribeOptions,
        multilingual: bool,
        sink: &EventSink,
    ) -> Option<EnglishOnlyCheck> {
        let auto = options.language.as_deref().map(str::trim).is_none_or(|code| code.is_empty() || code == "auto");
        let detector_path = detector_path.filter(|_| auto && !multilingual)?;
        let threads = options.threads.max(1) as usize;
        match load_detector(detector_path) {
            Ok(state) => Some(EnglishOnlyCheck {
                model_name: model_name(model_path),
                detector_path: detector_path.to_path_buf(),
                detector_name: model_name(detector_path),
                loaded: Some(state),
                threads,
                warned: BTreeSet::new(),
            }),
            Err(error) => {
                sink.warning(format!("could not check the spoken language with {}: {error}", model_name(detector_path)));
                None
            }
        }
    }

    /// Listens to the first window of speech in `samples` (16 kHz mono starting at
    /// `chunk_start_s` in the file, with its VAD `levels` and `active` frames) and warns, once
    /// per language, when it is not English.
    pub fn listen(&mut self, samples: &[f32], levels: &[f32], active: &[bool], chunk_start_s: f64, sink: &EventSink) {
        let windows = windows::plan_windows(active, levels);
        let Some(window) = windows.into_iter().find(|window| windows::has_speech(active, window)) else { return };
        let heard_at_s = chunk_start_s + window.start as f64 * vad::FRAME_S;
        let window = &samples[pipeline::sample_range(&window, samples.len())];
        let window = &window[..window.len().min((LISTEN_S * crate::audio::ENGINE_SAMPLE_RATE_HZ as f64) as usize)];
        // A failed detection costs only the hint, never the transcription.
        let Some(mut detector) = self.loaded.take().or_else(|| load_detector(&self.detector_path).ok()) else { return };
        let Some(detected) = listen_quickly_first(&mut detector, window, self.threads) else { return };
        drop(detector);
        if detected.code == "en" || detected.probability < HEARD_PROBABILITY || !self.warned.insert(detected.code.clone()) {
            return;
        }
        sink.warning(format!(
            "this sounds like {} (at {}); {} only transcribes English — pick a multilingual model such as {} (installed)",
            language_name(&detected.code),
            clock(heard_at_s),
            self.model_name,
            self.detector_name
        ));
    }
}

/// The language of `window` (speech, at most [`LISTEN_S`]): its first [`QUICK_LISTEN_S`]
/// when the detector is sure of them, else all of it. `None` when detection failed.
fn listen_quickly_first(detector: &mut WhisperState, window: &[f32], threads: usize) -> Option<language::Detected> {
    let quick_len = window.len().min((QUICK_LISTEN_S * crate::audio::ENGINE_SAMPLE_RATE_HZ as f64) as usize);
    let quick = language::detect_in_window(detector, &window[..quick_len], QUICK_WINDOW_S, threads).ok()?;
    if quick.probability >= QUICK_SURE_PROBABILITY {
        return Some(quick);
    }
    language::detect(detector, window, threads).ok()
}

/// The detector's model and a state to listen with. Flash attention: it needs no alignment
/// heads.
fn load_detector(path: &Path) -> Result<WhisperState, EngineError> {
    let context = super::load_model(path, true)?;
    pipeline::create_state(&context)
}

/// A language's English name ("de" → "German"), from whisper.cpp's table.
fn language_name(code: &str) -> String {
    let full = whisper_rs::get_lang_id(code).and_then(whisper_rs::get_lang_str_full).unwrap_or(code);
    let mut chars = full.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file with nothing but a ggml header of the given vocabulary size.
    fn header_only(path: &Path, vocabulary_size: i32, padding: usize) {
        let mut bytes = 0x6767_6d6c_u32.to_le_bytes().to_vec();
        bytes.extend(vocabulary_size.to_le_bytes());
        bytes.resize(48 + padding, 0);
        std::fs::write(path, bytes).unwrap();
    }

    #[test]
    fn the_smallest_installed_multilingual_model_is_the_detector() {
        let dir = tempfile::tempdir().unwrap();
        let store = ModelStore::at(dir.path());
        header_only(&store.path_for("tiny.en"), 51864, 10);
        assert_eq!(find_detector(&store), None, "an English-only model cannot tell languages apart");
        header_only(&store.path_for("small"), 51865, 3000);
        header_only(&store.path_for("base"), 51865, 2000);
        assert_eq!(find_detector(&store), Some(store.path_for("base")));
    }

    #[test]
    fn names_read_as_the_user_knows_them() {
        assert_eq!(language_name("de"), "German");
        assert_eq!(model_name(Path::new("/m/ggml-tiny.en.bin")), "tiny.en");
    }
}
