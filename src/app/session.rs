//! The session on disk: every file in the window with its status and its transcript (edits
//! and speaker names included), written as it changes and read back at start, so closing the
//! window — or a crash, or a power cut — loses no transcript and no edit.
//!
//! A folder holds `session.json` (the list of files, in queue order) and one transcript per
//! file in the lossless JSON export format (`docs/transcript-json.md`). Only transcripts that
//! changed since the last save are written, each atomically; files no longer listed are
//! removed. Files that were still queued or running come back as interrupted, with what was
//! heard so far, and a Retry.

use crate::export::json::{render_json, transcript_from_json};
use crate::transcript::Transcript;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The version of `session.json` this build writes.
pub const SESSION_VERSION: u32 = 1;
const INDEX_FILE: &str = "session.json";
const LOCK_FILE: &str = ".lock";
/// What a window that cannot keep the session tells its user.
const WITHOUT_SESSION: &str =
    "this window's transcripts are kept only until it closes — export them";

/// How a file had ended when the session was saved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum SavedStatus {
    Done,
    Failed {
        reason: String,
    },
    Cancelled,
    /// Still queued or running when the session was saved.
    Interrupted,
    /// A recording whose transcript is incomplete or missing (see `JobStatus::Recorded`).
    Recorded,
}

/// One file of the session, as listed in `session.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedJob {
    /// Names its transcript file (`<key>.json`); stable across saves and restarts.
    pub key: String,
    pub path: PathBuf,
    #[serde(flatten)]
    pub status: SavedStatus,
    #[serde(default)]
    pub engine: Option<String>,
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Its project: the file it was opened from or saved to, the subtitle file its
    /// transcript came from, and what the project recorded (settings, audio fingerprint).
    #[serde(flatten)]
    pub project: super::project::JobProject,
    /// Where the player was in it.
    #[serde(default)]
    pub playback_position_s: f64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Index {
    version: u32,
    jobs: Vec<SavedJob>,
}

/// What the window hands over to be written.
#[derive(Debug, Clone, Default)]
pub struct SessionSnapshot {
    /// Every file, in queue order.
    pub jobs: Vec<SavedJob>,
    /// The transcripts that changed since the last save, by key.
    pub changed: Vec<(String, Transcript)>,
    /// The window has not read the last session yet (it is closing before the load reported
    /// back): the files listed on disk are kept, ahead of `jobs`, with their transcripts.
    pub keep_earlier: bool,
}

/// A file read back from the session.
#[derive(Debug, Clone)]
pub struct RestoredJob {
    pub saved: SavedJob,
    pub transcript: Transcript,
    /// Why its transcript could not be read (it then comes back empty).
    pub problem: Option<String>,
}

/// Where the session lives.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionStore {
    dir: PathBuf,
    /// How long [`SessionStore::load`] waits before reading (tests: a slow disk).
    load_delay: std::time::Duration,
}

impl SessionStore {
    /// `<data dir>/verbatim/session` (`~/.local/share/verbatim/session` on Linux).
    pub fn platform() -> Option<SessionStore> {
        dirs::data_dir().map(|dir| SessionStore::at(dir.join("verbatim").join("session")))
    }

    pub fn at(dir: impl Into<PathBuf>) -> SessionStore {
        SessionStore {
            dir: dir.into(),
            load_delay: std::time::Duration::ZERO,
        }
    }

    /// The same store, reading the session only after `delay`: lets a test check that nothing
    /// is written over a session that has not been read yet.
    #[doc(hidden)]
    pub fn delaying_load(self, delay: std::time::Duration) -> SessionStore {
        SessionStore {
            load_delay: delay,
            ..self
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Takes the session for this window: one window at a time keeps it, so two windows never
    /// overwrite each other's files. The session is the caller's while the returned lock lives.
    pub fn lock(&self) -> Result<std::fs::File, String> {
        let unavailable = |error: &dyn std::fmt::Display| {
            format!(
                "cannot keep the session in {} ({error}); {WITHOUT_SESSION}",
                self.dir.display()
            )
        };
        crate::files::create_private_dir_all(&self.dir).map_err(|error| unavailable(&error))?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.dir.join(LOCK_FILE))
            .map_err(|error| unavailable(&error))?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => Err(format!(
                "another Verbatim window keeps the session; {WITHOUT_SESSION}"
            )),
            Err(std::fs::TryLockError::Error(error)) => Err(unavailable(&error)),
        }
    }

