//! Speaker labels for a one-microphone recording, offline: who spoke when, and which words
//! each person said. Speech regions from the VAD ([`crate::vad`]) → 1.6 s windows embedded by
//! Resemblyzer's GE2E voice encoder ([`encoder`], [`windows`]) → clustering with the number
//! of speakers found from the data ([`cluster`]) → speakers onto words, segments split where
//! the speaker changes ([`assign`]). [`der`] scores the result against known turns.
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
    /// A diarizer with the encoder loaded from `model_path`, using up to `threads` threads.
    pub fn load(model_path: &Path, threads: usize) -> Result<Diarizer, SpeakerModelError> {
        let encoder = encoder::VoiceEncoder::load(model_path)?;
        Ok(Diarizer { collector: windows::WindowCollector::new(encoder, threads) })
    }

    /// Listens to one chunk of 16 kHz mono audio that starts at `chunk_start_s`.
    pub fn add_chunk(&mut self, samples: &[f32], chunk_start_s: f64) {
        self.collector.add_chunk(samples, chunk_start_s);
    }

    /// As [`add_chunk`](Self::add_chunk), with the chunk's VAD flags already computed.
    pub fn add_chunk_with_activity(&mut self, samples: &[f32], chunk_start_s: f64, active: &[bool]) {
        self.collector.add_chunk_with_activity(samples, chunk_start_s, active);
    }

    /// Who spoke when in everything heard so far: turns in time order, speakers numbered from
    /// 0 in order of first appearance, neighbouring windows of one speaker joined.
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
        turns
    }
}
