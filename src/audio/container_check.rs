//! Structure checks run before symphonia sees a file: MP4/MOV/M4A, CAF, AIFF, FLAC, Ogg, WAV
//! and Matroska/WebM.
//!
//! symphonia 0.5's readers for these formats size allocations from header fields without
//! comparing them to the file: an MP4 table claiming four billion entries, a box claiming a
//! terabyte or a Matroska element claiming an exabyte makes it ask for that much memory, and a
//! failed allocation aborts the process (it cannot be caught like a panic). So we walk the
//! structure first, reading only headers and counts, and refuse any file whose boxes, chunks or
//! elements claim more than the file holds. The walk starts where symphonia's probe will find
//! the format ([`probe`]), which is not always byte 0.

mod ebml;
mod probe;

use probe::Marker;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// Largest single MP4 sample (an encoded packet) accepted: far beyond any real audio packet.
const MAX_SAMPLE_BYTES: u64 = 16 << 20;
/// Deepest nesting of MP4 boxes walked (real files use about 8).
const MAX_DEPTH: usize = 24;
/// ID3v2 tags read inside a stream before giving up (symphonia reads any number).
const MAX_TAGS_IN_STREAM: usize = 16;

/// Checks the file before symphonia opens it; `Err` holds the reason to refuse it. Starts past
/// leading ID3v2 tags, as symphonia is then given the file without them.
pub(crate) fn check(path: &Path) -> Result<(), String> {
    let start = id3v2_end(path).unwrap_or(0);
    let file_len = std::fs::metadata(path)
        .map_err(|error| error.to_string())?
        .len();
    check_part(path, start, file_len)
}

/// Checks the bytes `start..end` of the file as symphonia will read them (a stream wrapped in
/// another container, or the file after its tags).
pub(crate) fn check_part(path: &Path, start: u64, end: u64) -> Result<(), String> {
    let mut reader = Reader::open(path).ok_or_else(|| "the file cannot be read".to_string())?;
    reader.file_len = reader.file_len.min(end);
    let mut search_from = start;
    for _ in 0..MAX_TAGS_IN_STREAM {
        let (marker, at) = match probe::first_marker(&mut reader, search_from)? {
            Some(found) => found,
            None => return Ok(()), // symphonia finds no format either
        };
        match marker {
            Marker::Id3v2 => match probe::check_id3v2_in_stream(&mut reader, at)? {
                Some(tag_end) => search_from = tag_end,
                None => return Ok(()),
            },
            // Its reader starts at the box the `ftyp` marker is the type of.
            Marker::Mp4 => {
                let box_start = at.saturating_sub(4).max(start);
                let end = reader.file_len;
                return walk_boxes(&mut reader, box_start, end, 0, true);
            }
            Marker::Caf => return check_caf(&mut reader, at),
            Marker::Aiff => {
                let form: [u8; 12] = reader.bytes(at)?;
                return match &form[8..12] {
                    b"AIFF" | b"AIFC" => check_aiff(&mut reader, at),
                    _ => Ok(()), // symphonia refuses it
                };
            }
            Marker::Flac => return check_flac_blocks(&mut reader, at + 4),
            Marker::Ogg => return check_ogg_headers(path, at),
            Marker::Riff => return check_riff(&mut reader, at),
            Marker::Matroska => return ebml::check_matroska(&mut reader, at),
            // Frame by frame, with sizes a few kilobytes at most.
            Marker::Adts | Marker::Mpeg => return Ok(()),
        }
    }
    Err("the file holds ID3 tag after ID3 tag".to_string())
}

/// Where the ID3v2 tags at the start of the file end (several may follow each other).
pub(crate) fn id3v2_end(path: &Path) -> Option<u64> {
    let mut file = File::open(path).ok()?;
    let mut end = 0_u64;
    for _ in 0..8 {
        let mut header = [0_u8; 10];
        file.seek(SeekFrom::Start(end)).ok()?;
        if file.read_exact(&mut header).is_err() {
            break;
        }
        let [i, d, three, _, _, flags, s0, s1, s2, s3] = header;
        if [i, d, three] != *b"ID3" || [s0, s1, s2, s3].iter().any(|byte| byte & 0x80 != 0) {
            break;
        }
        let size =
            (u64::from(s0) << 21) | (u64::from(s1) << 14) | (u64::from(s2) << 7) | u64::from(s3);
        let footer = if flags & 0x10 != 0 { 10 } else { 0 };
        end += 10 + size + footer;
    }
    (end > 0).then_some(end)
}

