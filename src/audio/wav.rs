//! Our own reader for PCM and IEEE-float WAV (plain, WAVE_FORMAT_EXTENSIBLE and RF64).
//!
//! WAV is what recorders write, and what a crashed recorder leaves behind: a header whose data
//! length is 0, 0xFFFFFFFF or longer than the file. Strict readers refuse those; this one reads
//! to the end of the file instead. It also reads 24-bit samples in 4-byte words in both
//! layouts seen in the wild. Nothing here is sized by a header field: the header is read into
//! fixed arrays and samples in fixed-size slices. Compressed WAVs (ADPCM, GSM, MP3-in-WAV,
//! A-law/µ-law) are left to symphonia.

use super::error::AudioError;
use super::source::{Frames, Source, SourceFormat, check_format, read_up_to};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Frames decoded per call: about 85 ms at 48 kHz; at most 1 MiB of bytes for 32 channels of f64.
const FRAMES_PER_READ: usize = 4096;
/// Bytes inspected to tell how 24-bit samples sit in 4-byte words.
const JUSTIFICATION_PROBE_BYTES: usize = 16 * 1024;

const FORMAT_PCM: u16 = 0x0001;
const FORMAT_IEEE_FLOAT: u16 = 0x0003;
const FORMAT_EXTENSIBLE: u16 = 0xFFFE;

/// How one sample is stored.
#[derive(Debug, Clone, Copy, PartialEq)]
enum SampleEncoding {
    /// 8-bit PCM is unsigned, centred on 128.
    Unsigned8,
    Signed16,
    Signed24,
    /// 24 significant bits in a 4-byte word: either the top three bytes (Microsoft's layout for
    /// WAVE_FORMAT_EXTENSIBLE) or the bottom three (ALSA's S24_LE, as `arecord` writes it).
    Signed24In32 {
        left_justified: bool,
    },
    Signed32,
    Float32,
    Float64,
}

impl SampleEncoding {
    fn bytes(self) -> usize {
        match self {
            SampleEncoding::Unsigned8 => 1,
            SampleEncoding::Signed16 => 2,
            SampleEncoding::Signed24 => 3,
            SampleEncoding::Signed24In32 { .. }
            | SampleEncoding::Signed32
            | SampleEncoding::Float32 => 4,
            SampleEncoding::Float64 => 8,
        }
    }

    fn name(self) -> &'static str {
        match self {
            SampleEncoding::Unsigned8 => "PCM 8-bit",
            SampleEncoding::Signed16 => "PCM 16-bit",
            SampleEncoding::Signed24 => "PCM 24-bit",
            SampleEncoding::Signed24In32 { .. } => "PCM 24-bit in 32-bit words",
            SampleEncoding::Signed32 => "PCM 32-bit",
            SampleEncoding::Float32 => "IEEE float 32-bit",
            SampleEncoding::Float64 => "IEEE float 64-bit",
        }
    }

    /// One sample as a float in [-1, 1]; `bytes` has exactly `self.bytes()` bytes.
    fn decode(self, bytes: &[u8]) -> f32 {
        let byte = |index: usize| bytes.get(index).copied().unwrap_or(0);
        let word = || u32::from_le_bytes([byte(0), byte(1), byte(2), byte(3)]);
        let value = match self {
            SampleEncoding::Unsigned8 => (f32::from(byte(0)) - 128.0) / 128.0,
            SampleEncoding::Signed16 => {
                f32::from(i16::from_le_bytes([byte(0), byte(1)])) / 32_768.0
            }
            SampleEncoding::Signed24 => {
                sign_extend_24(u32::from_le_bytes([byte(0), byte(1), byte(2), 0]))
            }
            SampleEncoding::Signed24In32 {
                left_justified: true,
            } => word() as i32 as f32 / 2_147_483_648.0,
            SampleEncoding::Signed24In32 {
                left_justified: false,
            } => sign_extend_24(word()),
            SampleEncoding::Signed32 => word() as i32 as f32 / 2_147_483_648.0,
            SampleEncoding::Float32 => f32::from_bits(word()),
            SampleEncoding::Float64 => {
                let mut eight = [0_u8; 8];
                for (index, slot) in eight.iter_mut().enumerate() {
                    *slot = byte(index);
                }
                f64::from_le_bytes(eight) as f32
            }
        };
        if value.is_finite() { value } else { 0.0 }
    }
}

