//! `verbatim dev fake-server SERVICE`: parses the command; [`crate::dev`] serves the fake.

use crate::dev::fakes::{FakeConfig, Scenario, default_key};
use crate::engine::cloud::CloudService;
use anyhow::Context;
use clap::Subcommand;

/// `verbatim dev`: tools for working without the real services.
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum DevCommand {
    /// Run a fake cloud service on 127.0.0.1 that follows its protocol and plays a scenario
    FakeServer {
        #[arg(value_parser = super::choice::parser::<CloudService>())]
        service: CloudService,
        /// Port to listen on (0 picks a free one)
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// What the fake does (normal, slow, drop-mid-stream, rate-limited, unavailable-twice…)
        #[arg(long, value_enum, default_value = "normal")]
        scenario: Scenario,
        /// The only key the fake accepts (default: a fixed fake key per service)
        #[arg(long)]
        key: Option<String>,
        /// Milliseconds between bytes in the slow scenario (to watch a stream arrive)
        #[arg(long, value_name = "MS", default_value_t = 1)]
        byte_delay_ms: u64,
        /// Seconds a live Gradium session may last before the fake closes it (the service: 300)
        #[arg(long, value_name = "S", default_value_t = 300.0)]
        live_session_cap: f64,
    },
}

/// Runs a `dev` command; `fake-server` serves until Ctrl-C.
pub fn run_dev_command(command: DevCommand) -> anyhow::Result<()> {
    match command {
        DevCommand::FakeServer { service, port, scenario, key, byte_delay_ms, live_session_cap } => {
            let live_session_cap = std::time::Duration::try_from_secs_f64(live_session_cap)
                .ok()
                .filter(|cap| !cap.is_zero())
                .context("--live-session-cap must be a positive number of seconds")?;
            let mut config = FakeConfig::new(service, scenario);
            config.key = key.unwrap_or_else(|| default_key(service).to_string());
            config.byte_delay = std::time::Duration::from_millis(byte_delay_ms);
            config.live_session_cap = live_session_cap;
            crate::dev::serve_fake_until_interrupted(config, port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct DevLike {
        #[command(subcommand)]
        dev: DevCommand,
    }

    #[test]
    fn dev_fake_server_parses() {
        let command =
            DevLike::try_parse_from(["verbatim", "fake-server", "polargrid", "--port", "0", "--scenario", "delta-increment"])
                .unwrap()
                .dev;
        assert_eq!(
            command,
            DevCommand::FakeServer {
                service: CloudService::PolarGrid,
                port: 0,
                scenario: Scenario::DeltaIncrement,
                key: None,
                byte_delay_ms: 1,
                live_session_cap: 300.0,
            }
        );
    }
}
