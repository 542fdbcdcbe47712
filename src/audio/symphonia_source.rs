//! Everything else through symphonia: MP3, AAC/M4A, FLAC, Ogg Vorbis, ALAC, ADPCM and other
//! compressed WAVs, AIFF, CAF, and the audio track of MP4/MOV/MKV/WebM video. Opus tracks in
//! those containers go to libopus. Every call into symphonia is guarded so that a panic on
//! damaged data becomes an error, and the decoder's announced buffer sizes are checked first.

use super::container_check;
use super::error::AudioError;
use super::mp4_edit::{self, AudioEdit};
use super::opus_decode::{OPUS_RATE_HZ, OpusHead, OpusPacketDecoder};
use super::source::{
    Frames, MAX_BAD_PACKETS_IN_A_ROW, MAX_FRAMES_PER_PACKET, Source, SourceFormat, check_format,
    fit_channels, guard,
};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use symphonia::core::audio::{AudioBufferRef, SampleBuffer};
use symphonia::core::codecs::{
    CODEC_TYPE_AAC, CODEC_TYPE_NULL, CODEC_TYPE_OPUS, CodecParameters, Decoder, DecoderOptions,
};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader, SeekMode, SeekTo};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;
use symphonia::core::units::Time;

/// Packets tried at the start before a file whose packets all fail counts as undecodable.
const MAX_PACKETS_TO_FIRST_AUDIO: usize = 256;

/// A decoder for the chosen track.
enum TrackDecoder {
    Symphonia(Box<dyn Decoder>),
    Opus {
        decoder: Box<OpusPacketDecoder>,
        head: OpusHead,
    },
}

/// A file read through symphonia, one track of it.
pub(crate) struct SymphoniaSource {
    path: PathBuf,
    reader: Box<dyn FormatReader>,
    decoder: TrackDecoder,
    track_id: u32,
    format: SourceFormat,
    /// Seconds per unit of the track's timestamps, for seeking.
    seconds_per_ts: Option<f64>,
    samples: Option<SampleBuffer<f32>>,
    frames_out: u64,
    pending: Option<Frames>,
    finished: bool,
    /// Packets of other tracks (video) skipped; they do not count as failed attempts.
    other_track_packets: u64,
    /// The MP4 edit list of an AAC track, applied once the decoded rate is known.
    edit: Option<AudioEdit>,
    /// Priming frames the edit list drops from the start.
    edit_skip_frames: u64,
    /// Priming frames still to drop.
    skip_left: u64,
    /// Where the edit list ends the audio, in frames after the priming.
    end_frame: Option<u64>,
}

impl SymphoniaSource {
    /// Opens `path`, or only the byte range `part` of it (a stream wrapped in another
    /// container). A leading ID3v2 tag is skipped unread: Verbatim needs no tags, and
    /// symphonia sizes buffers from tag fields (up to 4 GB) before checking them.
    pub(crate) fn open_part(
        path: &Path,
        part: Option<FilePart>,
    ) -> Result<SymphoniaSource, AudioError> {
        let part = match part {
            None => after_id3v2_tag(path)?,
            part => part,
        };
        let reader = probe_format(path, part)?;
        let (track_id, decoder, params) = choose_track(path, reader.as_ref())?;
        let codec = codec_name(&params);
        let seconds_per_ts = params
            .time_base
            .filter(|base| base.numer > 0 && base.denom > 0)
            .map(|base| f64::from(base.numer) / f64::from(base.denom))
            .or_else(|| {
                params
                    .sample_rate
                    .filter(|&rate| rate > 0)
                    .map(|rate| 1.0 / f64::from(rate))
            });
        let duration_s = params
            .n_frames
            .zip(seconds_per_ts)
            .map(|(frames, seconds)| frames as f64 * seconds)
            .filter(|duration| duration.is_finite() && *duration > 0.0);

        let mut source = SymphoniaSource {
            path: path.to_path_buf(),
            reader,
            decoder,
            track_id,
            format: SourceFormat {
                sample_rate_hz: 0,
                channel_count: 0,
                duration_s,
                codec,
            },
            seconds_per_ts,
            samples: None,
            frames_out: 0,
            pending: None,
            finished: false,
            other_track_packets: 0,
            edit: if params.codec == CODEC_TYPE_AAC {
                mp4_edit::first_audio_edit(path)
            } else {
                None
            },
            edit_skip_frames: 0,
            skip_left: 0,
            end_frame: None,
        };
        if let Some(AudioEdit {
            duration_s: Some(duration_s),
            ..
        }) = source.edit
        {
            source.format.duration_s = Some(duration_s);
        }
        source.decode_first_audio()?;
        Ok(source)
    }

