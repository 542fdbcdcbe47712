//! How the fakes tell an upload's format: their own reading of each container's header,
//! written apart from the client's `engine::cloud::upload::sniff_bytes`, so that a mistake in
//! the client's sniffing cannot also hide in the server that judges its uploads.
//!
//! Each container is recognised by walking its first structure (RIFF chunks, the Ogg page's
//! first packet, the MP4 `ftyp` box, the EBML header's DocType, an MPEG frame header) rather
//! than by searching for a marker anywhere in the first bytes.

/// An upload's format as a service would see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadFormat {
    /// RIFF/WAVE holding integer PCM of 16, 24 or 32 bits.
    PcmWav,
    /// Any other RIFF/WAVE (8-bit, float, ADPCM, GSM, MP3 inside WAV…).
    OtherWav,
    Mp3,
    /// ISO MP4 audio with the `M4A ` brand.
    M4a,
    /// Any other ISO MP4 file.
    Mp4,
    OggOpus,
    OggVorbis,
    Flac,
    WebM,
    Unknown,
}

impl UploadFormat {
    /// The format's usual short name ("wav", "mp3", "ogg"…), as a service reports it.
    pub fn name(self) -> &'static str {
        match self {
            UploadFormat::PcmWav | UploadFormat::OtherWav => "wav",
            UploadFormat::Mp3 => "mp3",
            UploadFormat::M4a => "m4a",
            UploadFormat::Mp4 => "mp4",
            UploadFormat::OggOpus | UploadFormat::OggVorbis => "ogg",
            UploadFormat::Flac => "flac",
            UploadFormat::WebM => "webm",
            UploadFormat::Unknown => "unknown",
        }
    }
}

/// The format of `data` (a whole upload, or at least its first few KiB).
pub fn sniff_upload(data: &[u8]) -> UploadFormat {
    let readers: [fn(&[u8]) -> Option<UploadFormat>; 6] =
        [riff_wave, ogg, flac, iso_mp4, ebml, mpeg_audio];
    readers
        .iter()
        .find_map(|read| read(data))
        .unwrap_or(UploadFormat::Unknown)
}

fn u16_le(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(data.get(at..at + 2)?.try_into().ok()?))
}

