//! Encoders for cloud uploads: services take only some formats and cap upload sizes, so any
//! input can be streamed to 16-bit mono WAV or to Ogg Opus (about 3 MB per 15 minutes at
//! 24 kb/s), whole or a time range at a time for splitting long files into parts.
//!
//! Everything streams: memory stays at one packet of input whatever the file's length. Output
//! goes through the one atomic writer (`crate::files`): a temporary file beside the output,
//! renamed when complete, so a failure never leaves a truncated file under the final name.

use super::error::AudioError;
use super::opus_decode::{OPUS_RATE_HZ, OpusHead};
use super::pipeline::Pipeline;
use super::source::{MAX_SAMPLE_RATE_HZ, MIN_SAMPLE_RATE_HZ};
use super::{ENGINE_SAMPLE_RATE_HZ, downmix};
use crate::files::AtomicFile;
use ogg::{PacketWriteEndInfo, PacketWriter};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Opus encodes 16 kHz input here: speech engines use nothing above 8 kHz.
pub const OPUS_INPUT_RATE_HZ: u32 = ENGINE_SAMPLE_RATE_HZ;
/// 20 ms frames, Opus's usual size for speech.
const OPUS_FRAME_SAMPLES: usize = (OPUS_INPUT_RATE_HZ / 50) as usize;
/// 48 kHz granule units per frame.
const GRANULE_PER_FRAME: u64 = (OPUS_RATE_HZ / 50) as u64;
/// 48 kHz granule units per input sample.
const GRANULE_PER_SAMPLE: u64 = (OPUS_RATE_HZ / OPUS_INPUT_RATE_HZ) as u64;
/// Packets per Ogg page: one second, so players can seek to the second.
const PACKETS_PER_PAGE: u64 = 50;
/// Largest Opus packet for one frame is 1 275 bytes; leave room.
const MAX_PACKET_BYTES: usize = 4_000;
/// Bitrates libopus accepts.
const MIN_OPUS_BITRATE_BPS: i32 = 6_000;
const MAX_OPUS_BITRATE_BPS: i32 = 510_000;

/// Streams `input` (any supported format) to a 16-bit PCM WAV at `sample_rate_hz`, mono.
/// Returns the duration written, in seconds.
pub fn transcode_to_wav(
    input: &Path,
    output: &Path,
    sample_rate_hz: u32,
) -> Result<f64, AudioError> {
    if !(MIN_SAMPLE_RATE_HZ..=MAX_SAMPLE_RATE_HZ).contains(&sample_rate_hz) {
        return Err(AudioError::invalid_request(format!(
            "WAV sample rate {sample_rate_hz} Hz is outside {MIN_SAMPLE_RATE_HZ}..={MAX_SAMPLE_RATE_HZ} Hz"
        )));
    }
    let mut pipeline = Pipeline::open(input, sample_rate_hz, 0.0, None)?;
    let mut partial = create_output(output)?;
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: sample_rate_hz,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::new(BufWriter::new(&mut partial), spec)
        .map_err(|error| AudioError::write(output, error))?;
    let mut frames_written: u64 = 0;
    while let Some(frames) = pipeline.next_frames()? {
        for sample in downmix(&frames) {
            writer
                .write_sample(to_i16(sample))
                .map_err(|error| AudioError::write(output, error))?;
        }
        frames_written += frames.first().map_or(0, Vec::len) as u64;
    }
    writer
        .finalize()
        .map_err(|error| AudioError::write(output, error))?;
    partial
        .commit()
        .map_err(|error| AudioError::write(output, error))?;
    Ok(frames_written as f64 / f64::from(sample_rate_hz))
}

/// Streams `input` to Ogg Opus: mono, 16 kHz into the encoder, `bitrate_bps` (e.g. 24 000),
/// valid per RFC 7845 (OpusHead/OpusTags, granule positions, pre-skip, end trimming).
/// Returns the duration written, in seconds.
pub fn transcode_to_ogg_opus(
    input: &Path,
    output: &Path,
    bitrate_bps: i32,
) -> Result<f64, AudioError> {
    encode_ogg_opus(input, output, 0.0, None, bitrate_bps)
}

/// Writes the part `[start_s, end_s)` of `input` as Ogg Opus (for splitting long files into
/// parts). Seeks where the input format allows. Returns the duration written, in seconds.
pub fn write_ogg_opus_range(
    input: &Path,
    output: &Path,
    start_s: f64,
    end_s: f64,
    bitrate_bps: i32,
) -> Result<f64, AudioError> {
    encode_ogg_opus(input, output, start_s, Some(end_s), bitrate_bps)
}

