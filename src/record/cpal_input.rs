//! Microphones through cpal. PulseAudio (which PipeWire also serves) is preferred where a
//! server runs: it lists every source, monitors of the outputs included, by name; plain ALSA is
//! the fallback (its devices are the ALSA PCMs, and it has no monitors).
//!
//! The audio callback is kept trivially small: if stopped, return; else convert the buffer to
//! `f32` while copying it into the ring (`RingWriter::push_converted`: a bounded write into
//! preallocated slots, no lock, no allocation, no I/O) and bump an atomic counter. Frames that
//! do not fit are counted as overruns. Errors come through cpal's error callback, which runs
//! outside the real-time path, and go to the recorder's side channel.
//!
//! The stream lives on a thread of its own (cpal streams may not move between threads). Stop
//! waits for two more callbacks (what the device still buffered) before dropping the stream.

use super::RecordError;
use super::source::{CaptureSource, RingWriter, RunningSource, SourceEvent, SourceEvents, SourceFormat};
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{ErrorKind, FromSample, HostId, SampleFormat, SizedSample};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long stop waits for the device's last buffers.
const DRAIN_TIMEOUT: Duration = Duration::from_millis(500);
/// A started device silent this long (no callbacks at all, not even silence) is gone.
const STALL_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the stream thread may take to open the device.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);

/// An input device as the pickers show it.
#[derive(Debug, Clone, PartialEq)]
pub struct InputDevice {
    /// Stable id to remember the choice by: `pulseaudio:alsa_input.usb-…`, `alsa:default`.
    pub id: String,
    /// What people call it: "Built-in Audio Analog Stereo".
    pub name: String,
    /// The default input of the preferred host (preselected in pickers).
    pub is_default: bool,
    /// A monitor of an output (what the speakers play), not a microphone.
    pub is_monitor: bool,
}

/// The hosts to use, preferred first: PulseAudio when a server answers, then ALSA.
fn hosts() -> Vec<cpal::Host> {
    let available = cpal::available_hosts();
    let mut order: Vec<HostId> = available.iter().copied().filter(|id| id.name() == "PulseAudio").collect();
    order.extend(available.iter().copied().filter(|id| id.name() != "PulseAudio"));
    order.into_iter().filter_map(|id| cpal::host_from_id(id).ok()).collect()
}

fn device_id(device: &cpal::Device) -> String {
    device.id().map_or_else(|_| String::new(), |id| id.to_string())
}

fn device_name(device: &cpal::Device) -> String {
    device.description().map_or_else(|_| device_id(device), |description| description.name().to_string())
}

/// Every input device of every host, the default first.
pub fn list_input_devices() -> Result<Vec<InputDevice>, RecordError> {
    let mut listed = Vec::new();
    for (index, host) in hosts().iter().enumerate() {
        let default_id = host.default_input_device().map(|device| device_id(&device));
        let monitor_id = default_monitor_id(host);
        let Ok(devices) = host.input_devices() else { continue };
        for device in devices {
            let id = device_id(&device);
            listed.push(InputDevice {
                is_default: index == 0 && default_id.as_deref() == Some(id.as_str()),
                is_monitor: id.ends_with(".monitor") || monitor_id.as_deref() == Some(id.as_str()),
                name: device_name(&device),
                id,
            });
        }
    }
    listed.sort_by_key(|device| !device.is_default);
    Ok(listed)
}

/// PulseAudio names the monitor of sink `X` `X.monitor` (PipeWire's pulse server too).
fn default_monitor_id(host: &cpal::Host) -> Option<String> {
    if host.id().name() != "PulseAudio" {
        return None;
    }
    host.default_output_device().map(|sink| format!("{}.monitor", device_id(&sink)))
}

/// A microphone, opened (format chosen) but not started.
pub struct CpalSource {
    device: cpal::Device,
    name: String,
    config: cpal::SupportedStreamConfig,
}

impl CpalSource {
    /// Opens the device `selector` names (its id, its id without the host, or a unique part of
    /// its name, ignoring case), or the default input.
    pub fn open(selector: Option<&str>) -> Result<CpalSource, RecordError> {
        CpalSource::open_in(&hosts(), selector)
    }

    /// The device `selector` names and the monitor of the default output, through one
    /// connection to the sound server.
    pub fn open_with_monitor(selector: Option<&str>) -> Result<(CpalSource, CpalSource), RecordError> {
        let hosts = hosts();
        Ok((CpalSource::open_in(&hosts, selector)?, CpalSource::open_monitor_in(&hosts)?))
    }

    fn open_in(hosts: &[cpal::Host], selector: Option<&str>) -> Result<CpalSource, RecordError> {
        let device = match selector {
            None => hosts
                .iter()
                .find_map(|host| host.default_input_device())
                .ok_or_else(|| RecordError::NoDevice(String::new()))?,
            Some(selector) => find_device(hosts, selector)?,
        };
        CpalSource::from_device(device)
    }