/// Random-access reads of small fields. Reads close ahead of the last one are served from
/// the buffer, so walking many small headers in order costs few system calls.
pub(crate) struct Reader {
    inner: BufReader<File>,
    /// Where `inner` stands.
    position: u64,
    /// The end of what is checked: the file's length, or the end of a stream inside it.
    file_len: u64,
}

impl Reader {
    pub(crate) fn open(path: &Path) -> Option<Reader> {
        let file = File::open(path).ok()?;
        let file_len = file.metadata().ok()?.len();
        Some(Reader {
            inner: BufReader::new(file),
            position: 0,
            file_len,
        })
    }

    pub(crate) fn file_len(&self) -> u64 {
        self.file_len
    }

    pub(crate) fn bytes<const N: usize>(&mut self, position: u64) -> Result<[u8; N], String> {
        let mut buffer = [0_u8; N];
        self.read_exact_at(position, &mut buffer)
            .map_err(|_| "the file ends inside a header".to_string())?;
        Ok(buffer)
    }

    /// Fills `buffer` from `position` (an error past the end of the file).
    fn read_exact_at(&mut self, position: u64, buffer: &mut [u8]) -> std::io::Result<()> {
        if position.saturating_add(buffer.len() as u64) > self.file_len {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let ahead = position
            .checked_sub(self.position)
            .and_then(|ahead| i64::try_from(ahead).ok());
        match ahead {
            Some(ahead) => self.inner.seek_relative(ahead)?,
            None => {
                self.inner.seek(SeekFrom::Start(position))?;
            }
        }
        self.position = position;
        self.inner.read_exact(buffer)?;
        self.position += buffer.len() as u64;
        Ok(())
    }

    pub(crate) fn u32_be(&mut self, position: u64) -> Result<u32, String> {
        self.bytes::<4>(position).map(u32::from_be_bytes)
    }

    pub(crate) fn u64_be(&mut self, position: u64) -> Result<u64, String> {
        self.bytes::<8>(position).map(u64::from_be_bytes)
    }
}

/// MP4 boxes whose payload is a list of boxes.
const CONTAINERS: [&[u8; 4]; 12] = [
    b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"mvex", b"moof", b"traf", b"dinf",
    b"udta", b"mfra",
];
/// Audio sample entries symphonia reads, whose child boxes it reads too.
const AUDIO_ENTRIES: [&[u8; 4]; 9] = [
    b"mp4a", b"alac", b"Opus", b"fLaC", b"lpcm", b"sowt", b"twos", b"ulaw", b"alaw",
];

/// Checks the boxes in `start..end`. `top_level` allows a truncated `mdat` (an interrupted
/// recording), since its size is never used to allocate.
fn walk_boxes(
    reader: &mut Reader,
    start: u64,
    end: u64,
    depth: usize,
    top_level: bool,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err("MP4 boxes are nested too deeply".to_string());
    }
    let mut position = start;
    while end - position >= 8 {
        let size32 = reader.u32_be(position)?;
        let kind: [u8; 4] = reader.bytes(position + 4)?;
        let name = String::from_utf8_lossy(&kind).into_owned();
        let (header_len, size) = match size32 {
            0 => (8, end - position),
            1 => (16, reader.u64_be(position + 8)?),
            size => (8, u64::from(size)),
        };
        if size < header_len {
            return Err(format!(
                "MP4 box '{name}' has an impossible size ({size} bytes)"
            ));
        }
        if size > end - position {
            if top_level && &kind == b"mdat" {
                return Ok(());
            }
            return Err(format!(
                "MP4 box '{name}' claims {size} bytes but only {} remain",
                end - position
            ));
        }
        let payload = position + header_len..position + size;
        check_box(reader, &kind, payload, depth)?;
        position += size;
    }
    Ok(())
}

