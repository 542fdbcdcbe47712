//! Picks the decoder for a file from its first bytes (never its name): our own reader for
//! PCM/float WAV and for Ogg Opus, symphonia for everything else (MP3, AAC/M4A, FLAC, Vorbis,
//! ADPCM WAV, video containers), after the container checks that keep symphonia from sizing
//! allocations from unchecked header fields.

use super::error::AudioError;
use super::source::{Source, read_up_to};
use super::{container_check, ogg_opus, symphonia_source, wav};
use std::fs::File;
use std::path::Path;

/// WAV format tags symphonia decodes: Microsoft and IMA ADPCM, A-law, µ-law.
const SYMPHONIA_WAV_CODECS: [u16; 4] = [0x0002, 0x0011, 0x0006, 0x0007];

/// Opens the right decoder for `path`.
pub(crate) fn open_source(path: &Path) -> Result<Box<dyn Source>, AudioError> {
    let magic = read_magic(path)?;
    let is_wav = magic.len() >= 12
        && (magic.starts_with(b"RIFF") || magic.starts_with(b"RF64"))
        && magic.get(8..12) == Some(b"WAVE".as_slice());
    if is_wav && let Some(source) = open_wav(path)? {
        return Ok(source);
    }
    if magic.starts_with(b"OggS")
        && let Some(source) = ogg_opus::OggOpusSource::open(path)?
    {
        return Ok(Box::new(source));
    }
    container_check::check(path).map_err(|reason| AudioError::unsupported(path, reason))?;
    Ok(Box::new(symphonia_source::SymphoniaSource::open_part(
        path, None,
    )?))
}

/// The first 12 bytes of the file (fewer if it is shorter); an empty file or a folder is an
/// error here.
fn read_magic(path: &Path) -> Result<Vec<u8>, AudioError> {
    let mut file = File::open(path).map_err(|error| AudioError::open(path, error))?;
    let metadata = file
        .metadata()
        .map_err(|error| AudioError::open(path, error))?;
    if metadata.is_dir() {
        return Err(AudioError::open(path, "it is a folder, not a file"));
    }
    if metadata.len() == 0 {
        return Err(AudioError::no_audio(path, "the file is empty"));
    }
    let mut magic = [0_u8; 12];
    let magic_len =
        read_up_to(&mut file, &mut magic).map_err(|error| AudioError::open(path, error))?;
    Ok(magic.get(..magic_len).unwrap_or_default().to_vec())
}

/// A WAV file's decoder: ours for PCM and float, symphonia for an MP3 inside (its data chunk
/// read as a file of its own); `None` for the codecs symphonia reads from the whole file.
fn open_wav(path: &Path) -> Result<Option<Box<dyn Source>>, AudioError> {
    match wav::WavSource::open(path)? {
        wav::WavContents::Pcm(source) => Ok(Some(Box::new(source))),
        // MP3 in a WAV wrapper: the data chunk is a plain MP3 stream.
        wav::WavContents::Compressed {
            format_tag: 0x0050 | 0x0055,
            data_start,
            data_end,
        } => {
            // symphonia probes the data chunk as a file of its own.
            container_check::check_part(path, data_start, data_end)
                .map_err(|reason| AudioError::unsupported(path, reason))?;
            let part = symphonia_source::FilePart {
                start: data_start,
                end: data_end,
                extension: Some("mp3"),
            };
            Ok(Some(Box::new(
                symphonia_source::SymphoniaSource::open_part(path, Some(part))?,
            )))
        }
        wav::WavContents::Compressed { format_tag, .. }
            if !SYMPHONIA_WAV_CODECS.contains(&format_tag) =>
        {
            Err(AudioError::unsupported(
                path,
                format!(
                    "a WAV in {} (format 0x{format_tag:04X}), which Verbatim cannot decode",
                    wav::format_tag_name(format_tag)
                ),
            ))
        }
        wav::WavContents::Compressed { .. } => Ok(None),
    }
}
