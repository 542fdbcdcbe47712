//! `verbatim record`: records from a microphone (or `--device file:PATH`, a file played as a
//! virtual microphone) into a crash-safe WAV, shows level, elapsed time and size on a terminal,
//! stops cleanly on Ctrl+C, and with `--format` transcribes the finished file by running
//! `verbatim transcribe` on it (same engines, same options) with the transcripts next to the WAV.
//!
//! Live transcription while recording (`--live off|local|gradium|60db`, `--endpoint URL`) plugs
//! in here: take `Recorder::take_live_tap()` after `Recorder::start` and hand it to the live
//! engine; the recording does not depend on it.

use crate::record::cpal_input::{InputDevice, list_input_devices};
use crate::record::recovery::recover_unfinished;
use crate::record::{Recorder, RecorderConfig, RecorderEvent, RecorderStatus, RecordingSummary, StopReason};
use anyhow::Context;
use clap::{Args, FromArgMatches};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Input device: a name or id from --list-devices (a unique part of the name is enough), or
    /// file:PATH to play an audio file as a virtual microphone. Default: the default input.
    #[arg(long)]
    pub device: Option<String>,
    /// List the input devices (the default marked *) and exit.
    #[arg(long)]
    pub list_devices: bool,
    /// Also record the monitor of the sound output (what the speakers play) as channel 2, for
    /// calls: "Me" on the left, "Them" on the right. Needs PulseAudio or PipeWire.
    #[arg(long)]
    pub monitor: bool,
    /// The WAV to write (must not exist). Default: a timestamped file in the recordings folder.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// When the recording ends, transcribe it and write these formats next to the WAV
    /// (comma separated: srt, vtt, txt, json).
    #[arg(long)]
    pub format: Option<String>,
    /// Engine for the transcription after recording (local, gradium, polargrid, llmstats, 60db).
    #[arg(long, default_value = "local")]
    pub engine: String,
    /// Model for that transcription (see `verbatim transcribe --model`).
    #[arg(long)]
    pub model: Option<String>,
    /// Spoken language as a two-letter code, or `auto`.
    #[arg(long, default_value = "auto")]
    pub language: String,
    /// Pace of a file:PATH device: 1 is real time, 10 ten times faster.
    #[arg(long, default_value_t = 1.0, hide = true)]
    pub speed: f64,
    /// More options for the transcription after recording, as `verbatim transcribe` takes them.
    #[arg(last = true, value_name = "TRANSCRIBE OPTIONS")]
    pub transcribe_options: Vec<String>,
}

pub async fn run(args: RecordArgs) -> ExitCode {
    match record(args).await {
        Ok(code) => code,
        Err(error) => super::fail(&error),
    }
}

async fn record(args: RecordArgs) -> anyhow::Result<ExitCode> {
    if args.list_devices {
        print_devices(&tokio::task::spawn_blocking(list_input_devices).await??);
        return Ok(ExitCode::SUCCESS);
    }
    report_recovered();
    let path = match &args.output {
        Some(path) => path.clone(),
        None => crate::record::new_recording_path()?,
    };
    // Fail on bad transcription options before recording, not after.
    let transcribe_args = args.format.as_ref().map(|format| transcribe_args(&args, format, &path)).transpose()?;
    let (device, monitor, speed) = (args.device.clone(), args.monitor, args.speed);
    let source = tokio::task::spawn_blocking(move || crate::record::open_source(device.as_deref(), monitor, speed)).await??;
    let recorder = Recorder::start(source, RecorderConfig::new(path.clone()))?;
    let summary = follow(recorder).await;
    let failed = matches!(summary.reason, StopReason::SourceFailed(_) | StopReason::WriteFailed(_) | StopReason::DiskFull);
    eprintln!("recorded {} to {}", crate::units::clock(summary.recorded_s), summary.path.display());
    let mut code = if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS };
    if let Some(transcribe_args) = transcribe_args
        && summary.recorded_s > 0.0
    {
        let transcribed = super::transcribe::run(transcribe_args).await;
        if transcribed != ExitCode::SUCCESS {
            code = transcribed;
        }
    }
    Ok(code)
}

/// Repairs what a crash left behind and says so, one line each.
fn report_recovered() {
    let Ok(dir) = crate::record::recordings_dir() else { return };
    for result in recover_unfinished(&dir) {
        match result {
            Ok(repaired) => eprintln!(
                "recovered an unfinished recording: {} ({}, of which {} were past its last saved header)",
                repaired.path.display(),
                crate::units::clock(repaired.duration_s),
                crate::units::clock(repaired.recovered_s),
            ),
            Err(error) => eprintln!("warning: {error}"),
        }
    }
}

