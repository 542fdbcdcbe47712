//! `verbatim record`: records from a microphone (or `--device file:PATH`, a file played as a
//! virtual microphone) into a crash-safe WAV, shows level, elapsed time and size on a terminal,
//! and stops cleanly on Ctrl+C. `--live local|gradium|60db` transcribes while recording
//! ([`super::record_live`]) and writes that transcript next to the WAV at the stop; with
//! `--live polargrid|llmstats` (no live transport) or `--live off --format …` the finished file
//! is transcribed by running `verbatim transcribe` on it, with the transcripts next to the WAV.

use super::record_live::{LiveChoice, LiveSession};
use crate::engine::{EngineKind, LiveEngine, SpeakerMode, TranscribeOptions};
use crate::export::ExportFormat;
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
    /// The transcript formats written next to the WAV when the recording ends (comma
    /// separated: srt, vtt, txt, json). Default: srt with --live, none without.
    #[arg(long)]
    pub format: Option<String>,
    /// The engine that transcribes the recording: local, gradium or 60db show the text while
    /// people speak; polargrid and llmstats have no live transport and transcribe the file when
    /// it stops; off (default) transcribes nothing, or with --format the file when it stops with
    /// the local engine (`-- --engine …` picks another). Exit status 3: the WAV is complete but
    /// its transcription failed.
    #[arg(long, default_value = "off", value_name = "off|local|gradium|60db|polargrid|llmstats")]
    pub live: LiveChoice,
    /// The live service's base URL instead of its public one (https://, or http:// / ws:// to
    /// this machine only); the documented path is appended.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Model of the engine (see `verbatim transcribe --model`); --live local uses it too.
    #[arg(long)]
    pub model: Option<String>,
    /// Spoken language as a two-letter code, or `auto`.
    #[arg(long, default_value = "auto")]
    pub language: String,
    /// With --live local, `auto` labels speakers by voice while recording (a phrase is labelled
    /// once its speaker has been heard for 3 s; earlier labels are revised as more is heard).
    #[arg(long, value_parser = super::choice::parser::<SpeakerMode>(), default_value = "none")]
    pub speakers: SpeakerMode,
    /// Pace of a file:PATH device: 1 is real time, 10 ten times faster.
    #[arg(long, default_value_t = 1.0, hide = true)]
    pub speed: f64,
    /// More options for the transcription of the finished file, as `verbatim transcribe` takes them.
    #[arg(last = true, value_name = "TRANSCRIBE OPTIONS")]
    pub transcribe_options: Vec<String>,
}

pub async fn run(args: RecordArgs) -> ExitCode {
    match record(args).await {
        Ok(code) => code,
        Err(error) => super::fail(&error),
    }
}

/// The exit status when the WAV is complete but its transcription (live or at the stop) failed.
const TRANSCRIPTION_FAILED_EXIT_STATUS: u8 = 3;

/// What happens to the recording besides the file.
enum Transcription {
    None,
    /// A live engine hears it; its transcript is written in these formats at the stop.
    Live(Box<dyn LiveEngine>, Vec<ExportFormat>),
    /// `verbatim transcribe` runs on the finished file.
    AfterStop(Box<super::transcribe::TranscribeArgs>),
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
    let transcription = plan_transcription(&args, &path)?;
    let (device, monitor, speed) = (args.device.clone(), args.monitor, args.speed);
    let source = tokio::task::spawn_blocking(move || crate::record::open_source(device.as_deref(), monitor, speed)).await??;
    let mut config = RecorderConfig::new(path.clone());
    config.live_tap = matches!(transcription, Transcription::Live(..));
    let mut recorder = Recorder::start(source, config)?;
    let mut live = match (transcription, recorder.take_live_tap()) {
        (Transcription::Live(engine, formats), Some(tap)) => {
            let options = TranscribeOptions { language: language_option(&args.language), speakers: args.speakers, ..TranscribeOptions::default() };
            Some((LiveSession::start(engine, tap, options, std::io::stderr().is_terminal()), formats))
        }
        (Transcription::AfterStop(transcribe_args), _) => {
            return Ok(finish_then_transcribe(follow(recorder, None).await, *transcribe_args).await);
        }
        _ => None,
    };
    let summary = follow(recorder, live.as_mut().map(|(session, _)| session)).await;
    let mut code = report_recording(&summary);
    if let Some((session, formats)) = live {
        let (transcript, result) = session.finish().await;
        if !write_live_transcript(&transcript, result, &summary.path, &formats) && code == ExitCode::SUCCESS {
            code = ExitCode::from(TRANSCRIPTION_FAILED_EXIT_STATUS);
        }
    }
    Ok(code)
}

