//! Why audio could not be read or written. One enum for the whole module; every message is a
//! single line that says what failed and what to do about it.

use std::fmt::Display;
use std::path::Path;

/// Why a file could not be read, or an encoded file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("cannot open {path}: {reason}; check that the file exists and can be read")]
    Open { path: String, reason: String },
    #[error(
        "{path}: unsupported or damaged audio ({reason}); convert it to WAV, FLAC, MP3 or Opus and try again"
    )]
    Unsupported { path: String, reason: String },
    #[error("{path}: the file holds no audio ({reason}); pick a recording that has sound in it")]
    NoAudio { path: String, reason: String },
    #[error(
        "{path}: decoding stopped at {at_s:.1} s ({reason}); the file may be truncated or damaged, re-export it and try again"
    )]
    Damaged {
        path: String,
        at_s: f64,
        reason: String,
    },
    #[error("cannot write {path}: {reason}; check free disk space and permissions")]
    Write { path: String, reason: String },
    #[error("audio encoding failed ({reason}); convert the file to WAV and try again")]
    Encode { reason: String },
    #[error("invalid audio request: {reason}")]
    InvalidRequest { reason: String },
}

impl AudioError {
    pub(crate) fn open(path: &Path, reason: impl Display) -> AudioError {
        AudioError::Open {
            path: shown(path),
            reason: one_line(reason),
        }
    }

    pub(crate) fn unsupported(path: &Path, reason: impl Display) -> AudioError {
        AudioError::Unsupported {
            path: shown(path),
            reason: one_line(reason),
        }
    }

    pub(crate) fn no_audio(path: &Path, reason: impl Display) -> AudioError {
        AudioError::NoAudio {
            path: shown(path),
            reason: one_line(reason),
        }
    }

    pub(crate) fn damaged(path: &Path, at_s: f64, reason: impl Display) -> AudioError {
        AudioError::Damaged {
            path: shown(path),
            at_s,
            reason: one_line(reason),
        }
    }

    pub(crate) fn write(path: &Path, reason: impl Display) -> AudioError {
        AudioError::Write {
            path: shown(path),
            reason: one_line(reason),
        }
    }

    pub(crate) fn encode(reason: impl Display) -> AudioError {
        AudioError::Encode {
            reason: one_line(reason),
        }
    }

    pub(crate) fn invalid_request(reason: impl Display) -> AudioError {
        AudioError::InvalidRequest {
            reason: one_line(reason),
        }
    }
}

/// A path as it appears in a message: lossy UTF-8, on one line.
fn shown(path: &Path) -> String {
    one_line(path.display())
}

/// Text from a library or a file made safe for a one-line message: control characters
/// (newlines included) become spaces, runs of spaces collapse, and it is cut at 200 characters.
pub(crate) fn one_line(text: impl Display) -> String {
    const MAX_CHARS: usize = 200;
    let text = text.to_string();
    let mut line = String::with_capacity(text.len().min(MAX_CHARS + 3));
    let mut last_was_space = false;
    for character in text.chars() {
        let character = if character.is_control() {
            ' '
        } else {
            character
        };
        if character == ' ' && last_was_space {
            continue;
        }
        last_was_space = character == ' ';
        if line.chars().count() >= MAX_CHARS {
            line.push_str("...");
            break;
        }
        line.push(character);
    }
    line.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line_even_with_newlines_in_the_reason() {
        let error = AudioError::unsupported(Path::new("a\nb.wav"), "first\nsecond\r\nthird");
        let message = error.to_string();
        assert!(
            !message.contains('\n') && !message.contains('\r'),
            "{message}"
        );
        assert!(message.contains("first second third"), "{message}");
    }

    #[test]
    fn long_reasons_are_cut() {
        let reason = "x".repeat(1000);
        assert!(one_line(reason).chars().count() <= 203);
    }
}
