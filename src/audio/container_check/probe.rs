//! Where symphonia 0.5 will find a format in a file, so that the checks start where its reader
//! will — not only at byte 0.
//!
//! symphonia's `Probe::next` slides a two-byte window over the stream, up to 1 MiB of it, and
//! takes the first position where any registered format's marker begins (the 16 bytes from
//! there must be readable). So junk in front of an MP4 or a Matroska file reaches those readers
//! as surely as a clean file does. An ID3v2 tag found that way is read as metadata, and the
//! search starts again right after it (`10 + size` bytes on), with a fresh 1 MiB.

use super::Reader;

/// How far `Probe::next` looks for a marker (its `PROBE_SEARCH_LIMIT`).
const SEARCH_LIMIT_BYTES: u64 = 1 << 20;
/// Bytes the probe reads at a candidate position before comparing markers.
const CONTEXT_BYTES: u64 = 16;

/// A format symphonia's default probe knows, by the reader it would hand the file to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Marker {
    Adts,
    Caf,
    Flac,
    Mp4,
    Mpeg,
    Aiff,
    Riff,
    Ogg,
    Matroska,
    Id3v2,
}

/// Every marker of the default probe (symphonia 0.5 with all features), in its order.
const MARKERS: [(&[u8], Marker); 26] = [
    (&[0xFF, 0xF1], Marker::Adts),
    (b"caff", Marker::Caf),
    (b"fLaC", Marker::Flac),
    (b"ftyp", Marker::Mp4),
    // MPEG audio layers 1, 2 and 3, versions 1, 2 and 2.5, with and without CRC.
    (&[0xFF, 0xFE], Marker::Mpeg),
    (&[0xFF, 0xFF], Marker::Mpeg),
    (&[0xFF, 0xF6], Marker::Mpeg),
    (&[0xFF, 0xF7], Marker::Mpeg),
    (&[0xFF, 0xE6], Marker::Mpeg),
    (&[0xFF, 0xE7], Marker::Mpeg),
    (&[0xFF, 0xFC], Marker::Mpeg),
    (&[0xFF, 0xFD], Marker::Mpeg),
    (&[0xFF, 0xF4], Marker::Mpeg),
    (&[0xFF, 0xF5], Marker::Mpeg),
    (&[0xFF, 0xE4], Marker::Mpeg),
    (&[0xFF, 0xE5], Marker::Mpeg),
    (&[0xFF, 0xFA], Marker::Mpeg),
    (&[0xFF, 0xFB], Marker::Mpeg),
    (&[0xFF, 0xF2], Marker::Mpeg),
    (&[0xFF, 0xF3], Marker::Mpeg),
    (&[0xFF, 0xE2], Marker::Mpeg),
    (&[0xFF, 0xE3], Marker::Mpeg),
    (b"FORM", Marker::Aiff),
    (b"RIFF", Marker::Riff),
    (b"OggS", Marker::Ogg),
    (b"\x1A\x45\xDF\xA3", Marker::Matroska),
];
const ID3_MARKER: &[u8] = b"ID3";

/// The first marker at or after `start`, as the probe finds it: its format and position.
pub(super) fn first_marker(
    reader: &mut Reader,
    start: u64,
) -> Result<Option<(Marker, u64)>, String> {
    let available = reader.file_len().saturating_sub(start);
    // The last window the probe looks at ends at byte SEARCH_LIMIT_BYTES, and each candidate
    // needs its 16 bytes of context.
    let wanted = available.min(SEARCH_LIMIT_BYTES - 2 + CONTEXT_BYTES);
    let mut window = vec![0_u8; usize::try_from(wanted).map_err(|error| error.to_string())?];
    reader
        .read_exact_at(start, &mut window)
        .map_err(|error| error.to_string())?;
    let last_start = window.len().saturating_sub(CONTEXT_BYTES as usize);
    for offset in 0..=last_start.min(window.len()) {
        let Some(context) = window.get(offset..offset + CONTEXT_BYTES as usize) else {
            break;
        };
        if context.starts_with(ID3_MARKER) {
            return Ok(Some((Marker::Id3v2, start + offset as u64)));
        }
        if let Some((_, marker)) = MARKERS.iter().find(|(bytes, _)| context.starts_with(bytes)) {
            return Ok(Some((*marker, start + offset as u64)));
        }
    }
    Ok(None)
}

