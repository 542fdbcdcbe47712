//! Project files: a transcript saved to come back to tomorrow, with what it needs to carry on
//! where the user stopped — the audio it was made from, the engine and settings that made it,
//! the player's position, and the subtitle file it was opened from (if it was).
//!
//! A project (`NAME.verbatim.json`) is one JSON document: a format tag and version, the
//! transcript exactly as the lossless JSON export writes it (`docs/transcript-json.md`), the
//! audio's path with a [`Fingerprint`], and the rest. It is written atomically through
//! [`crate::files`], so a crash mid-save leaves the previous version. The audio is found by
//! its path; when it has moved, the window asks for it and checks the fingerprint, so the
//! text is never played against another recording.
//!
//! Plain data and file I/O only: no egui, no runtime. The window's commands and the runtime's
//! tasks call these functions.

use super::settings::LocalSettings;
use crate::engine::TranscribeOptions;
use crate::export::json::{render_json, transcript_from_json};
use crate::transcript::Transcript;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// The `format` every project file carries.
pub const PROJECT_FORMAT: &str = "verbatim-project";
/// The project version this build writes (and the newest it reads).
pub const PROJECT_VERSION: u32 = 1;
/// How a project file's name ends.
pub const PROJECT_SUFFIX: &str = ".verbatim.json";
/// How many projects File ▸ Open recent lists.
pub const RECENT_PROJECTS: usize = 10;

/// Blocks read to fingerprint a file, spread evenly from its start to its end.
const FINGERPRINT_BLOCKS: u64 = 16;
/// Bytes per fingerprint block: 16 × 64 KiB = 1 MiB read, whatever the file's size.
const FINGERPRINT_BLOCK_BYTES: u64 = 64 * 1024;

/// What tells one audio file from another without reading all of it: its size and a SHA-256
/// of a few sampled blocks (the first, the last and some between). Fast on a 1 GB file, and
/// a different recording — or the same one cut or re-encoded — differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub size_bytes: u64,
    /// Hex SHA-256 of the size and the sampled blocks.
    pub sampled_sha256: String,
}

impl Fingerprint {
    /// Reads the sampled blocks of `path`.
    pub fn of_file(path: &Path) -> std::io::Result<Fingerprint> {
        let mut file = std::fs::File::open(path)?;
        let size_bytes = file.metadata()?.len();
        let mut hasher = Sha256::new();
        hasher.update(size_bytes.to_le_bytes());
        let mut block = vec![0u8; FINGERPRINT_BLOCK_BYTES as usize];
        let last_start = size_bytes.saturating_sub(FINGERPRINT_BLOCK_BYTES);
        let mut previous_end = 0u64;
        for index in 0..FINGERPRINT_BLOCKS {
            let start = (last_start * index / (FINGERPRINT_BLOCKS - 1)).max(previous_end);
            if start >= size_bytes {
                break;
            }
            let length = FINGERPRINT_BLOCK_BYTES.min(size_bytes - start);
            file.seek(SeekFrom::Start(start))?;
            let Some(buffer) = block.get_mut(..length as usize) else { break };
            file.read_exact(buffer)?;
            hasher.update(&*buffer);
            previous_end = start + length;
        }
        let sampled_sha256 = hex::encode(hasher.finalize());
        Ok(Fingerprint { size_bytes, sampled_sha256 })
    }
}

/// The audio a project belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectAudio {
    pub path: PathBuf,
    /// `None` when the audio could not be read at save time (the text was opened without it).
    #[serde(default)]
    pub fingerprint: Option<Fingerprint>,
}

/// The engine and the settings a transcript was made with.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ProjectSettings {
    /// The engine's id (`local`, `gradium`, `60db`…), as `--engine` takes it.
    pub engine_id: String,
    pub local: LocalSettings,
    pub options: TranscribeOptions,
}

/// One project file, as on disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectFile {
    pub format: String,
    pub version: u32,
    pub audio: ProjectAudio,
    /// The engine as the window showed it ("local · tiny.en"), when one ran.
    #[serde(default)]
    pub engine: Option<String>,
    #[serde(default)]
    pub settings: ProjectSettings,
    /// Where the player was, in seconds from the start of the audio.
    #[serde(default)]
    pub playback_position_s: f64,
    /// The SRT or WebVTT file the transcript was opened from: its exports keep one cue per
    /// segment, with the segment's times.
    #[serde(default)]
    pub subtitles: Option<PathBuf>,
    /// The transcript in the lossless JSON export format (set by
    /// [`with_transcript`](ProjectFile::with_transcript), off the UI thread).
    pub transcript: serde_json::Value,
}

/// A project read back: the file's fields, with its transcript parsed.
#[derive(Debug, Clone)]
pub struct LoadedProject {
    pub file: ProjectFile,
    pub transcript: Transcript,
}

