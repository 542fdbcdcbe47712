//! Recordings a crash, a kill or a power cut left unfinished: found at the next start, repaired
//! in place (the header extended to every whole frame on disk), and reported so the front end
//! can offer them (CLI: a line; window: a notice with Open / Transcribe).
//!
//! A recording in progress holds a marker in `<recordings>/.unfinished/`: a file naming the WAV,
//! locked for as long as the recorder runs (the lock dies with the process, however it dies)
//! and removed when the recording finishes cleanly. An unlocked marker means the recorder died.
//! WAVs in the recordings folder whose header disagrees with their length count too (a marker
//! that could not be written); a WAV another running recorder holds is never touched.

use super::RecordError;
use super::source::SourceFormat;
use super::wav_writer::{self, DS64_OFFSET, DS64_PAYLOAD_BYTES, FMT_OFFSET, RIFF_LIMIT_BYTES};
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

const MARKER_DIR: &str = ".unfinished";
const MARKER_SUFFIX: &str = ".marker";
/// Chunks looked at before the data chunk when checking a header.
const MAX_CHUNKS: usize = 64;

/// A recording that was not finished.
#[derive(Debug, Clone, PartialEq)]
pub struct UnfinishedRecording {
    pub path: PathBuf,
    marker: Option<PathBuf>,
}

/// What `repair` did.
#[derive(Debug, Clone, PartialEq)]
pub struct RepairedRecording {
    pub path: PathBuf,
    /// Audio in the repaired file.
    pub duration_s: f64,
    /// Audio that was on disk but not in the header before the repair.
    pub recovered_s: f64,
}

/// The lock a running recording holds. Dropped (or `finish`ed) when the recording ends.
pub(crate) struct Marker {
    file: File,
    path: PathBuf,
}

impl Marker {
    /// Creates and locks a marker naming `recording` in `recordings_dir`.
    pub(crate) fn create(recordings_dir: &Path, recording: &Path) -> std::io::Result<Marker> {
        let dir = recordings_dir.join(MARKER_DIR);
        crate::files::create_private_dir_all(&dir)?;
        let stem = recording.file_name().map_or_else(|| "recording".into(), |name| name.to_string_lossy().into_owned());
        let (mut file, path) = tempfile::Builder::new()
            .prefix(&format!("{stem}."))
            .suffix(MARKER_SUFFIX)
            .tempfile_in(&dir)?
            .keep()
            .map_err(|error| error.error)?;
        file.try_lock().map_err(std::io::Error::other)?;
        let absolute = std::path::absolute(recording)?;
        file.write_all(&path_bytes(&absolute))?;
        file.sync_all()?;
        crate::files::sync_dir(&dir)?;
        Ok(Marker { file, path })
    }

    /// The recording ended cleanly: nothing to recover.
    pub(crate) fn finish(self) {
        let _ = std::fs::remove_file(&self.path);
        drop(self.file);
    }
}

#[cfg(unix)]
fn path_bytes(path: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes().to_vec()
}

#[cfg(not(unix))]
fn path_bytes(path: &Path) -> Vec<u8> {
    path.to_string_lossy().into_owned().into_bytes()
}

#[cfg(unix)]
fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    PathBuf::from(std::ffi::OsString::from_vec(bytes))
}

#[cfg(not(unix))]
fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(&bytes).into_owned())
}

/// Every unfinished recording known in `recordings_dir`, oldest marker first. Recordings that
/// a running recorder holds are left out.
pub fn find_unfinished(recordings_dir: &Path) -> Vec<UnfinishedRecording> {
    let mut found = Vec::new();
    let mut in_progress = HashSet::new();
    let mut markers: Vec<PathBuf> = read_dir_paths(&recordings_dir.join(MARKER_DIR))
        .into_iter()
        .filter(|path| path.to_string_lossy().ends_with(MARKER_SUFFIX))
        .collect();
    markers.sort();
    for marker in markers {
        let Ok(mut file) = OpenOptions::new().read(true).write(true).open(&marker) else { continue };
        let mut bytes = Vec::new();
        if file.read_to_end(&mut bytes).is_err() {
            continue;
        }
        let recording = path_from_bytes(bytes);
        if file.try_lock().is_err() {
            in_progress.insert(recording);
            continue;
        }
        if recording.exists() {
            found.push(UnfinishedRecording { path: recording, marker: Some(marker) });
        } else {
            let _ = std::fs::remove_file(&marker); // nothing left to recover
        }
    }
    let listed: HashSet<PathBuf> = found.iter().map(|r| r.path.clone()).collect();
    let mut wavs: Vec<PathBuf> = read_dir_paths(recordings_dir)
        .into_iter()
        .filter(|path| path.extension().is_some_and(|ext| ext.eq_ignore_ascii_case("wav")))
        .collect();
    wavs.sort();
    for wav in wavs {
        let absolute = std::path::absolute(&wav).unwrap_or_else(|_| wav.clone());
        if in_progress.contains(&absolute) || listed.contains(&absolute) {
            continue;
        }
        if matches!(inspect(&wav), Ok(header) if !header.is_consistent()) {
            found.push(UnfinishedRecording { path: wav, marker: None });
        }
    }
    found
}

