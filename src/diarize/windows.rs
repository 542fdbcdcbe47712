//! Where the voice encoder listens: windows of 1.6 s laid over the sound the VAD found, each
//! turned into an embedding as its chunk of audio goes by, so a long recording never has to be
//! held whole — only one small vector per window is kept.

use super::encoder::{VoiceEncoder, WINDOW_FRAMES};
use super::features::{HOP_SAMPLES, MEL_BANDS, MelSpectrogram, SAMPLE_RATE_HZ};
use super::speech::{SPEECH_PAD_S, SpeechDetector};
use crate::vad;

/// Seconds between the starts of two windows over a long stretch of speech.
pub const WINDOW_HOP_S: f64 = 0.8;
/// Stretches of speech shorter than this are not embedded (their words take a neighbour's label).
pub const MIN_SPEECH_S: f64 = 0.4;
/// Loudness each window is raised to before the encoder hears it (Resemblyzer's
/// `audio_norm_target_dBFS`; quieter windows are raised, louder ones left alone).
pub const TARGET_DBFS: f32 = -30.0;

/// Seconds between the starts of two mel frames.
const MEL_FRAME_S: f64 = HOP_SAMPLES as f64 / SAMPLE_RATE_HZ as f64;

/// A window of speech and the voice heard in it.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeechWindow {
    /// The speech the window stands for (inside the 1.6 s it heard).
    pub start_s: f64,
    pub end_s: f64,
    /// Seconds of speech (as Silero heard it) in the 1.6 s the encoder heard: less for a short
    /// stretch of speech between pauses, or for a window over noise.
    pub speech_heard_s: f64,
    pub embedding: Vec<f32>,
}

/// Where windows go in a chunk: `(first mel frame, speech start s, speech end s)` relative to
/// the chunk, from its VAD flags (one per [`vad::FRAME_S`]).
pub fn window_placements(active: &[bool], sample_count: usize) -> Vec<(usize, f64, f64)> {
    let frames_total = sample_count / HOP_SAMPLES;
    if frames_total < WINDOW_FRAMES {
        return Vec::new();
    }
    let window_s = WINDOW_FRAMES as f64 * MEL_FRAME_S;
    let last_first_frame = frames_total - WINDOW_FRAMES;
    let to_frame = |seconds: f64| ((seconds / MEL_FRAME_S).round().max(0.0) as usize).min(last_first_frame);
    let mut placements = Vec::new();
    for (start_s, end_s) in speech_regions(active) {
        let length_s = end_s - start_s;
        if length_s < MIN_SPEECH_S {
            continue;
        }
        if length_s <= window_s {
            let first = to_frame((start_s + end_s) / 2.0 - window_s / 2.0);
            placements.push((first, start_s, end_s));
            continue;
        }
        let count = ((length_s - window_s) / WINDOW_HOP_S).ceil() as usize + 1;
        let step_s = (length_s - window_s) / (count - 1) as f64;
        for index in 0..count {
            let window_start_s = start_s + index as f64 * step_s;
            // Each window stands for the middle of what it heard, so neighbours tile the stretch.
            let from_s = if index == 0 { start_s } else { window_start_s + (window_s - step_s) / 2.0 };
            let to_s = if index + 1 == count { end_s } else { window_start_s + (window_s + step_s) / 2.0 };
            placements.push((to_frame(window_start_s), from_s, to_s));
        }
    }
    placements
}

/// Runs of active VAD frames as `(start s, end s)`.
pub fn speech_regions(active: &[bool]) -> Vec<(f64, f64)> {
    let mut regions = Vec::new();
    let mut start: Option<usize> = None;
    for (index, &is_active) in active.iter().chain(std::iter::once(&false)).enumerate() {
        match (is_active, start) {
            (true, None) => start = Some(index),
            (false, Some(first)) => {
                regions.push((first as f64 * vad::FRAME_S, index as f64 * vad::FRAME_S));
                start = None;
            }
            _ => {}
        }
    }
    regions
}

/// The gain (on mel power) that brings `samples` to [`TARGET_DBFS`], never lowering them.
pub fn loudness_gain(samples: &[f32]) -> f32 {
    let level_dbfs = vad::rms_dbfs(samples);
    let change_db = TARGET_DBFS - level_dbfs;
    if change_db <= 0.0 { 1.0 } else { 10f32.powf(change_db / 10.0) }
}

/// Embeds the speech of each chunk of a recording as it goes by.
pub struct WindowCollector {
    encoder: VoiceEncoder,
    detector: SpeechDetector,
    mel: MelSpectrogram,
    threads: usize,
    pub windows: Vec<SpeechWindow>,
    /// Where Silero heard speech (widened by [`SPEECH_PAD_S`] at each end), in seconds of the
    /// recording, in time order.
    pub speech_regions: Vec<(f64, f64)>,
}

impl WindowCollector {
    pub fn new(encoder: VoiceEncoder, detector: SpeechDetector, threads: usize) -> WindowCollector {
        WindowCollector { encoder, detector, mel: MelSpectrogram::default(), threads, windows: Vec::new(), speech_regions: Vec::new() }
    }

