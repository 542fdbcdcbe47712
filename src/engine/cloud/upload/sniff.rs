//! Telling an upload's format from its first bytes (the extension only breaks ties), so a
//! file goes to a service in a format it takes whatever it is named.

use crate::engine::EngineError;
use std::io::Read;
use std::path::Path;

/// A container/codec, told from the file's first bytes (the extension only breaks ties).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioFormat {
    /// WAV with integer PCM at 16, 24 or 32 bits.
    PcmWav,
    /// Any other WAV (8-bit, float, ADPCM…).
    OtherWav,
    Mp3,
    /// MP4 audio (`M4A ` brand).
    M4a,
    /// Other MP4 (video container, generic brands).
    Mp4,
    OggOpus,
    OggVorbis,
    Flac,
    WebM,
    Unknown,
}

impl AudioFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            AudioFormat::PcmWav | AudioFormat::OtherWav => "audio/wav",
            AudioFormat::Mp3 => "audio/mpeg",
            AudioFormat::M4a | AudioFormat::Mp4 => "audio/mp4",
            AudioFormat::OggOpus | AudioFormat::OggVorbis => "audio/ogg",
            AudioFormat::Flac => "audio/flac",
            AudioFormat::WebM => "audio/webm",
            AudioFormat::Unknown => "application/octet-stream",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            AudioFormat::PcmWav | AudioFormat::OtherWav => "wav",
            AudioFormat::Mp3 => "mp3",
            AudioFormat::M4a => "m4a",
            AudioFormat::Mp4 => "mp4",
            AudioFormat::OggOpus | AudioFormat::OggVorbis => "ogg",
            AudioFormat::Flac => "flac",
            AudioFormat::WebM => "webm",
            AudioFormat::Unknown => "bin",
        }
    }
}

/// Tells a file's format from its first bytes.
pub fn sniff_file(path: &Path) -> Result<AudioFormat, EngineError> {
    let mut head = Vec::with_capacity(4096);
    std::fs::File::open(path)
        .and_then(|file| file.take(4096).read_to_end(&mut head))
        .map_err(|error| {
            EngineError::Service(format!("cannot read {}: {error}", path.display()))
        })?;
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    Ok(sniff_bytes(&head, &extension))
}

/// Tells a format from the first bytes of a file; `extension` (lower case) breaks ties.
pub fn sniff_bytes(head: &[u8], extension: &str) -> AudioFormat {
    let starts = |magic: &[u8]| head.starts_with(magic);
    if starts(b"RIFF") && head.get(8..12) == Some(b"WAVE") {
        return sniff_wav(head);
    }
    if starts(b"OggS") {
        if contains(head, b"OpusHead") {
            return AudioFormat::OggOpus;
        }
        if contains(head, b"\x01vorbis") {
            return AudioFormat::OggVorbis;
        }
        return AudioFormat::Unknown;
    }
    if starts(b"fLaC") {
        return AudioFormat::Flac;
    }
    if head.get(4..8) == Some(b"ftyp") {
        return if head.get(8..12) == Some(b"M4A ") || extension == "m4a" {
            AudioFormat::M4a
        } else {
            AudioFormat::Mp4
        };
    }
    if starts(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return if contains(head, b"webm") {
            AudioFormat::WebM
        } else {
            AudioFormat::Unknown
        };
    }
    if starts(b"ID3") {
        return if extension == "flac" {
            AudioFormat::Flac
        } else {
            AudioFormat::Mp3
        };
    }
    // An MPEG audio frame sync with a layer set (ADTS AAC has layer bits 00).
    if let [0xFF, second, ..] = head
        && second & 0xE0 == 0xE0
        && (second >> 1) & 0x03 != 0
    {
        return AudioFormat::Mp3;
    }
    AudioFormat::Unknown
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

fn sniff_wav(head: &[u8]) -> AudioFormat {
    let mut offset = 12usize;
    while let Some(chunk) = head.get(offset..offset + 8) {
        let size = u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]) as usize;
        if &chunk[0..4] == b"fmt " {
            let Some(fmt) = head.get(offset + 8..offset + 8 + size.min(40)) else {
                return AudioFormat::OtherWav;
            };
            let tag = fmt
                .get(0..2)
                .map(|b| u16::from_le_bytes([b[0], b[1]]))
                .unwrap_or(0);
            let bits = fmt
                .get(14..16)
                .map(|b| u16::from_le_bytes([b[0], b[1]]))
                .unwrap_or(0);
            let integer_pcm = match tag {
                1 => true,
                0xFFFE => fmt
                    .get(24..26)
                    .is_some_and(|b| u16::from_le_bytes([b[0], b[1]]) == 1),
                _ => false,
            };
            return if integer_pcm && matches!(bits, 16 | 24 | 32) {
                AudioFormat::PcmWav
            } else {
                AudioFormat::OtherWav
            };
        }
        offset = offset.saturating_add(8).saturating_add(size + (size & 1));
    }
    AudioFormat::OtherWav
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::cloud::upload::tests::testdata;

    #[test]
    fn formats_are_told_from_content_not_extension() {
        let Some(jfk) = testdata("speech/jfk.wav") else {
            return;
        };
        assert_eq!(sniff_file(&jfk).unwrap(), AudioFormat::PcmWav);
        if let Some(mp3) = testdata("speech/jfk.mp3") {
            assert_eq!(sniff_file(&mp3).unwrap(), AudioFormat::Mp3);
        }
        if let Some(flac) = testdata("speech/jfk.flac") {
            assert_eq!(sniff_file(&flac).unwrap(), AudioFormat::Flac);
        }
        let mut opus = b"OggS\0\x02".to_vec();
        opus.extend_from_slice(&[0; 22]);
        opus.extend_from_slice(b"OpusHead");
        assert_eq!(sniff_bytes(&opus, "wav"), AudioFormat::OggOpus);
        let mut m4a = vec![0, 0, 0, 0x20];
        m4a.extend_from_slice(b"ftypM4A ");
        assert_eq!(sniff_bytes(&m4a, ""), AudioFormat::M4a);
        assert_eq!(sniff_bytes(b"hello", "mp3"), AudioFormat::Unknown);
        assert_eq!(
            sniff_bytes(&[0xFF, 0xF1, 0, 0], "aac"),
            AudioFormat::Unknown
        );
    }

    #[test]
    fn non_pcm_wav_is_not_taken_as_pcm() {
        // The hound test sample of IEEE float WAV.
        let Some(dir) = testdata("wav-edge") else {
            return;
        };
        let mut saw_float = false;
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().to_lowercase();
            if name.ends_with(".wav") && name.contains("ieee") {
                assert_eq!(
                    sniff_file(&entry.path()).unwrap(),
                    AudioFormat::OtherWav,
                    "{name}"
                );
                saw_float = true;
            }
        }
        if !saw_float {
            crate::dev::testdata::missing("no float WAV in wav-edge");
        }
    }
}
