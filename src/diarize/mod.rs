//! Speaker labels for a one-microphone recording, offline: who spoke when, and which words
//! each person said. Stretches of sound from the VAD ([`crate::vad`]) → 1.6 s windows embedded
//! by Resemblyzer's GE2E voice encoder ([`encoder`], [`windows`]), the speech in each heard by
//! Silero VAD ([`speech`]) → clustering with the number of speakers found from the data
//! ([`cluster`]) → turns cut to the speech → speakers onto words, segments split where the
//! speaker changes ([`assign`]). [`der`] scores the result against known turns.
//!
//! The local engine feeds each chunk of audio to a [`Diarizer`] as it transcribes it, and
//! labels its segments once the whole recording has been heard; while recording, [`live`]
//! labels each phrase as it ends and revises the labels as more is heard.

pub mod assign;
pub mod cluster;
pub mod der;
pub mod encoder;
pub mod features;
pub mod live;
pub mod model;
pub mod speech;
pub mod windows;

pub use assign::{SpeakerTurn, label_segments, speaker_id};
pub use cluster::SpeakerBounds;
pub use model::{SpeakerModelError, locate_speaker_model};

use std::path::Path;

/// Collects the voices of a recording chunk by chunk, then tells who spoke when.
pub struct Diarizer {
    collector: windows::WindowCollector,
}

impl Diarizer {
    /// A diarizer with the encoder loaded from `model_path` and the speech detector from
    /// beside it ([`model::speech_model_path`]), using up to `threads` threads.
    pub fn load(model_path: &Path, threads: usize) -> Result<Diarizer, SpeakerModelError> {
        let encoder = encoder::VoiceEncoder::load(model_path)?;
        let detector = speech::SpeechDetector::load(&model::speech_model_path(model_path))?;
        Ok(Diarizer { collector: windows::WindowCollector::new(encoder, detector, threads) })
    }

    /// Listens to one chunk of 16 kHz mono audio that starts at `chunk_start_s`.
    pub fn add_chunk(&mut self, samples: &[f32], chunk_start_s: f64) {
        self.collector.add_chunk(samples, chunk_start_s);
    }

    /// As [`add_chunk`](Self::add_chunk), with the chunk's energy VAD flags already computed.
    pub fn add_chunk_with_sound(&mut self, samples: &[f32], chunk_start_s: f64, sound: &[bool]) {
        self.collector.add_chunk_with_sound(samples, chunk_start_s, sound);
    }

    /// Who spoke when in everything heard so far: turns in time order, speakers numbered from
    /// 0 in order of first appearance, neighbouring windows of one speaker joined, and cut to
    /// where Silero heard speech (a window also covers the pauses around its speech).
    pub fn turns(&self, bounds: SpeakerBounds) -> Vec<SpeakerTurn> {
        let windows = &self.collector.windows;
        let embeddings: Vec<Vec<f32>> = windows.iter().map(|w| w.embedding.clone()).collect();
        let heard_s: Vec<f64> = windows.iter().map(|w| w.speech_heard_s).collect();
        let labels = cluster::cluster(&embeddings, &heard_s, bounds);
        let mut turns: Vec<SpeakerTurn> = Vec::new();
        for (window, speaker) in windows.iter().zip(labels) {
            match turns.last_mut() {
                Some(last) if last.speaker == speaker && window.start_s - last.end_s < 0.05 => last.end_s = window.end_s,
                _ => turns.push(SpeakerTurn { start_s: window.start_s, end_s: window.end_s, speaker }),
            }
        }
        trim_to_speech(&turns, &self.collector.speech_regions)
    }
}

/// `turns` cut to the `speech` regions (both in time order): what lies over no speech goes.
/// When the detector heard no speech under any turn (noise, music), the turns stay whole, so
/// whatever words were transcribed there still get a speaker.
fn trim_to_speech(turns: &[SpeakerTurn], speech: &[(f64, f64)]) -> Vec<SpeakerTurn> {
    let mut trimmed = Vec::new();
    let mut first_region = 0;
    for turn in turns {
        while first_region < speech.len() && speech[first_region].1 <= turn.start_s {
            first_region += 1;
        }
        for &(start_s, end_s) in speech[first_region..].iter().take_while(|(start_s, _)| *start_s < turn.end_s) {
            let piece = SpeakerTurn { start_s: start_s.max(turn.start_s), end_s: end_s.min(turn.end_s), speaker: turn.speaker };
            if piece.end_s > piece.start_s {
                trimmed.push(piece);
            }
        }
    }
    if trimmed.is_empty() { turns.to_vec() } else { trimmed }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_are_cut_to_the_speech_and_keep_their_speakers() {
        let turns = [SpeakerTurn { start_s: 0.0, end_s: 4.0, speaker: 0 }, SpeakerTurn { start_s: 4.0, end_s: 9.0, speaker: 1 }];
        let speech = [(0.5, 1.5), (2.0, 5.0), (6.0, 6.5), (9.5, 10.0)];
        let cut: Vec<(f64, f64, usize)> = trim_to_speech(&turns, &speech).iter().map(|t| (t.start_s, t.end_s, t.speaker)).collect();
        assert_eq!(cut, [(0.5, 1.5, 0), (2.0, 4.0, 0), (4.0, 5.0, 1), (6.0, 6.5, 1)]);
        assert_eq!(trim_to_speech(&turns, &[]), turns, "no speech heard at all: the turns stay whole");
    }
}
