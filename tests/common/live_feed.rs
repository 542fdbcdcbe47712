//! Feeds a recording into a live engine the way the recorder does: contiguous blocks of
//! about 100 ms at 16 kHz, every channel, at real-time pace (or faster), then closes the
//! channel. Shared by `tests/local_live.rs` and `benches/live_local.rs`.
#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;
use verbatim::audio::{AudioBlock, ENGINE_SAMPLE_RATE_HZ};
use verbatim::events::EngineEvent;

/// Length of one block.
pub const BLOCK_S: f64 = 0.1;

/// The whole file as blocks of [`BLOCK_S`], `copies` times in a row (times run on).
pub fn blocks_of(path: &Path, copies: usize) -> Vec<AudioBlock> {
    let mut channels: Vec<Vec<f32>> = Vec::new();
    for block in verbatim::audio::open(path).expect("open audio") {
        let block = block.expect("decode audio");
        if channels.is_empty() {
            channels = vec![Vec::new(); block.channels.len()];
        }
        for (all, part) in channels.iter_mut().zip(&block.channels) {
            all.extend_from_slice(part);
        }
    }
    let block_len = (BLOCK_S * ENGINE_SAMPLE_RATE_HZ as f64) as usize;
    let frames = channels.first().map_or(0, Vec::len);
    let mut blocks = Vec::new();
    for copy in 0..copies {
        for start in (0..frames).step_by(block_len) {
            let end = (start + block_len).min(frames);
            blocks.push(AudioBlock {
                start_s: (copy * frames + start) as f64 / ENGINE_SAMPLE_RATE_HZ as f64,
                channels: channels.iter().map(|c| c[start..end].to_vec()).collect(),
            });
        }
    }
    blocks
}

/// Sends `blocks` at `speed` times real time (`f64::INFINITY`: all at once): a block goes
/// out when its last sample would have been captured. Returns when all are sent (the
/// channel closes as `sender` drops). `started` is the moment recording began.
pub async fn feed(blocks: Vec<AudioBlock>, sender: UnboundedSender<AudioBlock>, speed: f64, started: Instant) {
    for block in blocks {
        if speed.is_finite() {
            let due = started + Duration::from_secs_f64((block.start_s + block.duration_s()) / speed);
            tokio::time::sleep_until(due.into()).await;
        }
        if sender.send(block).is_err() {
            break;
        }
    }
}

/// An event and when it arrived.
#[derive(Debug, Clone)]
pub struct Stamped {
    pub at: Instant,
    pub event: EngineEvent,
}

/// Collects every event until the sink is dropped.
pub async fn collect(mut events: tokio::sync::mpsc::UnboundedReceiver<EngineEvent>) -> Vec<Stamped> {
    let mut all = Vec::new();
    while let Some(event) = events.recv().await {
        all.push(Stamped { at: Instant::now(), event });
    }
    all
}
