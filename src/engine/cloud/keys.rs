//! API keys: where they come from, where they are kept, and how they stay secret.
//!
//! A key comes from the service's environment variable first, then the OS keyring, then —
//! where no keyring service runs (a headless Linux box without a D-Bus secret service) — a
//! file in the platform config directory that only the user can read. [`ApiKey`] never shows
//! its value in `Debug` output, and the only way to read it is crate-internal, for the one
//! request header that carries it to its own service.

use super::CloudService;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A secret API key. `Debug` prints `ApiKey(<redacted>)`; there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key, trimming surrounding whitespace. Fails on an empty key or one with
    /// characters no HTTP header can carry.
    pub fn new(key: impl Into<String>) -> Result<ApiKey, KeyError> {
        let key = key.into().trim().to_string();
        if key.is_empty() {
            return Err(KeyError::Invalid("the key is empty".into()));
        }
        if key
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || !c.is_ascii())
        {
            return Err(KeyError::Invalid(
                "the key contains spaces or characters a key cannot have; paste it again".into(),
            ));
        }
        Ok(ApiKey(key))
    }

    /// The key itself, for the request header of its own service only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// Replaces every occurrence of the key in `text` (a server may echo it back).
    pub(crate) fn scrub(&self, text: &str) -> String {
        if self.0.len() < 4 {
            text.to_string()
        } else {
            text.replace(&self.0, "<redacted>")
        }
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// Where a key was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Environment(&'static str),
    Keyring,
    File(PathBuf),
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Environment(var) => write!(f, "the environment variable {var}"),
            KeySource::Keyring => f.write_str("the system keyring"),
            KeySource::File(path) => write!(f, "the key file {}", path.display()),
        }
    }
}

/// Why a key could not be found, stored or removed. Never contains the key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "no {name} key: set {var} or run `verbatim auth set {id}`",
        name = .0.display_name(), var = .0.key_env_var(), id = .0.id()
    )]
    Missing(CloudService),
    #[error("invalid key: {0}")]
    Invalid(String),
    #[error("{0}")]
    Store(String),
}

/// A place keys are kept.
pub trait SecretStore: Send + Sync {
    /// Where it is, for messages.
    fn source(&self) -> KeySource;
    fn get(&self, service: CloudService) -> Result<Option<String>, KeyError>;
    fn set(&self, service: CloudService, key: &ApiKey) -> Result<(), KeyError>;
    /// Returns whether there was a key to remove.
    fn remove(&self, service: CloudService) -> Result<bool, KeyError>;
}

const KEYRING_SERVICE: &str = "verbatim";

/// The OS keyring (Keychain, Credential Manager, Secret Service). Present only when the
/// platform store can be opened.
pub struct KeyringStore;

impl KeyringStore {
    /// The keyring, or why it cannot be used here.
    pub fn open() -> Result<KeyringStore, String> {
        match keyring::Entry::store_status() {
            Ok(()) => Ok(KeyringStore),
            Err(error) => Err(one_line(&error.to_string())),
        }
    }

    fn entry(service: CloudService) -> Result<keyring::Entry, KeyError> {
        keyring::Entry::new(KEYRING_SERVICE, service.id()).map_err(|error| {
            KeyError::Store(format!(
                "the system keyring failed: {}",
                one_line(&error.to_string())
            ))
        })
    }
}

impl SecretStore for KeyringStore {
    fn source(&self) -> KeySource {
        KeySource::Keyring
    }

