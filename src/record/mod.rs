//! Recording: capture from a microphone (cpal), from the monitor of the output mixed in as a
//! second channel, or from a file played as a virtual microphone, written as it is captured to
//! a WAV that survives a crash or a full disk, with levels for a meter and a 16 kHz live tap
//! for live engines.
//!
//! ```text
//!  cpal callback ──copy──> rtrb ring ──> writer thread ──> WAV on disk (header true every 0.5 s, synced)
//!  (no lock, no alloc)                     ├──> levels, elapsed, size, warnings (RecorderStatus / RecorderEvent)
//!                                          └──> 16 kHz AudioBlocks ──> live engines (LiveTapReceiver)
//! ```
//!
//! A front end (CLI, window) opens a source (`open_source`), starts a `Recorder` on it, sends
//! it `pause` / `resume` / `stop`, reads `status()` each frame and drains its events. At start
//! it calls `recovery::recover_unfinished` to repair recordings a crash left behind.

pub mod cpal_input;
pub mod file_input;
mod meter;
pub mod mix;
mod recorder;
pub mod recovery;
pub mod source;
mod tap;
pub mod wav_writer;

pub use meter::ChannelLevel;
pub use recorder::{Recorder, RecorderConfig, RecorderEvent, RecorderState, RecorderStatus, RecordingSummary, StopReason};
pub use source::{CaptureSource, SourceFormat};
pub use tap::{LiveTapReceiver, TAP_BLOCK_FRAMES};

use std::path::{Path, PathBuf};

/// Overrides the recordings folder (tests, portable setups).
pub const RECORDINGS_DIR_ENV: &str = "VERBATIM_RECORDINGS_DIR";
/// `--device file:PATH`: the virtual microphone.
pub const FILE_DEVICE_PREFIX: &str = "file:";

/// Why a recording could not start or had to stop. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("no microphone found{0}; connect one, or pass --device file:PATH to record from a file")]
    NoDevice(String),
    #[error("no input device matches \"{0}\"; `verbatim record --list-devices` shows the names")]
    UnknownDevice(String),
    #[error("\"{0}\" matches several input devices ({1}); give more of the name")]
    AmbiguousDevice(String, String),
    #[error("{0} is busy (another program is using it); close that program or pick another device")]
    DeviceBusy(String),
    #[error("cannot open {device}: {reason}")]
    Device { device: String, reason: String },
    #[error("no monitor of the sound output is available: {0}")]
    NoMonitor(String),
    #[error("{}: {reason}", path.display())]
    File { path: PathBuf, reason: String },
    #[error("cannot play {}: {reason}", path.display())]
    VirtualMicrophone { path: PathBuf, reason: String },
}

impl RecordError {
    pub(crate) fn file(path: &Path, error: impl std::fmt::Display) -> RecordError {
        RecordError::File { path: path.to_path_buf(), reason: error.to_string() }
    }
}

/// Where recordings go: `VERBATIM_RECORDINGS_DIR`, else `<user data dir>/verbatim/recordings`.
pub fn recordings_dir() -> Result<PathBuf, RecordError> {
    if let Some(dir) = std::env::var_os(RECORDINGS_DIR_ENV).filter(|dir| !dir.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    dirs::data_dir()
        .map(|dir| dir.join("verbatim").join("recordings"))
        .ok_or_else(|| RecordError::file(Path::new("recordings"), "no user data folder is known on this system; pass --output FILE.wav"))
}

/// A new timestamped path in the recordings folder (created 0700): `recording-2025-01-31_14-05-09.wav`,
/// with `-2`, `-3`… if that name is taken.
pub fn new_recording_path() -> Result<PathBuf, RecordError> {
    new_recording_path_in(&recordings_dir()?)
}

/// Like [`new_recording_path`], in `dir` (created 0700): front ends that keep recordings in a
/// folder of their own choosing (the window's tests) pass it here.
pub fn new_recording_path_in(dir: &Path) -> Result<PathBuf, RecordError> {
    crate::files::create_private_dir_all(dir).map_err(|error| RecordError::file(dir, error))?;
    let stamp = utc_timestamp();
    for attempt in 1..1000 {
        let suffix = if attempt == 1 { String::new() } else { format!("-{attempt}") };
        let path = dir.join(format!("recording-{stamp}{suffix}.wav"));
        if !path.exists() {
            return Ok(path);
        }
    }
    Err(RecordError::file(dir, "too many recordings with the same time stamp"))
}

/// `YYYY-MM-DD_HH-MM-SS` in UTC (no time-zone database needed; the name only has to sort and
/// be unique).
fn utc_timestamp() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!("{year:04}-{month:02}-{day:02}_{:02}-{:02}-{:02}", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// Days since 1970-01-01 to a calendar date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Opens what `--device` names: `file:PATH` (the virtual microphone, at `file_speed` × real
/// time), a device name or id, or the default input for `None`. With `with_monitor`, the
/// result is the two-channel mix of that input and the monitor of the default output.
pub fn open_source(
    device: Option<&str>,
    with_monitor: bool,
    file_speed: f64,
) -> Result<Box<dyn CaptureSource>, RecordError> {
    let file = device.and_then(|name| name.strip_prefix(FILE_DEVICE_PREFIX)).map(Path::new);
    let (main, monitor): (Box<dyn CaptureSource>, _) = match (file, with_monitor) {
        (Some(path), false) => return Ok(Box::new(file_input::FileSource::open(path, file_speed)?)),
        (None, false) => return Ok(Box::new(cpal_input::CpalSource::open(device)?)),
        (Some(path), true) => (Box::new(file_input::FileSource::open(path, file_speed)?), cpal_input::CpalSource::open_default_monitor()?),
        (None, true) => {
            let (microphone, monitor) = cpal_input::CpalSource::open_with_monitor(device)?;
            (Box::new(microphone), monitor)
        }
    };
    Ok(Box::new(mix::MixSource::new(main, Box::new(monitor))?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_dates_from_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_089), (2025, 1, 1));
    }
}