/// Checks one box's payload: recurses into containers, checks tables' counts and sizes.
fn check_box(
    reader: &mut Reader,
    kind: &[u8; 4],
    payload: std::ops::Range<u64>,
    depth: usize,
) -> Result<(), String> {
    let length = payload.end - payload.start;
    let start = payload.start;
    let table = |entry_bytes: u64, header_bytes: u64, count: u64| -> Result<(), String> {
        let needed = count
            .checked_mul(entry_bytes)
            .and_then(|bytes| bytes.checked_add(header_bytes));
        match needed {
            Some(needed) if needed <= length => Ok(()),
            _ => Err(format!(
                "MP4 table '{}' claims {count} entries but its box holds {length} bytes",
                String::from_utf8_lossy(kind)
            )),
        }
    };
    let count_at = |reader: &mut Reader, offset: u64| -> Result<u64, String> {
        if offset + 4 > length {
            return Err(format!(
                "MP4 box '{}' is cut short",
                String::from_utf8_lossy(kind)
            ));
        }
        reader.u32_be(start + offset).map(u64::from)
    };
    match kind {
        kind if CONTAINERS.contains(&kind) => {
            walk_boxes(reader, start, payload.end, depth + 1, false)
        }
        b"ilst" => {
            // Metadata items: each is a box holding `data` boxes.
            walk_boxes(reader, start, payload.end, depth + 1, false)
        }
        b"meta" => {
            // ISO `meta` has a 4-byte version/flags before its children; QuickTime's does not.
            let quicktime = length >= 8 && &reader.bytes::<4>(start + 4)? == b"hdlr";
            let children = if quicktime {
                start
            } else {
                (start + 4).min(payload.end)
            };
            walk_boxes(reader, children, payload.end, depth + 1, false)
        }
        b"stsd" => {
            let count = count_at(reader, 4)?;
            table(8, 8, count)?;
            walk_sample_entries(reader, start + 8, payload.end, depth + 1)
        }
        b"stco" => table(4, 8, count_at(reader, 4)?),
        b"co64" => table(8, 8, count_at(reader, 4)?),
        b"stsc" => table(12, 8, count_at(reader, 4)?),
        b"stts" | b"ctts" => table(8, 8, count_at(reader, 4)?),
        b"stss" => table(4, 8, count_at(reader, 4)?),
        b"elst" => {
            let version = reader.bytes::<1>(start)?[0];
            table(if version == 1 { 20 } else { 12 }, 8, count_at(reader, 4)?)
        }
        b"stsz" => {
            let sample_size = count_at(reader, 4)?;
            let count = count_at(reader, 8)?;
            if sample_size != 0 {
                return check_sample_size(sample_size, reader.file_len);
            }
            table(4, 12, count)?;
            check_sample_sizes(reader, start + 12, count, 4, 0)
        }
        b"trex" => check_sample_size(count_at(reader, 16)?, reader.file_len),
        b"tfhd" => {
            let flags = u64::from(count_at(reader, 0)? & 0x00FF_FFFF);
            // track_ID, then optional fields in order: base offset (8), description (4),
            // duration (4), size (4).
            let mut offset = 8;
            for (flag, bytes) in [(0x01, 8), (0x02, 4), (0x08, 4)] {
                if flags & flag != 0 {
                    offset += bytes;
                }
            }
            if flags & 0x10 != 0 {
                check_sample_size(count_at(reader, offset)?, reader.file_len)
            } else {
                Ok(())
            }
        }
        b"trun" => {
            let flags = u64::from(count_at(reader, 0)? & 0x00FF_FFFF);
            let count = count_at(reader, 4)?;
            let header =
                8 + if flags & 0x01 != 0 { 4 } else { 0 } + if flags & 0x04 != 0 { 4 } else { 0 };
            let fields = [0x100, 0x200, 0x400, 0x800]
                .iter()
                .filter(|&&flag| flags & flag != 0)
                .count() as u64;
            table(4 * fields, header, count)?;
            if flags & 0x200 != 0 {
                let size_offset = if flags & 0x100 != 0 { 4 } else { 0 };
                check_sample_sizes(reader, start + header, count, 4 * fields, size_offset)
            } else {
                Ok(())
            }
        }
        _ => Ok(()),
    }
}