    /// Decodes up to the first packet with audio and keeps it pending: it says what the audio
    /// really is (AAC with SBR, for one, decodes to a different rate and channel count than
    /// its container declares).
    fn decode_first_audio(&mut self) -> Result<(), AudioError> {
        let path = self.path.clone();
        let path = path.as_path();
        let mut attempts: u64 = 0;
        let mut last_problem: Option<String> = None;
        loop {
            attempts += 1;
            let ours = attempts - self.other_track_packets;
            if ours > MAX_PACKETS_TO_FIRST_AUDIO as u64 {
                let reason =
                    last_problem.unwrap_or_else(|| "no audio in the first packets".to_string());
                return Err(AudioError::unsupported(path, reason));
            }
            match self.read_and_decode() {
                Ok(Some((frames, rate))) => {
                    if self.format.sample_rate_hz == 0 {
                        check_format(path, rate, frames.len())?;
                        self.format.sample_rate_hz = rate;
                        self.format.channel_count = frames.len();
                        self.apply_edit(rate);
                    }
                    let frames = self.trim(fit_channels(frames, self.format.channel_count));
                    if frames.first().is_none_or(Vec::is_empty) {
                        if self.finished {
                            return Err(AudioError::no_audio(
                                path,
                                "the edit list leaves no audio",
                            ));
                        }
                        continue;
                    }
                    self.frames_out = frames.first().map_or(0, Vec::len) as u64;
                    self.pending = Some(frames);
                    return Ok(());
                }
                Ok(None) if self.finished => {
                    return Err(match last_problem {
                        Some(reason) => AudioError::unsupported(path, reason),
                        None => AudioError::no_audio(path, "no audio packets"),
                    });
                }
                Ok(None) => continue,
                Err(Problem::Packet(reason)) => last_problem = Some(reason),
                Err(Problem::Fatal(reason)) => return Err(AudioError::unsupported(path, reason)),
            }
        }
    }

    /// Turns the edit list's times into frames at the decoded rate.
    fn apply_edit(&mut self, rate_hz: u32) {
        if let Some(edit) = self.edit {
            let rate = f64::from(rate_hz);
            self.edit_skip_frames = (edit.skip_s * rate).round() as u64;
            self.skip_left = self.edit_skip_frames;
            self.end_frame = edit
                .duration_s
                .map(|duration_s| (duration_s * rate).round() as u64);
        }
    }

    /// Drops priming at the start and padding past the end, per the edit list.
    fn trim(&mut self, mut frames: Frames) -> Frames {
        let count = frames.first().map_or(0, Vec::len) as u64;
        let skip = self.skip_left.min(count);
        self.skip_left -= skip;
        let mut keep = count - skip;
        if let Some(end_frame) = self.end_frame {
            let room = end_frame.saturating_sub(self.frames_out);
            if keep >= room {
                keep = room;
                self.finished = true;
            }
        }
        let (skip, keep) = (
            usize::try_from(skip).unwrap_or(0),
            usize::try_from(keep).unwrap_or(0),
        );
        for channel in frames.iter_mut() {
            channel.drain(..skip.min(channel.len()));
            channel.truncate(keep);
        }
        frames
    }

    fn at_s(&self) -> f64 {
        match self.format.sample_rate_hz {
            0 => 0.0,
            rate => self.frames_out as f64 / f64::from(rate),
        }
    }

