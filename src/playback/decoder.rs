//! The decoder thread of one playback session: opens the output, then decodes the file with
//! the shared audio pipeline (`audio::Pipeline`: the same decoders and resampler the engines
//! use) at the output's rate, stretches it to the speed asked for and pushes it into the ring
//! the output reads. It holds at most a packet, a stretcher window and the ring (half a
//! second), never the file.
//!
//! A `Start` command is a seek (or a speed change): announce the epoch, open the pipeline at
//! the position, wait for the output to drop the old samples, then fill the ring again.

use super::clock::ClockShared;
use super::output::{OpenedOutput, OutputChoice};
use super::stretch::Stretcher;
use crate::audio::Pipeline;
use rtrb::Producer;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::time::Duration;

/// How long the thread waits between looks when the ring is full or the output has not yet
/// switched to a new epoch.
const POLL: Duration = Duration::from_millis(3);

/// What the player asks the decoder thread.
#[derive(Debug, Clone, PartialEq)]
pub enum DecoderCommand {
    /// Play from `start_s` at `speed` as epoch `epoch` (a new, larger number each time).
    Start {
        epoch: u64,
        start_s: f64,
        speed: f64,
    },
    Stop,
}

/// What the decoder thread tells the player.
#[derive(Debug, Clone, PartialEq)]
pub enum DecoderEvent {
    /// The output is open at this rate.
    Opened { sample_rate_hz: u32 },
    /// The file's length, as its header gives it.
    Duration(f64),
    /// No sound can be played (no device, or it failed): one line for the player bar.
    OutputFailed(String),
    /// The file cannot be decoded from this position.
    DecodeFailed(String),
}

/// Runs the session until `Stop` (or the player is gone).
pub fn run(
    path: PathBuf,
    output: OutputChoice,
    shared: Arc<ClockShared>,
    commands: Receiver<DecoderCommand>,
    events: Sender<DecoderEvent>,
) {
    let opened = match output.open(shared.clone(), events.clone()) {
        Ok(opened) => opened,
        Err(reason) => {
            let _ = events.send(DecoderEvent::OutputFailed(reason));
            return;
        }
    };
    let _ = events.send(DecoderEvent::Opened {
        sample_rate_hz: opened.sample_rate_hz,
    });
    let mut decoder = Decoder {
        path,
        shared,
        opened,
        events,
        current: None,
    };
    decoder.serve(&commands);
}

/// One epoch's decoding: the pipeline from the position, its stretcher, and samples decoded
/// but not yet in the ring.
struct Playing {
    epoch: u64,
    pipeline: Pipeline,
    stretcher: Stretcher,
    pending: Vec<f32>,
    pending_from: usize,
    input_done: bool,
}

struct Decoder {
    path: PathBuf,
    shared: Arc<ClockShared>,
    opened: OpenedOutput,
    events: Sender<DecoderEvent>,
    current: Option<Playing>,
}

impl Decoder {
    fn serve(&mut self, commands: &Receiver<DecoderCommand>) {
        loop {
            let command = if self.current.is_some() {
                match commands.try_recv() {
                    Ok(command) => Some(command),
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Disconnected) => return,
                }
            } else {
                match commands.recv_timeout(Duration::from_millis(200)) {
                    Ok(command) => Some(command),
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            };
            match command {
                Some(DecoderCommand::Stop) => return,
                Some(DecoderCommand::Start {
                    epoch,
                    start_s,
                    speed,
                }) => self.start(epoch, start_s, speed),
                None => self.fill_ring(),
            }
        }
    }

