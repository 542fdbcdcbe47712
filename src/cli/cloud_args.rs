//! Command-line pieces for the cloud services: the flags `verbatim transcribe` takes for them
//! ([`CloudArgs`]) and `verbatim auth set|remove|status SERVICE` ([`AuthCommand`]).
//!
//! The flags only fill [`CloudOptions`]; the engines and their checks live in
//! `crate::engine::cloud`, so the window can offer the same settings without the CLI.

use crate::engine::cloud::keys::{ApiKey, KeyStores, describe_saved, key_status};
use crate::engine::cloud::options::{POLARGRID_MODELS, PolarGridRegion};
use crate::engine::cloud::{CloudOptions, CloudService, PolarGridMode, PolarGridResponseFormat};
use crate::engine::{Engine, EngineKind, EngineSpec, build_file_engine};
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use std::io::{BufRead, Write};
use std::sync::Arc;

/// Settings for the cloud engines (`--engine gradium|polargrid|llmstats|60db`). Each flag
/// applies to the services named in its help; unset flags keep the saved or default value.
#[derive(Debug, Clone, Default, PartialEq, Args)]
pub struct CloudArgs {
    /// Base URL of the cloud service instead of its public one (https, or http to 127.0.0.1)
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// The service's model, from `verbatim transcribe --model` (shared with the local engine).
    #[arg(skip)]
    pub model: Option<String>,

    /// Gradium: sampling temperature, 0.0–1.0
    #[arg(long, value_name = "T")]
    pub gradium_temp: Option<f64>,
    /// Gradium: bias towards emitting text, -4.0–4.0
    #[arg(long, value_name = "B", allow_hyphen_values = true)]
    pub gradium_padding_bonus: Option<f64>,
    /// Gradium: look-ahead in 80 ms frames (7, 8, 10, 12, 14, 16, 20, 24, 32, 36 or 48)
    #[arg(long, value_name = "N")]
    pub gradium_delay_frames: Option<u32>,

    /// PolarGrid: async (submit and poll; default), sync, or stream (live text, no timestamps)
    #[arg(long, value_parser = super::choice::parser::<PolarGridMode>(), value_name = "MODE")]
    pub polargrid_mode: Option<PolarGridMode>,
    /// PolarGrid: edge region, or auto to ask the autorouter (yto-01, nyc-01, sfo-01…)
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// PolarGrid: autorouter base URL (also VERBATIM_POLARGRID_ROUTER_URL)
    #[arg(long, value_name = "URL")]
    pub router_url: Option<String>,
    /// PolarGrid: result format in async and sync modes (verbose_json has timestamps)
    #[arg(long, value_parser = super::choice::parser::<PolarGridResponseFormat>(), value_name = "FORMAT")]
    pub polargrid_format: Option<PolarGridResponseFormat>,
    /// PolarGrid: context hint (defaults to the shared prompt)
    #[arg(long, value_name = "TEXT")]
    pub polargrid_prompt: Option<String>,
    /// PolarGrid: sampling temperature, 0.0–1.0
    #[arg(long, value_name = "T")]
    pub polargrid_temperature: Option<f64>,
    /// PolarGrid: force (true) or forbid (false) punctuation
    #[arg(long, value_name = "BOOL")]
    pub polargrid_punctuation: Option<bool>,

    /// LLM Stats: force one provider, bypassing the gateway's router
    #[arg(long, value_name = "ID")]
    pub provider_id: Option<String>,

    /// 60db: label speakers (SPEAKER_00… shown as Speaker 1, Speaker 2…; costs 30 % more)
    #[arg(long)]
    pub diarize: bool,
    /// Fewest speakers expected (60db with --diarize, the local engine with --speakers auto)
    #[arg(long, value_name = "N")]
    pub min_speakers: Option<u32>,
    /// Most speakers expected (60db with --diarize, the local engine with --speakers auto)
    #[arg(long, value_name = "N")]
    pub max_speakers: Option<u32>,
    /// 60db: candidate languages for detection, e.g. en,hi
    #[arg(long, value_name = "CODES", value_delimiter = ',')]
    pub languages: Vec<String>,
    /// 60db: add a confidence to each word
    #[arg(long)]
    pub include_confidence: bool,
    /// 60db: describe the session (domain, names) for a refinement pass
    #[arg(long, value_name = "TEXT")]
    pub context: Option<String>,
    /// 60db: vocabulary boost, e.g. "Acme:5,XYZ Pharma:8,off-side" (weights up to 10)
    #[arg(long, value_name = "LIST")]
    pub keywords: Option<String>,
    /// 60db: Devanagari/Latin script normalisation for code-mixed audio
    #[arg(long)]
    pub script_correction: bool,

