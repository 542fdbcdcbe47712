//! `verbatim transcribe FILE...`: runs an engine on each file in turn, shows segments as they
//! arrive, and writes the transcript in the chosen formats. One failure does not stop the
//! rest; the exit status is 0 only if every file succeeded.

use super::live_display::LiveDisplay;
use super::output::{OutputTarget, partial_path, write_atomically};
use crate::diarize::SpeakerBounds;
use crate::engine::{Engine, EngineError, EngineKind, SpeakerMode, TranscribeOptions, run_engine};
use crate::events::EventSink;
use crate::export::{ExportFormat, ExportOptions};
use crate::transcript::Transcript;
use anyhow::Context;
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Args)]
pub struct TranscribeArgs {
    /// Audio or video files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// local (whisper.cpp, offline), gradium, polargrid, llmstats or 60db.
    #[arg(long, default_value = "local")]
    pub engine: EngineKind,
    /// Local: an installed model name (see `verbatim models list`) or a ggml file path
    /// (default tiny.en-q8_0 when installed, else tiny.en). Cloud: the service's model (Gradium model, PolarGrid model, LLM
    /// Stats model_id).
    #[arg(long, long_help = super::cloud_args::model_long_help())]
    pub model: Option<String>,
    /// Spoken language as a two-letter code, or `auto` to detect it.
    #[arg(long, default_value = "auto")]
    pub language: String,
    /// Translate into English.
    #[arg(long)]
    pub translate: bool,
    /// Output formats, comma separated: srt, vtt, txt, json.
    #[arg(long, default_value = "srt")]
    pub format: String,
    /// `-` for stdout, a directory, or a file. Default: stdout for one input, else the current directory.
    #[arg(long, short)]
    pub output: Option<String>,
    /// CPU threads for the local engine.
    #[arg(long, default_value_t = crate::engine::default_thread_count())]
    pub threads: usize,
    /// Speaker labels: `stereo` gives each channel of a stereo recording its own speaker; `auto`
    /// tells voices apart (local engine; bounded by --min-speakers / --max-speakers).
    #[arg(long, value_parser = super::choice::parser::<SpeakerMode>(), default_value = "none")]
    pub speakers: SpeakerMode,
    /// Names and jargon to expect (helps spelling).
    #[arg(long)]
    pub prompt: Option<String>,
    /// Beam size for the local engine (1 = greedy, fastest).
    #[arg(long, default_value_t = 1)]
    pub beam_size: u32,
    /// Local engine: decode the second half of each few-minute chunk at the same time, on a
    /// second decoder with half the threads (13–21 % faster on two cores, about
    /// 170 MB more memory).
    #[arg(long)]
    pub parallel_decoders: bool,
    /// Do not show segments while transcribing.
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub export: super::export_args::ExportArgs,
    #[command(flatten)]
    pub cloud: super::cloud_args::CloudArgs,
}

pub async fn run(args: TranscribeArgs) -> ExitCode {
    match run_all(args).await {
        Ok(code) => code,
        Err(error) => super::fail(&error),
    }
}