/// The low 24 bits of `word` as a signed sample in [-1, 1).
fn sign_extend_24(word: u32) -> f32 {
    let shifted = ((word & 0x00FF_FFFF) << 8) as i32;
    (shifted >> 8) as f32 / 8_388_608.0
}

/// The parts of a `fmt ` chunk this reader needs.
#[derive(Debug, Clone, Copy)]
struct FmtChunk {
    format_tag: u16,
    channel_count: u16,
    sample_rate_hz: u32,
    block_align: u16,
    bits_per_sample: u16,
    valid_bits_per_sample: u16,
}

/// What a WAV file holds.
pub(crate) enum WavContents {
    /// PCM or float samples, which this module reads.
    Pcm(WavSource),
    /// A compressed format (ADPCM, GSM, MP3…) in bytes `data_start..data_end`.
    Compressed {
        format_tag: u16,
        data_start: u64,
        data_end: u64,
    },
}

/// The name of a WAV format tag, for messages.
pub(crate) fn format_tag_name(format_tag: u16) -> &'static str {
    match format_tag {
        0x0000 => "an unspecified codec",
        0x0002 => "Microsoft ADPCM",
        0x0006 => "A-law",
        0x0007 => "µ-law",
        0x0011 => "IMA ADPCM",
        0x0031 => "GSM 6.10",
        0x0040 => "G.721 ADPCM",
        0x0050 => "MPEG audio",
        0x0055 => "MP3",
        0x00FF | 0x1610 => "AAC",
        0x0160 | 0x0161 | 0x0162 | 0x0163 => "Windows Media Audio",
        0x2000 => "AC-3",
        _ => "an unusual codec",
    }
}

/// A PCM or float WAV file read front to back.
pub(crate) struct WavSource {
    path: PathBuf,
    reader: BufReader<File>,
    format: SourceFormat,
    encoding: SampleEncoding,
    block_align: usize,
    data_start: u64,
    /// Where the samples end; `None` when the header's length cannot be trusted (read to EOF).
    data_end: Option<u64>,
    position: u64,
    bytes: Vec<u8>,
}

impl WavSource {
    /// Reads the header; compressed contents are described for another decoder to read.
    pub(crate) fn open(path: &Path) -> Result<WavContents, AudioError> {
        let file = File::open(path).map_err(|error| AudioError::open(path, error))?;
        let file_len = file
            .metadata()
            .map_err(|error| AudioError::open(path, error))?
            .len();
        let mut reader = BufReader::new(file);
        let layout = read_layout(&mut reader, path, file_len)?;
        let available = file_len.saturating_sub(layout.data_start);
        let declared = layout.declared_data_len;
        let untrusted_length = declared == 0 || declared == 0xFFFF_FFFF || declared > available;
        let format_tag = layout.fmt.format_tag;
        if format_tag != FORMAT_PCM && format_tag != FORMAT_IEEE_FLOAT {
            let data_start = layout.data_start;
            let data_end = if untrusted_length { file_len } else { data_start + declared };
            if data_end <= data_start {
                return Err(AudioError::no_audio(path, "the WAV data chunk is empty"));
            }
            return Ok(WavContents::Compressed {
                format_tag,
                data_start,
                data_end,
            });
        }
        let data_end = (!untrusted_length).then(|| layout.data_start + declared);
        WavSource::open_pcm(path, reader, &layout, data_end, available).map(WavContents::Pcm)
    }

