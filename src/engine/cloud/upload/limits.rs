//! What each service takes: its formats, its size and duration limits, and the Opus bitrate
//! a file is re-encoded at when it does not fit — and how those limits read in a message.

use super::sniff::AudioFormat;
use crate::units::{clock_rounded, describe_size};

/// What a service takes, and how to convert what it does not.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadRules {
    pub service_name: &'static str,
    pub accepted: &'static [AudioFormat],
    pub max_size_bytes: Option<u64>,
    pub max_duration_s: Option<f64>,
    /// Opus bitrate for conversions and for re-encoding an oversized file.
    pub opus_bitrate_bps: i32,
}

const ANY_COMMON_FORMAT: &[AudioFormat] = &[
    AudioFormat::PcmWav,
    AudioFormat::OtherWav,
    AudioFormat::Mp3,
    AudioFormat::M4a,
    AudioFormat::Mp4,
    AudioFormat::OggOpus,
    AudioFormat::OggVorbis,
    AudioFormat::Flac,
    AudioFormat::WebM,
];

impl UploadRules {
    /// Gradium: PCM WAV or Ogg Opus only; no documented size limit.
    pub fn gradium() -> UploadRules {
        UploadRules {
            service_name: "Gradium",
            accepted: &[AudioFormat::PcmWav, AudioFormat::OggOpus],
            max_size_bytes: None,
            max_duration_s: None,
            opus_bitrate_bps: 48_000,
        }
    }

    /// PolarGrid: MP3, WAV, M4A, OGG, FLAC, WebM; no documented limits.
    pub fn polargrid() -> UploadRules {
        UploadRules {
            service_name: "PolarGrid",
            accepted: &[
                AudioFormat::PcmWav,
                AudioFormat::OtherWav,
                AudioFormat::Mp3,
                AudioFormat::M4a,
                AudioFormat::OggOpus,
                AudioFormat::OggVorbis,
                AudioFormat::Flac,
                AudioFormat::WebM,
            ],
            max_size_bytes: None,
            max_duration_s: None,
            opus_bitrate_bps: 48_000,
        }
    }

    /// LLM Stats: common formats up to 25 MB.
    pub fn llmstats() -> UploadRules {
        UploadRules {
            service_name: "LLM Stats",
            accepted: ANY_COMMON_FORMAT,
            max_size_bytes: Some(25_000_000),
            max_duration_s: None,
            opus_bitrate_bps: 32_000,
        }
    }

    /// 60db: common formats up to 10 MB and one hour.
    pub fn sixtydb() -> UploadRules {
        UploadRules {
            service_name: "60db",
            accepted: ANY_COMMON_FORMAT,
            max_size_bytes: Some(10_000_000),
            max_duration_s: Some(3600.0),
            opus_bitrate_bps: 32_000,
        }
    }

    pub(super) fn fits(&self, size_bytes: u64, duration_s: Option<f64>) -> bool {
        self.max_size_bytes.is_none_or(|max| size_bytes <= max)
            && match (self.max_duration_s, duration_s) {
                (Some(max), Some(duration)) => duration <= max,
                _ => true,
            }
    }
}

pub(super) fn describe_accepted(rules: &UploadRules) -> &'static str {
    if rules.accepted.contains(&AudioFormat::Mp3) {
        "WAV, FLAC or MP3"
    } else {
        "16-bit WAV or Ogg Opus"
    }
}

pub(super) fn describe_limits(rules: &UploadRules) -> String {
    match (rules.max_size_bytes, rules.max_duration_s) {
        (Some(size), Some(duration)) => format!(
            "{} and {}",
            describe_size(size),
            clock_rounded(duration)
        ),
        (Some(size), None) => describe_size(size),
        (None, Some(duration)) => clock_rounded(duration),
        (None, None) => "none".into(),
    }
}