    /// Reads one packet of our track and decodes it. `Ok(None)` for a packet that decoded to
    /// nothing or at the end (then `finished` is set).
    fn read_and_decode(&mut self) -> Result<Option<(Frames, u32)>, Problem> {
        let packet = match guard(|| self.reader.next_packet()) {
            Err(reason) => return Err(Problem::Fatal(reason)),
            Ok(Ok(packet)) => packet,
            Ok(Err(SymphoniaError::IoError(error)))
                if error.kind() == std::io::ErrorKind::UnexpectedEof =>
            {
                self.finished = true;
                return Ok(None);
            }
            Ok(Err(SymphoniaError::ResetRequired)) => {
                // A new chained stream begins; its parameters may differ, so stop here.
                log::warn!(
                    "{}: the file switches to a new stream; only the first is read",
                    self.path.display()
                );
                self.finished = true;
                return Ok(None);
            }
            Ok(Err(SymphoniaError::DecodeError(reason))) => {
                return Err(Problem::Packet(format!("malformed data: {reason}")));
            }
            Ok(Err(error)) => return Err(Problem::Fatal(error.to_string())),
        };
        if packet.track_id() != self.track_id {
            self.other_track_packets += 1;
            return Ok(None);
        }
        match &mut self.decoder {
            TrackDecoder::Opus { decoder, .. } => {
                let frames = decoder
                    .decode(&packet.data)
                    .map_err(|error| Problem::Packet(error.0))?;
                Ok(Some((frames, OPUS_RATE_HZ))
                    .filter(|(frames, _)| frames.first().is_some_and(|c| !c.is_empty())))
            }
            TrackDecoder::Symphonia(decoder) => {
                let samples = &mut self.samples;
                let decoded = guard(|| match decoder.decode(&packet) {
                    Ok(buffer) => Ok(planar(buffer, samples)),
                    Err(error) => Err(error),
                });
                match decoded {
                    Err(reason) => Err(Problem::Fatal(reason)),
                    Ok(Ok(result)) => Ok(result),
                    Ok(Err(SymphoniaError::DecodeError(reason))) => {
                        Err(Problem::Packet(format!("malformed data: {reason}")))
                    }
                    Ok(Err(SymphoniaError::IoError(error))) => {
                        Err(Problem::Packet(error.to_string()))
                    }
                    Ok(Err(error)) => Err(Problem::Fatal(error.to_string())),
                }
            }
        }
    }
}

impl Source for SymphoniaSource {
    fn format(&self) -> &SourceFormat {
        &self.format
    }

    fn next_frames(&mut self) -> Result<Option<Frames>, AudioError> {
        if let Some(frames) = self.pending.take() {
            return Ok(Some(frames));
        }
        let mut bad_in_a_row = 0;
        while !self.finished {
            match self.read_and_decode() {
                Ok(Some((frames, rate))) => {
                    if rate != self.format.sample_rate_hz {
                        return Err(AudioError::damaged(
                            &self.path,
                            self.at_s(),
                            format!(
                                "the sample rate changes from {} to {rate} Hz",
                                self.format.sample_rate_hz
                            ),
                        ));
                    }
                    let frames = self.trim(fit_channels(frames, self.format.channel_count));
                    if frames.first().is_none_or(Vec::is_empty) {
                        continue;
                    }
                    self.frames_out += frames.first().map_or(0, Vec::len) as u64;
                    return Ok(Some(frames));
                }
                Ok(None) => continue,
                Err(Problem::Packet(reason)) => {
                    bad_in_a_row += 1;
                    if bad_in_a_row > MAX_BAD_PACKETS_IN_A_ROW {
                        return Err(AudioError::damaged(&self.path, self.at_s(), reason));
                    }
                    log::warn!(
                        "{}: skipping a damaged packet at {:.1} s: {reason}",
                        self.path.display(),
                        self.at_s()
                    );
                }
                Err(Problem::Fatal(reason)) => {
                    self.finished = true;
                    return Err(AudioError::damaged(&self.path, self.at_s(), reason));
                }
            }
        }
        Ok(None)
    }

    fn seek_to_frame(&mut self, frame: u64) -> Result<Option<u64>, AudioError> {
        let Some(seconds_per_ts) = self.seconds_per_ts else {
            return Ok(None);
        };
        let rate = f64::from(self.format.sample_rate_hz);
        // Timestamps count the priming that the edit list drops.
        let seconds = (frame + self.edit_skip_frames) as f64 / rate;
        let time = Time::new(seconds.trunc() as u64, seconds.fract());
        let track_id = self.track_id;
        let seeked = guard(|| {
            self.reader.seek(
                SeekMode::Accurate,
                SeekTo::Time {
                    time,
                    track_id: Some(track_id),
                },
            )
        });
        let seeked = match seeked {
            Ok(Ok(seeked)) => seeked,
            // The container cannot seek (or the attempt failed): the caller reopens and skips.
            Ok(Err(error)) => {
                log::info!(
                    "{}: cannot seek ({error}); decoding from the start instead",
                    self.path.display()
                );
                return Err(AudioError::damaged(&self.path, seconds, error));
            }
            Err(reason) => return Err(AudioError::damaged(&self.path, seconds, reason)),
        };
        match &mut self.decoder {
            TrackDecoder::Symphonia(decoder) => decoder.reset(),
            TrackDecoder::Opus { decoder, head } => {
                decoder
                    .reset(head)
                    .map_err(|error| AudioError::damaged(&self.path, seconds, error))?;
            }
        }
        self.pending = None;
        self.finished = false;
        let actual_media_frame = (seeked.actual_ts as f64 * seconds_per_ts * rate).round() as u64;
        self.skip_left = self.edit_skip_frames.saturating_sub(actual_media_frame);
        let actual_frame = actual_media_frame.saturating_sub(self.edit_skip_frames);
        self.frames_out = actual_frame;
        Ok(Some(actual_frame.min(frame)))
    }
}