/// Sample entries in `stsd`: for the audio codecs symphonia reads, their child boxes too.
fn walk_sample_entries(
    reader: &mut Reader,
    start: u64,
    end: u64,
    depth: usize,
) -> Result<(), String> {
    let mut position = start;
    while end - position >= 8 {
        let size = u64::from(reader.u32_be(position)?);
        let kind: [u8; 4] = reader.bytes(position + 4)?;
        if size < 8 || size > end - position {
            return Err(format!(
                "MP4 sample entry '{}' has an impossible size",
                String::from_utf8_lossy(&kind)
            ));
        }
        if AUDIO_ENTRIES.contains(&&kind) && size >= 36 {
            // Sound sample description: version 0, 1 or 2 (QuickTime) sets where children start.
            let version = u16::from_be_bytes(reader.bytes(position + 16)?);
            let children = position
                + 8
                + match version {
                    1 => 44,
                    2 => 64,
                    _ => 28,
                };
            if children <= position + size {
                walk_boxes(reader, children, position + size, depth + 1, false)?;
            }
        }
        position += size;
    }
    Ok(())
}

fn check_sample_size(size: u64, file_len: u64) -> Result<(), String> {
    if size > MAX_SAMPLE_BYTES || size > file_len {
        return Err(format!("an MP4 sample claims {size} bytes"));
    }
    Ok(())
}

/// Checks `count` sample sizes stored every `stride` bytes from `start` (+`offset`).
fn check_sample_sizes(
    reader: &mut Reader,
    start: u64,
    count: u64,
    stride: u64,
    offset: u64,
) -> Result<(), String> {
    let stride_bytes = stride.max(4);
    let stride = usize::try_from(stride_bytes).map_err(|error| error.to_string())?;
    let offset = usize::try_from(offset).map_err(|error| error.to_string())?;
    let mut entry = vec![0_u8; stride];
    for index in 0..count {
        reader
            .read_exact_at(start + index * stride_bytes, &mut entry)
            .map_err(|_| "the file ends inside an MP4 table".to_string())?;
        let size = entry
            .get(offset..offset + 4)
            .and_then(|bytes| <[u8; 4]>::try_from(bytes).ok());
        check_sample_size(
            u64::from(u32::from_be_bytes(size.unwrap_or_default())),
            reader.file_len,
        )?;
    }
    Ok(())
}

/// CAF: chunk sizes within the file, and a packet table no longer than its chunk.
fn check_caf(reader: &mut Reader, start: u64) -> Result<(), String> {
    let mut position = start + 8;
    while reader.file_len - position >= 12 {
        let kind: [u8; 4] = reader.bytes(position)?;
        let size = reader.u64_be(position + 4)? as i64;
        let remaining = reader.file_len - position - 12;
        if &kind == b"data" && size == -1 {
            return Ok(()); // audio data to the end of the file
        }
        let size = u64::try_from(size).map_err(|_| {
            format!(
                "CAF chunk '{}' has a negative size",
                String::from_utf8_lossy(&kind)
            )
        })?;
        if size > remaining {
            if &kind == b"data" {
                return Ok(()); // a truncated recording
            }
            return Err(format!(
                "CAF chunk '{}' claims {size} bytes but only {remaining} remain",
                String::from_utf8_lossy(&kind)
            ));
        }
        if &kind == b"pakt" && size >= 8 {
            let packets = reader.u64_be(position + 12)?;
            if packets > size {
                return Err(format!(
                    "the CAF packet table claims {packets} packets in {size} bytes"
                ));
            }
        }
        position += 12 + size;
    }
    Ok(())
}

/// AIFF: chunk sizes within the file (a truncated sound data chunk is allowed).
fn check_aiff(reader: &mut Reader, start: u64) -> Result<(), String> {
    let mut position = start + 12;
    while reader.file_len - position >= 8 {
        let kind: [u8; 4] = reader.bytes(position)?;
        let size = u64::from(reader.u32_be(position + 4)?);
        let remaining = reader.file_len - position - 8;
        if size > remaining {
            if &kind == b"SSND" {
                return Ok(());
            }
            return Err(format!(
                "AIFF chunk '{}' claims {size} bytes but only {remaining} remain",
                String::from_utf8_lossy(&kind)
            ));
        }
        position += 8 + size + (size & 1);
    }
    Ok(())
}

