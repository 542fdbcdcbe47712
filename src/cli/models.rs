//! `verbatim models …`: list, download, import and remove whisper models.
//!
//! The work is done by [`crate::models`]; this module only parses, shows progress and prints
//! one-line results.

use crate::models::catalog::{self, CATALOG};
use crate::models::ct2::{Quantization, import_ct2_model};
use crate::models::download::{DownloadProgress, download_model};
use crate::models::store::{self, ModelError, ModelStore};
use crate::units::megabytes;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The `models` subcommands.
#[derive(Debug, Clone, PartialEq, Eq, clap::Subcommand)]
pub enum ModelsCommand {
    /// Show the installed models, then the ones that can be downloaded.
    List {
        /// Print only the names of installed models, one per line (for scripts).
        #[arg(long)]
        installed: bool,
    },
    /// Download a model by name (e.g. tiny.en, base.en, large-v3-turbo-q5_0); an interrupted
    /// download resumes where it stopped.
    Download {
        /// Model name, as shown by `verbatim models list`.
        name: String,
    },
    /// Convert a CTranslate2 (faster-whisper) model folder into a ggml model in the store.
    Import {
        /// Folder holding the CTranslate2 model (model.bin, config.json, tokenizer.json…).
        dir: PathBuf,
        /// Name to install it under (default: the folder's name).
        #[arg(long)]
        name: Option<String>,
        /// Weight type: f16 (default), q8_0, q5_0 or q5_1. Quantized models get the suffix
        /// `-q8_0` etc.
        #[arg(long)]
        quantize: Option<String>,
    },
    /// Delete an installed model (and any unfinished download of it).
    Remove {
        /// Model name, as shown by `verbatim models list`.
        name: String,
    },
}

/// Runs one `models` subcommand. Results go to stdout, progress to stderr.
pub async fn run_models_command(cmd: ModelsCommand) -> anyhow::Result<()> {
    let store = ModelStore::from_env()?;
    match cmd {
        ModelsCommand::List { installed: true } => {
            for model in store.list()? {
                println!("{}", model.name);
            }
            Ok(())
        }
        ModelsCommand::List { installed: false } => {
            print!("{}", render_list(&store)?);
            Ok(())
        }
        ModelsCommand::Download { name } => download(&store, &name).await,
        ModelsCommand::Import {
            dir,
            name,
            quantize,
        } => {
            let quantization: Quantization = quantize.as_deref().unwrap_or("f16").parse()?;
            let name = store::import_name(&dir, name.as_deref(), quantization)?;
            if store.is_installed(&name) {
                anyhow::bail!(
                    "a model named '{name}' is already installed; pass --name NEW_NAME or run `verbatim models remove {name}` first"
                );
            }
            import(&store, &dir, &name, quantization).await
        }
        ModelsCommand::Remove { name } => {
            println!("{}", remove(&store, &name)?);
            Ok(())
        }
    }
}

/// The `models list` text: installed models (name, size, path), then the catalog models that
/// are not installed, with any unfinished download.
pub fn render_list(store: &ModelStore) -> Result<String, ModelError> {
    let installed = store.list()?;
    let mut text = format!("Models folder: {}\n\nInstalled:\n", store.dir().display());
    if installed.is_empty() {
        text.push_str("  (none)\n");
    }
    for model in &installed {
        text.push_str(&format!(
            "  {:<22} {:>10}  {}\n",
            model.name,
            megabytes(model.size_bytes),
            model.path.display()
        ));
    }
    text.push_str("\nAvailable to download (`verbatim models download NAME`):\n");
    let mut any_available = false;
    for entry in CATALOG
        .iter()
        .filter(|entry| !installed.iter().any(|m| m.name == entry.name))
    {
        any_available = true;
        let language = if entry.english_only {
            "English only"
        } else {
            "multilingual"
        };
        let mut line = format!(
            "  {:<22} {:>10}  {language}",
            entry.name,
            format!("~{}", megabytes(entry.approx_size_bytes))
        );
        if let Some(partial_bytes) = store.partial_size_bytes(entry.name) {
            line.push_str(&format!(
                "  (unfinished: {} downloaded, will resume)",
                megabytes(partial_bytes)
            ));
        }
        text.push_str(&line);
        text.push('\n');
    }
    if !any_available {
        text.push_str("  (all installed)\n");
    }
    Ok(text)
}