    fn get(&self, service: CloudService) -> Result<Option<String>, KeyError> {
        match Self::entry(service)?.get_password() {
            Ok(key) => Ok(Some(key)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(error) => Err(KeyError::Store(format!(
                "could not read the {} key from the system keyring: {}",
                service.display_name(),
                one_line(&error.to_string())
            ))),
        }
    }

    fn set(&self, service: CloudService, key: &ApiKey) -> Result<(), KeyError> {
        Self::entry(service)?
            .set_password(key.expose())
            .map_err(|error| {
                KeyError::Store(format!(
                    "the system keyring refused the key: {}",
                    one_line(&error.to_string())
                ))
            })
    }

    fn remove(&self, service: CloudService) -> Result<bool, KeyError> {
        match Self::entry(service)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(error) => Err(KeyError::Store(format!(
                "could not remove the key from the system keyring: {}",
                one_line(&error.to_string())
            ))),
        }
    }
}

/// A JSON file `{ "gradium": "…", … }` readable only by its owner (mode 0600 in a 0700
/// directory on Unix), for machines without a keyring service.
pub struct FileStore {
    path: PathBuf,
}

impl FileStore {
    pub fn new(path: impl Into<PathBuf>) -> FileStore {
        FileStore { path: path.into() }
    }

    /// `<config dir>/verbatim/cloud-keys.json`.
    pub fn platform() -> Result<FileStore, KeyError> {
        let dir = dirs::config_dir().ok_or_else(|| {
            KeyError::Store("no config directory is known for this user; set HOME or use the environment variable".into())
        })?;
        Ok(FileStore::new(dir.join("verbatim").join("cloud-keys.json")))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read_all(&self) -> Result<BTreeMap<String, String>, KeyError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(BTreeMap::new());
            }
            Err(error) => {
                return Err(KeyError::Store(format!(
                    "cannot read {}: {error}",
                    self.path.display()
                )));
            }
        };
        check_private(&self.path)?;
        serde_json::from_str(&text).map_err(|_| {
            KeyError::Store(format!(
                "{} is damaged; delete it and set the keys again with `verbatim auth set`",
                self.path.display()
            ))
        })
    }

    /// Reads the keys, lets `change` edit them and writes them back, with the file locked so
    /// that two `verbatim auth set` at once cannot lose each other's key. Returns what
    /// `change` returns.
    fn update<T>(
        &self,
        change: impl FnOnce(&mut BTreeMap<String, String>) -> T,
    ) -> Result<T, KeyError> {
        let dir = match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        // Created 0700, or tightened to 0700 if an older version left it open.
        crate::files::create_private_dir_all(dir).map_err(|error| self.write_error(&error))?;
        let _lock = self.lock()?;
        let mut keys = self.read_all()?;
        let before = keys.clone();
        let result = change(&mut keys);
        if keys != before {
            self.write_all(&keys)?;
        }
        Ok(result)
    }

    /// An exclusive lock on `<key file>.lock`, held until the returned file is dropped. The lock
    /// file stays (removing it would let a third process lock a different file).
    fn lock(&self) -> Result<std::fs::File, KeyError> {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(".lock");
        let lock_path = self.path.with_file_name(name);
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(&lock_path).map_err(|error| {
            KeyError::Store(format!("cannot lock {}: {error}", lock_path.display()))
        })?;
        file.lock().map_err(|error| {
            KeyError::Store(format!("cannot lock {}: {error}", lock_path.display()))
        })?;
        Ok(file)
    }

    /// Replaces the file through the one atomic writer (a new temporary file opened
    /// exclusively, 0600, synced, renamed into place, folder synced); no keys, no file.
    fn write_all(&self, keys: &BTreeMap<String, String>) -> Result<(), KeyError> {
        if keys.is_empty() {
            std::fs::remove_file(&self.path).map_err(|error| {
                KeyError::Store(format!("cannot remove {}: {error}", self.path.display()))
            })?;
            return crate::files::sync_parent_dir(&self.path)
                .map_err(|error| self.write_error(&error));
        }
        let text = serde_json::to_string_pretty(keys)
            .map_err(|error| KeyError::Store(error.to_string()))?;
        crate::files::write_atomically(&self.path, text.as_bytes())
            .map_err(|error| self.write_error(&error))
    }

    fn write_error(&self, error: &std::io::Error) -> KeyError {
        KeyError::Store(format!("cannot write {}: {error}", self.path.display()))
    }
}

