//! Ogg Opus files (RFC 7845) — what phones record voice notes in — demuxed with the `ogg`
//! crate and decoded with libopus. Honours pre-skip, output gain and end trimming by the last
//! page's granule position, so the decoded length matches the original exactly.

use super::error::AudioError;
use super::opus_decode::{OPUS_RATE_HZ, OpusHead, OpusPacketDecoder};
use super::source::{Frames, MAX_BAD_PACKETS_IN_A_ROW, Source, SourceFormat, check_format, guard};
use ogg::{OggReadError, PacketReader};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Packets examined at the start for an Opus stream among multiplexed ones.
const MAX_HEADER_PACKETS: usize = 64;
/// The largest possible Ogg page: 27 header bytes, 255 lacing values, 255 × 255 data bytes.
const MAX_PAGE_BYTES: u64 = 27 + 255 + 255 * 255;

/// An Ogg Opus stream read front to back.
pub(crate) struct OggOpusSource {
    path: PathBuf,
    reader: PacketReader<BufReader<File>>,
    serial: u32,
    head: OpusHead,
    decoder: OpusPacketDecoder,
    format: SourceFormat,
    /// Frames handed out so far (after pre-skip), at 48 kHz.
    frames_out: u64,
    bad_in_a_row: usize,
    pending: Option<Frames>,
    finished: bool,
}

impl OggOpusSource {
    /// Opens `path` if it holds an Opus stream; `Ok(None)` if it is some other Ogg codec.
    pub(crate) fn open(path: &Path) -> Result<Option<OggOpusSource>, AudioError> {
        let file = File::open(path).map_err(|error| AudioError::open(path, error))?;
        let mut reader = PacketReader::new(BufReader::new(file));
        let mut found: Option<(u32, OpusHead)> = None;
        for _ in 0..MAX_HEADER_PACKETS {
            let packet = match read_packet(&mut reader) {
                Ok(Some(packet)) => packet,
                Ok(None) => break,
                Err(reason) if found.is_none() => {
                    return Err(AudioError::unsupported(path, reason));
                }
                Err(reason) => return Err(AudioError::damaged(path, 0.0, reason)),
            };
            match &found {
                None if packet.first_in_stream() && packet.data.starts_with(b"OpusHead") => {
                    let head = OpusHead::parse(&packet.data)
                        .map_err(|reason| AudioError::unsupported(path, reason))?;
                    found = Some((packet.stream_serial(), head));
                }
                None if packet.first_in_stream() => continue,
                None => return Ok(None),
                Some((serial, head)) if packet.stream_serial() == *serial => {
                    if !packet.data.starts_with(b"OpusTags") {
                        return Err(AudioError::unsupported(
                            path,
                            "the Opus stream has no OpusTags header",
                        ));
                    }
                    let (serial, head) = (*serial, head.clone());
                    return Self::start(path, reader, serial, head).map(Some);
                }
                Some(_) => continue,
            }
        }
        match found {
            Some(_) => Err(AudioError::no_audio(
                path,
                "the Ogg Opus file ends after its first header",
            )),
            None => Ok(None),
        }
    }

    /// Sets up decoding once both headers are read, and decodes the first audio to be sure.
    fn start(
        path: &Path,
        reader: PacketReader<BufReader<File>>,
        serial: u32,
        head: OpusHead,
    ) -> Result<OggOpusSource, AudioError> {
        check_format(path, OPUS_RATE_HZ, usize::from(head.channel_count))?;
        let decoder =
            OpusPacketDecoder::new(&head).map_err(|error| AudioError::unsupported(path, error))?;
        let duration_s = last_granule_position(path, serial)
            .and_then(|granule| granule.checked_sub(u64::from(head.pre_skip)))
            .map(|frames| frames as f64 / f64::from(OPUS_RATE_HZ));
        let format = SourceFormat {
            sample_rate_hz: OPUS_RATE_HZ,
            channel_count: usize::from(head.channel_count),
            duration_s,
            codec: "opus".to_string(),
        };
        let mut source = OggOpusSource {
            path: path.to_path_buf(),
            reader,
            serial,
            head,
            decoder,
            format,
            frames_out: 0,
            bad_in_a_row: 0,
            pending: None,
            finished: false,
        };
        match source.decode_next()? {
            Some(frames) => source.pending = Some(frames),
            None => {
                return Err(AudioError::no_audio(
                    path,
                    "the Ogg Opus stream has no audio packets",
                ));
            }
        }
        Ok(source)
    }

    fn at_s(&self) -> f64 {
        self.frames_out as f64 / f64::from(OPUS_RATE_HZ)
    }

