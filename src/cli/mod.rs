//! The command line: `verbatim transcribe`, `verbatim models`, and (with no arguments) the
//! window. Parsing lives here; each command has its own module.

pub mod cloud_args;
mod export_args;
mod live_display;
pub mod models;
mod output;
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
        command: cloud_args::DevCommand,
    },
    /// Internal: the local engine's worker process (reads a job on stdin).
    #[command(hide = true)]
    Worker,
}

/// Entry point of the binary. Returns the process exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Worker) = cli.command {
        return crate::engine::local::worker::worker_main();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Some(Command::Transcribe(args)) => runtime.block_on(transcribe::run(args)),
        Some(Command::Models { command }) => match runtime.block_on(models::run_models_command(command)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => fail(&error),
        },
        Some(Command::Auth { command }) => match cloud_args::run_auth_command(command) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => fail(&error),
        },
        Some(Command::Dev { command }) => match cloud_args::run_dev_command(command) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => fail(&error),
        },
        Some(Command::Worker) => ExitCode::FAILURE, // handled above, before the runtime
        None => {
            eprintln!("error: the window is not part of this build yet; run `verbatim transcribe FILE` (see `verbatim --help`)");
            ExitCode::FAILURE
        }
    }
}

/// Prints `error: …` for an edge-level failure and returns a failing exit status.
pub(crate) fn fail(error: &anyhow::Error) -> ExitCode {
    eprintln!("error: {error:#}");
    ExitCode::FAILURE
}