    fn start(&mut self, epoch: u64, start_s: f64, speed: f64) {
        self.current = None;
        self.shared.announced_epoch.store(epoch, Ordering::Release);
        let pipeline = match Pipeline::open(
            &self.path,
            self.opened.sample_rate_hz,
            start_s.max(0.0),
            None,
        ) {
            Ok(pipeline) => pipeline,
            Err(error) => {
                let _ = self
                    .events
                    .send(DecoderEvent::DecodeFailed(error.to_string()));
                return;
            }
        };
        if let Some(duration_s) = pipeline.format().duration_s {
            let _ = self.events.send(DecoderEvent::Duration(duration_s));
        }
        self.current = Some(Playing {
            epoch,
            pipeline,
            stretcher: Stretcher::new(self.opened.channels, self.opened.sample_rate_hz, speed),
            pending: Vec::new(),
            pending_from: 0,
            input_done: false,
        });
    }

    /// Decodes and pushes what fits; waits a little when the ring is full or the output has
    /// not dropped the previous epoch yet.
    fn fill_ring(&mut self) {
        let Some(playing) = self.current.as_mut() else {
            return;
        };
        if self.shared.acknowledged_epoch.load(Ordering::Acquire) != playing.epoch {
            std::thread::sleep(POLL);
            return;
        }
        if playing.pending_from >= playing.pending.len() {
            if playing.input_done {
                self.shared
                    .decoded_to_end_epoch
                    .store(playing.epoch, Ordering::Release);
                self.current = None;
                return;
            }
            if let Err(reason) = decode_more(playing, self.opened.channels) {
                let _ = self.events.send(DecoderEvent::DecodeFailed(reason));
                self.current = None;
            }
            return;
        }
        let pushed = push_pending(&mut self.opened.producer, playing);
        if pushed == 0 {
            std::thread::sleep(POLL);
        }
    }
}

/// Decodes the next packet into `pending` (mapped to the output's channels and stretched).
fn decode_more(playing: &mut Playing, output_channels: usize) -> Result<(), String> {
    playing.pending.clear();
    playing.pending_from = 0;
    match playing.pipeline.next_frames() {
        Ok(Some(frames)) => {
            let interleaved = interleave_for_output(&frames, output_channels);
            playing.stretcher.push(&interleaved, &mut playing.pending);
            Ok(())
        }
        Ok(None) => {
            playing.stretcher.finish(&mut playing.pending);
            playing.input_done = true;
            Ok(())
        }
        Err(error) => Err(error.to_string()),
    }
}

/// Pushes whole frames of `pending` into the ring; returns the samples pushed.
fn push_pending(producer: &mut Producer<f32>, playing: &mut Playing) -> usize {
    let rest = &playing.pending[playing.pending_from..];
    let count = rest.len().min(producer.slots());
    if count == 0 {
        return 0;
    }
    if let Ok(chunk) = producer.write_chunk_uninit(count) {
        chunk.fill_from_iter(rest[..count].iter().copied());
    }
    playing.pending_from += count;
    count
}

/// Planar source frames as interleaved output frames: the same channels when the counts
/// match, else the mix of all of them in every output channel.
pub fn interleave_for_output(frames: &[Vec<f32>], output_channels: usize) -> Vec<f32> {
    let frame_count = frames.first().map_or(0, Vec::len);
    let output_channels = output_channels.max(1);
    let mut interleaved = Vec::with_capacity(frame_count * output_channels);
    if frames.len() == output_channels {
        for index in 0..frame_count {
            interleaved.extend(frames.iter().map(|channel| channel[index]));
        }
    } else {
        let mono = crate::audio::downmix(frames);
        for sample in mono {
            interleaved.extend(std::iter::repeat_n(sample, output_channels));
        }
    }
    interleaved
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_are_kept_when_they_match_and_mixed_when_not() {
        let stereo = vec![vec![1.0, 2.0], vec![3.0, 4.0]];
        assert_eq!(interleave_for_output(&stereo, 2), vec![1.0, 3.0, 2.0, 4.0]);
        assert_eq!(interleave_for_output(&stereo, 1), vec![2.0, 3.0]);
        let mono = vec![vec![0.5, 0.25]];
        assert_eq!(interleave_for_output(&mono, 2), vec![0.5, 0.5, 0.25, 0.25]);
    }
}
