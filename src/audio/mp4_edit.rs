//! The edit list of an MP4/M4A audio track: which stretch of the decoded samples is the real
//! audio. AAC encoders put 1024–2112 samples of priming before the sound and padding after;
//! the edit list says how much, and symphonia 0.5 does not apply it. Without this, AAC from
//! phones and videos would come out 23–64 ms late.

use super::container_check::Reader;
use std::ops::Range;
use std::path::Path;

/// The part of the first sound track to play, in seconds of its decoded output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct AudioEdit {
    /// Priming to drop from the start.
    pub skip_s: f64,
    /// How long the audio lasts after that, if the edit says.
    pub duration_s: Option<f64>,
}

/// Reads the edit of the first sound track; `None` if there is none or the file is not MP4.
/// Call only on files that passed `container_check::check`.
pub(crate) fn first_audio_edit(path: &Path) -> Option<AudioEdit> {
    let mut reader = Reader::open(path)?;
    let file_len = reader.file_len();
    let moov = child(&mut reader, 0..file_len, b"moov")?;
    let mvhd = child(&mut reader, moov.clone(), b"mvhd")?;
    let movie_timescale = timescale(&mut reader, mvhd)?;
    for trak in children(&mut reader, moov, b"trak") {
        let Some(mdia) = child(&mut reader, trak.clone(), b"mdia") else {
            continue;
        };
        let is_sound = child(&mut reader, mdia.clone(), b"hdlr")
            .and_then(|hdlr| reader.bytes::<4>(hdlr.start + 8).ok())
            .is_some_and(|handler| &handler == b"soun");
        if !is_sound {
            continue;
        }
        let media_timescale =
            child(&mut reader, mdia, b"mdhd").and_then(|mdhd| timescale(&mut reader, mdhd))?;
        let elst = child(&mut reader, trak.clone(), b"edts")
            .and_then(|edts| child(&mut reader, edts, b"elst"))?;
        return first_edit(&mut reader, elst, movie_timescale, media_timescale);
    }
    None
}

/// The first non-empty edit: where it starts in the media and how long it lasts.
fn first_edit(
    reader: &mut Reader,
    elst: Range<u64>,
    movie_timescale: u64,
    media_timescale: u64,
) -> Option<AudioEdit> {
    let version = reader.bytes::<1>(elst.start).ok()?[0];
    let count = u64::from(reader.u32_be(elst.start + 4).ok()?);
    let entry_bytes = if version == 1 { 20 } else { 12 };
    for index in 0..count.min(16) {
        let entry = elst.start + 8 + index * entry_bytes;
        let (duration, media_time) = if version == 1 {
            (
                reader.u64_be(entry).ok()?,
                reader.u64_be(entry + 8).ok()? as i64,
            )
        } else {
            (
                u64::from(reader.u32_be(entry).ok()?),
                i64::from(reader.u32_be(entry + 4).ok()? as i32),
            )
        };
        if media_time < 0 {
            continue; // an empty edit (a delay before the track starts)
        }
        let skip_s = media_time as f64 / media_timescale as f64;
        let duration_s = (duration > 0).then(|| duration as f64 / movie_timescale as f64);
        return Some(AudioEdit { skip_s, duration_s })
            .filter(|edit| edit.skip_s.is_finite() && edit.skip_s < 10.0);
    }
    None
}

/// The timescale field of an `mvhd` or `mdhd` box (after version, flags and two times).
fn timescale(reader: &mut Reader, payload: Range<u64>) -> Option<u64> {
    let version = reader.bytes::<1>(payload.start).ok()?[0];
    let offset = if version == 1 { 20 } else { 12 };
    let value = u64::from(reader.u32_be(payload.start + offset).ok()?);
    (value > 0).then_some(value)
}

/// The payload of the first child box of `kind` within `range`.
fn child(reader: &mut Reader, range: Range<u64>, kind: &[u8; 4]) -> Option<Range<u64>> {
    children(reader, range, kind).into_iter().next()
}

/// The payloads of the child boxes of `kind` within `range` (at most 64).
fn children(reader: &mut Reader, range: Range<u64>, kind: &[u8; 4]) -> Vec<Range<u64>> {
    let mut found = Vec::new();
    let mut position = range.start;
    while range.end.saturating_sub(position) >= 8 && found.len() < 64 {
        let Ok(size32) = reader.u32_be(position) else {
            break;
        };
        let Ok(box_kind) = reader.bytes::<4>(position + 4) else {
            break;
        };
        let (header, size) = match size32 {
            0 => (8, range.end - position),
            1 => match reader.u64_be(position + 8) {
                Ok(size) => (16, size),
                Err(_) => break,
            },
            size => (8, u64::from(size)),
        };
        if size < header || size > range.end - position {
            break;
        }
        if &box_kind == kind {
            found.push(position + header..position + size);
        }
        position += size;
    }
    found
}