/// Bytes `start..end` of a file, read as if they were the whole file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FilePart {
    pub start: u64,
    pub end: u64,
    /// The format they hold, as a file extension ("mp3"); `None` to go by the file's name.
    pub extension: Option<&'static str>,
}

/// A byte range of a file as a symphonia media source.
struct FileRange {
    file: File,
    part: FilePart,
    /// Position relative to `part.start`.
    position: u64,
}

impl Read for FileRange {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let left = self
            .part
            .end
            .saturating_sub(self.part.start + self.position);
        let wanted = usize::try_from(left)
            .unwrap_or(usize::MAX)
            .min(buffer.len());
        let Some(slot) = buffer.get_mut(..wanted) else {
            return Ok(0);
        };
        let read = self.file.read(slot)?;
        self.position += read as u64;
        Ok(read)
    }
}

impl Seek for FileRange {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let len = self.part.end - self.part.start;
        let target = match to {
            SeekFrom::Start(offset) => Some(offset),
            SeekFrom::End(offset) => len.checked_add_signed(offset),
            SeekFrom::Current(offset) => self.position.checked_add_signed(offset),
        };
        let target = target.ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start")
        })?;
        self.file.seek(SeekFrom::Start(self.part.start + target))?;
        self.position = target;
        Ok(target)
    }
}

impl MediaSource for FileRange {
    fn is_seekable(&self) -> bool {
        true
    }

    fn byte_len(&self) -> Option<u64> {
        Some(self.part.end - self.part.start)
    }
}

/// The file after a leading ID3v2 tag, when it has one (`None`: the whole file).
fn after_id3v2_tag(path: &Path) -> Result<Option<FilePart>, AudioError> {
    let Some(tag_end) = container_check::id3v2_end(path) else {
        return Ok(None);
    };
    let file_len = std::fs::metadata(path)
        .map_err(|error| AudioError::open(path, error))?
        .len();
    if tag_end >= file_len {
        return Err(AudioError::unsupported(
            path,
            "the file ends inside its ID3 tag, before any audio",
        ));
    }
    Ok(Some(FilePart {
        start: tag_end,
        end: file_len,
        extension: None,
    }))
}

/// Finds the container format of a file (or part of one) and opens its reader.
fn probe_format(path: &Path, part: Option<FilePart>) -> Result<Box<dyn FormatReader>, AudioError> {
    let file = File::open(path).map_err(|error| AudioError::open(path, error))?;
    let mut hint = Hint::new();
    let extension = part
        .and_then(|part| part.extension)
        .or_else(|| path.extension().and_then(|extension| extension.to_str()));
    if let Some(extension) = extension {
        hint.with_extension(extension);
    }
    let source: Box<dyn MediaSource> = match part {
        Some(part) => {
            let mut range = FileRange {
                file,
                part,
                position: 0,
            };
            range
                .seek(SeekFrom::Start(0))
                .map_err(|error| AudioError::open(path, error))?;
            Box::new(range)
        }
        None => Box::new(file),
    };
    let stream = MediaSourceStream::new(source, Default::default());
    let format_options = FormatOptions {
        enable_gapless: true,
        ..Default::default()
    };
    let probed = guard(|| {
        symphonia::default::get_probe().format(
            &hint,
            stream,
            &format_options,
            &MetadataOptions::default(),
        )
    })
    .map_err(|reason| AudioError::unsupported(path, reason))?
    .map_err(|error| open_error(path, &error))?;
    Ok(probed.format)
}

/// Why a packet gave no audio: a damaged packet (skip it) or a broken reader (stop).
enum Problem {
    Packet(String),
    Fatal(String),
}