/// The `verbatim transcribe` arguments for the finished recording: its defaults, our engine
/// options, then whatever came after `--`. Transcripts go to the WAV's folder.
fn transcribe_args(args: &RecordArgs, format: &str, wav: &Path) -> anyhow::Result<super::transcribe::TranscribeArgs> {
    let folder = wav.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut argv: Vec<std::ffi::OsString> = vec!["transcribe".into(), wav.into()];
    for (flag, value) in [("--format", format), ("--engine", &args.engine), ("--language", &args.language)] {
        argv.extend([flag.into(), value.into()]);
    }
    if let Some(model) = &args.model {
        argv.extend(["--model".into(), model.into()]);
    }
    let mut folder_arg = folder.as_os_str().to_os_string();
    folder_arg.push("/");
    argv.extend(["--output".into(), folder_arg]);
    argv.extend(args.transcribe_options.iter().map(Into::into));
    let command = <super::transcribe::TranscribeArgs as clap::Args>::augment_args(clap::Command::new("transcribe"));
    let matches = command.try_get_matches_from(argv).context("options for the transcription after recording")?;
    Ok(super::transcribe::TranscribeArgs::from_arg_matches(&matches)?)
}

fn print_devices(devices: &[InputDevice]) {
    if devices.is_empty() {
        eprintln!("no input devices found");
        return;
    }
    for device in devices {
        let mark = if device.is_default { '*' } else { ' ' };
        let kind = if device.is_monitor { "  (monitor of an output)" } else { "" };
        println!("{mark} {}  {}{kind}", device.id, device.name);
    }
}

/// Shows events and the status line until the recording finishes; Ctrl+C stops it.
async fn follow(recorder: Recorder) -> RecordingSummary {
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let interrupted = interrupted.clone();
        tokio::spawn(async move {
            if stop_signal().await {
                interrupted.store(true, Ordering::Relaxed);
            }
        });
    }
    let terminal = std::io::stderr().is_terminal();
    let mut stop_sent = false;
    let mut last_line = Instant::now();
    loop {
        if interrupted.load(Ordering::Relaxed) && !stop_sent {
            stop_sent = true;
            clear_line(terminal);
            eprintln!("stopping…");
            recorder.stop();
        }
        while let Some(event) = recorder.try_event() {
            clear_line(terminal);
            match event {
                RecorderEvent::Started { path } => eprintln!("recording to {}", path.display()),
                RecorderEvent::Warning(message) => eprintln!("warning: {message}"),
                RecorderEvent::Failed(message) => eprintln!("error: {message}"),
                RecorderEvent::Finished(_) => return recorder.wait(),
            }
            let _ = std::io::stderr().flush();
        }
        if terminal && last_line.elapsed() >= Duration::from_millis(200) {
            last_line = Instant::now();
            eprint!("\r{}\x1b[K", status_line(&recorder.status()));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Ctrl+C, or (on Unix) SIGTERM as `kill` and session managers send it: both finish the file.
async fn stop_signal() -> bool {
    #[cfg(unix)]
    {
        let Ok(mut terminate) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) else {
            return tokio::signal::ctrl_c().await.is_ok();
        };
        tokio::select! {
            result = tokio::signal::ctrl_c() => result.is_ok(),
            _ = terminate.recv() => true,
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.is_ok()
    }
}

fn clear_line(terminal: bool) {
    if terminal {
        eprint!("\r\x1b[K");
    }
}

/// `● 1:23  4.1 MB  ▮▮▮▮▮▯▯▯▯▯ ▮▮▯▯▯▯▯▯▯▯` with `CLIP` and overruns when they happen.
fn status_line(status: &RecorderStatus) -> String {
    let marker = match status.state {
        crate::record::RecorderState::Paused => "❚❚",
        crate::record::RecorderState::WaitingForAudio => "…",
        _ => "●",
    };
    let meters: Vec<String> = status.levels.iter().map(|level| meter_bar(level.peak) + if level.clipping { " CLIP" } else { "" }).collect();
    let overruns = if status.overrun_frames > 0 { format!("  {} frames lost", status.overrun_frames) } else { String::new() };
    format!(
        "{marker} {}  {:.1} MB  {}{overruns}",
        crate::units::clock(status.recorded_s),
        status.file_bytes as f64 / 1e6,
        meters.join(" ")
    )
}

/// Ten cells over −60…0 dBFS.
fn meter_bar(peak: f32) -> String {
    let db = 20.0 * peak.max(1e-6).log10();
    let lit = (((db + 60.0) / 6.0).clamp(0.0, 10.0)) as usize;
    "▮".repeat(lit) + &"▯".repeat(10 - lit)
}
