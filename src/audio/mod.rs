//! Audio in: any supported file decoded as a stream of bounded blocks, resampled to the 16 kHz
//! the engines take, with every source channel kept (per-channel speaker labels need them).
//! Also encoders that turn any input into the WAV or Ogg Opus files cloud services accept.
//!
//! Decoders: our own for PCM/float WAV and Ogg Opus (libopus), symphonia for MP3, AAC/M4A,
//! FLAC, Vorbis, ADPCM and video containers (with libopus for Opus tracks, and the MP4 edit
//! list applied to AAC). Files symphonia would size allocations from unchecked header fields
//! for are checked first (`container_check`); its panics are caught. A multi-hour file is
//! never held whole: the stream holds at most one block plus one packet.
//!
//! Pipeline: `source` (a decoder, packets at the file's rate; `dispatch` picks it) →
//! `resample` (to the output rate, delay-compensated) → `pipeline` (time ranges) →
//! `AudioStream` blocks or `encode`.

mod container_check;
pub mod discover;
mod dispatch;
pub mod encode;
mod error;
mod mp4_edit;
mod ogg_opus;
mod opus_decode;
mod pipeline;
pub(crate) mod resample;
mod source;
mod symphonia_source;
mod wav;

pub use encode::{transcode_to_ogg_opus, transcode_to_wav, write_ogg_opus_range};
pub use error::AudioError;
/// The recorder plays files at their own rate (its virtual microphone) and resamples its live
/// tap to 16 kHz with the same machinery.
pub(crate) use pipeline::Pipeline;
pub(crate) use resample::StreamResampler;

use std::path::Path;

/// The sample rate every engine receives.
pub const ENGINE_SAMPLE_RATE_HZ: u32 = 16_000;
/// Length of the blocks `AudioStream` yields (the last one may be shorter).
pub const BLOCK_DURATION_S: f64 = 30.0;
/// `BLOCK_DURATION_S` in frames at `ENGINE_SAMPLE_RATE_HZ`.
pub const BLOCK_FRAMES: usize = 30 * ENGINE_SAMPLE_RATE_HZ as usize;

/// What a file holds, as far as can be told without decoding all of it.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioInfo {
    pub source_sample_rate_hz: u32,
    pub channel_count: usize,
    /// From the container's header; `None` when it does not say (some MP3s, streams).
    pub duration_s: Option<f64>,
    /// Short codec name: "PCM 16-bit", "mp3", "aac", "flac", "vorbis", "opus"…
    pub codec: String,
}

/// Up to `BLOCK_DURATION_S` of audio at 16 kHz: one Vec per source channel, all the same length.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioBlock {
    /// Where the block starts in the file.
    pub start_s: f64,
    pub channels: Vec<Vec<f32>>,
}

impl AudioBlock {
    /// All channels averaged: what the engine transcribes.
    pub fn mono(&self) -> Vec<f32> {
        downmix(&self.channels)
    }

    pub fn frame_count(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }

    pub fn duration_s(&self) -> f64 {
        self.frame_count() as f64 / f64::from(ENGINE_SAMPLE_RATE_HZ)
    }
}

/// A file decoded block by block at 16 kHz. Blocking; iterate it on a worker thread.
/// After an error it yields nothing more.
pub struct AudioStream {
    info: AudioInfo,
    pipeline: Pipeline,
    /// Decoded frames not yet handed out (at most a block plus a packet).
    pending: Vec<Vec<f32>>,
    pending_start_s: f64,
    /// An error to report once the frames decoded before it have been handed out.
    failure: Option<AudioError>,
    done: bool,
}

impl AudioStream {
    pub fn info(&self) -> &AudioInfo {
        &self.info
    }

    fn new(pipeline: Pipeline) -> AudioStream {
        let format = pipeline.format();
        let info = AudioInfo {
            source_sample_rate_hz: format.sample_rate_hz,
            channel_count: format.channel_count,
            duration_s: format.duration_s,
            codec: format.codec.clone(),
        };
        let pending_start_s = pipeline.start_s();
        AudioStream {
            pending: vec![Vec::new(); info.channel_count],
            info,
            pipeline,
            pending_start_s,
            failure: None,
            done: false,
        }
    }