    /// Seconds to wait for a connection
    #[arg(long, value_name = "S", value_parser = positive_seconds)]
    pub connect_timeout: Option<f64>,
    /// Seconds to wait for a service's answer after sending the audio
    #[arg(long, value_name = "S", value_parser = positive_seconds)]
    pub response_timeout: Option<f64>,
    /// Seconds of silence tolerated while a result streams in
    #[arg(long, value_name = "S", value_parser = positive_seconds)]
    pub idle_timeout: Option<f64>,
    /// Retries after a rate limit, an outage or a dropped connection
    #[arg(long, value_name = "N")]
    pub max_retries: Option<u32>,
    /// PolarGrid: seconds to wait for an async job
    #[arg(long, value_name = "S", value_parser = positive_seconds)]
    pub max_job_wait: Option<f64>,
}

/// Reads a flag given in seconds: more than 0 and at most a week (what the engine accepts),
/// so clap refuses `1e300` with a message instead of the run failing later.
fn positive_seconds(text: &str) -> Result<f64, String> {
    let longest = crate::engine::cloud::options::LONGEST_NETWORK_SETTING_S;
    match text.trim().parse::<f64>() {
        Ok(seconds) if seconds > 0.0 && seconds <= longest => Ok(seconds),
        _ => Err(format!(
            "give a number of seconds above 0 and at most {longest} (a week)"
        )),
    }
}

impl CloudArgs {
    /// The options for `service`: defaults, with these flags applied and checked.
    pub fn to_options(&self, service: CloudService) -> anyhow::Result<CloudOptions> {
        let mut options = CloudOptions::default();
        self.apply(service, &mut options)?;
        Ok(options)
    }

    /// Applies the flags that were given to `options` (e.g. saved settings) for `service`,
    /// then checks the result.
    pub fn apply(&self, service: CloudService, options: &mut CloudOptions) -> anyhow::Result<()> {
        let network = &mut options.network;
        set(&mut network.connect_timeout_s, self.connect_timeout);
        set(&mut network.response_timeout_s, self.response_timeout);
        set(&mut network.idle_timeout_s, self.idle_timeout);
        set(&mut network.max_job_wait_s, self.max_job_wait);
        if let Some(retries) = self.max_retries {
            network.max_attempts = retries.saturating_add(1);
        }
        network.validate().map_err(anyhow::Error::msg)?;

        let endpoint = self.endpoint.clone();
        match service {
            CloudService::Gradium => {
                let gradium = &mut options.gradium;
                if endpoint.is_some() {
                    gradium.endpoint = endpoint;
                }
                set(&mut gradium.model, self.model.clone());
                set_some(&mut gradium.temp, self.gradium_temp);
                set_some(&mut gradium.padding_bonus, self.gradium_padding_bonus);
                set_some(&mut gradium.delay_in_frames, self.gradium_delay_frames);
                gradium.validate().map_err(anyhow::Error::msg)?;
            }
            CloudService::PolarGrid => {
                let polargrid = &mut options.polargrid;
                if endpoint.is_some() {
                    polargrid.endpoint = endpoint;
                }
                if self.router_url.is_some() {
                    polargrid.router_url = self.router_url.clone();
                }
                if let Some(region) = &self.region {
                    polargrid.region = region
                        .parse::<PolarGridRegion>()
                        .map_err(anyhow::Error::msg)?;
                }
                set(&mut polargrid.model, self.model.clone());
                set(&mut polargrid.mode, self.polargrid_mode);
                set(&mut polargrid.response_format, self.polargrid_format);
                set_some(&mut polargrid.prompt, self.polargrid_prompt.clone());
                set_some(&mut polargrid.temperature, self.polargrid_temperature);
                set_some(&mut polargrid.punctuation, self.polargrid_punctuation);
                polargrid.validate().map_err(anyhow::Error::msg)?;
            }
            CloudService::LlmStats => {
                let llmstats = &mut options.llmstats;
                if endpoint.is_some() {
                    llmstats.endpoint = endpoint;
                }
                set(&mut llmstats.model_id, self.model.clone());
                set_some(&mut llmstats.provider_id, self.provider_id.clone());
                llmstats.validate().map_err(anyhow::Error::msg)?;
            }
            CloudService::SixtyDb => {
                let sixtydb = &mut options.sixtydb;
                if endpoint.is_some() {
                    sixtydb.endpoint = endpoint;
                }
                sixtydb.diarize |= self.diarize;
                set_some(&mut sixtydb.min_speakers, self.min_speakers);
                set_some(&mut sixtydb.max_speakers, self.max_speakers);
                if !self.languages.is_empty() {
                    sixtydb.languages = self
                        .languages
                        .iter()
                        .map(|code| code.trim().to_ascii_lowercase())
                        .collect();
                }
                sixtydb.include_confidence |= self.include_confidence;
                set_some(&mut sixtydb.context, self.context.clone());
                set_some(&mut sixtydb.keywords, self.keywords.clone());
                sixtydb.script_correction |= self.script_correction;
                sixtydb.validate().map_err(anyhow::Error::msg)?;
            }
        }
        self.refuse_flags_for_other_services(service)
    }

