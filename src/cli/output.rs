//! Where `transcribe` writes its results: stdout, one file, or a directory.

use crate::export::ExportFormat;
use anyhow::{Context, bail};
use std::path::{Path, PathBuf};

/// The destination the user asked for with `--output`.
#[derive(Debug, Clone, PartialEq)]
pub enum OutputTarget {
    Stdout,
    /// Files named after each input, in this directory.
    Directory(PathBuf),
    /// One named file (one input); with several formats, its extension is replaced per format.
    File(PathBuf),
}

impl OutputTarget {
    /// `-` is stdout; an existing directory or a path ending in `/` is a directory; anything
    /// else is a file. With no `--output`: stdout for one input, the current directory for several.
    pub fn parse(output: Option<&str>, input_count: usize, formats: &[ExportFormat]) -> anyhow::Result<OutputTarget> {
        let target = match output {
            None if input_count <= 1 => OutputTarget::Stdout,
            None => OutputTarget::Directory(PathBuf::from(".")),
            Some("-") => OutputTarget::Stdout,
            Some(path) if path.ends_with('/') || Path::new(path).is_dir() => OutputTarget::Directory(PathBuf::from(path)),
            Some(path) => OutputTarget::File(PathBuf::from(path)),
        };
        match &target {
            OutputTarget::Stdout if input_count > 1 => {
                bail!("several inputs cannot share stdout; pass --output DIR to write one file per input")
            }
            OutputTarget::Stdout if formats.len() > 1 => {
                bail!("several formats cannot share stdout; pass --output DIR or --output FILE")
            }
            OutputTarget::File(_) if input_count > 1 => {
                bail!("--output names one file but there are {input_count} inputs; pass a directory instead")
            }
            _ => {}
        }
        Ok(target)
    }

    /// The file to write `format` for `input` to, or `None` for stdout.
    pub fn path_for(&self, input: &Path, format: ExportFormat, format_count: usize) -> Option<PathBuf> {
        match self {
            OutputTarget::Stdout => None,
            OutputTarget::Directory(dir) => {
                let stem = input.file_stem().map(|s| s.to_os_string()).unwrap_or_else(|| "transcript".into());
                let mut name = stem;
                name.push(".");
                name.push(format.extension());
                Some(dir.join(name))
            }
            OutputTarget::File(path) if format_count > 1 => Some(path.with_extension(format.extension())),
            OutputTarget::File(path) => Some(path.clone()),
        }
    }
}

/// Writes `contents` to `path` atomically (see [`crate::files`]), creating its folder, so a
/// crash never leaves half a subtitle file behind.
pub fn write_atomically(path: &Path, contents: &str) -> anyhow::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    crate::files::write_atomically(path, contents.as_bytes()).with_context(|| format!("cannot write {}", path.display()))
}

/// Where an unfinished transcript meant for `path` goes, so it never replaces a complete one:
/// `out.srt` → `out.partial.srt` (`out` → `out.partial`).
pub fn partial_path(path: &Path) -> PathBuf {
    let stem = path.file_stem().map(|stem| stem.to_os_string()).unwrap_or_else(|| "transcript".into());
    let mut name = stem;
    name.push(".partial");
    if let Some(extension) = path.extension() {
        name.push(".");
        name.push(extension);
    }
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_transcripts_get_a_name_of_their_own() {
        assert_eq!(partial_path(Path::new("out.srt")), PathBuf::from("out.partial.srt"));
        assert_eq!(partial_path(Path::new("dir/a.b.vtt")), PathBuf::from("dir/a.b.partial.vtt"));
        assert_eq!(partial_path(Path::new("/tmp/out")), PathBuf::from("/tmp/out.partial"));
    }
}