/// Says how the recording ended; failure if it had to stop.
fn report_recording(summary: &RecordingSummary) -> ExitCode {
    let failed = matches!(summary.reason, StopReason::SourceFailed(_) | StopReason::WriteFailed(_) | StopReason::DiskFull);
    eprintln!("recorded {} to {}", crate::units::clock(summary.recorded_s), summary.path.display());
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

/// Says how the recording ended, then transcribes the file if it holds any audio.
async fn finish_then_transcribe(summary: RecordingSummary, transcribe_args: super::transcribe::TranscribeArgs) -> ExitCode {
    let code = report_recording(&summary);
    if summary.recorded_s > 0.0 && super::transcribe::run(transcribe_args).await != ExitCode::SUCCESS && code == ExitCode::SUCCESS {
        return ExitCode::from(TRANSCRIPTION_FAILED_EXIT_STATUS);
    }
    code
}

fn language_option(language: &str) -> Option<String> {
    Some(language.to_string()).filter(|language| language != "auto")
}

/// Checks the transcription options and builds the live engine, before anything is recorded.
fn plan_transcription(args: &RecordArgs, wav: &Path) -> anyhow::Result<Transcription> {
    let live_local = args.live == LiveChoice::Engine(EngineKind::Local);
    if args.speakers != SpeakerMode::None && !(live_local && args.speakers == SpeakerMode::Auto) {
        anyhow::bail!("--speakers auto labels speakers while recording with --live local; to label the finished file instead, put it after -- (`-- --speakers auto`)");
    }
    let kind = match args.live {
        LiveChoice::Off => {
            if args.endpoint.is_some() {
                anyhow::bail!("--endpoint is the live service's address; add --live gradium|60db|polargrid|llmstats, or drop it");
            }
            return Ok(match &args.format {
                Some(format) => Transcription::AfterStop(Box::new(transcribe_args(args, format, None, wav)?)),
                None => Transcription::None,
            });
        }
        LiveChoice::Engine(kind) => kind,
    };
    if kind == EngineKind::Local && args.endpoint.is_some() {
        anyhow::bail!("--endpoint is for a cloud service; the local engine runs on this computer, so drop it");
    }
    let format = args.format.as_deref().unwrap_or("srt");
    if !kind.streams_live() {
        let transcribe = transcribe_args(args, format, Some(kind), wav)?;
        eprintln!("{} has no live transport; the recording will be transcribed from the file when it stops", kind.display_name());
        return Ok(Transcription::AfterStop(Box::new(transcribe)));
    }
    kind.check_language(language_option(&args.language).as_deref()).map_err(anyhow::Error::msg)?;
    let formats = ExportFormat::parse_list(format)?;
    if !args.transcribe_options.is_empty() {
        anyhow::bail!("options after -- are for transcribing the finished file; with --live {} drop them", kind.id());
    }
    // Reading the keyring blocks.
    let engine = tokio::task::block_in_place(|| super::record_live::build(kind, args.model.as_deref(), args.endpoint.as_deref()))?;
    Ok(Transcription::Live(engine, formats))
}

/// Writes the live transcript next to the WAV in each format (a partial one beside any complete
/// transcript, as `transcribe` does); returns whether the transcription succeeded and was kept.
fn write_live_transcript(
    transcript: &crate::transcript::Transcript,
    result: Result<crate::engine::EngineOutcome, crate::engine::EngineError>,
    wav: &Path,
    formats: &[ExportFormat],
) -> bool {
    let folder = wav.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let target = super::output::OutputTarget::Directory(folder.to_path_buf());
    let complete = result.is_ok();
    if !complete && transcript.segments.is_empty() {
        eprintln!("no live transcript to keep; transcribe {} with `verbatim transcribe`", wav.display());
        return false;
    }
    let options = crate::export::ExportOptions::default();
    match super::transcribe::write_outputs(transcript, wav, formats, &target, &options, complete) {
        Ok(paths) if complete => {
            paths.iter().for_each(|path| eprintln!("wrote {}", path.display()));
            true
        }
        Ok(paths) => {
            super::transcribe::report_partial(transcript, wav, formats, &target, &paths);
            false
        }
        Err(error) => {
            eprintln!("error: the live transcript could not be written: {error:#}");
            false
        }
    }
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
/// options (`engine`, else transcribe's default or what comes after `--`), then whatever came
/// after `--`. Transcripts go to the WAV's folder.
fn transcribe_args(args: &RecordArgs, format: &str, engine: Option<EngineKind>, wav: &Path) -> anyhow::Result<super::transcribe::TranscribeArgs> {
    let folder = wav.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut argv: Vec<std::ffi::OsString> = vec!["transcribe".into(), wav.into()];
    for (flag, value) in [("--format", format), ("--language", &args.language)] {
        argv.extend([flag.into(), value.into()]);
    }
    if let Some(engine) = engine {
        argv.extend(["--engine".into(), engine.id().into()]);
    }
    if let Some(endpoint) = &args.endpoint {
        argv.extend(["--endpoint".into(), super::record_live::endpoint_base_url(endpoint).into()]);
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

/// Shows events, live text and the status line until the recording finishes; Ctrl+C stops it.
async fn follow(recorder: Recorder, mut live: Option<&mut LiveSession>) -> RecordingSummary {
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
        if let Some(live) = live.as_deref_mut() {
            live.drain(&|| clear_line(terminal));
        }
        if terminal && last_line.elapsed() >= Duration::from_millis(200) {
            last_line = Instant::now();
            let hypothesis = live.as_deref().and_then(|live| live.hypothesis.as_deref());
            let hypothesis = hypothesis.map(|text| format!("  … {}", tail(text, 60))).unwrap_or_default();
            eprint!("\r{}{hypothesis}\x1b[K", status_line(&recorder.status()));
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

/// The last `chars` characters of `text` (the newest words of a hypothesis).
fn tail(text: &str, chars: usize) -> &str {
    let count = text.chars().count();
    match text.char_indices().nth(count.saturating_sub(chars)) {
        Some((index, _)) if count > chars => &text[index..],
        _ => text,
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