impl SecretStore for FileStore {
    fn source(&self) -> KeySource {
        KeySource::File(self.path.clone())
    }

    fn get(&self, service: CloudService) -> Result<Option<String>, KeyError> {
        Ok(self.read_all()?.remove(service.id()))
    }

    fn set(&self, service: CloudService, key: &ApiKey) -> Result<(), KeyError> {
        self.update(|keys| {
            keys.insert(service.id().to_string(), key.expose().to_string());
        })
    }

    fn remove(&self, service: CloudService) -> Result<bool, KeyError> {
        if !self.path.exists() {
            return Ok(false);
        }
        self.update(|keys| keys.remove(service.id()).is_some())
    }
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), KeyError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|error| KeyError::Store(format!("cannot read {}: {error}", path.display())))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(KeyError::Store(format!(
            "{} can be read by other users; run `chmod 600 {}` and try again",
            path.display(),
            path.display()
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), KeyError> {
    Ok(())
}

/// The stores to use, in order of preference.
pub struct KeyStores {
    /// `None` where no keyring service runs.
    pub keyring: Option<Box<dyn SecretStore>>,
    /// Why the keyring is missing, for messages.
    pub keyring_unavailable_reason: Option<String>,
    pub file: Box<dyn SecretStore>,
}

impl KeyStores {
    /// The OS keyring if one runs, and the private file.
    pub fn platform() -> Result<KeyStores, KeyError> {
        let (keyring, keyring_unavailable_reason): (Option<Box<dyn SecretStore>>, _) =
            match KeyringStore::open() {
                Ok(store) => (Some(Box::new(store)), None),
                Err(reason) => (None, Some(reason)),
            };
        Ok(KeyStores {
            keyring,
            keyring_unavailable_reason,
            file: Box::new(FileStore::platform()?),
        })
    }

    /// Only a key file (tests, or a deliberate choice).
    pub fn file_only(path: impl Into<PathBuf>) -> KeyStores {
        KeyStores {
            keyring: None,
            keyring_unavailable_reason: Some("not used".into()),
            file: Box::new(FileStore::new(path)),
        }
    }

    /// The stored key (keyring first, then file) without looking at the environment.
    pub fn stored_key(
        &self,
        service: CloudService,
    ) -> Result<Option<(ApiKey, KeySource)>, KeyError> {
        if let Some(keyring) = &self.keyring {
            // A keyring that exists but fails (locked, no session) is skipped, not fatal: the
            // file may still hold the key.
            if let Ok(Some(key)) = keyring.get(service) {
                return Ok(Some((ApiKey::new(key)?, keyring.source())));
            }
        }
        match self.file.get(service)? {
            Some(key) => Ok(Some((ApiKey::new(key)?, self.file.source()))),
            None => Ok(None),
        }
    }

    /// Saves a key in the keyring, or in the file when there is no keyring or it refuses.
    /// Returns where it went and, when the file was used, why the keyring was not.
    pub fn set(
        &self,
        service: CloudService,
        key: &ApiKey,
    ) -> Result<(KeySource, Option<String>), KeyError> {
        let mut keyring_problem = self.keyring_unavailable_reason.clone();
        if let Some(keyring) = &self.keyring {
            match keyring.set(service, key) {
                Ok(()) => {
                    // Only one copy: a stale file entry would confuse `status`.
                    let _ = self.file.remove(service);
                    return Ok((keyring.source(), None));
                }
                Err(error) => keyring_problem = Some(error.to_string()),
            }
        }
        self.file.set(service, key)?;
        Ok((self.file.source(), keyring_problem))
    }

    /// Removes the key from every store; returns the stores that held one.
    pub fn remove(&self, service: CloudService) -> Result<Vec<KeySource>, KeyError> {
        let mut removed = Vec::new();
        if let Some(keyring) = &self.keyring
            && keyring.remove(service)?
        {
            removed.push(keyring.source());
        }
        if self.file.remove(service)? {
            removed.push(self.file.source());
        }
        Ok(removed)
    }
}

/// The key for `service`: its environment variable, else the stores.
pub fn resolve_key_with(
    stores: &KeyStores,
    service: CloudService,
) -> Result<(ApiKey, KeySource), KeyError> {
    if let Some(key) = key_from_environment(service)? {
        return Ok(key);
    }
    stores
        .stored_key(service)?
        .ok_or(KeyError::Missing(service))
}

/// The key for `service` from the environment, the OS keyring or the key file. Blocking (the
/// keyring may talk to a system service): call it before starting async work or from
/// `spawn_blocking`.
pub fn resolve_key(service: CloudService) -> Result<(ApiKey, KeySource), KeyError> {
    if let Some(key) = key_from_environment(service)? {
        return Ok(key);
    }
    resolve_key_with(&KeyStores::platform()?, service)
}

fn key_from_environment(service: CloudService) -> Result<Option<(ApiKey, KeySource)>, KeyError> {
    match std::env::var(service.key_env_var()) {
        Ok(value) if !value.trim().is_empty() => Ok(Some((
            ApiKey::new(value).map_err(|error| {
                KeyError::Invalid(format!(
                    "{} holds an invalid key ({error})",
                    service.key_env_var()
                ))
            })?,
            KeySource::Environment(service.key_env_var()),
        ))),
        _ => Ok(None),
    }
}

/// What `verbatim auth status` reports for one service. Never contains the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStatus {
    pub service: CloudService,
    /// Where the key that would be used comes from, if there is one.
    pub active: Option<KeySource>,
    /// A stored key hidden by the environment variable.
    pub shadowed: Option<KeySource>,
}

impl std::fmt::Display for KeyStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let id = self.service.id();
        match (&self.active, &self.shadowed) {
            (Some(active), Some(shadowed)) => {
                write!(
                    f,
                    "{id}: key from {active} (a key in {shadowed} is not used while it is set)"
                )
            }
            (Some(active), None) => write!(f, "{id}: key from {active}"),
            (None, _) => write!(
                f,
                "{id}: no key (run `verbatim auth set {id}` or set {})",
                self.service.key_env_var()
            ),
        }
    }
}