    /// The PCM or float samples from `layout.data_start` to `data_end` (`None`: to the end of
    /// the file, `available` bytes).
    fn open_pcm(
        path: &Path,
        mut reader: BufReader<File>,
        layout: &WavLayout,
        data_end: Option<u64>,
        available: u64,
    ) -> Result<WavSource, AudioError> {
        let fmt = &layout.fmt;
        let data_start = layout.data_start;
        check_format(path, fmt.sample_rate_hz, usize::from(fmt.channel_count))?;
        let channel_count = usize::from(fmt.channel_count);
        let mut encoding =
            sample_encoding(fmt).map_err(|reason| AudioError::unsupported(path, reason))?;
        let block_align = encoding.bytes() * channel_count;
        if data_end.is_none() && available >= block_align as u64 {
            log::warn!(
                "{}: the WAV header gives {} bytes of audio but {available} follow; reading to the end of the file",
                path.display(),
                layout.declared_data_len
            );
        }
        let data_len = data_end.map_or(available, |end| end - data_start);
        let frame_count = data_len / block_align as u64;
        if frame_count == 0 {
            return Err(AudioError::no_audio(
                path,
                "the WAV data chunk holds no samples",
            ));
        }

        if let SampleEncoding::Signed24In32 { left_justified } = &mut encoding {
            *left_justified =
                probe_left_justified(&mut reader, usize::try_from(data_len).unwrap_or(usize::MAX))
                    .map_err(|error| AudioError::open(path, error))?;
            reader
                .seek(SeekFrom::Start(data_start))
                .map_err(|error| AudioError::open(path, error))?;
        }

        let format = SourceFormat {
            sample_rate_hz: fmt.sample_rate_hz,
            channel_count,
            duration_s: Some(frame_count as f64 / f64::from(fmt.sample_rate_hz)),
            codec: encoding.name().to_string(),
        };
        Ok(WavSource {
            path: path.to_path_buf(),
            reader,
            format,
            encoding,
            block_align,
            data_start,
            data_end,
            position: data_start,
            bytes: Vec::new(),
        })
    }
}

/// What a WAV header says: the fmt chunk, where the samples start, and how many bytes of them
/// it declares (RF64's ds64 size in place of the 32-bit one).
struct WavLayout {
    fmt: FmtChunk,
    data_start: u64,
    declared_data_len: u64,
}

/// Reads the RIFF/RF64 header and the chunks up to `data`, leaving `reader` at the samples.
fn read_layout(
    reader: &mut BufReader<File>,
    path: &Path,
    file_len: u64,
) -> Result<WavLayout, AudioError> {
    let mut riff_header = [0_u8; 12];
    let read =
        read_up_to(reader, &mut riff_header).map_err(|error| AudioError::open(path, error))?;
    if read < 12 {
        return Err(AudioError::unsupported(path, "the WAV header is cut short"));
    }
    let is_rf64 = riff_header.starts_with(b"RF64");

    let mut position: u64 = 12;
    let mut fmt: Option<FmtChunk> = None;
    let mut ds64_data_len: Option<u64> = None;
    let (data_start, declared_data_len) = loop {
        let mut chunk_header = [0_u8; 8];
        let read =
            read_up_to(reader, &mut chunk_header).map_err(|error| AudioError::open(path, error))?;
        if read < 8 {
            return Err(no_data_chunk(path, fmt.is_some()));
        }
        position += 8;
        let [a, b, c, d, l0, l1, l2, l3] = chunk_header;
        let chunk_len = u64::from(u32::from_le_bytes([l0, l1, l2, l3]));
        match &[a, b, c, d] {
            b"data" => break (position, chunk_len),
            b"fmt " => fmt = Some(read_fmt_chunk(reader, path, &mut position, chunk_len, file_len)?),
            b"ds64" => {
                if let Some(length) = read_ds64_chunk(reader, path, &mut position, chunk_len, file_len)? {
                    ds64_data_len = Some(length);
                }
            }
            _ => {
                if skip(reader, &mut position, chunk_len + (chunk_len & 1), file_len).is_err() {
                    return Err(no_data_chunk(path, fmt.is_some()));
                }
            }
        }
    };
    let Some(fmt) = fmt else {
        return Err(AudioError::unsupported(
            path,
            "the WAV data chunk comes before its fmt chunk",
        ));
    };
    let declared_data_len = match (is_rf64, declared_data_len, ds64_data_len) {
        (true, 0xFFFF_FFFF, Some(length)) => length,
        _ => declared_data_len,
    };
    Ok(WavLayout {
        fmt,
        data_start,
        declared_data_len,
    })
}

/// The chunks ran out before `data`: a file without audio, or (no fmt either) not a WAV.
fn no_data_chunk(path: &Path, have_fmt: bool) -> AudioError {
    if have_fmt {
        AudioError::no_audio(path, "the WAV has no data chunk")
    } else {
        AudioError::unsupported(path, "the WAV has no fmt chunk")
    }
}