/// Picks the first track that has audio we can decode, preferring the container's default.
fn choose_track(
    path: &Path,
    reader: &dyn FormatReader,
) -> Result<(u32, TrackDecoder, CodecParameters), AudioError> {
    let tracks = reader.tracks();
    let default_id = reader.default_track().map(|track| track.id);
    let ordered = tracks
        .iter()
        .filter(|track| Some(track.id) == default_id)
        .chain(tracks.iter().filter(|track| Some(track.id) != default_id));
    let mut problems: Vec<String> = Vec::new();
    for track in ordered {
        let params = &track.codec_params;
        if params.codec == CODEC_TYPE_NULL {
            continue;
        }
        match make_decoder(path, params) {
            Ok(decoder) => return Ok((track.id, decoder, params.clone())),
            Err(reason) => problems.push(reason),
        }
    }
    Err(match problems.into_iter().next() {
        Some(reason) => AudioError::unsupported(path, reason),
        None if tracks.is_empty() => AudioError::no_audio(path, "the container has no tracks"),
        None => AudioError::unsupported(path, "no audio track in a codec Verbatim can decode"),
    })
}

/// A decoder for one track, after checking that its announced sizes are sane.
fn make_decoder(path: &Path, params: &CodecParameters) -> Result<TrackDecoder, String> {
    let name = codec_name(params);
    if let Some(rate) = params.sample_rate {
        check_format(
            path,
            rate,
            params.channels.map_or(1, |channels| channels.count()),
        )
        .map_err(|_| {
            format!(
                "{name} track: {rate} Hz with {:?} channels is out of range",
                params.channels.map(|c| c.count())
            )
        })?;
    }
    if let Some(frames) = params.max_frames_per_packet
        && frames > MAX_FRAMES_PER_PACKET
    {
        return Err(format!("{name} track announces {frames}-frame packets"));
    }
    if params.codec == CODEC_TYPE_OPUS {
        let head = match params.extra_data.as_deref() {
            Some(extra) if extra.starts_with(b"OpusHead") => {
                OpusHead::parse_container_header(extra)?
            }
            _ => {
                let channels = params.channels.map_or(1, |channels| channels.count());
                let channels = u8::try_from(channels)
                    .ok()
                    .filter(|&count| count <= 2)
                    .ok_or("multichannel Opus without a header")?;
                OpusHead::simple(channels, 0, OPUS_RATE_HZ)
            }
        };
        let decoder = OpusPacketDecoder::new(&head).map_err(|error| error.0)?;
        return Ok(TrackDecoder::Opus {
            decoder: Box::new(decoder),
            head,
        });
    }
    let made = guard(|| symphonia::default::get_codecs().make(params, &DecoderOptions::default()))?;
    made.map(TrackDecoder::Symphonia)
        .map_err(|error| format!("{name}: {error}"))
}

/// A short name for the track's codec ("mp3", "aac", "flac", "opus"…).
fn codec_name(params: &CodecParameters) -> String {
    if params.codec == CODEC_TYPE_OPUS {
        return "opus".to_string();
    }
    symphonia::default::get_codecs()
        .get_codec(params.codec)
        .map_or_else(
            || format!("codec {}", params.codec),
            |descriptor| descriptor.short_name.to_string(),
        )
}

/// Copies a decoded buffer into planar frames; `None` if it holds no frames.
fn planar(
    buffer: AudioBufferRef<'_>,
    samples: &mut Option<SampleBuffer<f32>>,
) -> Option<(Frames, u32)> {
    let spec = *buffer.spec();
    let frame_count = buffer.frames();
    let channel_count = spec.channels.count();
    if frame_count == 0 || channel_count == 0 {
        return None;
    }
    let needed = buffer.capacity().max(frame_count);
    let fits = samples
        .as_ref()
        .is_some_and(|existing| existing.capacity() >= needed * channel_count);
    if !fits {
        *samples = Some(SampleBuffer::new(needed as u64, spec));
    }
    let samples = samples.as_mut()?;
    samples.copy_planar_ref(buffer);
    let interleaved_planes = samples.samples();
    let frames = interleaved_planes
        .chunks_exact(frame_count)
        .take(channel_count)
        .map(|channel| {
            let finite = |sample: &f32| if sample.is_finite() { *sample } else { 0.0 };
            channel.iter().map(finite).collect::<Vec<f32>>()
        })
        .collect::<Vec<_>>();
    Some((frames, spec.rate))
}

/// A symphonia error at open time, as one of ours.
fn open_error(path: &Path, error: &SymphoniaError) -> AudioError {
    match error {
        SymphoniaError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            AudioError::unsupported(path, "the file ends before its header does")
        }
        SymphoniaError::IoError(io) => AudioError::open(path, io),
        SymphoniaError::Unsupported(what) if what.contains("no suitable format reader") => {
            AudioError::unsupported(path, "not an audio or video format Verbatim recognises")
        }
        SymphoniaError::Unsupported(what) => {
            AudioError::unsupported(path, format!("not supported: {what}"))
        }
        other => AudioError::unsupported(path, other),
    }
}