    /// Reads and decodes packets until one yields frames.
    fn decode_next(&mut self) -> Result<Option<Frames>, AudioError> {
        while !self.finished {
            let packet = match read_packet(&mut self.reader) {
                Ok(Some(packet)) => packet,
                Ok(None) => {
                    self.finished = true;
                    break;
                }
                Err(reason) => {
                    self.bad_in_a_row += 1;
                    if self.bad_in_a_row > MAX_BAD_PACKETS_IN_A_ROW || reason.ends_with("[fatal]") {
                        return Err(AudioError::damaged(&self.path, self.at_s(), reason));
                    }
                    log::warn!(
                        "{}: skipping a damaged Ogg page: {reason}",
                        self.path.display()
                    );
                    continue;
                }
            };
            if packet.stream_serial() != self.serial {
                continue;
            }
            let is_last = packet.last_in_stream();
            let end_granule = packet.absgp_page();
            let mut frames = match self.decoder.decode(&packet.data) {
                Ok(frames) => {
                    self.bad_in_a_row = 0;
                    frames
                }
                Err(error) => {
                    self.bad_in_a_row += 1;
                    if self.bad_in_a_row > MAX_BAD_PACKETS_IN_A_ROW {
                        return Err(AudioError::damaged(&self.path, self.at_s(), error));
                    }
                    log::warn!(
                        "{}: skipping an undecodable Opus packet: {error}",
                        self.path.display()
                    );
                    continue;
                }
            };
            if is_last {
                // End trimming: the last page's granule position says how much audio there is.
                self.finished = true;
                let total = end_granule.saturating_sub(u64::from(self.head.pre_skip));
                let allowed =
                    usize::try_from(total.saturating_sub(self.frames_out)).unwrap_or(usize::MAX);
                for channel in frames.iter_mut() {
                    channel.truncate(allowed);
                }
            }
            let frame_count = frames.first().map_or(0, Vec::len);
            if frame_count > 0 {
                self.frames_out += frame_count as u64;
                return Ok(Some(frames));
            }
        }
        Ok(None)
    }
}

impl Source for OggOpusSource {
    fn format(&self) -> &SourceFormat {
        &self.format
    }

    fn next_frames(&mut self) -> Result<Option<Frames>, AudioError> {
        if let Some(frames) = self.pending.take() {
            return Ok(Some(frames));
        }
        self.decode_next()
    }
}

/// One packet, with any panic or error in the demuxer turned into a message. Errors that leave
/// the reader unusable end with "[fatal]".
fn read_packet(reader: &mut PacketReader<BufReader<File>>) -> Result<Option<ogg::Packet>, String> {
    match guard(|| reader.read_packet()) {
        Ok(Ok(packet)) => Ok(packet),
        Ok(Err(OggReadError::HashMismatch(..))) => {
            Err("an Ogg page fails its checksum".to_string())
        }
        Ok(Err(OggReadError::InvalidData)) => {
            Err("an Ogg page breaks the format's rules".to_string())
        }
        Ok(Err(OggReadError::ReadError(error)))
            if error.kind() == std::io::ErrorKind::UnexpectedEof =>
        {
            Ok(None)
        }
        Ok(Err(error)) => Err(format!("{error} [fatal]")),
        Err(reason) => Err(format!("{reason} [fatal]")),
    }
}

/// The granule position of the stream's last page, read from the end of the file; `None` if
/// the file does not end with a complete page of this stream (a truncated file).
fn last_granule_position(path: &Path, serial: u32) -> Option<u64> {
    let mut file = File::open(path).ok()?;
    let file_len = file.metadata().ok()?.len();
    let tail_len = file_len.min(MAX_PAGE_BYTES);
    file.seek(SeekFrom::Start(file_len - tail_len)).ok()?;
    let mut tail = Vec::with_capacity(usize::try_from(tail_len).ok()?);
    file.take(tail_len).read_to_end(&mut tail).ok()?;
    // The last page is the one whose declared size ends exactly at the end of the file.
    let mut start = tail.len().checked_sub(27)?;
    loop {
        if tail.get(start..start + 4) == Some(b"OggS".as_slice()) && tail.get(start + 4) == Some(&0)
        {
            let header = tail.get(start..start + 27)?;
            let segment_count = usize::from(*header.get(26)?);
            let lacing = tail.get(start + 27..start + 27 + segment_count);
            if let Some(lacing) = lacing {
                let page_len = 27
                    + segment_count
                    + lacing
                        .iter()
                        .map(|&value| usize::from(value))
                        .sum::<usize>();
                let page_serial = u32::from_le_bytes(header.get(14..18)?.try_into().ok()?);
                if start + page_len == tail.len() && page_serial == serial {
                    let granule = i64::from_le_bytes(header.get(6..14)?.try_into().ok()?);
                    return u64::try_from(granule).ok();
                }
            }
        }
        start = start.checked_sub(1)?;
    }
}