    /// Embeds the speech of one chunk of 16 kHz mono audio starting at `chunk_start_s`.
    /// Windows are laid over the stretches of sound the energy VAD finds, a speaker's short
    /// pauses inside them, so that one voice's windows stay alike (laid over Silero's speech
    /// alone, a voice that pauses often was heard in short windows half silent, and split in
    /// two). How much speech Silero heard in a window decides whether it may found a speaker,
    /// and the speech it heard is kept to trim the turns.
    pub fn add_chunk(&mut self, samples: &[f32], chunk_start_s: f64) {
        let sound = vad::active_frames(&vad::frame_levels_dbfs(samples, vad::frame_len(SAMPLE_RATE_HZ)));
        self.add_chunk_with_sound(samples, chunk_start_s, &sound);
    }

    /// As [`add_chunk`](Self::add_chunk), with the chunk's energy VAD flags (`sound`, from
    /// [`vad::active_frames`]) already computed by the caller.
    pub fn add_chunk_with_sound(&mut self, samples: &[f32], chunk_start_s: f64, sound: &[bool]) {
        let speech = self.detector.active_frames(samples, self.threads);
        let heard = speech_regions(&speech)
            .into_iter()
            .map(|(start_s, end_s)| (chunk_start_s + (start_s - SPEECH_PAD_S).max(0.0), chunk_start_s + end_s + SPEECH_PAD_S));
        self.speech_regions.extend(heard);
        let placements = window_placements(sound, samples.len());
        if placements.is_empty() {
            return;
        }
        let mel = self.mel.frames(samples);
        let inputs: Vec<Vec<f32>> = placements.iter().map(|&(first, _, _)| window_input(&mel, samples, first)).collect();
        let views: Vec<&[f32]> = inputs.iter().map(Vec::as_slice).collect();
        let embeddings = self.encoder.embed(&views, self.threads);
        for ((first, from_s, to_s), embedding) in placements.into_iter().zip(embeddings) {
            self.windows.push(SpeechWindow {
                start_s: chunk_start_s + from_s,
                end_s: chunk_start_s + to_s,
                speech_heard_s: speech_heard_s(&speech, first),
                embedding: embedding.to_vec(),
            });
        }
    }
}

/// Seconds of speech (VAD frames of `active`) in the window starting at mel frame `first`.
fn speech_heard_s(active: &[bool], first: usize) -> f64 {
    let vad_frame_at = |mel_frame: usize| (mel_frame as f64 * MEL_FRAME_S / vad::FRAME_S).round() as usize;
    let (from, to) = (vad_frame_at(first), vad_frame_at(first + WINDOW_FRAMES));
    vad::speech_s(active, from..to)
}

/// The encoder's input for the window starting at mel frame `first`: its frames, raised to
/// [`TARGET_DBFS`] by the loudness of the samples they cover.
pub fn window_input(mel: &[f32], samples: &[f32], first: usize) -> Vec<f32> {
    let sample_range = first * HOP_SAMPLES..((first + WINDOW_FRAMES) * HOP_SAMPLES).min(samples.len());
    let gain = loudness_gain(samples.get(sample_range).unwrap_or(&[]));
    let frames = mel.get(first * MEL_BANDS..(first + WINDOW_FRAMES) * MEL_BANDS).unwrap_or(&[]);
    frames.iter().map(|value| value * gain).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(spans: &[(f64, f64)], total_s: f64) -> Vec<bool> {
        (0..(total_s / vad::FRAME_S) as usize)
            .map(|i| {
                let t = (i as f64 + 0.5) * vad::FRAME_S;
                spans.iter().any(|&(a, b)| t >= a && t < b)
            })
            .collect()
    }

    #[test]
    fn long_speech_is_tiled_and_short_speech_gets_one_centred_window() {
        let active = flags(&[(1.0, 6.0), (8.0, 8.6), (9.0, 9.2)], 12.0);
        let placements = window_placements(&active, 12 * 16_000);
        let long: Vec<_> = placements.iter().filter(|p| p.1 < 7.0).collect();
        assert_eq!(long.len(), 6, "{placements:?}");
        assert!((long[0].1 - 1.0).abs() < 1e-9 && (long[5].2 - 6.0).abs() < 1e-9);
        for pair in long.windows(2) {
            assert!((pair[0].2 - pair[1].1).abs() < 1e-9, "windows tile the speech");
        }
        let short: Vec<_> = placements.iter().filter(|p| p.1 > 7.0).collect();
        assert_eq!(short.len(), 1, "the 0.2 s blip is not embedded");
        assert_eq!(short[0].0, 750, "1.6 s centred on 8.3 s starts at 7.5 s");
        // What each heard: the short stretch's 0.6 s and 0.1 s of the blip, the long one's 1.6 s.
        assert!((speech_heard_s(&active, short[0].0) - 0.7).abs() < 0.02);
        assert!((speech_heard_s(&active, long[2].0) - 1.6).abs() < 0.02);
    }

    #[test]
    fn quiet_windows_are_raised_and_loud_ones_left_alone() {
        let quiet = vec![0.001f32; 1600];
        assert!((10.0 * loudness_gain(&quiet).log10() - 30.0).abs() < 0.01);
        assert_eq!(loudness_gain(&[0.5f32; 1600]), 1.0);
    }
}