    /// A flag meant for another service is a mistake worth stopping for.
    fn refuse_flags_for_other_services(&self, service: CloudService) -> anyhow::Result<()> {
        let given: [(&str, bool, CloudService); 16] = [
            (
                "--gradium-temp",
                self.gradium_temp.is_some(),
                CloudService::Gradium,
            ),
            (
                "--gradium-padding-bonus",
                self.gradium_padding_bonus.is_some(),
                CloudService::Gradium,
            ),
            (
                "--gradium-delay-frames",
                self.gradium_delay_frames.is_some(),
                CloudService::Gradium,
            ),
            (
                "--polargrid-mode",
                self.polargrid_mode.is_some(),
                CloudService::PolarGrid,
            ),
            ("--region", self.region.is_some(), CloudService::PolarGrid),
            (
                "--router-url",
                self.router_url.is_some(),
                CloudService::PolarGrid,
            ),
            (
                "--polargrid-format",
                self.polargrid_format.is_some(),
                CloudService::PolarGrid,
            ),
            (
                "--polargrid-prompt",
                self.polargrid_prompt.is_some(),
                CloudService::PolarGrid,
            ),
            (
                "--polargrid-temperature",
                self.polargrid_temperature.is_some(),
                CloudService::PolarGrid,
            ),
            (
                "--polargrid-punctuation",
                self.polargrid_punctuation.is_some(),
                CloudService::PolarGrid,
            ),
            (
                "--provider-id",
                self.provider_id.is_some(),
                CloudService::LlmStats,
            ),
            ("--diarize", self.diarize, CloudService::SixtyDb),
            (
                "--languages",
                !self.languages.is_empty(),
                CloudService::SixtyDb,
            ),
            ("--context", self.context.is_some(), CloudService::SixtyDb),
            ("--keywords", self.keywords.is_some(), CloudService::SixtyDb),
            (
                "--include-confidence",
                self.include_confidence || self.script_correction,
                CloudService::SixtyDb,
            ),
        ];
        for (flag, is_given, owner) in given {
            if is_given && owner != service {
                let flag = if flag == "--include-confidence" && !self.include_confidence {
                    "--script-correction"
                } else {
                    flag
                };
                bail!(
                    "{flag} is a {} setting and does nothing for {}; drop it or use --engine {}",
                    owner.display_name(),
                    service.display_name(),
                    owner.id()
                );
            }
        }
        Ok(())
    }
}

fn set<T>(target: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *target = value;
    }
}

fn set_some<T>(target: &mut Option<T>, value: Option<T>) {
    if value.is_some() {
        *target = value;
    }
}