    fn transcript_path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    /// Writes the changed transcripts, then the list, then removes transcripts no longer
    /// listed. Each file is replaced atomically, so a crash mid-save leaves the previous
    /// version of every file. With [`SessionSnapshot::keep_earlier`], the files already
    /// listed stay listed (and a list that cannot be read is left alone: an error).
    pub fn save(&self, snapshot: &SessionSnapshot) -> Result<(), String> {
        crate::files::create_private_dir_all(&self.dir).map_err(|error| {
            format!(
                "cannot keep the session in {} ({error}); {WITHOUT_SESSION}",
                self.dir.display()
            )
        })?;
        for (key, transcript) in &snapshot.changed {
            write_session_file(
                &self.transcript_path(key),
                render_json(transcript).as_bytes(),
            )?;
        }
        let mut jobs = Vec::new();
        if snapshot.keep_earlier {
            jobs = self.read_index()?;
            jobs.retain(|earlier| !snapshot.jobs.iter().any(|job| job.key == earlier.key));
        }
        jobs.extend(snapshot.jobs.iter().cloned());
        let index = Index {
            version: SESSION_VERSION,
            jobs,
        };
        let text = serde_json::to_string_pretty(&index)
            .map_err(|error| format!("cannot write the session list: {error}"))?;
        write_session_file(&self.dir.join(INDEX_FILE), text.as_bytes())?;
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                let listed = path
                    .file_stem()
                    .and_then(|stem| stem.to_str())
                    .is_some_and(|stem| index.jobs.iter().any(|job| job.key == stem));
                let is_transcript = path.extension().is_some_and(|ext| ext == "json")
                    && path.file_name().is_some_and(|name| name != INDEX_FILE);
                // A temporary file left by a save that a crash interrupted.
                let is_leftover = path
                    .file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| name.starts_with('.') && name.ends_with(".partial"));
                if (is_transcript && !listed) || is_leftover {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        Ok(())
    }

    /// The saved files, in queue order; an empty list when there is no session yet.
    pub fn load(&self) -> Result<Vec<RestoredJob>, String> {
        std::thread::sleep(self.load_delay);
        Ok(self
            .read_index()?
            .into_iter()
            .map(|saved| self.restore(saved))
            .collect())
    }

    /// The list in `session.json`; empty when there is none, an error when it cannot be read
    /// or was written by a newer Verbatim.
    fn read_index(&self) -> Result<Vec<SavedJob>, String> {
        let index_path = self.dir.join(INDEX_FILE);
        let text = match std::fs::read_to_string(&index_path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => {
                return Err(format!(
                    "cannot read the last session ({}: {error})",
                    index_path.display()
                ));
            }
        };
        let index: Index = serde_json::from_str(&text).map_err(|error| {
            format!(
                "the last session list {} is damaged ({error}); its transcripts are still in that folder",
                index_path.display()
            )
        })?;
        if index.version > SESSION_VERSION {
            return Err(format!(
                "the last session was saved by a newer Verbatim (version {}); it is left as it is",
                index.version
            ));
        }
        Ok(index.jobs)
    }

    /// One listed file with its transcript (empty, with the reason, when it cannot be read).
    fn restore(&self, saved: SavedJob) -> RestoredJob {
        let path = self.transcript_path(&saved.key);
        let read = std::fs::read_to_string(&path)
            .map_err(|error| error.to_string())
            .and_then(|json| transcript_from_json(&json).map_err(|error| error.to_string()));
        let (transcript, problem) = match read {
            Ok(transcript) => (transcript, None),
            // Never saved: the file had no text yet.
            Err(_) if !path.exists() => (Transcript::new(), None),
            Err(error) => (
                Transcript::new(),
                Some(format!(
                    "its saved transcript {} could not be read ({error})",
                    path.display()
                )),
            ),
        };
        RestoredJob {
            saved,
            transcript,
            problem,
        }
    }
}

