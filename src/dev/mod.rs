//! Tools for working on Verbatim without the real services: local fake servers that speak
//! each cloud service's protocol (`verbatim dev fake-server`, and the `tests/cloud_*.rs`
//! tests), and the tests' access to the shared test recordings. The command line only parses
//! `verbatim dev`; serving and the banner are here.

pub mod fakes;
pub mod testdata;

use crate::engine::cloud::CloudService;
use crate::engine::cloud::polargrid_router::ROUTER_URL_ENV_VAR;
use anyhow::Context;
use fakes::{FakeConfig, FakeServer, Scenario};
use std::io::Write;

/// Serves `config` on 127.0.0.1:`port` (0 picks a free one), says on stdout how to point
/// Verbatim at it, and serves until Ctrl-C.
pub fn serve_fake_until_interrupted(config: FakeConfig, port: u16) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("could not start the async runtime")?;
    runtime.block_on(async move {
        let (service, scenario) = (config.service, config.scenario);
        let server = FakeServer::start_with_logging(config, port, true)
            .await
            .with_context(|| format!("could not listen on 127.0.0.1:{port}; pick another --port"))?;
        write_fake_server_banner(&mut std::io::stdout(), service, scenario, &server.base_url(), server.key())?;
        tokio::signal::ctrl_c().await.context("could not wait for Ctrl-C")?;
        drop(server);
        Ok(())
    })
}

/// What `verbatim dev fake-server` prints: where it listens and how to point Verbatim at it.
pub fn write_fake_server_banner(
    output: &mut dyn Write,
    service: CloudService,
    scenario: Scenario,
    base_url: &str,
    key: &str,
) -> anyhow::Result<()> {
    writeln!(output, "Fake {} listening on {base_url} (scenario: {})", service.display_name(), scenario.name())?;
    if !scenario.applies_to(service) {
        writeln!(
            output,
            "Note: the {} scenario does not apply to {}; it behaves like normal.",
            scenario.name(),
            service.display_name()
        )?;
    }
    writeln!(output, "Point Verbatim at it with:")?;
    writeln!(output, "  export {}={base_url}", service.url_env_var())?;
    if service == CloudService::PolarGrid {
        writeln!(output, "  export {ROUTER_URL_ENV_VAR}={base_url}")?;
    }
    writeln!(output, "  export {}={key}", service.key_env_var())?;
    if let Some(path) = fakes::live_path(service) {
        let socket = base_url.replacen("http://", "ws://", 1);
        writeln!(output, "Live transcription (WebSocket) on {socket}{path}, from the same base URL.")?;
    }
    writeln!(output, "Press Ctrl-C to stop.")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_banner_says_how_to_point_verbatim_at_the_fake() {
        let mut output = Vec::new();
        write_fake_server_banner(&mut output, CloudService::PolarGrid, Scenario::NoSpeech, "http://127.0.0.1:5000", "pg_fake")
            .unwrap();
        let text = String::from_utf8(output).unwrap();
        assert!(text.contains("export VERBATIM_POLARGRID_URL=http://127.0.0.1:5000"));
        assert!(text.contains("export VERBATIM_POLARGRID_ROUTER_URL=http://127.0.0.1:5000"));
        assert!(text.contains("export POLARGRID_API_KEY=pg_fake"));
        assert!(text.contains("does not apply"));
        assert!(!text.contains("WebSocket"));
        let mut output = Vec::new();
        write_fake_server_banner(&mut output, CloudService::Gradium, Scenario::Normal, "http://127.0.0.1:5000", "k").unwrap();
        let text = String::from_utf8(output).unwrap();
        assert!(text.contains("ws://127.0.0.1:5000/api/speech/asr"), "{text}");
    }
}
