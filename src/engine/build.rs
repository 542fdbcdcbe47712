//! The one way to build an engine from what a front end chose ([`EngineSpec`]): the window's
//! runtime and the CLI both come here, so a model name, a key and a service's options turn into
//! the same engine whichever front end asked. Keys are looked up here, in the stores the front
//! end opens (tests open a key file), and never travel in a spec. The stores are opened only
//! for a cloud service: a local job never waits on the system keyring.

use super::cloud::keys::{KeyError, KeyStores, resolve_key_with};
use super::cloud::{CloudOptions, CloudService};
use super::local::{LocalEngine, LocalEngineConfig};
use super::{Engine, EngineError, EngineKind, LiveEngine, LiveOptions};
use std::path::Path;
use std::sync::Arc;

/// Which engine, configured how: everything needed to build it, and nothing secret.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineSpec {
    /// whisper.cpp with an installed model name or a ggml file path.
    Local { model: String, beam_size: u32 },
    /// A cloud service with its options.
    Cloud {
        service: CloudService,
        options: Box<CloudOptions>,
    },
}

impl EngineSpec {
    /// Short description for a queue or a status line ("local · tiny.en",
    /// "PolarGrid · whisper-large-v3-turbo").
    pub fn label(&self) -> String {
        match self {
            EngineSpec::Local { model, .. } => format!("local · {model}"),
            EngineSpec::Cloud { service, options } => match options.model_for(*service) {
                Some(model) => format!("{} · {model}", service.display_name()),
                None => service.display_name().to_string(),
            },
        }
    }

    /// The engine this spec builds.
    pub fn kind(&self) -> EngineKind {
        match self {
            EngineSpec::Local { .. } => EngineKind::Local,
            EngineSpec::Cloud { service, .. } => EngineKind::Cloud(*service),
        }
    }
}

/// Opens the key stores (the platform's keyring and key file, or a test's key file).
pub type OpenKeyStores<'a> = &'a dyn Fn() -> Result<KeyStores, KeyError>;

/// The engine that transcribes files for `spec`. The local engine's inference runs in a
/// `verbatim worker` child process: this program, or `worker_exe` when given (tests run from a
/// test harness, which cannot be the worker). Blocking while the model store or the keyring is
/// read: call it from a blocking thread.
pub fn build_file_engine(
    spec: &EngineSpec,
    stores: OpenKeyStores,
    worker_exe: Option<&Path>,
) -> Result<Arc<dyn Engine>, EngineError> {
    match spec {
        EngineSpec::Local { model, beam_size } => Ok(Arc::new(local_engine(model, *beam_size, worker_exe)?)),
        EngineSpec::Cloud { service, options } => {
            let (key, _source) = resolve_key_with(&stores()?, *service)?;
            super::cloud::build_engine(*service, options, key).map(Arc::from)
        }
    }
}

/// The engine that transcribes a recording while it is made, for `spec` (see
/// [`EngineKind::streams_live`]). Fails with a one-line message when the engine cannot stream,
/// an option is not valid or no key is found. Blocking, as [`build_file_engine`] is.
pub fn build_live_engine(
    spec: &EngineSpec,
    live: &LiveOptions,
    stores: OpenKeyStores,
    worker_exe: Option<&Path>,
) -> Result<Box<dyn LiveEngine>, EngineError> {
    live.validate().map_err(EngineError::Service)?;
    match spec {
        EngineSpec::Local { model, beam_size } => Ok(Box::new(local_engine(model, *beam_size, worker_exe)?)),
        EngineSpec::Cloud { service, options } => {
            super::live::refuse_without_live_transport(*service)?;
            let (key, _source) = resolve_key_with(&stores()?, *service)?;
            super::live::cloud_live_engine(*service, options, live, key)
        }
    }
}

/// The local engine for an installed model name or a ggml file path.
fn local_engine(model: &str, beam_size: u32, worker_exe: Option<&Path>) -> Result<LocalEngine, EngineError> {
    let store = crate::models::ModelStore::from_env()?;
    let model_path = store.resolve(model)?;
    // An English-only model is listened to by a multilingual one, when one is installed.
    let english_only = super::local::is_multilingual(&model_path) == Some(false);
    let language_detector = english_only.then(|| super::local::english_only::find_detector(&store)).flatten();
    // Everything a front end does not set (flash attention…) keeps the engine's defaults.
    let config = LocalEngineConfig { model_path, beam_size: beam_size.max(1), language_detector, ..LocalEngineConfig::default() };
    Ok(match worker_exe {
        Some(exe) => LocalEngine::with_worker(config, exe.to_path_buf()),
        None => LocalEngine::new(config),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::cloud::keys::ApiKey;

    /// Key stores in a file of the test's own.
    fn key_file(dir: &tempfile::TempDir) -> KeyStores {
        KeyStores::file_only(dir.path().join("keys.json"))
    }

    fn cloud(service: CloudService) -> EngineSpec {
        EngineSpec::Cloud { service, options: Box::default() }
    }

    #[test]
    fn keys_come_from_the_stores_passed_in() {
        let dir = tempfile::tempdir().unwrap();
        let stores = || -> Result<KeyStores, KeyError> { Ok(key_file(&dir)) };
        // PolarGrid's key is read from the stores only when no environment variable holds one.
        if std::env::var(CloudService::PolarGrid.key_env_var()).is_err() {
            let error = build_file_engine(&cloud(CloudService::PolarGrid), &stores, None).err().expect("no key");
            assert!(matches!(error, EngineError::Key(KeyError::Missing(CloudService::PolarGrid))), "{error:?}");
        }
        key_file(&dir).set(CloudService::PolarGrid, &ApiKey::new("pg_test_key").unwrap()).unwrap();
        let engine = build_file_engine(&cloud(CloudService::PolarGrid), &stores, None).expect("builds");
        assert_eq!(engine.name(), CloudService::PolarGrid.id());
    }

    #[test]
    fn services_without_a_live_transport_are_refused_before_any_key_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let stores = || -> Result<KeyStores, KeyError> { Ok(key_file(&dir)) };
        for service in [CloudService::PolarGrid, CloudService::LlmStats] {
            let error = build_live_engine(&cloud(service), &LiveOptions::default(), &stores, None).err().expect("refused");
            assert!(error.to_string().contains("has no live transport"), "{error}");
        }
        key_file(&dir).set(CloudService::Gradium, &ApiKey::new("gd_test_key").unwrap()).unwrap();
        if std::env::var(CloudService::Gradium.key_env_var()).is_err() {
            let engine = build_live_engine(&cloud(CloudService::Gradium), &LiveOptions::default(), &stores, None);
            assert_eq!(engine.expect("builds").name(), "gradium");
        }
    }

    #[test]
    fn a_model_that_is_not_installed_keeps_its_kind() {
        let dir = tempfile::tempdir().unwrap();
        let stores = || -> Result<KeyStores, KeyError> { panic!("a local engine needs no key") };
        let spec = EngineSpec::Local { model: dir.path().join("missing.bin").display().to_string(), beam_size: 1 };
        let error = build_file_engine(&spec, &stores, None).err().expect("missing model");
        assert!(matches!(error, EngineError::ModelStore(crate::models::ModelError::FileNotFound { .. })), "{error:?}");
        assert_eq!(spec.label(), format!("local · {}", dir.path().join("missing.bin").display()));
        assert_eq!(cloud(CloudService::SixtyDb).kind(), EngineKind::Cloud(CloudService::SixtyDb));
    }
}