fn read_dir_paths(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir).map_or_else(|_| Vec::new(), |entries| entries.flatten().map(|entry| entry.path()).collect())
}

/// Repairs every unfinished recording; one result per recording found.
pub fn recover_unfinished(recordings_dir: &Path) -> Vec<Result<RepairedRecording, RecordError>> {
    find_unfinished(recordings_dir).iter().map(repair).collect()
}

/// What a WAV header says, against the file's length.
#[derive(Debug, Clone, Copy)]
struct HeaderFacts {
    file_len: u64,
    riff_declared: u64,
    data_start: u64,
    data_declared: u64,
    block_align: u64,
    sample_rate_hz: u32,
    channel_count: usize,
    bits_per_sample: u16,
    /// Our own layout (reserved `JUNK`/`ds64` chunk, `fmt `, `data`): rebuilt whole on repair.
    ours: bool,
}

impl HeaderFacts {
    /// The RIFF size matches the file and the data chunk lies inside it (chunks after the data
    /// are allowed).
    fn is_consistent(&self) -> bool {
        self.riff_declared + 8 == self.file_len && self.data_start + self.data_declared <= self.file_len
    }

    fn whole_data_bytes(&self) -> u64 {
        (self.file_len.saturating_sub(self.data_start)) / self.block_align.max(1) * self.block_align.max(1)
    }

    fn seconds(&self, bytes: u64) -> f64 {
        bytes as f64 / (self.block_align.max(1) as f64 * f64::from(self.sample_rate_hz.max(1)))
    }
}

fn le_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([0, 1, 2, 3].map(|i| bytes.get(at + i).copied().unwrap_or(0)))
}

fn le_u16(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([0, 1].map(|i| bytes.get(at + i).copied().unwrap_or(0)))
}

fn le_u64(bytes: &[u8], at: usize) -> u64 {
    u64::from(le_u32(bytes, at)) | (u64::from(le_u32(bytes, at + 4)) << 32)
}

/// Reads the chunk headers up to `data`.
fn inspect(path: &Path) -> Result<HeaderFacts, String> {
    let mut file = File::open(path).map_err(|error| error.to_string())?;
    let file_len = file.metadata().map_err(|error| error.to_string())?.len();
    let mut riff = [0_u8; 12];
    file.read_exact(&mut riff).map_err(|_| "the file is too short to be a WAV".to_string())?;
    let rf64 = &riff[..4] == b"RF64";
    if !(&riff[..4] == b"RIFF" || rf64) || &riff[8..12] != b"WAVE" {
        return Err("not a WAV file".into());
    }
    let mut facts = HeaderFacts {
        file_len,
        riff_declared: u64::from(le_u32(&riff, 4)),
        data_start: 0,
        data_declared: 0,
        block_align: 0,
        sample_rate_hz: 0,
        channel_count: 0,
        bits_per_sample: 0,
        ours: false,
    };
    let mut position = 12_u64;
    let mut reserved_at_12 = false;
    let mut ds64_data = None;
    for _ in 0..MAX_CHUNKS {
        let mut header = [0_u8; 8];
        file.read_exact(&mut header).map_err(|_| "the WAV has no data chunk".to_string())?;
        let length = u64::from(le_u32(&header, 4));
        let id = &header[..4];
        if id == b"data" {
            facts.data_start = position + 8;
            facts.data_declared = ds64_data.filter(|_| length == u64::from(u32::MAX)).unwrap_or(length);
            facts.ours = reserved_at_12 && facts.data_start == wav_writer::header_len(facts.format()) && facts.bits_per_sample == 16;
            return Ok(facts);
        }
        let mut body = vec![0_u8; length.min(64) as usize];
        file.read_exact(&mut body).map_err(|_| "the WAV header is cut short".to_string())?;
        if position == DS64_OFFSET && (id == b"JUNK" || id == b"ds64") && length == u64::from(DS64_PAYLOAD_BYTES) {
            reserved_at_12 = true;
        }
        if id == b"ds64" && rf64 {
            facts.riff_declared = le_u64(&body, 0);
            ds64_data = Some(le_u64(&body, 8));
        }
        if id == b"fmt " {
            facts.channel_count = usize::from(le_u16(&body, 2));
            facts.sample_rate_hz = le_u32(&body, 4);
            facts.block_align = u64::from(le_u16(&body, 12));
            facts.bits_per_sample = le_u16(&body, 14);
            reserved_at_12 &= position == FMT_OFFSET;
        }
        position += 8 + length + (length & 1);
        file.seek(SeekFrom::Start(position)).map_err(|error| error.to_string())?;
    }
    Err("the WAV has too many chunks before its data".into())
}