/// What a project needs to know about its job beyond the transcript (kept on the job, so
/// Ctrl+S saves where it was opened from and the fingerprint survives a missing file; kept in
/// the session too, so a save after a restart writes the same project back).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct JobProject {
    /// The project file this job was opened from or last saved to.
    #[serde(rename = "project", skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// The subtitle file the transcript came from (see [`ProjectFile::subtitles`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subtitles: Option<PathBuf>,
    #[serde(rename = "project_settings", skip_serializing_if = "Option::is_none")]
    pub settings: Option<ProjectSettings>,
    /// The audio's fingerprint as the project recorded it (used when the audio is missing).
    #[serde(rename = "audio_fingerprint", skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<Fingerprint>,
    /// The job was opened without its audio (it had moved and the user chose the text only).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub audio_missing: bool,
}

impl ProjectFile {
    /// A project of the recording `audio`; the caller fills in the rest, and the transcript
    /// with [`with_transcript`](ProjectFile::with_transcript) when it saves.
    pub fn new(audio: ProjectAudio) -> ProjectFile {
        ProjectFile {
            format: PROJECT_FORMAT.into(),
            version: PROJECT_VERSION,
            audio,
            engine: None,
            settings: ProjectSettings::default(),
            playback_position_s: 0.0,
            subtitles: None,
            transcript: serde_json::Value::Null,
        }
    }

    /// The project with `transcript` in it. Rendering a whole transcript takes a while, so
    /// this runs where the file is written; an error saves nothing rather than an empty text.
    pub fn with_transcript(mut self, transcript: &Transcript) -> Result<ProjectFile, String> {
        self.transcript = serde_json::from_str(&render_json(transcript))
            .map_err(|error| format!("cannot write the transcript into the project: {error}"))?;
        Ok(self)
    }
}

/// Writes `project` to `path` atomically (0600, synced, renamed into place).
pub fn save_project(path: &Path, project: &ProjectFile) -> Result<(), String> {
    let text = serde_json::to_string_pretty(project)
        .map_err(|error| format!("cannot write the project: {error}"))?;
    crate::files::write_atomically(path, text.as_bytes())
        .map_err(|error| format!("cannot save the project {} ({error}); choose another folder", path.display()))
}

/// Reads a project file. Every error is one line naming the file and what to do.
pub fn load_project(path: &Path) -> Result<LoadedProject, String> {
    let name = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read the project {name} ({error})"))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|error| {
        format!("{name} is damaged or not a Verbatim project ({error}); open another file")
    })?;
    if value.get("format").and_then(|format| format.as_str()) != Some(PROJECT_FORMAT) {
        return Err(format!("{name} is not a Verbatim project; open a {PROJECT_SUFFIX} file saved by Verbatim"));
    }
    let version = value.get("version").and_then(|version| version.as_u64()).unwrap_or(0);
    if version > u64::from(PROJECT_VERSION) {
        return Err(format!(
            "{name} was saved by a newer Verbatim (project version {version}, this one reads {PROJECT_VERSION}); update Verbatim to open it"
        ));
    }
    let file: ProjectFile = serde_json::from_value(value)
        .map_err(|error| format!("{name} is damaged ({error}); open another file"))?;
    let transcript = transcript_from_json(&file.transcript.to_string())
        .map_err(|error| format!("the transcript in {name} is damaged ({error})"))?;
    Ok(LoadedProject { file, transcript })
}

/// How the audio a project names compares with a file on disk.
#[derive(Debug, Clone, PartialEq)]
pub enum AudioCheck {
    /// The file is there and is the same recording (or the project has no fingerprint).
    Matches,
    /// No file at that path.
    Missing,
    /// A file is there, but another one (its size or sampled content differs).
    Different,
}

/// Whether `path` is the recording `expected` fingerprints.
pub fn check_audio(path: &Path, expected: Option<&Fingerprint>) -> AudioCheck {
    if !path.is_file() {
        return AudioCheck::Missing;
    }
    match (expected, Fingerprint::of_file(path)) {
        (None, _) => AudioCheck::Matches,
        (Some(expected), Ok(found)) if &found == expected => AudioCheck::Matches,
        (Some(_), Ok(_)) => AudioCheck::Different,
        (Some(_), Err(_)) => AudioCheck::Missing,
    }
}

/// Whether a path names a project file (by its name).
pub fn is_project_path(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| name.to_ascii_lowercase().ends_with(PROJECT_SUFFIX))
}

/// Whether a path names an SRT or WebVTT file (by its extension).
pub fn is_subtitle_path(path: &Path) -> bool {
    matches!(crate::export::SubtitleFormat::from_path(path), Ok(Some(_)))
}

/// The project file name suggested for an audio file: `talk.wav` → `talk.verbatim.json`.
pub fn suggested_project_name(audio: &Path) -> String {
    let stem = audio
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_else(|| "transcript".into());
    format!("{stem}{PROJECT_SUFFIX}")
}