    /// Opens the monitor of the default output (PulseAudio or PipeWire only).
    pub fn open_default_monitor() -> Result<CpalSource, RecordError> {
        CpalSource::open_monitor_in(&hosts())
    }

    fn open_monitor_in(hosts: &[cpal::Host]) -> Result<CpalSource, RecordError> {
        let Some(host) = hosts.iter().find(|host| host.id().name() == "PulseAudio") else {
            return Err(RecordError::NoMonitor(
                "recording the output needs a PulseAudio or PipeWire sound server (ALSA alone has no monitor sources); record without --monitor".into(),
            ));
        };
        let monitor_id = default_monitor_id(host).ok_or_else(|| RecordError::NoMonitor("there is no default output".into()))?;
        let device = host
            .input_devices()
            .ok()
            .and_then(|mut devices| devices.find(|device| device_id(device) == monitor_id))
            .ok_or_else(|| RecordError::NoMonitor(format!("the sound server lists no {monitor_id}")))?;
        CpalSource::from_device(device)
    }

    fn from_device(device: cpal::Device) -> Result<CpalSource, RecordError> {
        let name = device_name(&device);
        let config = input_config(&device).map_err(|error| device_error(&name, &error))?;
        Ok(CpalSource { device, name, config })
    }
}

/// The device's default input configuration if we can convert its sample format, else the
/// first supported one we can.
fn input_config(device: &cpal::Device) -> Result<cpal::SupportedStreamConfig, cpal::Error> {
    let default = device.default_input_config()?;
    if is_convertible(default.sample_format()) {
        return Ok(default);
    }
    let rate = default.sample_rate();
    device
        .supported_input_configs()?
        .find(|range| is_convertible(range.sample_format()))
        .map(|range| range.with_sample_rate(rate.clamp(range.min_sample_rate(), range.max_sample_rate())))
        .ok_or_else(|| cpal::Error::with_message(ErrorKind::UnsupportedConfig, "no sample format Verbatim can record"))
}

fn is_convertible(format: SampleFormat) -> bool {
    matches!(format, SampleFormat::I8 | SampleFormat::I16 | SampleFormat::I32 | SampleFormat::U8 | SampleFormat::U16 | SampleFormat::F32 | SampleFormat::F64)
}

fn find_device(hosts: &[cpal::Host], selector: &str) -> Result<cpal::Device, RecordError> {
    let wanted = selector.to_lowercase();
    let mut partial = Vec::new();
    for host in hosts {
        let Ok(devices) = host.input_devices() else { continue };
        for device in devices {
            let id = device_id(&device);
            let bare_id = id.split_once(':').map_or(id.as_str(), |(_, rest)| rest);
            if id == selector || bare_id == selector {
                return Ok(device);
            }
            if device_name(&device).to_lowercase().contains(&wanted) || id.to_lowercase().contains(&wanted) {
                partial.push(device);
            }
        }
    }
    match partial.len() {
        0 => Err(RecordError::UnknownDevice(selector.to_string())),
        1 => Ok(partial.remove(0)),
        _ => Err(RecordError::AmbiguousDevice(
            selector.to_string(),
            partial.iter().map(device_id).collect::<Vec<_>>().join(", "),
        )),
    }
}

/// A cpal error as a message that says what to do.
fn device_error(device: &str, error: &cpal::Error) -> RecordError {
    let reason = crate::audio::device_error_reason(error);
    match error.kind() {
        ErrorKind::DeviceBusy => RecordError::DeviceBusy(device.to_string()),
        ErrorKind::DeviceNotAvailable => RecordError::Device { device: device.to_string(), reason: "it is not connected any more; pick another device".into() },
        ErrorKind::PermissionDenied => RecordError::Device { device: device.to_string(), reason: format!("permission denied ({reason}); allow microphone access") },
        _ => RecordError::Device { device: device.to_string(), reason },
    }
}

impl CaptureSource for CpalSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn format(&self) -> SourceFormat {
        SourceFormat { sample_rate_hz: self.config.sample_rate(), channel_count: usize::from(self.config.channels()) }
    }

    fn start(self: Box<Self>, ring: RingWriter, events: SourceEvents) -> Result<Box<dyn RunningSource>, RecordError> {
        let controls = Arc::new(Controls { stopped: AtomicBool::new(false), callbacks: AtomicU64::new(0) });
        let (opened_sender, opened) = mpsc::channel();
        let (stop_sender, stop) = mpsc::channel::<()>();
        let thread_controls = controls.clone();
        let thread = std::thread::Builder::new()
            .name("verbatim-capture".into())
            .spawn(move || {
                let watchdog_events = events.clone();
                let stream = match build_stream(&self.device, &self.config, ring, thread_controls.clone(), events, &self.name) {
                    Ok(stream) => stream,
                    Err(error) => {
                        let _ = opened_sender.send(Err(error));
                        return;
                    }
                };
                let _ = opened_sender.send(Ok(()));
                watch_until_stopped(&stop, &thread_controls, &watchdog_events, &self.name);
                drain(&thread_controls);
                drop(stream);
            })
            .map_err(|error| RecordError::Device { device: String::new(), reason: error.to_string() })?;
        match opened.recv_timeout(OPEN_TIMEOUT) {
            Ok(Ok(())) => Ok(Box::new(RunningCpal { stop: Some(stop_sender), thread: Some(thread), controls })),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(RecordError::Device { device: String::new(), reason: "the device did not start within 10 s".into() }),
        }
    }
}