/// RIFF (WAV that symphonia reads): every chunk within the file, so that the ones read into
/// memory (`LIST`/`INFO`, `fmt `) cannot claim more (a data chunk may be cut short, or claim
/// 4 GB as a stream written without knowing its length does).
fn check_riff(reader: &mut Reader, start: u64) -> Result<(), String> {
    let mut position = start + 12;
    while reader.file_len.saturating_sub(position) >= 8 {
        let kind: [u8; 4] = reader.bytes(position)?;
        let size = u64::from(u32::from_le_bytes(reader.bytes(position + 4)?));
        let remaining = reader.file_len - position - 8;
        if &kind == b"data" {
            return Ok(()); // symphonia decodes from here on and reads no further chunk
        }
        if size > remaining {
            return Err(format!(
                "RIFF chunk '{}' claims {size} bytes but only {remaining} remain",
                String::from_utf8_lossy(&kind)
            ));
        }
        position += 8 + size + (size & 1);
    }
    Ok(())
}

/// Native FLAC: metadata blocks within the file, and comments and pictures within their blocks.
fn check_flac_blocks(reader: &mut Reader, mut position: u64) -> Result<(), String> {
    loop {
        let header: [u8; 4] = reader.bytes(position)?;
        let [flags, l0, l1, l2] = header;
        let length = u64::from(u32::from_be_bytes([0, l0, l1, l2]));
        if length > reader.file_len - position - 4 {
            return Err(format!(
                "a FLAC metadata block claims {length} bytes, past the end of the file"
            ));
        }
        let block_type = flags & 0x7F;
        if block_type == 4 || block_type == 6 {
            let mut body = vec![0_u8; usize::try_from(length).map_err(|error| error.to_string())?];
            reader
                .read_exact_at(position + 4, &mut body)
                .map_err(|error| error.to_string())?;
            check_metadata_block(block_type, &body)?;
        }
        position += 4 + length;
        if flags & 0x80 != 0 {
            return Ok(());
        }
    }
}

/// A FLAC VORBIS_COMMENT (4) or PICTURE (6) block body.
fn check_metadata_block(block_type: u8, body: &[u8]) -> Result<(), String> {
    match block_type {
        4 => check_vorbis_comment(body),
        6 => check_picture(body),
        _ => Ok(()),
    }
}

/// A Vorbis comment structure (also in Opus and FLAC): every length within the data. Pictures
/// embedded as base64 in METADATA_BLOCK_PICTURE are checked too, as symphonia decodes them.
fn check_vorbis_comment(data: &[u8]) -> Result<(), String> {
    let mut fields = FieldReader {
        data,
        position: 0,
        big_endian: false,
    };
    let vendor_length = fields.length()?;
    fields.skip(vendor_length)?;
    let count = fields.u32()?;
    for _ in 0..count {
        let length = fields.length()?;
        let comment = fields.take(length)?;
        const PICTURE_KEY: &[u8] = b"METADATA_BLOCK_PICTURE=";
        if comment.len() > PICTURE_KEY.len()
            && comment[..PICTURE_KEY.len()].eq_ignore_ascii_case(PICTURE_KEY)
        {
            check_picture(&base64_decode(&comment[PICTURE_KEY.len()..]))?;
        }
    }
    Ok(())
}

/// A FLAC picture block: the MIME type, description and image lengths within the data.
fn check_picture(data: &[u8]) -> Result<(), String> {
    let mut fields = FieldReader {
        data,
        position: 0,
        big_endian: true,
    };
    fields.u32()?; // picture type
    let mime_length = fields.length()?;
    fields.skip(mime_length)?;
    let description_length = fields.length()?;
    fields.skip(description_length)?;
    fields.skip(16)?; // width, height, depth, colours
    let image_length = fields.length()?;
    fields.skip(image_length)
}

/// Reads length-prefixed fields from a buffer, refusing lengths beyond its end.
struct FieldReader<'a> {
    data: &'a [u8],
    position: usize,
    big_endian: bool,
}