async fn run_all(args: TranscribeArgs) -> anyhow::Result<ExitCode> {
    let formats = ExportFormat::parse_list(&args.format)?;
    let target = OutputTarget::parse(args.output.as_deref(), args.files.len(), &formats)?;
    let export_options = args.export.to_options()?;
    let options = TranscribeOptions {
        language: Some(args.language.clone()).filter(|l| l != "auto"),
        translate: args.translate,
        prompt: args.prompt.clone(),
        threads: args.threads.max(1),
        speakers: args.speakers,
        speaker_bounds: local_speaker_bounds(&args)?,
        word_timestamps: true,
        parallel_decoders: args.parallel_decoders,
    };
    let engine = build_engine(&args)?;

    let cancel = CancellationToken::new();
    {
        let cancel = cancel.clone();
        let (interrupts, presses) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() && interrupts.send(()).is_ok() {}
        });
        tokio::spawn(async move {
            if second_interrupt(presses, &cancel).await {
                eprintln!("\nstopped without writing anything more");
                std::process::exit(INTERRUPTED_EXIT_STATUS);
            }
        });
    }

    let mut failures = 0;
    for file in &args.files {
        if cancel.is_cancelled() {
            eprintln!("error: {}: not started (cancelled)", file.display());
            failures += 1;
            continue;
        }
        let (transcript, result) = transcribe_one(engine.as_ref(), file, &options, args.quiet, &cancel).await;
        // A failed or cancelled run still writes what it heard, beside the complete output
        // rather than over it; an empty failure writes nothing.
        let complete = result.is_ok();
        let written = if complete || !transcript.segments.is_empty() {
            write_outputs(&transcript, file, &formats, &target, &export_options, complete)
        } else {
            Ok(Vec::new())
        };
        match (&result, written) {
            (Ok(()), Ok(paths)) => {
                for path in paths {
                    eprintln!("wrote {}", path.display());
                }
            }
            (Ok(()), Err(error)) => {
                failures += 1;
                eprintln!("error: {}: {error:#}", file.display());
            }
            (Err(error), written) => {
                failures += 1;
                // Audio errors name the file themselves.
                let message = error.to_string();
                let prefix = format!("{}: ", file.display());
                eprintln!("error: {}: {}", file.display(), message.strip_prefix(&prefix).unwrap_or(&message));
                match written {
                    Ok(paths) => report_partial(&transcript, file, &formats, &target, &paths),
                    Err(error) => eprintln!("error: {}: the partial transcript could not be kept: {error:#}", file.display()),
                }
            }
        }
    }
    Ok(if failures == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The exit status after a second Ctrl-C (128 + SIGINT, as shells report it).
const INTERRUPTED_EXIT_STATUS: i32 = 130;

/// What Ctrl-C does: the first press cancels the run (which then keeps what it heard); the
/// second returns `true` (the caller exits at once). `false` if the presses stop coming.
async fn second_interrupt(mut presses: tokio::sync::mpsc::UnboundedReceiver<()>, cancel: &CancellationToken) -> bool {
    if presses.recv().await.is_none() {
        return false;
    }
    eprintln!("\ncancelling… (press Ctrl-C again to quit at once)");
    cancel.cancel();
    presses.recv().await.is_some()
}

/// `--min-speakers` / `--max-speakers` for `--speakers auto`, checked; the speaker model must
/// be installed.
fn local_speaker_bounds(args: &TranscribeArgs) -> anyhow::Result<SpeakerBounds> {
    let bounds = SpeakerBounds { min: args.cloud.min_speakers.map(|n| n as usize), max: args.cloud.max_speakers.map(|n| n as usize) };
    if args.speakers != SpeakerMode::Auto {
        if args.engine == EngineKind::Local && bounds != SpeakerBounds::default() {
            anyhow::bail!("--min-speakers and --max-speakers work with --speakers auto; add it or drop them");
        }
        return Ok(bounds);
    }
    if args.engine != EngineKind::Local {
        anyhow::bail!("--speakers auto works with the local engine only; use --engine local (60db labels speakers itself with --diarize)");
    }
    bounds.validate().map_err(anyhow::Error::msg)?;
    crate::diarize::locate_speaker_model()?;
    Ok(bounds)
}

fn build_engine(args: &TranscribeArgs) -> anyhow::Result<Arc<dyn Engine>> {
    if args.speakers == SpeakerMode::Stereo && !args.engine.splits_stereo_channels() {
        anyhow::bail!(
            "--speakers stereo works with the local engine only; drop it{}",
            if args.engine == EngineKind::Cloud(crate::engine::cloud::CloudService::SixtyDb) {
                " (60db labels speakers itself with --diarize)"
            } else {
                ", or use --engine local"
            }
        );
    }
    // Reading the keyring blocks.
    tokio::task::block_in_place(|| {
        super::cloud_args::build_engine(args.engine, args.model.as_deref(), args.beam_size, &args.cloud)
    })
}

/// Runs the engine on one file, applying events to a transcript and showing them as they
/// arrive. The transcript is returned whatever happened, so nothing already heard is lost.
async fn transcribe_one(
    engine: &dyn Engine,
    file: &Path,
    options: &TranscribeOptions,
    quiet: bool,
    cancel: &CancellationToken,
) -> (Transcript, Result<(), EngineError>) {
    let label = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let display = LiveDisplay::new(&label, quiet);
    let (sink, mut events) = EventSink::channel();
    let mut transcript = Transcript::new();
    let job = async {
        let result = run_engine(engine, file, options, &sink, cancel).await;
        drop(sink);
        result
    };
    let drain = async {
        while let Some(event) = events.recv().await {
            display.show(&event);
            transcript.apply(&event);
        }
    };
    let (result, ()) = tokio::join!(job, drain);
    display.finish();
    (transcript, result.map(|_| ()))
}

/// Says where the partial transcript of `input` went, and that a complete one is untouched.
pub(super) fn report_partial(transcript: &Transcript, input: &Path, formats: &[ExportFormat], target: &OutputTarget, written: &[PathBuf]) {
    let complete_paths = formats.iter().filter_map(|&format| target.path_for(input, format, formats.len()));
    for (partial, complete) in written.iter().zip(complete_paths) {
        let untouched = if complete.exists() { format!("; {} is left as it was", complete.display()) } else { String::new() };
        eprintln!("partial transcript ({} segments) kept in {}{untouched}", transcript.segments.len(), partial.display());
    }
}

/// Writes every requested format; returns the files written (none for stdout). An
/// incomplete transcript goes to each file's [`partial_path`], never over the file itself.
pub(super) fn write_outputs(
    transcript: &Transcript,
    input: &Path,
    formats: &[ExportFormat],
    target: &OutputTarget,
    options: &ExportOptions,
    complete: bool,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for &format in formats {
        let contents = crate::export::render(transcript, format, options);
        let path = target.path_for(input, format, formats.len());
        match path.map(|path| if complete { path } else { partial_path(&path) }) {
            None => {
                use std::io::Write;
                let mut stdout = std::io::stdout().lock();
                stdout.write_all(contents.as_bytes()).context("cannot write to stdout")?;
                stdout.flush().context("cannot write to stdout")?;
            }
            Some(path) => {
                write_atomically(&path, &contents)?;
                written.push(path);
            }
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_ctrl_c_cancels_and_the_second_quits() {
        let cancel = CancellationToken::new();
        let (press, presses) = tokio::sync::mpsc::unbounded_channel();
        let watching = {
            let cancel = cancel.clone();
            tokio::spawn(async move { second_interrupt(presses, &cancel).await })
        };
        press.send(()).unwrap();
        cancel.cancelled().await;
        tokio::task::yield_now().await;
        assert!(!watching.is_finished(), "one press only cancels");
        press.send(()).unwrap();
        assert!(watching.await.unwrap(), "the second press quits");
    }
}