fn encode_ogg_opus(
    input: &Path,
    output: &Path,
    start_s: f64,
    end_s: Option<f64>,
    bitrate_bps: i32,
) -> Result<f64, AudioError> {
    check_bitrate(bitrate_bps)?;
    let mut pipeline = Pipeline::open(input, OPUS_INPUT_RATE_HZ, start_s, end_s)?;
    let mut partial = create_output(output)?;
    let mut writer = OggOpusWriter::new(BufWriter::new(&mut partial), bitrate_bps, output)?;
    while let Some(frames) = pipeline.next_frames()? {
        writer.write(&downmix(&frames))?;
    }
    let duration_s = writer.duration_s();
    if duration_s == 0.0 {
        return Err(AudioError::invalid_request(format!(
            "{}: nothing to encode from {start_s:.1} s on; the file is shorter than that",
            input.display()
        )));
    }
    writer
        .finish()?
        .flush()
        .map_err(|error| AudioError::write(output, error))?;
    partial
        .commit()
        .map_err(|error| AudioError::write(output, error))?;
    Ok(duration_s)
}

fn check_bitrate(bitrate_bps: i32) -> Result<(), AudioError> {
    if (MIN_OPUS_BITRATE_BPS..=MAX_OPUS_BITRATE_BPS).contains(&bitrate_bps) {
        Ok(())
    } else {
        Err(AudioError::invalid_request(format!(
            "Opus bitrate {bitrate_bps} b/s is outside {MIN_OPUS_BITRATE_BPS}..={MAX_OPUS_BITRATE_BPS}"
        )))
    }
}

/// An Ogg Opus encoder for 16 kHz mono samples pushed a slice at a time.
pub struct OggOpusWriter<W: Write> {
    packets: PacketWriter<'static, W>,
    encoder: opus::Encoder,
    serial: u32,
    /// The output's name, for error messages.
    shown_path: PathBuf,
    pre_skip: u16,
    lookahead_samples: usize,
    /// Samples not yet making a full frame.
    frame: Vec<f32>,
    samples_in: u64,
    frames_encoded: u64,
    /// The last packet, held back until we know whether it ends the stream.
    held: Option<Vec<u8>>,
    output: Vec<u8>,
}

impl<W: Write> OggOpusWriter<W> {
    /// Starts a stream and writes its two header pages. `shown_path` names the output in errors.
    pub fn new(
        writer: W,
        bitrate_bps: i32,
        shown_path: &Path,
    ) -> Result<OggOpusWriter<W>, AudioError> {
        check_bitrate(bitrate_bps)?;
        let mut encoder = opus::Encoder::new(
            OPUS_INPUT_RATE_HZ,
            opus::Channels::Mono,
            opus::Application::Voip,
        )
        .map_err(AudioError::encode)?;
        encoder
            .set_bitrate(opus::Bitrate::Bits(bitrate_bps))
            .map_err(AudioError::encode)?;
        let lookahead = encoder.get_lookahead().map_err(AudioError::encode)?;
        let lookahead_samples = usize::try_from(lookahead).unwrap_or(0);
        let pre_skip =
            u16::try_from(lookahead_samples as u64 * GRANULE_PER_SAMPLE).map_err(|_| {
                AudioError::encode(format!("encoder lookahead {lookahead} is too long"))
            })?;
        let serial = stream_serial(shown_path);
        let mut packets = PacketWriter::new(writer);
        let head = OpusHead::simple(1, pre_skip, OPUS_INPUT_RATE_HZ).to_bytes();
        let written = |result: std::io::Result<()>| {
            result.map_err(|error| AudioError::write(shown_path, error))
        };
        written(packets.write_packet(head, serial, PacketWriteEndInfo::EndPage, 0))?;
        written(packets.write_packet(opus_tags(), serial, PacketWriteEndInfo::EndPage, 0))?;
        Ok(OggOpusWriter {
            packets,
            encoder,
            serial,
            shown_path: shown_path.to_path_buf(),
            pre_skip,
            lookahead_samples,
            frame: Vec::with_capacity(OPUS_FRAME_SAMPLES),
            samples_in: 0,
            frames_encoded: 0,
            held: None,
            output: vec![0; MAX_PACKET_BYTES],
        })
    }

    /// Adds 16 kHz mono samples.
    pub fn write(&mut self, samples: &[f32]) -> Result<(), AudioError> {
        self.samples_in += samples.len() as u64;
        let mut rest = samples;
        while !rest.is_empty() {
            let room = OPUS_FRAME_SAMPLES - self.frame.len();
            let (now, later) = rest.split_at(room.min(rest.len()));
            self.frame.extend_from_slice(now);
            rest = later;
            if self.frame.len() == OPUS_FRAME_SAMPLES {
                self.encode_frame()?;
            }
        }
        Ok(())
    }

    /// Seconds of audio written so far.
    pub fn duration_s(&self) -> f64 {
        self.samples_in as f64 / f64::from(OPUS_INPUT_RATE_HZ)
    }