    fn pending_frames(&self) -> usize {
        self.pending.first().map_or(0, Vec::len)
    }

    fn take_block(&mut self, frame_count: usize) -> AudioBlock {
        let channels = self
            .pending
            .iter_mut()
            .map(|channel| {
                let rest = channel.split_off(frame_count.min(channel.len()));
                std::mem::replace(channel, rest)
            })
            .collect();
        let block = AudioBlock {
            start_s: self.pending_start_s,
            channels,
        };
        self.pending_start_s += frame_count as f64 / f64::from(ENGINE_SAMPLE_RATE_HZ);
        block
    }
}

impl Iterator for AudioStream {
    type Item = Result<AudioBlock, AudioError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done && self.failure.is_none() && self.pending_frames() < BLOCK_FRAMES {
            match self.pipeline.next_frames() {
                Ok(Some(frames)) => {
                    for (pending, channel) in self.pending.iter_mut().zip(frames) {
                        pending.extend_from_slice(&channel);
                    }
                }
                Ok(None) => self.done = true,
                Err(error) => self.failure = Some(error),
            }
        }
        if self.pending_frames() > 0 {
            return Some(Ok(self.take_block(BLOCK_FRAMES)));
        }
        let failure = self.failure.take()?;
        self.done = true;
        Some(Err(failure))
    }
}

/// Opens a file for decoding at 16 kHz. Reads the header and the first packet, so a file that
/// cannot be decoded fails here rather than at the first block.
pub fn open(path: &Path) -> Result<AudioStream, AudioError> {
    Ok(AudioStream::new(Pipeline::open(
        path,
        ENGINE_SAMPLE_RATE_HZ,
        0.0,
        None,
    )?))
}

/// Like `open`, for the part of a file from `start_s` to `end_s` (or to the end). Seeks where
/// the format allows, else decodes and discards up to `start_s`. Block times stay file times.
pub fn open_range(
    path: &Path,
    start_s: f64,
    end_s: Option<f64>,
) -> Result<AudioStream, AudioError> {
    Ok(AudioStream::new(Pipeline::open(
        path,
        ENGINE_SAMPLE_RATE_HZ,
        start_s,
        end_s,
    )?))
}

/// What a file holds: rate, channels, duration and codec (reads the header and one packet).
pub fn probe(path: &Path) -> Result<AudioInfo, AudioError> {
    open(path).map(|stream| stream.info)
}

/// The whole file as 16 kHz mono. For short files: this holds all of it in memory
/// (an hour is 230 MB); use `open` for anything long.
pub fn read_mono_16k(path: &Path) -> Result<Vec<f32>, AudioError> {
    let mut samples = Vec::new();
    for block in open(path)? {
        samples.extend(block?.mono());
    }
    Ok(samples)
}

/// The average of the channels.
pub(crate) fn downmix(channels: &[Vec<f32>]) -> Vec<f32> {
    match channels {
        [] => Vec::new(),
        [only] => only.clone(),
        [first, rest @ ..] => {
            let scale = 1.0 / channels.len() as f32;
            let mut mixed = first.clone();
            for channel in rest {
                for (sum, sample) in mixed.iter_mut().zip(channel) {
                    *sum += sample;
                }
            }
            for sample in mixed.iter_mut() {
                *sample *= scale;
            }
            mixed
        }
    }
}

/// What a sound device's error says, or its kind when it says nothing.
pub fn device_error_reason(error: &cpal::Error) -> String {
    error.message().map_or_else(|| error.kind().to_string(), str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_can_move_to_a_decoding_thread() {
        fn assert_send<T: Send>() {}
        assert_send::<AudioStream>();
    }

    #[test]
    fn mono_averages_channels() {
        let block = AudioBlock {
            start_s: 0.0,
            channels: vec![vec![1.0, 0.0], vec![0.0, 0.0]],
        };
        assert_eq!(block.mono(), vec![0.5, 0.0]);
        assert_eq!(block.frame_count(), 2);
        assert_eq!(block.duration_s(), 2.0 / 16_000.0);
    }
}
