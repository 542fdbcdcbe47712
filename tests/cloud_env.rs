//! The path `verbatim transcribe --engine …` takes: flags → options, key and endpoint from
//! the environment → engine → fake server. Environment variables are process-wide, so this
//! binary holds a single test that sets them.

mod cloud_support;

use cloud_support::*;
use verbatim::cli::cloud_args::{CloudArgs, build_engine};
use verbatim::engine::EngineKind;
use verbatim::dev::fakes::{FakeConfig, FakeServer, Scenario};
use verbatim::engine::TranscribeOptions;
use verbatim::engine::cloud::CloudService;

/// The engine `verbatim transcribe --engine SERVICE` builds with these flags.
fn build_cloud_engine(service: CloudService, args: &CloudArgs) -> anyhow::Result<std::sync::Arc<dyn verbatim::engine::Engine>> {
    build_engine(EngineKind::Cloud(service), None, 1, args)
}

#[tokio::test]
async fn keys_and_endpoints_come_from_the_environment() {
    let Some(jfk) = testdata("speech/jfk.wav") else {
        return;
    };
    let gradium = FakeServer::start(FakeConfig::new(CloudService::Gradium, Scenario::Normal), 0)
        .await
        .unwrap();
    let polargrid = FakeServer::start(
        FakeConfig::new(CloudService::PolarGrid, Scenario::Normal),
        0,
    )
    .await
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    // SAFETY: this is the only test in this binary, and nothing else runs while it sets the
    // variables.
    unsafe {
        std::env::set_var("GRADIUM_API_KEY", gradium.key());
        std::env::set_var("VERBATIM_GRADIUM_URL", gradium.base_url());
        std::env::set_var("POLARGRID_API_KEY", polargrid.key());
        std::env::set_var("VERBATIM_POLARGRID_ROUTER_URL", polargrid.base_url());
        std::env::set_var("XDG_CACHE_HOME", cache.path());
    }
    let options = TranscribeOptions {
        language: Some("en".into()),
        ..TranscribeOptions::default()
    };

    let engine = build_cloud_engine(CloudService::Gradium, &CloudArgs::default()).unwrap();
    let run = run(engine.as_ref(), &jfk, &options).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_eq!(run.transcript.segments.len(), 3);
    assert_eq!(
        gradium.requests()[0].header("x-api-key"),
        Some(gradium.key())
    );

    // PolarGrid finds its edge through the autorouter named in the environment.
    let engine = build_cloud_engine(CloudService::PolarGrid, &CloudArgs::default()).unwrap();
    let run = cloud_support::run(engine.as_ref(), &jfk, &options).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    let paths: Vec<String> = polargrid
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        paths,
        [
            "GET /v1/route",
            "POST /v1/audio/transcriptions",
            "GET /v1/audio/transcriptions"
        ]
    );

    // `--endpoint` wins over the environment; plain http elsewhere is refused, naming the
    // variable that asked for it.
    let args = CloudArgs {
        endpoint: Some("http://127.0.0.1:1".into()),
        ..CloudArgs::default()
    };
    assert!(build_cloud_engine(CloudService::Gradium, &args).is_ok());
    unsafe {
        std::env::set_var("VERBATIM_GRADIUM_URL", "http://192.0.2.10:8080");
    }
    let error = build_cloud_engine(CloudService::Gradium, &CloudArgs::default())
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.starts_with(
            "VERBATIM_GRADIUM_URL 'http://192.0.2.10:8080' uses plain http to another machine"
        ),
        "{error}"
    );

    // A service without a key says how to add one.
    unsafe {
        std::env::remove_var("LLMSTATS_API_KEY");
        std::env::set_var("XDG_CONFIG_HOME", cache.path().join("config"));
        std::env::set_var("HOME", cache.path());
    }
    // (Only where no system keyring runs — as on CI — can the key be known to be absent.)
    if verbatim::engine::cloud::keys::KeyringStore::open().is_err() {
        let error = build_cloud_engine(CloudService::LlmStats, &CloudArgs::default())
            .err()
            .unwrap()
            .to_string();
        assert_eq!(
            error,
            "no LLM Stats key: set LLMSTATS_API_KEY or run `verbatim auth set llmstats`"
        );
    }
}