async fn download(store: &ModelStore, name: &str) -> anyhow::Result<()> {
    catalog::lookup(name)?;
    if store.is_installed(name) {
        println!(
            "model '{name}' is already installed at {}",
            store.path_for(name).display()
        );
        return Ok(());
    }
    let cancel = CancellationToken::new();
    let ctrl_c = tokio::spawn({
        let cancel = cancel.clone();
        async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
                // A second Ctrl-C quits at once (the partial file stays for a resume).
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            }
        }
    });
    let mut reporter = ProgressReporter::new(name, std::io::stderr().is_terminal());
    let result = download_model(store, name, &mut |p| reporter.update(p), &cancel).await;
    ctrl_c.abort();
    reporter.finish(result.is_ok());
    // On Ctrl-C this is DownloadError::Cancelled: "download cancelled; run the same command
    // to resume", printed by whoever prints errors, with a failing exit code.
    let outcome = result?;
    if let Some(warning) = &outcome.warning {
        eprintln!("warning: {warning}");
    }
    let check = match (outcome.sha1_verified, outcome.sha256_verified) {
        (true, true) => "SHA-1 and SHA-256 verified",
        (true, false) => "SHA-1 verified",
        (false, true) => "SHA-256 verified",
        (false, false) => "size checked",
    };
    println!(
        "downloaded model '{name}' ({}, {check}) to {}",
        megabytes(outcome.size_bytes),
        outcome.path.display()
    );
    Ok(())
}

fn remove(store: &ModelStore, name: &str) -> anyhow::Result<String> {
    store::validate_name(name)?;
    let model_bytes = std::fs::metadata(store.path_for(name))
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    let partial_bytes = store.partial_size_bytes(name);
    match store.remove(name) {
        Ok(()) => {}
        Err(ModelError::NotInstalled { .. }) => anyhow::bail!(
            "model '{name}' is not installed, nothing to remove (see `verbatim models list`)"
        ),
        Err(error) => return Err(error.into()),
    }
    Ok(match (model_bytes, partial_bytes) {
        (Some(bytes), None) => format!(
            "removed model '{name}' ({}): {}",
            megabytes(bytes),
            store.path_for(name).display()
        ),
        (Some(bytes), Some(partial)) => format!(
            "removed model '{name}' ({}) and an unfinished download ({}): {}",
            megabytes(bytes),
            megabytes(partial),
            store.path_for(name).display()
        ),
        (None, partial) => format!(
            "removed the unfinished download of '{name}' ({}): {}",
            megabytes(partial.unwrap_or(0)),
            store.partial_path_for(name).display()
        ),
    })
}

/// Download progress on stderr: an indicatif bar on a terminal, a plain line every few
/// seconds otherwise (logs, CI).
struct ProgressReporter {
    name: String,
    bar: Option<indicatif::ProgressBar>,
    started: bool,
    last_line: Option<Instant>,
    last: Option<DownloadProgress>,
}

const PLAIN_LINE_INTERVAL: Duration = Duration::from_secs(5);