impl HeaderFacts {
    fn format(&self) -> SourceFormat {
        SourceFormat { sample_rate_hz: self.sample_rate_hz, channel_count: self.channel_count }
    }
}

/// Makes the header describe every whole frame on disk (a partial last frame is cut), syncs,
/// and removes the marker.
pub fn repair(recording: &UnfinishedRecording) -> Result<RepairedRecording, RecordError> {
    let path = &recording.path;
    let facts = inspect(path).map_err(|reason| RecordError::file(path, format!("cannot repair this recording: {reason}")))?;
    if facts.block_align == 0 || facts.sample_rate_hz == 0 {
        return Err(RecordError::file(path, "cannot repair this recording: its format chunk is damaged"));
    }
    let data_bytes = facts.whole_data_bytes();
    let before = facts.data_declared.min(data_bytes);
    let mut file = OpenOptions::new().write(true).open(path).map_err(|error| RecordError::file(path, error))?;
    let write = |file: &mut File| -> std::io::Result<()> {
        file.set_len(facts.data_start + data_bytes)?;
        if facts.ours {
            file.seek(SeekFrom::Start(0))?;
            file.write_all(&wav_writer::header_bytes(facts.format(), data_bytes, RIFF_LIMIT_BYTES))?;
        } else {
            let riff = facts.data_start + data_bytes - 8;
            if riff > RIFF_LIMIT_BYTES {
                return Err(std::io::Error::other("it is over 4 GiB and has no room for an RF64 header"));
            }
            file.seek(SeekFrom::Start(4))?;
            file.write_all(&(riff as u32).to_le_bytes())?;
            file.seek(SeekFrom::Start(facts.data_start - 4))?;
            file.write_all(&(data_bytes as u32).to_le_bytes())?;
        }
        file.sync_all()
    };
    write(&mut file).map_err(|error| RecordError::file(path, format!("cannot repair this recording: {error}")))?;
    if let Some(marker) = &recording.marker {
        let _ = std::fs::remove_file(marker);
    }
    Ok(RepairedRecording {
        path: path.clone(),
        duration_s: facts.seconds(data_bytes),
        recovered_s: facts.seconds(data_bytes - before),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::wav_writer::WavWriter;

    #[test]
    fn a_header_behind_the_data_is_repaired_and_a_partial_frame_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("killed.wav");
        let format = SourceFormat { sample_rate_hz: 8_000, channel_count: 2 };
        let mut writer = WavWriter::create(File::create(&path).unwrap(), format, RIFF_LIMIT_BYTES).unwrap();
        let samples: Vec<i16> = (0..16_000).map(|n| n as i16).collect();
        writer.append(&samples[..8_000]).unwrap();
        writer.checkpoint().unwrap();
        writer.append(&samples[8_000..]).unwrap();
        drop(writer);
        // Half a frame, as a kill in the middle of a write could leave.
        OpenOptions::new().append(true).open(&path).unwrap().write_all(&[1, 2]).unwrap();
        let found = find_unfinished(dir.path());
        assert_eq!(found.len(), 1);
        let repaired = repair(&found[0]).unwrap();
        assert!((repaired.duration_s - 1.0).abs() < 1e-9);
        assert!((repaired.recovered_s - 0.5).abs() < 1e-9);
        let read: Vec<i16> = hound::WavReader::open(&path).unwrap().into_samples().map(Result::unwrap).collect();
        assert_eq!(read, samples);
        assert!(find_unfinished(dir.path()).is_empty(), "a repaired file is finished");
    }

    #[test]
    fn a_locked_marker_is_a_recording_in_progress() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("live.wav");
        let format = SourceFormat { sample_rate_hz: 8_000, channel_count: 1 };
        let mut writer = WavWriter::create(File::create(&path).unwrap(), format, RIFF_LIMIT_BYTES).unwrap();
        writer.append(&[5; 800]).unwrap(); // header not yet updated
        let marker = Marker::create(dir.path(), &path).unwrap();
        assert!(find_unfinished(dir.path()).is_empty(), "never touch a recording another recorder holds");
        drop(marker); // the process died: the lock is gone, the marker stays
        let found = find_unfinished(dir.path());
        assert_eq!(found.len(), 1);
        assert!(found[0].marker.is_some());
        repair(&found[0]).unwrap();
        assert!(find_unfinished(dir.path()).is_empty());
    }
}