    /// Encodes what is left (padding with silence to cover the encoder's lookahead), ends the
    /// stream with the exact length in its last granule position, and returns the writer.
    pub fn finish(mut self) -> Result<W, AudioError> {
        // Enough frames that the last real sample, delayed by the lookahead, is encoded.
        let needed_samples = self.samples_in + self.lookahead_samples as u64;
        while self.frames_encoded * (OPUS_FRAME_SAMPLES as u64) < needed_samples
            || self.held.is_none()
        {
            self.frame.resize(OPUS_FRAME_SAMPLES, 0.0);
            self.encode_frame()?;
        }
        if let Some(last) = self.held.take() {
            let granule = u64::from(self.pre_skip) + self.samples_in * GRANULE_PER_SAMPLE;
            self.packets
                .write_packet(last, self.serial, PacketWriteEndInfo::EndStream, granule)
                .map_err(|error| AudioError::write(&self.shown_path, error))?;
        }
        Ok(self.packets.into_inner())
    }

    fn encode_frame(&mut self) -> Result<(), AudioError> {
        let length = self
            .encoder
            .encode_float(&self.frame, &mut self.output)
            .map_err(AudioError::encode)?;
        self.frame.clear();
        let packet = self.output.get(..length).unwrap_or_default().to_vec();
        if let Some(previous) = self.held.replace(packet) {
            // `frames_encoded` counts the packets before this one: the previous one is number
            // `frames_encoded`, and ends at that many frames of granule.
            let granule = self.frames_encoded * GRANULE_PER_FRAME;
            let end = if self.frames_encoded % PACKETS_PER_PAGE == 0 {
                PacketWriteEndInfo::EndPage
            } else {
                PacketWriteEndInfo::NormalPacket
            };
            self.packets
                .write_packet(previous, self.serial, end, granule)
                .map_err(|error| AudioError::write(&self.shown_path, error))?;
        }
        self.frames_encoded += 1;
        Ok(())
    }
}

/// The `OpusTags` header: vendor string and no comments (RFC 7845 §5.2).
fn opus_tags() -> Vec<u8> {
    let vendor = format!(
        "Verbatim {} with {}",
        env!("CARGO_PKG_VERSION"),
        opus::version()
    );
    let mut tags = b"OpusTags".to_vec();
    tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
    tags.extend_from_slice(vendor.as_bytes());
    tags.extend_from_slice(&0_u32.to_le_bytes());
    tags
}

/// A stream serial number that differs between files (RFC 3533 wants them unique when
/// streams are chained or multiplexed).
fn stream_serial(path: &Path) -> u32 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    path.hash(&mut hasher);
    std::time::SystemTime::now().hash(&mut hasher);
    std::process::id().hash(&mut hasher);
    hasher.finish() as u32
}

/// A sample in [-1, 1] as 16-bit PCM.
fn to_i16(sample: f32) -> i16 {
    (sample.clamp(-1.0, 1.0) * 32_767.0).round() as i16
}

/// The output, written under a temporary name beside it and renamed once complete; removed
/// if dropped before that.
fn create_output(output: &Path) -> Result<AtomicFile, AudioError> {
    if output.file_name().is_none() {
        return Err(AudioError::write(
            output,
            "the output path has no file name",
        ));
    }
    AtomicFile::create(output).map_err(|error| AudioError::write(output, error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn granules_end_exactly_and_pages_are_valid() {
        // 1.005 s of a tone: not a whole number of frames.
        let samples: Vec<f32> = (0..16_080).map(|n| (n as f32 * 0.2).sin() * 0.3).collect();
        let mut writer = OggOpusWriter::new(Vec::new(), 24_000, Path::new("memory.ogg")).unwrap();
        writer.write(&samples).unwrap();
        let bytes = writer.finish().unwrap();
        let mut reader = ogg::PacketReader::new(std::io::Cursor::new(bytes));
        let head = reader.read_packet_expected().unwrap();
        let head = OpusHead::parse(&head.data).unwrap();
        assert!(
            reader
                .read_packet_expected()
                .unwrap()
                .data
                .starts_with(b"OpusTags")
        );
        let mut last = None;
        while let Some(packet) = reader.read_packet().unwrap() {
            last = Some((packet.absgp_page(), packet.last_in_stream()));
        }
        let (granule, is_last) = last.unwrap();
        assert!(is_last);
        assert_eq!(granule - u64::from(head.pre_skip), 16_080 * 3);
    }

    #[test]
    fn bad_requests_are_refused() {
        assert!(matches!(
            check_bitrate(100),
            Err(AudioError::InvalidRequest { .. })
        ));
        let missing = Path::new("/nonexistent/in.wav");
        assert!(transcode_to_wav(missing, Path::new("/tmp/x.wav"), 0).is_err());
    }
}
