//! Writing files so that a crash, a full disk or a second writer never leaves half a file
//! where a good one was, and so that private material (transcripts, recordings, keys) is
//! readable by its owner only.
//!
//! This is the one place that knows how: a unique temporary file in the destination's own
//! folder (so the rename is atomic), created 0600, synced, renamed over the destination, and
//! the folder synced so the rename itself survives a power cut. A failed write removes its
//! temporary file. Every module that replaces a file calls this instead of writing its own.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A file being written under a temporary name beside its destination. Write to it, then
/// [`AtomicFile::commit`]; dropped without committing, it is removed and the destination is
/// left as it was.
pub struct AtomicFile {
    temporary: tempfile::NamedTempFile,
    destination: PathBuf,
}

impl AtomicFile {
    /// Starts replacing `destination`. The temporary file is created (0600 on Unix) in the
    /// destination's folder, which must exist.
    pub fn create(destination: &Path) -> io::Result<AtomicFile> {
        let dir = parent_dir(destination);
        let temporary = tempfile::Builder::new()
            .prefix(&format!(".{}.", temporary_stem(destination)))
            .suffix(".partial")
            .tempfile_in(&dir)?;
        Ok(AtomicFile {
            temporary,
            destination: destination.to_path_buf(),
        })
    }

    /// The open temporary file, for callers that need more than [`Write`] (seeking, length).
    pub fn file_mut(&mut self) -> &mut File {
        self.temporary.as_file_mut()
    }

    /// Syncs the data, renames the file over the destination and syncs the folder.
    pub fn commit(self) -> io::Result<()> {
        self.temporary.as_file().sync_all()?;
        let destination = self.destination;
        self.temporary
            .persist(&destination)
            .map_err(|error| error.error)?;
        sync_parent_dir(&destination)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.temporary.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.temporary.flush()
    }
}

impl io::Seek for AtomicFile {
    fn seek(&mut self, position: io::SeekFrom) -> io::Result<u64> {
        self.temporary.as_file_mut().seek(position)
    }
}

/// Replaces `path` with `contents` atomically (see the module comment). The file is 0600.
pub fn write_atomically(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(contents)?;
    file.commit()
}

/// Creates `dir` and any missing parents; the folders it creates are 0700 on Unix, and `dir`
/// itself is tightened to 0700 if it already existed with wider permissions.
pub fn create_private_dir_all(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

/// Creates a new file that must not exist yet (no following of a link planted in its place),
/// readable and writable by its owner only.
pub fn create_private_file(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Syncs a folder, so that a rename or a new file in it survives a power cut. A no-op where
/// folders cannot be opened (Windows).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Syncs the folder `path` is in, so that a rename to `path` (or its removal) survives a power
/// cut.
pub fn sync_parent_dir(path: &Path) -> io::Result<()> {
    sync_dir(&parent_dir(path))
}

/// The start of the destination's name, for its temporary file: short enough that the
/// temporary name (`.NAME.XXXXXX.partial`) fits where the destination's own name fits.
fn temporary_stem(destination: &Path) -> String {
    /// Characters of the destination's name kept (file names can be 255 bytes).
    const MAX_STEM_CHARS: usize = 64;
    let name = destination
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.chars().take(MAX_STEM_CHARS).collect()
}

/// The folder a path lives in (`.` for a bare file name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn replaces_the_file_and_leaves_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.srt");
        std::fs::write(&path, "old").unwrap();
        write_atomically(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(leftovers(dir.path()), vec!["out.srt".to_string()]);
    }

    #[cfg(unix)]
    #[test]
    fn files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("session.json");
        write_atomically(&path, b"{}").unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let fresh = dir.path().join("fresh");
        drop(create_private_file(&fresh).unwrap());
        assert_eq!(
            std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(
            create_private_file(&fresh).is_err(),
            "an existing file is never opened again"
        );
    }

    #[test]
    fn an_uncommitted_file_leaves_the_old_one_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.bin");
        std::fs::write(&path, "complete").unwrap();
        {
            let mut file = AtomicFile::create(&path).unwrap();
            file.write_all(b"half").unwrap();
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "complete");
        assert_eq!(leftovers(dir.path()), vec!["model.bin".to_string()]);
    }

    #[test]
    fn a_name_as_long_as_the_system_allows_still_gets_a_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("{}.srt", "é".repeat(120)));
        write_atomically(&path, b"long").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "long");
        assert_eq!(leftovers(dir.path()).len(), 1);
    }

    #[test]
    fn a_missing_folder_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        assert!(write_atomically(&dir.path().join("no/such/folder/file"), b"x").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn private_dirs_are_created_and_tightened() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        create_private_dir_all(&nested).unwrap();
        assert_eq!(
            std::fs::metadata(&nested).unwrap().permissions().mode() & 0o777,
            0o700
        );
        std::fs::set_permissions(&nested, std::fs::Permissions::from_mode(0o755)).unwrap();
        create_private_dir_all(&nested).unwrap();
        assert_eq!(
            std::fs::metadata(&nested).unwrap().permissions().mode() & 0o777,
            0o700
        );
    }
}