/// The audio beside a subtitle file with the same name (`talk.srt` → `talk.wav`, `talk.mp3`…),
/// if there is one.
pub fn audio_beside(subtitles: &Path) -> Option<PathBuf> {
    let stem = subtitles.file_stem()?;
    let dir = subtitles.parent()?;
    crate::audio::discover::AUDIO_EXTENSIONS.iter().find_map(|extension| {
        let mut name = stem.to_os_string();
        name.push(".");
        name.push(extension);
        let candidate = dir.join(name);
        candidate.is_file().then_some(candidate)
    })
}

/// Puts `path` first in the recent list (once), keeping at most [`RECENT_PROJECTS`].
pub fn remember_recent(recent: &mut Vec<PathBuf>, path: &Path) {
    recent.retain(|known| known != path);
    recent.insert(0, path.to_path_buf());
    recent.truncate(RECENT_PROJECTS);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{EngineEvent, Segment};

    fn transcript() -> Transcript {
        let mut transcript = Transcript::new();
        transcript.apply(&EngineEvent::Segment(Segment {
            revision_key: None,
            start_s: 1.25,
            end_s: 3.5,
            text: "Ask not.".into(),
            speaker: Some("s1".into()),
            words: vec![],
            ..Default::default()
        }));
        transcript.rename_speaker("s1", "Kennedy");
        transcript
    }

    #[test]
    fn a_project_round_trips_with_its_settings_and_position() {
        let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let audio = dir.path().join("talk.wav");
        std::fs::write(&audio, vec![7u8; 300_000]).unwrap_or_default();
        let fingerprint = Fingerprint::of_file(&audio).ok();
        let mut project = ProjectFile::new(ProjectAudio { path: audio.clone(), fingerprint })
            .with_transcript(&transcript())
            .unwrap_or_else(|error| panic!("{error}"));
        project.playback_position_s = 2.5;
        project.engine = Some("local · base".into());
        project.settings.engine_id = "local".into();
        project.settings.local.model = "base".into();
        project.settings.options.language = Some("en".into());
        let path = dir.path().join(suggested_project_name(&audio));
        save_project(&path, &project).unwrap_or_else(|error| panic!("{error}"));
        let loaded = load_project(&path).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(loaded.file, project);
        assert_eq!(loaded.transcript.segments, transcript().segments);
        assert_eq!(loaded.transcript.speaker_name("s1"), "Kennedy");
        assert_eq!(check_audio(&audio, loaded.file.audio.fingerprint.as_ref()), AudioCheck::Matches);
        assert!(is_project_path(&path) && !is_project_path(&audio));
    }

    #[test]
    fn the_fingerprint_tells_another_file_of_the_same_size_apart() {
        let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let first = dir.path().join("a.wav");
        let second = dir.path().join("b.wav");
        let mut bytes = vec![0u8; 5_000_000];
        std::fs::write(&first, &bytes).unwrap_or_default();
        // One byte changed in the last sampled block.
        if let Some(last) = bytes.last_mut() {
            *last = 1;
        }
        std::fs::write(&second, &bytes).unwrap_or_default();
        let expected = Fingerprint::of_file(&first).ok();
        assert_eq!(check_audio(&second, expected.as_ref()), AudioCheck::Different);
        assert_eq!(check_audio(&first, expected.as_ref()), AudioCheck::Matches);
        assert_eq!(check_audio(&dir.path().join("gone.wav"), expected.as_ref()), AudioCheck::Missing);
        // Tiny files are read whole, once.
        let tiny = dir.path().join("tiny.wav");
        std::fs::write(&tiny, b"abc").unwrap_or_default();
        assert_eq!(Fingerprint::of_file(&tiny).map(|f| f.size_bytes).ok(), Some(3));
    }

    #[test]
    fn damaged_foreign_and_newer_projects_are_refused_with_one_line() {
        let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let path = dir.path().join("x.verbatim.json");
        std::fs::write(&path, "{ half").unwrap_or_default();
        let damaged = load_project(&path).err().unwrap_or_default();
        assert!(damaged.contains("damaged") && !damaged.contains('\n'), "{damaged}");
        std::fs::write(&path, r#"{"format":"something-else"}"#).unwrap_or_default();
        let foreign = load_project(&path).err().unwrap_or_default();
        assert!(foreign.contains("not a Verbatim project"), "{foreign}");
        std::fs::write(&path, r#"{"format":"verbatim-project","version":9}"#).unwrap_or_default();
        let newer = load_project(&path).err().unwrap_or_default();
        assert!(newer.contains("newer Verbatim") && newer.contains("update Verbatim"), "{newer}");
    }

    #[test]
    fn recent_projects_keep_the_newest_first_once() {
        let mut recent = Vec::new();
        for index in 0..12 {
            remember_recent(&mut recent, Path::new(&format!("/p/{index}.verbatim.json")));
        }
        remember_recent(&mut recent, Path::new("/p/5.verbatim.json"));
        assert_eq!(recent.len(), RECENT_PROJECTS);
        assert_eq!(recent[0], PathBuf::from("/p/5.verbatim.json"));
        assert_eq!(recent.iter().filter(|p| p.ends_with("5.verbatim.json")).count(), 1);
    }
}