/// The `fmt ` chunk's body (its first 40 bytes; the rest is skipped).
fn read_fmt_chunk(
    reader: &mut BufReader<File>,
    path: &Path,
    position: &mut u64,
    chunk_len: u64,
    file_len: u64,
) -> Result<FmtChunk, AudioError> {
    let damaged = |reason: &str| AudioError::unsupported(path, reason);
    let mut body = [0_u8; 40];
    let wanted = usize::try_from(chunk_len.min(40)).unwrap_or(40);
    let slot = body.get_mut(..wanted).unwrap_or_default();
    let read = read_up_to(reader, slot).map_err(|error| AudioError::open(path, error))?;
    if read < wanted {
        return Err(damaged("the WAV fmt chunk is cut short"));
    }
    let fmt = parse_fmt(&body, wanted).map_err(|reason| damaged(&reason))?;
    *position += wanted as u64;
    let rest = chunk_len - wanted as u64 + (chunk_len & 1);
    skip(reader, position, rest, file_len)
        .map_err(|()| damaged("the WAV fmt chunk runs past the end of the file"))?;
    Ok(fmt)
}

/// RF64's `ds64` chunk: the 64-bit data length, when the chunk is whole.
fn read_ds64_chunk(
    reader: &mut BufReader<File>,
    path: &Path,
    position: &mut u64,
    chunk_len: u64,
    file_len: u64,
) -> Result<Option<u64>, AudioError> {
    let mut body = [0_u8; 16];
    let wanted = usize::try_from(chunk_len.min(16)).unwrap_or(16);
    let slot = body.get_mut(..wanted).unwrap_or_default();
    let read = read_up_to(reader, slot).map_err(|error| AudioError::open(path, error))?;
    let data_len = (read == 16).then(|| {
        let [_, _, _, _, _, _, _, _, d0, d1, d2, d3, d4, d5, d6, d7] = body;
        u64::from_le_bytes([d0, d1, d2, d3, d4, d5, d6, d7])
    });
    *position += read as u64;
    let rest = chunk_len.saturating_sub(read as u64) + (chunk_len & 1);
    skip(reader, position, rest, file_len).map_err(|()| {
        AudioError::unsupported(path, "the RF64 ds64 chunk runs past the end of the file")
    })?;
    Ok(data_len)
}

impl Source for WavSource {
    fn format(&self) -> &SourceFormat {
        &self.format
    }

    fn next_frames(&mut self) -> Result<Option<Frames>, AudioError> {
        let mut wanted = FRAMES_PER_READ * self.block_align;
        if let Some(end) = self.data_end {
            let left = end.saturating_sub(self.position);
            wanted = wanted.min(usize::try_from(left).unwrap_or(wanted));
        }
        self.bytes.resize(wanted, 0);
        let read = read_up_to(&mut self.reader, &mut self.bytes).map_err(|error| {
            let at_s = (self.position - self.data_start) as f64
                / self.block_align as f64
                / f64::from(self.format.sample_rate_hz);
            AudioError::damaged(&self.path, at_s, error)
        })?;
        self.position += read as u64;
        let frame_count = read / self.block_align;
        if frame_count == 0 {
            return Ok(None);
        }
        let channel_count = self.format.channel_count;
        let sample_bytes = self.encoding.bytes();
        let mut frames: Frames = vec![Vec::with_capacity(frame_count); channel_count];
        let whole = self
            .bytes
            .get(..frame_count * self.block_align)
            .unwrap_or_default();
        for frame in whole.chunks_exact(self.block_align) {
            for (channel, sample) in frames.iter_mut().zip(frame.chunks_exact(sample_bytes)) {
                channel.push(self.encoding.decode(sample));
            }
        }
        Ok(Some(frames))
    }

    fn seek_to_frame(&mut self, frame: u64) -> Result<Option<u64>, AudioError> {
        let total_frames = self
            .data_end
            .map(|end| (end - self.data_start) / self.block_align as u64);
        let frame = total_frames.map_or(frame, |total| frame.min(total));
        let position = self.data_start + frame * self.block_align as u64;
        self.reader
            .seek(SeekFrom::Start(position))
            .map_err(|error| AudioError::open(&self.path, error))?;
        self.position = position;
        Ok(Some(frame))
    }
}

