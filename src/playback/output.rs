//! Where the sound goes: the default output device through cpal, or a fake output that tests
//! drive at the pace they choose. Either way the output owns the ring's consumer as an
//! `OutputFeed`; the clock counts what it consumed.
//!
//! The cpal callback only copies (`OutputFeed::fill`: a bounded read from the ring, no lock,
//! no allocation) and converts to the device's sample type. The stream is built on the
//! session's decoder thread and stays there (cpal streams may not move between threads).
//! ALSA's default output is tried first (see `hosts`).

use super::clock::{ClockShared, OutputFeed};
use super::decoder::DecoderEvent;
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, SampleFormat, SizedSample};
use rtrb::{Producer, RingBuffer};
use std::sync::atomic::Ordering;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The ring holds this much audio: enough to ride out a slow decode, short enough that a
/// pause or speed change is heard at once (the ring is dropped on a seek anyway).
const RING_S: f64 = 0.5;

/// Which output a player uses.
#[derive(Clone, Default)]
pub enum OutputChoice {
    /// The system's default output device.
    #[default]
    Device,
    /// A stand-in that tests consume from (see [`FakeOutput`]).
    Fake(FakeOutput),
}

/// An output that is open: its format and the ring's producer end. Keeps the device stream
/// alive until dropped.
pub struct OpenedOutput {
    pub sample_rate_hz: u32,
    pub channels: usize,
    pub producer: Producer<f32>,
    _stream: Option<cpal::Stream>,
}

impl OutputChoice {
    /// Opens the output; the error is one line saying what is missing.
    pub fn open(
        &self,
        shared: Arc<ClockShared>,
        events: Sender<DecoderEvent>,
    ) -> Result<OpenedOutput, String> {
        match self {
            OutputChoice::Device => open_device(shared, events),
            OutputChoice::Fake(fake) => fake.open(shared),
        }
    }
}

fn ring(sample_rate_hz: u32, channels: usize) -> (Producer<f32>, rtrb::Consumer<f32>) {
    let samples = (RING_S * f64::from(sample_rate_hz)) as usize * channels.max(1);
    RingBuffer::new(samples.max(1024))
}

/// The hosts to try: ALSA first (its default PCM is the desktop's sound server where one
/// runs, through the server's ALSA plugin), then the others. cpal's own PulseAudio host is
/// last: on our test server it delivered one callback and then stalled.
fn hosts() -> Vec<cpal::Host> {
    let mut order = cpal::available_hosts();
    order.sort_by_key(|id| match id.name() {
        "ALSA" => 0,
        "PulseAudio" => 2,
        _ => 1,
    });
    order
        .into_iter()
        .filter_map(|id| cpal::host_from_id(id).ok())
        .collect()
}

fn open_device(
    shared: Arc<ClockShared>,
    events: Sender<DecoderEvent>,
) -> Result<OpenedOutput, String> {
    let mut last_error = "no sound output device was found".to_string();
    for host in hosts() {
        let Some(device) = host.default_output_device() else {
            continue;
        };
        match open_stream(&device, shared.clone(), events.clone()) {
            Ok(opened) => return Ok(opened),
            Err(reason) => last_error = reason,
        }
    }
    Err(format!(
        "{last_error}: playback is off (the text and the position bar still work)"
    ))
}

fn open_stream(
    device: &cpal::Device,
    shared: Arc<ClockShared>,
    events: Sender<DecoderEvent>,
) -> Result<OpenedOutput, String> {
    let describe = |error: cpal::Error| crate::audio::device_error_reason(&error);
    let config = device.default_output_config().map_err(describe)?;
    let sample_rate_hz = config.sample_rate();
    let channels = usize::from(config.channels());
    let (producer, consumer) = ring(sample_rate_hz, channels);
    let feed = OutputFeed::new(consumer, shared, channels);
    let mut stream_config = config.config();
    // A short device buffer: the default can be seconds (PulseAudio's is 2 s), and what sits
    // in it is what a pause or a seek is late by.
    if let cpal::SupportedBufferSize::Range { min, max } = config.buffer_size() {
        let wanted = (f64::from(sample_rate_hz) * DEVICE_BUFFER_S) as u32;
        stream_config.buffer_size = cpal::BufferSize::Fixed(wanted.clamp(*min, *max));
    }
    let stream = match config.sample_format() {
        SampleFormat::F32 => typed_stream::<f32>(device, stream_config, feed, events),
        SampleFormat::I16 => typed_stream::<i16>(device, stream_config, feed, events),
        SampleFormat::I32 => typed_stream::<i32>(device, stream_config, feed, events),
        SampleFormat::U16 => typed_stream::<u16>(device, stream_config, feed, events),
        SampleFormat::U8 => typed_stream::<u8>(device, stream_config, feed, events),
        SampleFormat::F64 => typed_stream::<f64>(device, stream_config, feed, events),
        other => {
            return Err(format!(
                "the output's sample format {other} is not supported"
            ));
        }
    }
    .map_err(describe)?;
    stream.play().map_err(describe)?;
    Ok(OpenedOutput {
        sample_rate_hz,
        channels,
        producer,
        _stream: Some(stream),
    })
}