/// Checks an ID3v2 tag the probe found inside the stream and returns where the search goes on,
/// or `None` where symphonia stops reading (a version or flag it refuses).
///
/// symphonia reads each frame into memory at its declared size before checking it against the
/// tag: an ID3v2.3 frame can claim 4 GB. ID3v2.2 frames (24-bit sizes) and ID3v2.4 frames
/// (28-bit) cannot claim more than 256 MB, the most a whole tag can hold, so only ID3v2.3
/// frames are walked. (Tags at the very start of a file never reach symphonia: they are
/// skipped, see `id3v2_end`.)
pub(super) fn check_id3v2_in_stream(reader: &mut Reader, at: u64) -> Result<Option<u64>, String> {
    let header: [u8; 10] = reader.bytes(at)?;
    let [_, _, _, major, minor, flags, s0, s1, s2, s3] = header;
    if major == 0xFF
        || minor == 0xFF
        || !(2..=4).contains(&major)
        || (major == 2 && flags & 0x40 != 0)
    {
        return Ok(None);
    }
    let size = [s0, s1, s2, s3]
        .iter()
        .fold(0_u64, |size, byte| (size << 7) | u64::from(byte & 0x7F));
    let tag_end = at + 10 + size;
    if major == 3 {
        if flags & 0x80 != 0 {
            // Unsynchronised as a whole: the frame headers cannot be read as they lie.
            return Err("an ID3v2.3 tag inside the file is unsynchronised".to_string());
        }
        let mut frames_start = at + 10;
        if flags & 0x40 != 0 {
            let extended = u64::from(reader.u32_be(frames_start)?);
            if extended != 6 && extended != 10 {
                return Ok(None); // symphonia refuses the tag
            }
            frames_start += 4 + extended;
        }
        check_id3v23_frames(reader, frames_start, tag_end)?;
    }
    Ok(Some(tag_end))
}

/// ID3v2.3 frames from `start` to `tag_end`: each within the tag.
fn check_id3v23_frames(reader: &mut Reader, start: u64, tag_end: u64) -> Result<(), String> {
    const FRAME_HEADER_BYTES: u64 = 10;
    let mut position = start;
    while tag_end.saturating_sub(position) >= FRAME_HEADER_BYTES {
        let id: [u8; 4] = reader.bytes(position)?;
        if !id
            .iter()
            .all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit())
        {
            return Ok(()); // padding: symphonia stops here
        }
        let size = u64::from(reader.u32_be(position + 4)?);
        let room = tag_end - position - FRAME_HEADER_BYTES;
        if size > room {
            return Err(format!(
                "the ID3 frame '{}' claims {size} bytes but its tag holds {room}",
                String::from_utf8_lossy(&id)
            ));
        }
        position += FRAME_HEADER_BYTES + size;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader_over(bytes: &[u8]) -> (tempfile::TempDir, Reader) {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("probe.bin");
        std::fs::write(&path, bytes).unwrap();
        let reader = Reader::open(&path).unwrap();
        (directory, reader)
    }

    #[test]
    fn the_first_marker_wins_wherever_it_is_within_a_mebibyte() {
        let mut bytes = vec![b' '; 5000];
        bytes.extend_from_slice(b"\0\0\0\x20ftypM4A ");
        bytes.extend_from_slice(&[0; 32]);
        let (_dir, mut reader) = reader_over(&bytes);
        assert_eq!(
            first_marker(&mut reader, 0).unwrap(),
            Some((Marker::Mp4, 5004))
        );
        // An MPEG sync word before it is what the probe takes instead.
        bytes[100] = 0xFF;
        bytes[101] = 0xFB;
        let (_dir, mut reader) = reader_over(&bytes);
        assert_eq!(
            first_marker(&mut reader, 0).unwrap(),
            Some((Marker::Mpeg, 100))
        );
    }

    #[test]
    fn a_marker_past_the_limit_or_without_its_context_is_not_found() {
        let mut bytes = vec![0_u8; (SEARCH_LIMIT_BYTES - 2) as usize];
        bytes.extend_from_slice(b"OggS");
        bytes.extend_from_slice(&[0; 16]);
        let (_dir, mut reader) = reader_over(&bytes);
        assert_eq!(
            first_marker(&mut reader, 0).unwrap(),
            Some((Marker::Ogg, SEARCH_LIMIT_BYTES - 2)),
            "the last window the probe looks at"
        );
        let (_dir, mut reader) = reader_over(&bytes[1..]);
        assert_eq!(
            first_marker(&mut reader, 0).unwrap().map(|(m, _)| m),
            Some(Marker::Ogg)
        );
        let mut late = vec![0_u8; (SEARCH_LIMIT_BYTES - 1) as usize];
        late.extend_from_slice(b"OggS");
        late.extend_from_slice(&[0; 16]);
        let (_dir, mut reader) = reader_over(&late);
        assert_eq!(
            first_marker(&mut reader, 0).unwrap(),
            None,
            "one byte too far"
        );
        let (_dir, mut reader) = reader_over(b"....fLaC\0\0\0");
        assert_eq!(
            first_marker(&mut reader, 0).unwrap(),
            None,
            "no 16 bytes of context"
        );
    }

    #[test]
    fn an_id3v23_frame_larger_than_its_tag_is_refused() {
        let mut tag = b"ID3\x03\x00\x00\x00\x00\x00\x20".to_vec(); // 32 bytes of frames
        tag.extend_from_slice(b"TIT2");
        tag.extend_from_slice(&u32::MAX.to_be_bytes());
        tag.extend_from_slice(&[0; 2 + 22]);
        let (_dir, mut reader) = reader_over(&tag);
        assert!(
            check_id3v2_in_stream(&mut reader, 0)
                .unwrap_err()
                .contains("TIT2")
        );
        tag[14..18].copy_from_slice(&5_u32.to_be_bytes());
        let (_dir, mut reader) = reader_over(&tag);
        assert_eq!(check_id3v2_in_stream(&mut reader, 0), Ok(Some(42)));
    }
}