/// With `VERBATIM_DEBUG_SESSION` set, says on stderr what the window just changed (a segment
/// heard, an edit made), so a test that kills the window can tell what it had in memory and
/// when, and check the session on disk against it.
pub(crate) fn trace_change(what: std::fmt::Arguments<'_>) {
    static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *ENABLED.get_or_init(|| std::env::var_os("VERBATIM_DEBUG_SESSION").is_some()) {
        eprintln!("verbatim-debug: {what}");
    }
}

/// Replaces one session file through the one atomic writer (0600, synced, renamed into place).
fn write_session_file(path: &Path, contents: &[u8]) -> Result<(), String> {
    crate::files::write_atomically(path, contents).map_err(|error| {
        format!(
            "cannot save the session file {} ({error}); {WITHOUT_SESSION}",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{EngineEvent, Segment};

    fn transcript(texts: &[&str]) -> Transcript {
        let mut transcript = Transcript::new();
        for (index, text) in texts.iter().enumerate() {
            transcript.apply(&EngineEvent::Segment(Segment {
                revision_key: None,
                start_s: index as f64,
                end_s: index as f64 + 0.5,
                text: (*text).into(),
                speaker: Some("left".into()),
                words: vec![],
                ..Default::default()
            }));
        }
        transcript
    }

    fn job(key: &str, status: SavedStatus) -> SavedJob {
        SavedJob {
            key: key.into(),
            path: PathBuf::from(format!("/audio/{key}.wav")),
            status,
            engine: Some("local · tiny.en".into()),
            warnings: vec![],
            // All a later Ctrl+S needs to write the same project back.
            project: crate::app::project::JobProject {
                path: Some(PathBuf::from(format!("/audio/{key}.verbatim.json"))),
                subtitles: Some(PathBuf::from(format!("/audio/{key}.srt"))),
                settings: Some(crate::app::project::ProjectSettings { engine_id: "local".into(), ..Default::default() }),
                fingerprint: Some(crate::app::project::Fingerprint { size_bytes: 300, sampled_sha256: "ab".repeat(32) }),
                audio_missing: true,
            },
            playback_position_s: 12.5,
        }
    }

    #[test]
    fn a_session_round_trips_with_edits_and_forgets_removed_files() {
        let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("no temp dir: {error}"));
        let store = SessionStore::at(dir.path().join("session"));
        assert!(
            store.load().unwrap_or_default().is_empty(),
            "no session yet"
        );
        let mut renamed = transcript(&["Hello.", "Again."]);
        renamed.rename_speaker("left", "Alice");
        let snapshot = SessionSnapshot {
            jobs: vec![
                job("a", SavedStatus::Done),
                job("b", SavedStatus::Interrupted),
                job(
                    "c",
                    SavedStatus::Failed {
                        reason: "the key was rejected".into(),
                    },
                ),
            ],
            changed: vec![
                ("a".into(), renamed.clone()),
                ("b".into(), transcript(&["Half"])),
            ],
            keep_earlier: false,
        };
        store
            .save(&snapshot)
            .unwrap_or_else(|error| panic!("{error}"));
        let restored = store.load().unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(restored.len(), 3);
        assert_eq!(restored[0].saved, snapshot.jobs[0]);
        assert_eq!(restored[0].transcript.segments, renamed.segments);
        assert_eq!(restored[0].transcript.speaker_name("left"), "Alice");
        assert_eq!(restored[1].saved.status, SavedStatus::Interrupted);
        assert_eq!(restored[1].transcript.segments.len(), 1);
        assert!(restored[2].transcript.segments.is_empty() && restored[2].problem.is_none());

        // Remove "a": its transcript file goes; "b" is kept without being written again.
        let later = SessionSnapshot {
            jobs: vec![job("b", SavedStatus::Cancelled)],
            changed: vec![],
            keep_earlier: false,
        };
        store.save(&later).unwrap_or_else(|error| panic!("{error}"));
        assert!(!store.dir().join("a.json").exists());
        let restored = store.load().unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(restored.len(), 1);
        assert_eq!(restored[0].transcript.segments[0].text, "Half");
        assert_eq!(restored[0].saved.status, SavedStatus::Cancelled);
    }

    #[cfg(unix)]
    #[test]
    fn session_files_are_private_and_crash_leftovers_go() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("no temp dir: {error}"));
        let store = SessionStore::at(dir.path().join("data").join("session"));
        let mode = |path: &Path| {
            std::fs::metadata(path)
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or(0)
        };
        let snapshot = SessionSnapshot {
            jobs: vec![job("a", SavedStatus::Done)],
            changed: vec![("a".into(), transcript(&["A source's name."]))],
            keep_earlier: false,
        };
        store
            .save(&snapshot)
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(mode(store.dir()), 0o700);
        assert_eq!(
            mode(&dir.path().join("data")),
            0o700,
            "folders it creates are private"
        );
        assert_eq!(mode(&store.dir().join("a.json")), 0o600);
        assert_eq!(mode(&store.dir().join(INDEX_FILE)), 0o600);
        // A folder left readable by an older version is tightened; a crash's leftover goes.
        std::fs::set_permissions(store.dir(), std::fs::Permissions::from_mode(0o755))
            .unwrap_or_default();
        let leftover = store.dir().join(".a.json.Xy12Ab.partial");
        std::fs::write(&leftover, "half").unwrap_or_default();
        store
            .save(&snapshot)
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(mode(store.dir()), 0o700);
        assert!(!leftover.exists());
        assert!(store.dir().join("a.json").exists());
    }

    #[test]
    fn one_window_at_a_time_keeps_the_session() {
        let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("no temp dir: {error}"));
        let store = SessionStore::at(dir.path());
        let first = store.lock();
        assert!(first.is_ok());
        let second = store.lock().err().unwrap_or_default();
        assert!(second.contains("another Verbatim window"), "{second}");
        drop(first);
        assert!(
            store.lock().is_ok(),
            "free again once the first window is gone"
        );
    }

    #[test]
    fn a_damaged_transcript_comes_back_empty_with_the_reason_and_a_damaged_list_is_an_error() {
        let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("no temp dir: {error}"));
        let store = SessionStore::at(dir.path());
        let snapshot = SessionSnapshot {
            jobs: vec![job("a", SavedStatus::Done)],
            changed: vec![("a".into(), transcript(&["Hello."]))],
            keep_earlier: false,
        };
        store
            .save(&snapshot)
            .unwrap_or_else(|error| panic!("{error}"));
        std::fs::write(dir.path().join("a.json"), "{ not json").unwrap_or_default();
        let restored = store.load().unwrap_or_else(|error| panic!("{error}"));
        assert!(restored[0].transcript.segments.is_empty());
        assert!(
            restored[0]
                .problem
                .as_deref()
                .is_some_and(|p| p.contains("could not be read"))
        );
        std::fs::write(dir.path().join(INDEX_FILE), "[").unwrap_or_default();
        let error = store.load().err().unwrap_or_default();
        assert!(error.contains("is damaged"), "{error}");
        // A save that keeps the earlier files never writes over a list it cannot read.
        let keeping = SessionSnapshot {
            jobs: vec![job("b", SavedStatus::Done)],
            changed: vec![],
            keep_earlier: true,
        };
        assert!(store.save(&keeping).is_err());
        assert_eq!(
            std::fs::read_to_string(dir.path().join(INDEX_FILE)).unwrap_or_default(),
            "["
        );
    }

    #[test]
    fn a_save_before_the_load_keeps_the_earlier_files_ahead_of_the_new_ones() {
        let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("no temp dir: {error}"));
        let store = SessionStore::at(dir.path());
        let earlier = SessionSnapshot {
            jobs: vec![job("a", SavedStatus::Done)],
            changed: vec![("a".into(), transcript(&["Earlier."]))],
            keep_earlier: false,
        };
        store.save(&earlier).unwrap_or_else(|error| panic!("{error}"));
        let closing = SessionSnapshot {
            jobs: vec![job("n", SavedStatus::Interrupted)],
            changed: vec![("n".into(), transcript(&["New."]))],
            keep_earlier: true,
        };
        store.save(&closing).unwrap_or_else(|error| panic!("{error}"));
        let restored = store.load().unwrap_or_else(|error| panic!("{error}"));
        let keys: Vec<&str> = restored.iter().map(|job| job.saved.key.as_str()).collect();
        assert_eq!(keys, ["a", "n"]);
        assert_eq!(restored[0].transcript.segments[0].text, "Earlier.");
        assert_eq!(restored[1].transcript.segments[0].text, "New.");
    }
}
