//! Which paths are audio Verbatim can read: by extension (the open dialog's filter and a drop
//! on the window), with folders expanded one level. Decoding still decides for itself; this
//! only keeps notes and pictures out of the queue.

use std::path::{Path, PathBuf};

/// The audio and video files Verbatim offers to open.
pub const AUDIO_EXTENSIONS: &[&str] = &[
    "wav", "mp3", "m4a", "aac", "mp4", "flac", "ogg", "opus", "oga", "webm", "mkv", "mov",
];

/// Whether a path looks like a file the decoder can read (by extension, case-insensitive).
pub fn is_audio_path(path: &Path) -> bool {
    path.extension()
        .and_then(|extension| extension.to_str())
        .is_some_and(|extension| {
            AUDIO_EXTENSIONS
                .iter()
                .any(|known| known.eq_ignore_ascii_case(extension))
        })
}

/// Splits dropped or chosen paths into audio files (folders expanded one level, sorted) and
/// paths that were skipped.
pub fn collect_audio_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut audio = Vec::new();
    let mut skipped = Vec::new();
    for path in paths {
        if path.is_dir() {
            let inside = audio_files_in(path);
            if inside.is_empty() {
                skipped.push(path.clone());
            }
            audio.extend(inside);
        } else if is_audio_path(path) {
            audio.push(path.clone());
        } else {
            skipped.push(path.clone());
        }
    }
    (audio, skipped)
}

/// The audio files directly in `dir`, sorted (none when it cannot be read).
fn audio_files_in(dir: &Path) -> Vec<PathBuf> {
    let mut inside: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|p| p.is_file() && is_audio_path(p))
                .collect()
        })
        .unwrap_or_default();
    inside.sort();
    inside
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_paths_are_recognised_by_extension_and_folders_are_expanded() {
        assert!(is_audio_path(Path::new("talk.WAV")));
        assert!(is_audio_path(Path::new("/a/b/c.opus")));
        assert!(!is_audio_path(Path::new("notes.txt")));
        assert!(!is_audio_path(Path::new("noextension")));
        let Some(speech) = crate::dev::testdata::testdata("speech") else {
            return;
        };
        let (audio, skipped) = collect_audio_files(&[speech.clone(), PathBuf::from("readme.md")]);
        assert!(
            audio.iter().any(|path| path.ends_with("jfk.wav")),
            "jfk.wav not found in {}",
            speech.display()
        );
        assert!(audio.windows(2).all(|pair| pair[0] <= pair[1]));
        assert_eq!(skipped, vec![PathBuf::from("readme.md")]);
    }
}