/// The device buffer asked for, in seconds.
const DEVICE_BUFFER_S: f64 = 0.05;

/// Largest callback buffer converted in one go (longer ones are done in pieces).
const CONVERT_FRAMES: usize = 4096;

fn typed_stream<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    mut feed: OutputFeed,
    events: Sender<DecoderEvent>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + FromSample<f32>,
{
    let mut scratch = vec![0.0_f32; CONVERT_FRAMES * feed.channels()];
    let mut failed = false;
    device.build_output_stream::<T, _, _>(
        config,
        move |data: &mut [T], _: &cpal::OutputCallbackInfo| {
            // The real-time path: copies only.
            for piece in data.chunks_mut(scratch.len()) {
                let samples = &mut scratch[..piece.len()];
                feed.fill(samples);
                for (out, sample) in piece.iter_mut().zip(samples.iter()) {
                    *out = T::from_sample(*sample);
                }
            }
        },
        move |error: cpal::Error| {
            if matches!(error.kind(), cpal::ErrorKind::Xrun) || failed {
                return;
            }
            failed = true;
            let reason = crate::audio::device_error_reason(&error);
            let _ = events.send(DecoderEvent::OutputFailed(format!(
                "the sound output failed ({reason})"
            )));
        },
        None,
    )
}

/// An output without a device: a test takes frames from it when it likes, as a sound card
/// would, and the clock counts them. `FakeOutput::missing()` behaves like a machine without
/// any output device.
#[derive(Clone)]
pub struct FakeOutput {
    sample_rate_hz: u32,
    channels: usize,
    available: bool,
    feed: Arc<Mutex<Option<OutputFeed>>>,
    /// Everything played since the last `take_heard`.
    heard: Arc<Mutex<Vec<f32>>>,
}

impl FakeOutput {
    pub fn new(sample_rate_hz: u32, channels: usize) -> FakeOutput {
        FakeOutput {
            sample_rate_hz,
            channels,
            available: true,
            feed: Arc::default(),
            heard: Arc::default(),
        }
    }

    /// An output that fails to open, as on a machine with no sound device.
    pub fn missing() -> FakeOutput {
        FakeOutput {
            available: false,
            ..FakeOutput::new(48_000, 2)
        }
    }

    fn open(&self, shared: Arc<ClockShared>) -> Result<OpenedOutput, String> {
        if !self.available {
            return Err("no sound output device was found: playback is off (the text and the position bar still work)".into());
        }
        let (producer, consumer) = ring(self.sample_rate_hz, self.channels);
        if let Ok(mut slot) = self.feed.lock() {
            *slot = Some(OutputFeed::new(consumer, shared, self.channels));
        }
        Ok(OpenedOutput {
            sample_rate_hz: self.sample_rate_hz,
            channels: self.channels,
            producer,
            _stream: None,
        })
    }

    /// Plays `seconds` of output time as a device would, in 10 ms callbacks, waiting (up to
    /// 10 s) for the session to open and for the decoder when the ring runs dry. Returns the
    /// seconds of stream actually consumed (less when paused or at the end of the file).
    pub fn play_for(&self, seconds: f64) -> f64 {
        let wanted = (seconds * f64::from(self.sample_rate_hz)).round() as usize;
        let callback_frames = (self.sample_rate_hz / 100).max(1) as usize;
        let mut buffer = vec![0.0_f32; callback_frames * self.channels];
        let mut consumed = 0;
        let deadline = Instant::now() + Duration::from_secs(10);
        while consumed < wanted && Instant::now() < deadline {
            let Ok(mut slot) = self.feed.lock() else {
                break;
            };
            let Some(feed) = slot.as_mut() else {
                drop(slot);
                std::thread::sleep(Duration::from_millis(1));
                continue;
            };
            let frames = callback_frames.min(wanted - consumed);
            let got = feed.fill(&mut buffer[..frames * self.channels]);
            consumed += got;
            if let Ok(mut heard) = self.heard.lock() {
                heard.extend_from_slice(&buffer[..got * self.channels]);
            }
            let shared = feed.shared();
            let ended = shared.ended_epoch.load(Ordering::Acquire)
                == shared.acknowledged_epoch.load(Ordering::Acquire)
                && shared.ended_epoch.load(Ordering::Acquire) != 0;
            if !shared.playing.load(Ordering::Acquire) || ended {
                break;
            }
            drop(slot);
            if got < frames {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        consumed as f64 / f64::from(self.sample_rate_hz)
    }

    /// The interleaved samples played since the last call.
    pub fn take_heard(&self) -> Vec<f32> {
        self.heard.lock().map(|mut heard| std::mem::take(&mut *heard)).unwrap_or_default()
    }

    /// Lets the output notice a seek while paused (a device does so in its next callback).
    pub fn tick(&self) {
        if let Ok(mut slot) = self.feed.lock()
            && let Some(feed) = slot.as_mut()
        {
            let mut nothing = [];
            feed.fill(&mut nothing);
        }
    }
}