/// Shared by the callback and the stream's owner.
struct Controls {
    stopped: AtomicBool,
    callbacks: AtomicU64,
}

fn build_stream(
    device: &cpal::Device,
    config: &cpal::SupportedStreamConfig,
    ring: RingWriter,
    controls: Arc<Controls>,
    events: SourceEvents,
    name: &str,
) -> Result<cpal::Stream, RecordError> {
    let stream_config = config.config();
    let stream = match config.sample_format() {
        SampleFormat::I8 => typed_stream::<i8>(device, stream_config, ring, controls, events, name),
        SampleFormat::I16 => typed_stream::<i16>(device, stream_config, ring, controls, events, name),
        SampleFormat::I32 => typed_stream::<i32>(device, stream_config, ring, controls, events, name),
        SampleFormat::U8 => typed_stream::<u8>(device, stream_config, ring, controls, events, name),
        SampleFormat::U16 => typed_stream::<u16>(device, stream_config, ring, controls, events, name),
        SampleFormat::F32 => typed_stream::<f32>(device, stream_config, ring, controls, events, name),
        SampleFormat::F64 => typed_stream::<f64>(device, stream_config, ring, controls, events, name),
        other => Err(cpal::Error::with_message(ErrorKind::UnsupportedConfig, format!("sample format {other} is not supported"))),
    }
    .map_err(|error| device_error(name, &error))?;
    stream.play().map_err(|error| device_error(name, &error))?;
    Ok(stream)
}

fn typed_stream<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    mut ring: RingWriter,
    controls: Arc<Controls>,
    events: SourceEvents,
    name: &str,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample,
    f32: FromSample<T>,
{
    let on_error = error_reporter(name.to_string(), events);
    device.build_input_stream::<T, _, _>(
        config,
        move |data: &[T], _: &cpal::InputCallbackInfo| {
            // The real-time path: nothing here locks, allocates or does I/O.
            if controls.stopped.load(Ordering::Relaxed) {
                return;
            }
            ring.push_converted(data, |sample| sample.to_sample::<f32>());
            controls.callbacks.fetch_add(1, Ordering::Release);
        },
        on_error,
        None,
    )
}

/// cpal's error callback: overruns and route changes are warnings, the rest ends the source.
fn error_reporter(name: String, events: SourceEvents) -> impl FnMut(cpal::Error) + Send + 'static {
    let mut failed = false;
    move |error: cpal::Error| {
        let event = match error.kind() {
            ErrorKind::Xrun => SourceEvent::Warning(format!("{name} dropped audio (the system was too busy)")),
            ErrorKind::DeviceChanged | ErrorKind::RealtimeDenied => SourceEvent::Warning(format!("{name}: {}", error.kind())),
            ErrorKind::DeviceNotAvailable | ErrorKind::StreamInvalidated => {
                SourceEvent::Failed(format!("{name} disappeared (unplugged or switched off)"))
            }
            _ => SourceEvent::Failed(format!("{name} failed: {}", crate::audio::device_error_reason(&error))),
        };
        if matches!(event, SourceEvent::Failed(_)) {
            if failed {
                return;
            }
            failed = true;
        }
        let _ = events.send(event);
    }
}

/// Waits for the stop; meanwhile reports a device whose callbacks stopped coming for
/// `STALL_TIMEOUT` after it had started: some hosts (PulseAudio when a source is removed) end
/// the stream without an error.
fn watch_until_stopped(stop: &mpsc::Receiver<()>, controls: &Controls, events: &SourceEvents, name: &str) {
    let mut last_count = 0;
    let mut last_progress = Instant::now();
    let mut reported = false;
    loop {
        match stop.recv_timeout(Duration::from_millis(200)) {
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
        let count = controls.callbacks.load(Ordering::Acquire);
        if count != last_count {
            last_count = count;
            last_progress = Instant::now();
        } else if count > 0 && !reported && last_progress.elapsed() >= STALL_TIMEOUT {
            reported = true;
            let _ = events.send(SourceEvent::Failed(format!("{name} stopped delivering audio (unplugged or switched off)")));
        }
    }
}

/// Waits until the device delivered what it held at the stop (two more callbacks), then stops
/// the callback from pushing more.
fn drain(controls: &Controls) {
    let at_stop = controls.callbacks.load(Ordering::Acquire);
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    while controls.callbacks.load(Ordering::Acquire) < at_stop + 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    controls.stopped.store(true, Ordering::Relaxed);
}

struct RunningCpal {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    controls: Arc<Controls>,
}

impl RunningSource for RunningCpal {
    fn stop(mut self: Box<Self>) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.controls.stopped.store(true, Ordering::Relaxed);
    }
}
