//! The command line: `verbatim transcribe`, `verbatim record`, `verbatim models`, and (with no arguments) the
//! window. Parsing lives here; each command has its own module.

mod choice;
pub mod cloud_args;
mod dev;
mod export_args;
mod live_display;
pub mod models;
mod output;
mod record;
mod record_live;
mod transcribe;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(name = "verbatim", version, about = "Transcribe audio locally with whisper.cpp or with a cloud service; export SRT, WebVTT, text or JSON.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Transcribe audio files (WAV, MP3, M4A/AAC, FLAC, Ogg Vorbis/Opus, video soundtracks).
    Transcribe(transcribe::TranscribeArgs),
    /// Record from a microphone (or a file played as one) into a crash-safe WAV; optionally
    /// transcribe it when it ends.
    Record(record::RecordArgs),
    /// Manage local models: list, download, import a faster-whisper model, remove.
    Models {
        #[command(subcommand)]
        command: models::ModelsCommand,
    },
    /// Store, remove or check the API key of a cloud service.
    Auth {
        #[command(subcommand)]
        command: cloud_args::AuthCommand,
    },
    /// Developer tools: fake cloud servers on 127.0.0.1 for demos without accounts.
    Dev {
        #[command(subcommand)]
        command: dev::DevCommand,
    },
    /// Open the window with files queued for transcription.
    Open(OpenArgs),
    /// Internal: the local engine's worker process (reads a job on stdin).
    #[command(hide = true)]
    Worker,
}

/// `verbatim open FILE...`: the window with files queued.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct OpenArgs {
    /// Audio or video files to transcribe in the window.
    pub files: Vec<std::path::PathBuf>,
    /// The input device the recording panel offers first and records from: a device name or
    /// id (`verbatim record --list-devices` lists them), or file:PATH to play an audio file as
    /// a virtual microphone at real-time pace (demos, screenshots and tests on machines
    /// without a sound card; the recording ends when the file does).
    #[arg(long, value_name = "DEVICE")]
    pub input_device: Option<String>,
    /// Start recording as soon as the window is open, with the live engine chosen last time.
    #[arg(long)]
    pub record: bool,
}

/// Runs `verbatim open` (or, with no files, plain `verbatim`) and returns the exit status.
fn open_window(args: OpenArgs) -> ExitCode {
    let start = crate::app::WindowStart { files: args.files, input_device: args.input_device, record: args.record };
    match crate::app::run_app_with(start) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&error),
    }
}

/// Entry point of the binary. Returns the process exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // The worker and the window need no runtime of the CLI's (the window starts its own).
    let command = match cli.command {
        None => return open_window(OpenArgs::default()),
        Some(Command::Open(args)) => return open_window(args),
        Some(Command::Worker) => return crate::engine::local::worker::worker_main(),
        Some(command) => command,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = match command {
        Command::Transcribe(args) => return runtime.block_on(transcribe::run(args)),
        Command::Record(args) => return runtime.block_on(record::run(args)),
        Command::Models { command } => runtime.block_on(models::run_models_command(command)),
        Command::Auth { command } => cloud_args::run_auth_command(command),
        Command::Dev { command } => dev::run_dev_command(command),
        Command::Open(_) | Command::Worker => return ExitCode::FAILURE, // handled above
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&error),
    }
}

/// Prints `error: …` for an edge-level failure and returns a failing exit status.
pub(crate) fn fail(error: &anyhow::Error) -> ExitCode {
    eprintln!("error: {error:#}");
    ExitCode::FAILURE
}
