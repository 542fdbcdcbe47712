//! Audio in: any supported file decoded as a stream and resampled to what engines take.

/// Why a file could not be read. Each message is one line saying what to do.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("cannot open {path}: {reason}")]
    Open { path: String, reason: String },
    #[error("{path}: unsupported or damaged audio ({reason}); convert it to WAV, FLAC, MP3 or Opus and try again")]
    Unsupported { path: String, reason: String },
}