/// What `--engine`, `--model`, `--beam-size` and the cloud flags ask for. A cloud service's
/// model is `model`, else the one in `args`.
pub fn engine_spec(kind: EngineKind, model: Option<&str>, beam_size: u32, args: &CloudArgs) -> anyhow::Result<EngineSpec> {
    Ok(match kind {
        EngineKind::Local => EngineSpec::Local {
            model: model.map_or_else(|| crate::models::default_model().to_string(), String::from),
            beam_size,
        },
        EngineKind::Cloud(service) => {
            let args = CloudArgs { model: model.map(String::from).or_else(|| args.model.clone()), ..args.clone() };
            EngineSpec::Cloud { service, options: Box::new(args.to_options(service)?) }
        }
    })
}

/// The file engine for these flags, with the user's key (environment, keyring or key file).
/// Blocking while the keyring is read: call it from `block_in_place` or `spawn_blocking`. This
/// is the one call `verbatim transcribe --engine …` needs.
pub fn build_engine(kind: EngineKind, model: Option<&str>, beam_size: u32, args: &CloudArgs) -> anyhow::Result<Arc<dyn Engine>> {
    let spec = engine_spec(kind, model, beam_size, args)?;
    Ok(build_file_engine(&spec, &KeyStores::platform, None)?)
}

/// `verbatim auth`: manage the cloud services' API keys.
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum AuthCommand {
    /// Save a key in the system keyring (or, without one, a file only you can read)
    Set {
        #[arg(value_parser = super::choice::parser::<CloudService>())]
        service: CloudService,
        /// Read the key from standard input instead of prompting (for scripts)
        #[arg(long)]
        stdin: bool,
    },
    /// Remove a saved key
    Remove {
        #[arg(value_parser = super::choice::parser::<CloudService>())]
        service: CloudService,
    },
    /// Show where each key would come from (never the key itself)
    Status {
        #[arg(value_parser = super::choice::parser::<CloudService>())]
        service: Option<CloudService>,
    },
}

/// Runs an `auth` command against the platform's key stores, prompting on the terminal.
pub fn run_auth_command(command: AuthCommand) -> anyhow::Result<()> {
    let stores = KeyStores::platform()?;
    let stdin = std::io::stdin();
    run_auth_command_with(
        command,
        &stores,
        &mut stdin.lock(),
        &mut std::io::stdout(),
        &|prompt| {
            rpassword::prompt_password(prompt)
                .context("could not read the key from the terminal; use --stdin to pipe it in")
        },
    )
}

/// [`run_auth_command`] with chosen stores, input, output and hidden prompt (tests use a
/// key file and buffers).
pub fn run_auth_command_with(
    command: AuthCommand,
    stores: &KeyStores,
    input: &mut dyn BufRead,
    output: &mut dyn Write,
    prompt_hidden: &dyn Fn(&str) -> anyhow::Result<String>,
) -> anyhow::Result<()> {
    match command {
        AuthCommand::Set { service, stdin } => {
            let text = if stdin {
                let mut line = String::new();
                input
                    .read_line(&mut line)
                    .context("could not read the key from standard input")?;
                line
            } else {
                prompt_hidden(&format!(
                    "{} API key (input is hidden): ",
                    service.display_name()
                ))?
            };
            let key =
                ApiKey::new(text).map_err(|error| anyhow::anyhow!("{error}; nothing was saved"))?;
            let (source, keyring_problem) = stores.set(service, &key)?;
            writeln!(
                output,
                "{}",
                describe_saved(service, &source, keyring_problem.as_deref())
            )?;
        }
        AuthCommand::Remove { service } => {
            let removed = stores.remove(service)?;
            if removed.is_empty() {
                writeln!(output, "No saved {} key to remove.", service.display_name())?;
            }
            for source in removed {
                writeln!(
                    output,
                    "Removed the {} key from {source}.",
                    service.display_name()
                )?;
            }
            if std::env::var(service.key_env_var()).is_ok_and(|value| !value.trim().is_empty()) {
                writeln!(
                    output,
                    "Note: {} is still set in this environment.",
                    service.key_env_var()
                )?;
            }
        }
        AuthCommand::Status { service } => {
            let services = match service {
                Some(service) => vec![service],
                None => CloudService::ALL.to_vec(),
            };
            for service in services {
                writeln!(output, "{}", key_status(stores, service)?)?;
            }
            if let Some(reason) = &stores.keyring_unavailable_reason {
                writeln!(
                    output,
                    "(no system keyring here: {reason}; keys are kept in {})",
                    stores.file.source()
                )?;
            }
        }
    }
    Ok(())
}

