//! Cuts a decoded audio stream into chunks of a few minutes, at quiet moments.
//!
//! Decoding runs on its own thread, a couple of blocks ahead of inference, through a bounded
//! channel: memory stays at about one chunk whatever the length of the file.

use crate::audio::{self, AudioBlock, AudioError, AudioInfo, ENGINE_SAMPLE_RATE_HZ};
use crate::engine::EngineError;
use crate::vad;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// Length a chunk aims for. Each whisper.cpp call pads its last 30-second window, so longer
/// chunks waste less; shorter ones bound memory tighter.
pub const CHUNK_TARGET_S: f64 = 300.0;
/// How far back from the target the cut may move to find a quiet moment.
pub const CUT_SEARCH_S: f64 = 30.0;

/// A stretch of audio at 16 kHz, one vector per source channel.
pub struct AudioChunk {
    pub start_s: f64,
    pub channels: Vec<Vec<f32>>,
}

impl AudioChunk {
    pub fn duration_s(&self) -> f64 {
        self.channels.first().map_or(0, Vec::len) as f64 / ENGINE_SAMPLE_RATE_HZ as f64
    }

    /// All channels averaged; a mono chunk's own samples, not a copy.
    pub fn into_mono(mut self) -> Vec<f32> {
        if self.channels.len() == 1 {
            return self.channels.pop().unwrap_or_default();
        }
        audio::downmix(&self.channels)
    }
}

/// Reads chunks from a file, decoding ahead on a separate thread.
pub struct ChunkReader {
    info: AudioInfo,
    blocks: mpsc::Receiver<Result<AudioBlock, AudioError>>,
    pending: Vec<Vec<f32>>,
    pending_start_s: f64,
    finished: bool,
}

impl ChunkReader {
    pub fn open(path: &Path) -> Result<ChunkReader, EngineError> {
        let stream = audio::open(path)?;
        let info = stream.info().clone();
        let (sender, blocks) = mpsc::sync_channel(2);
        std::thread::Builder::new()
            .name("verbatim-decode".into())
            .spawn(move || {
                for block in stream {
                    let failed = block.is_err();
                    if sender.send(block).is_err() || failed {
                        break; // the reader is gone (cancelled) or decoding failed
                    }
                }
            })
            .map_err(|error| EngineError::Inference(format!("cannot start the decoder thread: {error}")))?;
        Ok(ChunkReader { info, blocks, pending: Vec::new(), pending_start_s: 0.0, finished: false })
    }

    pub fn info(&self) -> &AudioInfo {
        &self.info
    }

    /// The next chunk, or `None` at the end of the file.
    pub fn next_chunk(&mut self, cancelled: &AtomicBool) -> Result<Option<AudioChunk>, EngineError> {
        let rate = ENGINE_SAMPLE_RATE_HZ as f64;
        let target_len = (CHUNK_TARGET_S * rate) as usize;
        while !self.finished && self.pending_len() < target_len {
            if cancelled.load(Ordering::Relaxed) {
                return Err(EngineError::Cancelled);
            }
            match self.blocks.recv_timeout(Duration::from_millis(100)) {
                Ok(Ok(block)) => self.append(block),
                Ok(Err(error)) => return Err(error.into()),
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                Err(mpsc::RecvTimeoutError::Disconnected) => self.finished = true,
            }
        }
        let available = self.pending_len();
        if available == 0 {
            return Ok(None);
        }
        let cut = if self.finished && available <= target_len {
            available
        } else {
            let head: Vec<Vec<f32>> = self.pending.iter().map(|c| c[..target_len.min(c.len())].to_vec()).collect();
            let mono = audio::downmix(&head);
            let search_start = target_len.saturating_sub((CUT_SEARCH_S * rate) as usize);
            vad::quietest_cut(&mono, search_start, target_len, vad::frame_len(ENGINE_SAMPLE_RATE_HZ)).max(1)
        };
        let chunk_channels: Vec<Vec<f32>> = self
            .pending
            .iter_mut()
            .map(|channel| {
                let rest = channel.split_off(cut.min(channel.len()));
                std::mem::replace(channel, rest)
            })
            .collect();
        let chunk = AudioChunk { start_s: self.pending_start_s, channels: chunk_channels };
        self.pending_start_s += cut as f64 / rate;
        Ok(Some(chunk))
    }

    fn pending_len(&self) -> usize {
        self.pending.first().map_or(0, Vec::len)
    }

    fn append(&mut self, block: AudioBlock) {
        if self.pending.is_empty() {
            self.pending = vec![Vec::new(); block.channels.len().max(1)];
        }
        for (pending, samples) in self.pending.iter_mut().zip(block.channels) {
            pending.extend_from_slice(&samples);
        }
    }
}