fn u32_le(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

fn u32_be(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

/// RIFF/WAVE: walks the chunks to `fmt ` and reads its format tag and sample size.
fn riff_wave(data: &[u8]) -> Option<UploadFormat> {
    if data.get(0..4)? != b"RIFF" || data.get(8..12)? != b"WAVE" {
        return None;
    }
    let mut at = 12usize;
    while let (Some(id), Some(size)) = (data.get(at..at + 4), u32_le(data, at + 4)) {
        let body = at + 8;
        if id == b"fmt " {
            return Some(wave_fmt(data, body, size as usize));
        }
        at = body
            .checked_add(size as usize)?
            .checked_add(size as usize % 2)?;
    }
    Some(UploadFormat::OtherWav)
}

const WAVE_FORMAT_PCM: u16 = 0x0001;
const WAVE_FORMAT_EXTENSIBLE: u16 = 0xFFFE;
/// The first bytes of KSDATAFORMAT_SUBTYPE_PCM's GUID, after the format tag it repeats.
const PCM_SUBFORMAT_TAIL: [u8; 14] = [
    0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
];

fn wave_fmt(data: &[u8], body: usize, size: usize) -> UploadFormat {
    let (Some(tag), Some(bits)) = (u16_le(data, body), u16_le(data, body + 14)) else {
        return UploadFormat::OtherWav;
    };
    let integer_pcm = match tag {
        WAVE_FORMAT_PCM => size >= 16,
        WAVE_FORMAT_EXTENSIBLE => {
            size >= 40
                && u16_le(data, body + 24) == Some(WAVE_FORMAT_PCM)
                && data.get(body + 26..body + 40) == Some(&PCM_SUBFORMAT_TAIL[..])
        }
        _ => false,
    };
    if integer_pcm && matches!(bits, 16 | 24 | 32) {
        UploadFormat::PcmWav
    } else {
        UploadFormat::OtherWav
    }
}

/// Ogg: the first page's first packet names the codec.
fn ogg(data: &[u8]) -> Option<UploadFormat> {
    if data.get(0..4)? != b"OggS" || *data.get(4)? != 0 {
        return None;
    }
    let segments = usize::from(*data.get(26)?);
    let packet = data.get(27 + segments..)?;
    Some(if packet.starts_with(b"OpusHead") {
        UploadFormat::OggOpus
    } else if packet.starts_with(b"\x01vorbis") {
        UploadFormat::OggVorbis
    } else {
        UploadFormat::Unknown
    })
}

/// FLAC: the marker, then a STREAMINFO block of 34 bytes.
fn flac(data: &[u8]) -> Option<UploadFormat> {
    if data.get(0..4)? != b"fLaC" {
        return None;
    }
    let header = data.get(4..8)?;
    let streaminfo = header[0] & 0x7F == 0 && header[1..] == [0, 0, 34];
    Some(if streaminfo {
        UploadFormat::Flac
    } else {
        UploadFormat::Unknown
    })
}

/// ISO MP4: an `ftyp` box first; `M4A ` as the major or a compatible brand means audio.
fn iso_mp4(data: &[u8]) -> Option<UploadFormat> {
    if data.get(4..8)? != b"ftyp" {
        return None;
    }
    let size = (u32_be(data, 0)? as usize).min(data.len());
    let brands = data.get(8..size.max(12))?;
    let m4a = brands
        .chunks_exact(4)
        .enumerate()
        // Skip the minor version, which sits between the major and the compatible brands.
        .any(|(index, brand)| index != 1 && brand == b"M4A ");
    Some(if m4a {
        UploadFormat::M4a
    } else {
        UploadFormat::Mp4
    })
}

const EBML_MAGIC: [u8; 4] = [0x1A, 0x45, 0xDF, 0xA3];
const EBML_DOCTYPE: u32 = 0x4282;

/// Matroska/WebM: the EBML header's DocType element says which.
fn ebml(data: &[u8]) -> Option<UploadFormat> {
    if data.get(0..4)? != EBML_MAGIC {
        return None;
    }
    let (header_size, width) = ebml_size(data, 4)?;
    let end = (4 + width).checked_add(header_size)?.min(data.len());
    let mut at = 4 + width;
    while at < end {
        let (id, id_width) = ebml_id(data, at)?;
        let (size, size_width) = ebml_size(data, at + id_width)?;
        let body = at + id_width + size_width;
        if id == EBML_DOCTYPE {
            let doctype = data.get(body..body.checked_add(size)?)?;
            return Some(if doctype == b"webm" {
                UploadFormat::WebM
            } else {
                UploadFormat::Unknown
            });
        }
        at = body.checked_add(size)?;
    }
    Some(UploadFormat::Unknown)
}

/// The width of an EBML variable-length number from its first byte (1 to 8).
fn ebml_width(first: u8) -> Option<usize> {
    (first != 0).then(|| first.leading_zeros() as usize + 1)
}

fn ebml_id(data: &[u8], at: usize) -> Option<(u32, usize)> {
    let width = ebml_width(*data.get(at)?).filter(|&width| width <= 4)?;
    let id = data
        .get(at..at + width)?
        .iter()
        .fold(0u32, |id, &byte| (id << 8) | u32::from(byte));
    Some((id, width))
}

fn ebml_size(data: &[u8], at: usize) -> Option<(usize, usize)> {
    let first = *data.get(at)?;
    let width = ebml_width(first)?;
    let marker_cleared = u64::from(first) & (0xFF >> width);
    let size = data
        .get(at + 1..at + width)?
        .iter()
        .fold(marker_cleared, |size, &byte| (size << 8) | u64::from(byte));
    Some((usize::try_from(size).ok()?, width))
}

/// MP3: an optional ID3v2 tag (skipped by its size), then a valid MPEG audio frame header.
fn mpeg_audio(data: &[u8]) -> Option<UploadFormat> {
    let mut at = 0usize;
    if data.get(0..3)? == b"ID3" {
        let size = data
            .get(6..10)?
            .iter()
            .fold(0usize, |size, &byte| (size << 7) | usize::from(byte & 0x7F));
        let footer = if data.get(5)? & 0x10 != 0 { 10 } else { 0 };
        at = 10 + size + footer;
        if at >= data.len() {
            // The tag fills all we have: take the tag's word for it.
            return Some(UploadFormat::Mp3);
        }
        // Some writers pad after the tag.
        while data.get(at) == Some(&0) {
            at += 1;
        }
    }
    let header = data.get(at..at + 4)?;
    let sync = header[0] == 0xFF && header[1] & 0xE0 == 0xE0;
    let version = (header[1] >> 3) & 0x03;
    let layer = (header[1] >> 1) & 0x03;
    let bitrate = header[2] >> 4;
    let sample_rate = (header[2] >> 2) & 0x03;
    let valid = sync && version != 0b01 && layer != 0b00 && bitrate != 0x0F && sample_rate != 0x03;
    valid.then_some(UploadFormat::Mp3)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav_header(tag: u16, bits: u16, extensible_subformat: Option<u16>) -> Vec<u8> {
        let fmt_size: u32 = if extensible_subformat.is_some() {
            40
        } else {
            16
        };
        let mut data = b"RIFF\0\0\0\0WAVE".to_vec();
        // An extra chunk before `fmt `, of odd size (padded), as some writers put there.
        data.extend_from_slice(b"LIST\x03\0\0\0abc\0");
        data.extend_from_slice(b"fmt ");
        data.extend_from_slice(&fmt_size.to_le_bytes());
        data.extend_from_slice(&tag.to_le_bytes());
        data.extend_from_slice(&1u16.to_le_bytes());
        data.extend_from_slice(&16_000u32.to_le_bytes());
        data.extend_from_slice(&(16_000u32 * u32::from(bits) / 8).to_le_bytes());
        data.extend_from_slice(&(bits / 8).to_le_bytes());
        data.extend_from_slice(&bits.to_le_bytes());
        if let Some(subformat) = extensible_subformat {
            data.extend_from_slice(&22u16.to_le_bytes());
            data.extend_from_slice(&bits.to_le_bytes());
            data.extend_from_slice(&4u32.to_le_bytes());
            data.extend_from_slice(&subformat.to_le_bytes());
            data.extend_from_slice(&PCM_SUBFORMAT_TAIL);
        }
        data.extend_from_slice(b"data\0\0\0\0");
        data
    }

    #[test]
    fn wav_is_pcm_only_for_integer_samples_of_16_to_32_bits() {
        assert_eq!(sniff_upload(&wav_header(1, 16, None)), UploadFormat::PcmWav);
        assert_eq!(sniff_upload(&wav_header(1, 24, None)), UploadFormat::PcmWav);
        assert_eq!(
            sniff_upload(&wav_header(1, 8, None)),
            UploadFormat::OtherWav
        );
        assert_eq!(
            sniff_upload(&wav_header(3, 32, None)),
            UploadFormat::OtherWav
        );
        assert_eq!(
            sniff_upload(&wav_header(0xFFFE, 24, Some(1))),
            UploadFormat::PcmWav
        );
        assert_eq!(
            sniff_upload(&wav_header(0xFFFE, 32, Some(3))),
            UploadFormat::OtherWav
        );
        assert_eq!(sniff_upload(b"RIFF\0\0\0\0WAVE"), UploadFormat::OtherWav);
    }

    #[test]
    fn ogg_is_told_by_its_first_packet() {
        let page = |packet: &[u8]| {
            let mut data = b"OggS\0\x02".to_vec();
            data.extend_from_slice(&[0; 20]);
            data.push(1);
            data.push(packet.len() as u8);
            data.extend_from_slice(packet);
            data
        };
        assert_eq!(
            sniff_upload(&page(b"OpusHead\x01\x01")),
            UploadFormat::OggOpus
        );
        assert_eq!(
            sniff_upload(&page(b"\x01vorbis\0\0")),
            UploadFormat::OggVorbis
        );
        assert_eq!(sniff_upload(&page(b"\x7fFLAC\x01")), UploadFormat::Unknown);
        // A marker later in the page is not the codec.
        assert_eq!(sniff_upload(&page(b"junk OpusHead")), UploadFormat::Unknown);
    }

    #[test]
    fn mp4_brands_and_ebml_doctypes_are_read_from_their_structure() {
        let ftyp = |major: &[u8; 4], compatible: &[u8]| {
            let mut data = ((16 + compatible.len()) as u32).to_be_bytes().to_vec();
            data.extend_from_slice(b"ftyp");
            data.extend_from_slice(major);
            data.extend_from_slice(b"\0\0\x02\0");
            data.extend_from_slice(compatible);
            data
        };
        assert_eq!(sniff_upload(&ftyp(b"M4A ", b"isom")), UploadFormat::M4a);
        assert_eq!(sniff_upload(&ftyp(b"mp42", b"isomM4A ")), UploadFormat::M4a);
        assert_eq!(sniff_upload(&ftyp(b"isom", b"mp41")), UploadFormat::Mp4);

        let ebml = |doctype: &[u8]| {
            let mut data = EBML_MAGIC.to_vec();
            data.push(0x80 | (7 + doctype.len()) as u8);
            data.extend_from_slice(&[0x42, 0x86, 0x81, 0x01]); // EBMLVersion 1
            data.extend_from_slice(&[0x42, 0x82, 0x80 | doctype.len() as u8]);
            data.extend_from_slice(doctype);
            data
        };
        assert_eq!(sniff_upload(&ebml(b"webm")), UploadFormat::WebM);
        assert_eq!(sniff_upload(&ebml(b"matroska")), UploadFormat::Unknown);
    }

    #[test]
    fn mp3_needs_a_real_frame_header_after_any_id3_tag() {
        let frame = [0xFF, 0xFB, 0x90, 0x64];
        assert_eq!(sniff_upload(&frame), UploadFormat::Mp3);
        let mut tagged = b"ID3\x04\0\0\0\0\0\x05hello".to_vec();
        tagged.extend_from_slice(&frame);
        assert_eq!(sniff_upload(&tagged), UploadFormat::Mp3);
        // ADTS AAC (layer bits 00) and a reserved version are not MP3.
        assert_eq!(
            sniff_upload(&[0xFF, 0xF1, 0x50, 0x80]),
            UploadFormat::Unknown
        );
        assert_eq!(
            sniff_upload(&[0xFF, 0xEB, 0x90, 0x64]),
            UploadFormat::Unknown
        );
        assert_eq!(sniff_upload(b"fLaC\0\0\0\x22"), UploadFormat::Flac);
        assert_eq!(sniff_upload(b""), UploadFormat::Unknown);
    }
}