impl<'a> FieldReader<'a> {
    fn u32(&mut self) -> Result<u32, String> {
        let bytes = self.take(4)?;
        let array =
            <[u8; 4]>::try_from(bytes).map_err(|_| "a tag field is cut short".to_string())?;
        Ok(if self.big_endian {
            u32::from_be_bytes(array)
        } else {
            u32::from_le_bytes(array)
        })
    }

    /// A length field, which must fit in what is left.
    fn length(&mut self) -> Result<usize, String> {
        let length = usize::try_from(self.u32()?).map_err(|error| error.to_string())?;
        if length > self.data.len() - self.position {
            return Err(format!(
                "a tag field claims {length} bytes but only {} remain",
                self.data.len() - self.position
            ));
        }
        Ok(length)
    }

    fn take(&mut self, count: usize) -> Result<&'a [u8], String> {
        let end = self
            .position
            .checked_add(count)
            .filter(|&end| end <= self.data.len());
        let end = end.ok_or_else(|| "a tag field runs past its block".to_string())?;
        let taken = &self.data[self.position..end];
        self.position = end;
        Ok(taken)
    }

    fn skip(&mut self, count: usize) -> Result<(), String> {
        self.take(count).map(|_| ())
    }
}

/// Standard base64, ignoring anything outside the alphabet (padding, line breaks).
fn base64_decode(text: &[u8]) -> Vec<u8> {
    let mut output = Vec::with_capacity(text.len() / 4 * 3);
    let mut accumulator = 0_u32;
    let mut bits = 0;
    for &character in text {
        let value = match character {
            b'A'..=b'Z' => character - b'A',
            b'a'..=b'z' => character - b'a' + 26,
            b'0'..=b'9' => character - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue,
        };
        accumulator = (accumulator << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            output.push((accumulator >> bits) as u8);
        }
    }
    output
}