impl ProgressReporter {
    fn new(name: &str, terminal: bool) -> ProgressReporter {
        let bar = terminal.then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_message(format!("downloading {name}"));
            bar
        });
        ProgressReporter {
            name: name.to_string(),
            bar,
            started: false,
            last_line: None,
            last: None,
        }
    }

    fn update(&mut self, progress: DownloadProgress) {
        self.last = Some(progress);
        if let Some(bar) = &self.bar {
            if let Some(total) = progress.total_bytes
                && bar.length() != Some(total)
            {
                bar.set_length(total);
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
            }
            bar.set_position(progress.downloaded_bytes);
            if !self.started {
                // Bytes resumed from disk are not download speed.
                self.started = true;
                bar.reset_eta();
            }
            return;
        }
        let now = Instant::now();
        if self
            .last_line
            .is_some_and(|last| now.duration_since(last) < PLAIN_LINE_INTERVAL)
        {
            return;
        }
        self.last_line = Some(now);
        eprintln!("{}", self.plain_line(progress));
    }

    fn plain_line(&self, progress: DownloadProgress) -> String {
        match progress.total_bytes {
            Some(total) if total > 0 => format!(
                "downloading {}: {} of {} ({:.0}%)",
                self.name,
                megabytes(progress.downloaded_bytes),
                megabytes(total),
                progress.downloaded_bytes as f64 * 100.0 / total as f64
            ),
            _ => format!(
                "downloading {}: {}",
                self.name,
                megabytes(progress.downloaded_bytes)
            ),
        }
    }

    /// Clears the bar after a success (the result line says it all); leaves it showing
    /// where the download stopped otherwise.
    fn finish(&mut self, succeeded: bool) {
        if let Some(bar) = self.bar.take() {
            if succeeded {
                bar.finish_and_clear();
            } else {
                bar.abandon();
            }
        } else if let Some(last) = self.last
            && self.last_line.is_some()
        {
            eprintln!("{}", self.plain_line(last));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, clap::Parser)]
    struct TestCli {
        #[command(subcommand)]
        cmd: ModelsCommand,
    }

    fn parse(args: &[&str]) -> ModelsCommand {
        TestCli::try_parse_from(std::iter::once("models").chain(args.iter().copied()))
            .expect("parses")
            .cmd
    }

    #[test]
    fn subcommands_parse() {
        assert_eq!(parse(&["list"]), ModelsCommand::List { installed: false });
        assert_eq!(
            parse(&["download", "base.en"]),
            ModelsCommand::Download {
                name: "base.en".into()
            }
        );
        assert_eq!(
            parse(&["import", "/m/ct2", "--name", "x", "--quantize", "q5_0"]),
            ModelsCommand::Import {
                dir: "/m/ct2".into(),
                name: Some("x".into()),
                quantize: Some("q5_0".into())
            }
        );
        assert_eq!(
            parse(&["remove", "tiny"]),
            ModelsCommand::Remove {
                name: "tiny".into()
            }
        );
    }

    #[test]
    fn list_shows_installed_then_available_with_partials() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("ggml-tiny.en.bin"), vec![0u8; 2_500_000]).expect("write");
        std::fs::write(
            dir.path().join("ggml-base.en.bin.partial"),
            vec![0u8; 1_000_000],
        )
        .expect("write");
        let text = render_list(&ModelStore::at(dir.path())).expect("list");
        let installed_at = text.find("tiny.en").expect("tiny.en listed");
        let available_at = text.find("Available").expect("available section");
        assert!(installed_at < available_at, "{text}");
        assert!(text.contains("2.5 MB"), "{text}");
        let base_line = text
            .lines()
            .find(|l| l.trim_start().starts_with("base.en "))
            .expect("base.en available");
        assert!(base_line.contains("unfinished: 1.0 MB"), "{base_line}");
        // tiny.en is installed, so it is not offered again.
        assert_eq!(text.matches("tiny.en ").count(), 1, "{text}");
    }

    #[test]
    fn remove_confirms_what_it_removed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = ModelStore::at(dir.path());
        std::fs::write(store.path_for("base"), vec![0u8; 3_000_000]).expect("write");
        let message = remove(&store, "base").expect("removed");
        assert!(
            message.starts_with("removed model 'base' (3.0 MB)"),
            "{message}"
        );
        assert!(!store.path_for("base").exists());
        let err = remove(&store, "base").expect_err("gone");
        assert_eq!(
            err.to_string(),
            "model 'base' is not installed, nothing to remove (see `verbatim models list`)"
        );
    }
}

/// Converts a CTranslate2 model folder into the store. The converter writes a `.partial`
/// file and renames it only when complete, so a failed import leaves nothing that looks like
/// a model.
async fn import(store: &ModelStore, dir: &Path, name: &str, quantization: Quantization) -> anyhow::Result<()> {
    store.ensure_dir()?;
    let output = store.path_for(name);
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(1000);
        bar.set_style(
            indicatif::ProgressStyle::with_template("converting [{bar:30}] {percent:>3}%")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar
    });
    let dir = dir.to_path_buf();
    let progress_bar = bar.clone();
    let summary = tokio::task::spawn_blocking(move || {
        let mut progress = |fraction: f64| {
            if let Some(bar) = &progress_bar {
                bar.set_position((fraction * 1000.0) as u64);
            }
        };
        import_ct2_model(&dir, &output, quantization, &mut progress)
    })
    .await
    .map_err(|error| anyhow::anyhow!("the converter crashed: {error}"))??;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    println!(
        "imported {name} ({}, {}{}, {} MB) into {}",
        quantization,
        if summary.multilingual { "multilingual" } else { "English only" },
        if summary.lossless { ", lossless" } else { "" },
        summary.size_bytes / 1_000_000,
        summary.output.display()
    );
    Ok(())
}