/// The long help of `verbatim transcribe --model`, which offers PolarGrid's known model ids.
pub fn model_long_help() -> String {
    format!(
        "Local: an installed model name (see `verbatim models list`) or a ggml file path \
         (default tiny.en-q8_0 when installed, as scripts/setup does, else tiny.en). Cloud: the service's model id, sent as it is: Gradium's model \
         (default `default`), PolarGrid's model (default {}; known ids: {}), LLM Stats' \
         model_id (default whisper-1).",
        POLARGRID_MODELS[0],
        POLARGRID_MODELS.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct TranscribeLike {
        #[command(flatten)]
        cloud: CloudArgs,
    }

    #[derive(Debug, Parser)]
    struct AuthLike {
        #[command(subcommand)]
        auth: AuthCommand,
    }

    fn parse(args: &[&str]) -> CloudArgs {
        TranscribeLike::try_parse_from(std::iter::once("verbatim").chain(args.iter().copied()))
            .unwrap()
            .cloud
    }

    #[test]
    fn any_polargrid_model_id_is_taken_and_the_known_ones_are_offered() {
        for model in ["stt-1b-en_fr", "an-edge-only/model-9"] {
            let mut args = parse(&[]);
            args.model = Some(model.into());
            let options = args.to_options(CloudService::PolarGrid).unwrap();
            assert_eq!(options.polargrid.model, model);
        }
        let help = model_long_help();
        for known in POLARGRID_MODELS {
            assert!(help.contains(known), "{known} in {help}");
        }
    }

    #[test]
    fn flags_fill_the_chosen_services_options() {
        let mut args = parse(&[
            "--polargrid-mode",
            "stream",
            "--region",
            "nyc-01",
            "--polargrid-punctuation",
            "false",
            "--max-retries",
            "2",
        ]);
        // `--model` belongs to `transcribe` itself (shared with the local engine), which
        // copies it here.
        args.model = Some("cohere-transcribe-03-2026".into());
        let options = args.to_options(CloudService::PolarGrid).unwrap();
        assert_eq!(options.polargrid.mode, PolarGridMode::Stream);
        assert_eq!(
            options.polargrid.region,
            PolarGridRegion::Fixed("nyc-01".into())
        );
        assert_eq!(options.polargrid.model, "cohere-transcribe-03-2026");
        assert_eq!(options.polargrid.punctuation, Some(false));
        assert_eq!(options.network.max_attempts, 3);

        let args = parse(&[
            "--gradium-temp",
            "0.3",
            "--gradium-padding-bonus",
            "-2",
            "--gradium-delay-frames",
            "16",
            "--endpoint",
            "http://127.0.0.1:9",
        ]);
        let options = args.to_options(CloudService::Gradium).unwrap();
        assert_eq!(
            (
                options.gradium.temp,
                options.gradium.padding_bonus,
                options.gradium.delay_in_frames
            ),
            (Some(0.3), Some(-2.0), Some(16))
        );
        assert_eq!(
            options.gradium.endpoint.as_deref(),
            Some("http://127.0.0.1:9")
        );

        let args = parse(&[
            "--diarize",
            "--min-speakers",
            "2",
            "--languages",
            "en,HI",
            "--keywords",
            "Acme:5",
            "--script-correction",
        ]);
        let options = args.to_options(CloudService::SixtyDb).unwrap();
        assert!(options.sixtydb.diarize && options.sixtydb.script_correction);
        assert_eq!(options.sixtydb.languages, ["en", "hi"]);

        let mut args = parse(&["--provider-id", "deepgram"]);
        args.model = Some("deepgram-nova-3".into());
        let options = args.to_options(CloudService::LlmStats).unwrap();
        assert_eq!(
            (
                options.llmstats.model_id.as_str(),
                options.llmstats.provider_id.as_deref()
            ),
            ("deepgram-nova-3", Some("deepgram"))
        );
    }

    #[test]
    fn bad_values_and_other_services_flags_are_refused_with_a_reason() {
        let error = parse(&["--gradium-delay-frames", "9"])
            .to_options(CloudService::Gradium)
            .unwrap_err()
            .to_string();
        assert!(error.contains("7, 8, 10"), "{error}");
        let error = parse(&["--diarize"])
            .to_options(CloudService::Gradium)
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "--diarize is a 60db setting and does nothing for Gradium; drop it or use --engine 60db"
        );
        let error = parse(&["--region", "moon-01"])
            .to_options(CloudService::PolarGrid)
            .unwrap_err()
            .to_string();
        assert!(error.contains("unknown PolarGrid region"));
        let error = parse(&["--keywords", "Acme:99"])
            .to_options(CloudService::SixtyDb)
            .unwrap_err()
            .to_string();
        assert!(error.contains("at most 10"));
        assert!(TranscribeLike::try_parse_from(["verbatim", "--polargrid-mode", "fast"]).is_err());
    }

    #[test]
    fn saved_settings_are_kept_where_no_flag_is_given() {
        let mut saved = CloudOptions::default();
        saved.polargrid.temperature = Some(0.4);
        saved.polargrid.mode = PolarGridMode::Sync;
        parse(&["--polargrid-mode", "stream"])
            .apply(CloudService::PolarGrid, &mut saved)
            .unwrap();
        assert_eq!(
            (saved.polargrid.mode, saved.polargrid.temperature),
            (PolarGridMode::Stream, Some(0.4))
        );
    }

    #[test]
    fn auth_set_status_and_remove_use_the_key_file_and_never_print_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let stores = KeyStores::file_only(dir.path().join("keys.json"));
        let no_prompt = |_: &str| -> anyhow::Result<String> { Ok("prompted-key-123".into()) };
        let mut output = Vec::new();
        let command = AuthLike::try_parse_from(["verbatim", "set", "60db"])
            .unwrap()
            .auth;
        run_auth_command_with(
            command,
            &stores,
            &mut std::io::empty(),
            &mut output,
            &no_prompt,
        )
        .unwrap();
        let command = AuthLike::try_parse_from(["verbatim", "set", "gradium", "--stdin"])
            .unwrap()
            .auth;
        run_auth_command_with(
            command,
            &stores,
            &mut "piped-key-456\n".as_bytes(),
            &mut output,
            &no_prompt,
        )
        .unwrap();
        let command = AuthLike::try_parse_from(["verbatim", "status"])
            .unwrap()
            .auth;
        run_auth_command_with(
            command,
            &stores,
            &mut std::io::empty(),
            &mut output,
            &no_prompt,
        )
        .unwrap();
        let command = AuthLike::try_parse_from(["verbatim", "remove", "gradium"])
            .unwrap()
            .auth;
        run_auth_command_with(
            command,
            &stores,
            &mut std::io::empty(),
            &mut output,
            &no_prompt,
        )
        .unwrap();
        let text = String::from_utf8(output).unwrap();
        assert!(
            !text.contains("prompted-key-123") && !text.contains("piped-key-456"),
            "{text}"
        );
        assert!(text.contains("saved the 60db key in"), "{text}");
        assert!(text.contains("readable only by you"));
        assert!(
            text.contains("Removed the Gradium key from the key file"),
            "{text}"
        );
        if std::env::var("SIXTYDB_API_KEY").is_err() {
            assert!(text.contains("60db: key from the key file"), "{text}");
        }
        let (key, _) = stores.stored_key(CloudService::SixtyDb).unwrap().unwrap();
        assert_eq!(key, ApiKey::new("prompted-key-123").unwrap());
        assert!(stores.stored_key(CloudService::Gradium).unwrap().is_none());
        let command = AuthLike::try_parse_from(["verbatim", "set", "llmstats", "--stdin"])
            .unwrap()
            .auth;
        let error = run_auth_command_with(
            command,
            &stores,
            &mut "\n".as_bytes(),
            &mut Vec::new(),
            &no_prompt,
        )
        .unwrap_err();
        assert!(error.to_string().contains("nothing was saved"));
    }

    #[test]
    fn the_keyring_is_probed_quickly_whether_or_not_one_runs() {
        let started = std::time::Instant::now();
        let probe = crate::engine::cloud::keys::KeyringStore::open().map(|_| "available");
        eprintln!("keyring here: {probe:?}");
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }
}