/// Ogg from byte `start` on: the comment headers of Vorbis, Opus and FLAC streams (the first
/// packets of each).
fn check_ogg_headers(path: &Path, start: u64) -> Result<(), String> {
    /// Header packets examined before giving up looking (all headers come first).
    const MAX_PACKETS: usize = 64;
    let mut file = File::open(path).map_err(|error| error.to_string())?;
    file.seek(SeekFrom::Start(start))
        .map_err(|error| error.to_string())?;
    let mut packets = ogg::PacketReader::new(BufReader::new(file));
    // For each stream: its serial, its codec, and whether its headers are all checked.
    let mut streams: Vec<(u32, &'static str, bool)> = Vec::new();
    for _ in 0..MAX_PACKETS {
        let packet = match super::source::guard(|| packets.read_packet()) {
            Ok(Ok(Some(packet))) => packet,
            _ => break, // damage is symphonia's to report; here only sizes matter
        };
        let serial = packet.stream_serial();
        let data = &packet.data;
        if packet.first_in_stream() {
            let codec = if data.starts_with(b"\x01vorbis") {
                "vorbis"
            } else if data.starts_with(b"OpusHead") {
                "opus"
            } else if data.starts_with(b"\x7fFLAC") {
                "flac"
            } else {
                "other"
            };
            streams.push((serial, codec, codec == "other"));
            continue;
        }
        let Some(stream) = streams.iter_mut().find(|(known, ..)| *known == serial) else {
            continue;
        };
        if stream.2 {
            continue;
        }
        match stream.1 {
            // The comment header is the second packet of a Vorbis or Opus stream.
            "vorbis" => {
                stream.2 = true;
                if data.starts_with(b"\x03vorbis") {
                    check_vorbis_comment(&data[7..])?;
                }
            }
            "opus" => {
                stream.2 = true;
                if data.starts_with(b"OpusTags") {
                    check_vorbis_comment(&data[8..])?;
                }
            }
            // Ogg FLAC: one metadata block per packet until the one flagged last.
            _ => {
                let Some(&[flags, l0, l1, l2]) = data
                    .get(..4)
                    .and_then(|head| <&[u8; 4]>::try_from(head).ok())
                else {
                    stream.2 = true;
                    continue;
                };
                let length =
                    usize::try_from(u32::from_be_bytes([0, l0, l1, l2])).unwrap_or(usize::MAX);
                let body = data.get(4..).and_then(|rest| rest.get(..length));
                let body =
                    body.ok_or("an Ogg FLAC metadata block claims more than its packet holds")?;
                check_metadata_block(flags & 0x7F, body)?;
                stream.2 = flags & 0x80 != 0;
            }
        }
        if streams.iter().all(|(.., done)| *done) {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mp4_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut bytes = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(kind);
        bytes.extend_from_slice(payload);
        bytes
    }

    fn check_bytes(bytes: &[u8]) -> Result<(), String> {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("test.m4a");
        std::fs::write(&path, bytes).unwrap();
        check(&path)
    }

    #[test]
    fn vorbis_comments_and_pictures_must_fit() {
        let mut comment = 3_u32.to_le_bytes().to_vec();
        comment.extend_from_slice(b"abc");
        comment.extend_from_slice(&1_u32.to_le_bytes());
        comment.extend_from_slice(&5_u32.to_le_bytes());
        comment.extend_from_slice(b"A=xyz");
        assert_eq!(check_vorbis_comment(&comment), Ok(()));
        let mut inflated = comment.clone();
        inflated[11..15].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(check_vorbis_comment(&inflated).is_err());
        // A picture whose MIME type claims 4 GB.
        let mut picture = 3_u32.to_be_bytes().to_vec();
        picture.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(check_picture(&picture).is_err());
        assert_eq!(base64_decode(b"aGVsbG8="), b"hello");
    }

    #[test]
    fn id3_tags_are_skipped_to_find_the_format() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("tagged.flac");
        let mut bytes = b"ID3\x04\x00\x00\x00\x00\x00\x02xx".to_vec();
        bytes.extend_from_slice(b"fLaC");
        // A last VORBIS_COMMENT block claiming more than the file.
        bytes.extend_from_slice(&[0x84, 0xFF, 0xFF, 0xFF]);
        bytes.extend_from_slice(&[0; 16]);
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(id3v2_end(&path), Some(12));
        assert!(check(&path).unwrap_err().contains("FLAC"));
    }

    fn movie_with_stbl(stbl_child: Vec<u8>) -> Vec<u8> {
        let stbl = mp4_box(b"stbl", &stbl_child);
        let minf = mp4_box(b"minf", &stbl);
        let mdia = mp4_box(b"mdia", &minf);
        let trak = mp4_box(b"trak", &mdia);
        let moov = mp4_box(b"moov", &trak);
        let mut file = mp4_box(b"ftyp", b"M4A \0\0\0\0");
        file.extend(moov);
        file
    }

    #[test]
    fn sane_tables_pass_and_inflated_ones_are_refused() {
        let good = mp4_box(b"stco", &[0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 44]);
        assert_eq!(check_bytes(&movie_with_stbl(good)), Ok(()));
        let inflated = mp4_box(b"stco", &[0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 44]);
        assert!(
            check_bytes(&movie_with_stbl(inflated))
                .unwrap_err()
                .contains("stco")
        );
        let huge_sample = mp4_box(b"stsz", &[0, 0, 0, 0, 0x7F, 0, 0, 0, 0, 0, 0, 1]);
        assert!(check_bytes(&movie_with_stbl(huge_sample)).is_err());
    }

    #[test]
    fn boxes_larger_than_the_file_are_refused() {
        let mut file = mp4_box(b"ftyp", b"M4A \0\0\0\0");
        // A 64-bit box size of one terabyte.
        file.extend_from_slice(&1_u32.to_be_bytes());
        file.extend_from_slice(b"moov");
        file.extend_from_slice(&(1_u64 << 40).to_be_bytes());
        assert!(check_bytes(&file).unwrap_err().contains("moov"));
        // A truncated mdat at the top level is a cut-off recording, not an attack.
        let mut cut = mp4_box(b"ftyp", b"M4A \0\0\0\0");
        cut.extend_from_slice(&1000_u32.to_be_bytes());
        cut.extend_from_slice(b"mdat\0\0");
        assert_eq!(check_bytes(&cut), Ok(()));
    }
}