/// Where each service's key would come from.
pub fn key_status(stores: &KeyStores, service: CloudService) -> Result<KeyStatus, KeyError> {
    let environment = key_from_environment(service)
        .ok()
        .flatten()
        .map(|(_, source)| source);
    let stored = stores.stored_key(service)?.map(|(_, source)| source);
    Ok(match environment {
        Some(environment) => KeyStatus {
            service,
            active: Some(environment),
            shadowed: stored,
        },
        None => KeyStatus {
            service,
            active: stored,
            shadowed: None,
        },
    })
}

/// The message `verbatim auth set` prints after saving a key.
pub fn describe_saved(
    service: CloudService,
    source: &KeySource,
    keyring_problem: Option<&str>,
) -> String {
    let name = service.display_name();
    let mut message = match (source, keyring_problem) {
        (KeySource::Keyring, _) => format!("Saved the {name} key in the system keyring."),
        (KeySource::File(path), Some(reason)) => format!(
            "No usable system keyring ({reason}); saved the {name} key in {}, readable only by you.",
            path.display()
        ),
        (other, _) => format!("Saved the {name} key in {other}."),
    };
    if std::env::var(service.key_env_var()).is_ok_and(|value| !value.trim().is_empty()) {
        message.push_str(&format!(
            " Note: {} is set and is used instead while it is.",
            service.key_env_var()
        ));
    }
    message
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_key() {
        let key = ApiKey::new("pg_supersecret123").unwrap();
        assert_eq!(format!("{key:?}"), "ApiKey(<redacted>)");
        assert!(!format!("{:?}", Some(&key)).contains("supersecret"));
        assert_eq!(
            key.scrub("bad key pg_supersecret123!"),
            "bad key <redacted>!"
        );
    }

    #[test]
    fn keys_with_spaces_or_nothing_are_refused() {
        assert!(ApiKey::new("  ").is_err());
        assert!(ApiKey::new("ab cd").is_err());
        assert_eq!(ApiKey::new(" abc \n").unwrap().expose(), "abc");
    }

    #[test]
    fn file_store_keeps_keys_private_and_removes_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("keys.json");
        let stores = KeyStores::file_only(&path);
        let key = ApiKey::new("gradium-secret").unwrap();
        let (source, _) = stores.set(CloudService::Gradium, &key).unwrap();
        assert_eq!(source, KeySource::File(path.clone()));
        stores
            .set(CloudService::SixtyDb, &ApiKey::new("sixty").unwrap())
            .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let dir_mode = std::fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(dir_mode & 0o777, 0o700);
        }
        let (found, found_in) = stores.stored_key(CloudService::Gradium).unwrap().unwrap();
        assert_eq!(found, key);
        assert_eq!(found_in, KeySource::File(path.clone()));
        assert_eq!(
            stores.remove(CloudService::Gradium).unwrap(),
            vec![KeySource::File(path.clone())]
        );
        assert!(stores.stored_key(CloudService::Gradium).unwrap().is_none());
        assert!(stores.stored_key(CloudService::SixtyDb).unwrap().is_some());
        assert!(stores.remove(CloudService::Gradium).unwrap().is_empty());
    }

    #[test]
    fn two_saves_at_once_never_lose_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("verbatim").join("keys.json");
        let threads: Vec<_> = [CloudService::Gradium, CloudService::SixtyDb]
            .into_iter()
            .map(|service| {
                let store = FileStore::new(&path);
                std::thread::spawn(move || {
                    for round in 0..150 {
                        let key = ApiKey::new(format!("{}-{round}", service.id())).unwrap();
                        store.set(service, &key).unwrap();
                        // Another save may not put back an older state of this key.
                        let stored = store.get(service).unwrap();
                        assert_eq!(stored.as_deref(), Some(key.expose()), "{service} lost");
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("no key was lost");
        }
        let store = FileStore::new(&path);
        assert_eq!(
            store.get(CloudService::Gradium).unwrap().as_deref(),
            Some("gradium-149")
        );
        assert_eq!(
            store.get(CloudService::SixtyDb).unwrap().as_deref(),
            Some("60db-149")
        );
        let mut names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["keys.json", "keys.json.lock"],
            "no temporary file is left"
        );
    }

    #[cfg(unix)]
    #[test]
    fn an_open_config_folder_is_tightened_when_a_key_is_saved() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("verbatim");
        std::fs::create_dir(&folder).unwrap();
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).unwrap();
        let store = FileStore::new(folder.join("keys.json"));
        store
            .set(CloudService::Gradium, &ApiKey::new("secret").unwrap())
            .unwrap();
        let mode = std::fs::metadata(&folder).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        std::fs::write(&path, r#"{"gradium":"abc"}"#).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let error = FileStore::new(&path)
            .get(CloudService::Gradium)
            .unwrap_err()
            .to_string();
        assert!(error.contains("chmod 600"), "{error}");
    }

    #[test]
    fn missing_key_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let stores = KeyStores::file_only(dir.path().join("keys.json"));
        // LLMSTATS_API_KEY is not set in the test environment.
        if std::env::var("LLMSTATS_API_KEY").is_err() {
            let error = resolve_key_with(&stores, CloudService::LlmStats)
                .unwrap_err()
                .to_string();
            assert_eq!(
                error,
                "no LLM Stats key: set LLMSTATS_API_KEY or run `verbatim auth set llmstats`"
            );
            let status = key_status(&stores, CloudService::LlmStats).unwrap();
            assert!(status.to_string().contains("no key"));
        }
    }
}