/// Parses the first `len` bytes of a fmt chunk (at most 40 are kept).
fn parse_fmt(body: &[u8; 40], len: usize) -> Result<FmtChunk, String> {
    if len < 14 {
        return Err(format!(
            "the WAV fmt chunk is {len} bytes, too short to describe audio"
        ));
    }
    let u16_at = |offset: usize| u16::from_le_bytes([body[offset], body[offset + 1]]);
    let u32_at = |offset: usize| {
        u32::from_le_bytes([
            body[offset],
            body[offset + 1],
            body[offset + 2],
            body[offset + 3],
        ])
    };
    let mut fmt = FmtChunk {
        format_tag: u16_at(0),
        channel_count: u16_at(2),
        sample_rate_hz: u32_at(4),
        block_align: u16_at(12),
        bits_per_sample: if len >= 16 { u16_at(14) } else { 0 },
        valid_bits_per_sample: 0,
    };
    if fmt.format_tag == FORMAT_EXTENSIBLE {
        if len < 40 {
            return Err("the WAVE_FORMAT_EXTENSIBLE header is cut short".to_string());
        }
        fmt.valid_bits_per_sample = u16_at(18);
        fmt.format_tag = u16_at(24);
    }
    Ok(fmt)
}

/// Decides how samples are stored from the sizes in the header. Writers disagree about
/// `block_align` and `bits_per_sample`; the container size comes from `block_align` when it is
/// consistent, else from the bit depth.
fn sample_encoding(fmt: &FmtChunk) -> Result<SampleEncoding, String> {
    let channels = usize::from(fmt.channel_count.max(1));
    let bits = usize::from(fmt.bits_per_sample);
    let block_align = usize::from(fmt.block_align);
    let container_bytes = if block_align >= channels && block_align % channels == 0 {
        block_align / channels
    } else {
        bits.div_ceil(8)
    };
    let valid_bits = match usize::from(fmt.valid_bits_per_sample) {
        0 => bits,
        valid => valid,
    };
    let valid_bits = if valid_bits == 0 || valid_bits > container_bytes * 8 {
        container_bytes * 8
    } else {
        valid_bits
    };
    match (fmt.format_tag, container_bytes) {
        (FORMAT_PCM, 1) => Ok(SampleEncoding::Unsigned8),
        (FORMAT_PCM, 2) => Ok(SampleEncoding::Signed16),
        (FORMAT_PCM, 3) => Ok(SampleEncoding::Signed24),
        (FORMAT_PCM, 4) if valid_bits <= 24 => Ok(SampleEncoding::Signed24In32 {
            left_justified: true,
        }),
        (FORMAT_PCM, 4) => Ok(SampleEncoding::Signed32),
        (FORMAT_IEEE_FLOAT, 4) => Ok(SampleEncoding::Float32),
        (FORMAT_IEEE_FLOAT, 8) => Ok(SampleEncoding::Float64),
        (FORMAT_IEEE_FLOAT, size) => Err(format!("{size}-byte floating-point samples")),
        (_, size) => Err(format!("{size}-byte PCM samples ({bits} bits)")),
    }
}

/// Looks at the first samples of 24-bit-in-4-byte data: left-justified words have a zero low
/// byte; right-justified ones have a top byte that is 0x00 or 0xFF. Silence is either.
fn probe_left_justified(reader: &mut impl Read, data_len: usize) -> std::io::Result<bool> {
    let mut bytes = vec![0_u8; JUSTIFICATION_PROBE_BYTES.min(data_len)];
    let read = read_up_to(reader, &mut bytes)?;
    let mut votes_left = 0_usize;
    let mut votes_right = 0_usize;
    for word in bytes.get(..read).unwrap_or_default().chunks_exact(4) {
        let [low, _, _, top] = [word[0], word[1], word[2], word[3]];
        if low != 0 {
            votes_right += 1;
        }
        if top != 0x00 && top != 0xFF {
            votes_left += 1;
        }
    }
    Ok(votes_left >= votes_right)
}

/// Skips `count` bytes, failing if that would pass the end of the file.
fn skip(
    reader: &mut BufReader<File>,
    position: &mut u64,
    count: u64,
    file_len: u64,
) -> Result<(), ()> {
    let target = position.checked_add(count).ok_or(())?;
    if target > file_len {
        return Err(());
    }
    let offset = i64::try_from(count).map_err(|_| ())?;
    reader.seek_relative(offset).map_err(|_| ())?;
    *position = target;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_decode_to_full_scale() {
        assert_eq!(SampleEncoding::Unsigned8.decode(&[0]), -1.0);
        assert_eq!(SampleEncoding::Unsigned8.decode(&[128]), 0.0);
        assert_eq!(
            SampleEncoding::Signed16.decode(&0x8000_u16.to_le_bytes()),
            -1.0
        );
        assert_eq!(SampleEncoding::Signed24.decode(&[0x00, 0x00, 0x80]), -1.0);
        assert_eq!(
            SampleEncoding::Signed24In32 {
                left_justified: false
            }
            .decode(&[0xa0, 0xff, 0xff, 0x00]),
            -96.0 / 8_388_608.0
        );
        assert_eq!(
            SampleEncoding::Signed24In32 {
                left_justified: true
            }
            .decode(&[0x00, 0x00, 0x00, 0x80]),
            -1.0
        );
        assert_eq!(SampleEncoding::Float32.decode(&f32::NAN.to_le_bytes()), 0.0);
        assert_eq!(SampleEncoding::Float64.decode(&0.5_f64.to_le_bytes()), 0.5);
    }

    /// All samples of a test file, interleaved, as integers at the given bit depth.
    fn samples_of(file: &str, bits: u32) -> Option<Vec<i64>> {
        let path = crate::dev::testdata::testdata(&format!("wav-edge/{file}"))?;
        let WavContents::Pcm(mut source) = WavSource::open(&path).unwrap() else {
            panic!("{file} is PCM")
        };
        let mut interleaved = Vec::new();
        while let Some(frames) = source.next_frames().unwrap() {
            for index in 0..frames[0].len() {
                for channel in &frames {
                    interleaved.push(
                        (f64::from(channel[index]) * f64::from(1_u32 << (bits - 1))).round() as i64,
                    );
                }
            }
        }
        Some(interleaved)
    }

    #[test]
    fn hound_reference_files_give_their_exact_samples() {
        // The values hound's own tests expect from these files.
        for file in [
            "pcmwaveformat-24bit-4byte-48kHz-stereo.wav",
            "waveformatextensible-24bit-4byte-48kHz-stereo.wav",
        ] {
            if let Some(samples) = samples_of(file, 24) {
                assert_eq!(samples, [-96, 23_052, 8_388_607, -8_360_672], "{file}");
            }
        }
        if let Some(samples) = samples_of("waveformatextensible-24bit-192kHz-mono.wav", 24) {
            assert_eq!(samples, [-17, 4_194_319, -6_291_437, 8_355_817]);
        }
        if let Some(samples) = samples_of("waveformatex-8bit-11025Hz-mono.wav", 8) {
            assert_eq!(samples, [-128, -128, -128, -128]);
        }
        if let Some(samples) = samples_of("waveformatextensible-32bit-48kHz-stereo.wav", 32) {
            // f32 keeps 24 bits of a 32-bit sample: equal to within 2^-24 of full scale.
            let expected = [19_i64, -229_373, 33_587_161, -2_147_483_497];
            assert_eq!(samples.len(), expected.len());
            for (got, want) in samples.iter().zip(expected) {
                assert!((got - want).abs() <= 256, "{got} vs {want}");
            }
        }
    }

    #[test]
    fn justification_is_detected_from_the_data() {
        let right: Vec<u8> = [0x00ff_ffa0_u32, 0x0000_5a0c, 0x007f_ffff]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        assert!(!probe_left_justified(&mut right.as_slice(), right.len()).unwrap());
        let left: Vec<u8> = [0xffff_a000_u32, 0x005a_0c00, 0x7fff_ff00]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        assert!(probe_left_justified(&mut left.as_slice(), left.len()).unwrap());
    }
}
