//! Getting a file into a shape a service accepts: the right format, under its size and
//! duration limits.
//!
//! A file a service takes as it is goes up untouched. Otherwise it is converted (Gradium takes
//! only PCM WAV and Ogg Opus); a file over a service's limit (LLM Stats 25 MB; 60db 10 MB and
//! one hour) is re-encoded as Opus, and if it is still too big, split at quiet moments into
//! parts whose transcripts are stitched back with their time offsets. The converting itself is
//! behind the [`Transcoder`] trait so the planning can be tested with a fake; the real one
//! wraps `crate::audio`.

use crate::audio::AudioError;
use crate::engine::EngineError;
use crate::units::{clock_rounded, describe_size};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The audio conversions upload preparation needs. Each returns the duration of what it
/// wrote, in seconds. Blocking (CPU work): called from `spawn_blocking`.
pub trait Transcoder: Send + Sync {
    /// Duration of a file in seconds, when it can be known without decoding it all.
    fn probe_duration_s(&self, input: &Path) -> Result<Option<f64>, AudioError>;
    /// 16-bit PCM WAV, mono, at `sample_rate_hz`.
    fn to_wav(&self, input: &Path, output: &Path, sample_rate_hz: u32) -> Result<f64, AudioError>;
    /// Ogg Opus at `bitrate_bps`.
    fn to_ogg_opus(&self, input: &Path, output: &Path, bitrate_bps: i32)
    -> Result<f64, AudioError>;
    /// The stretch `start_s..end_s` of `input` as Ogg Opus at `bitrate_bps`.
    fn ogg_opus_range(
        &self,
        input: &Path,
        output: &Path,
        start_s: f64,
        end_s: f64,
        bitrate_bps: i32,
    ) -> Result<f64, AudioError>;
}

/// The converter [`super::build_engine`] uses: Verbatim's own decoders and encoders.
pub fn default_transcoder() -> Arc<dyn Transcoder> {
    Arc::new(AudioTranscoder)
}

/// [`Transcoder`] over `crate::audio`: any input it decodes, streamed to WAV or Ogg Opus.
pub struct AudioTranscoder;

impl Transcoder for AudioTranscoder {
    fn probe_duration_s(&self, input: &Path) -> Result<Option<f64>, AudioError> {
        Ok(crate::audio::probe(input)?.duration_s)
    }

    fn to_wav(&self, input: &Path, output: &Path, sample_rate_hz: u32) -> Result<f64, AudioError> {
        crate::audio::transcode_to_wav(input, output, sample_rate_hz)
    }

    fn to_ogg_opus(
        &self,
        input: &Path,
        output: &Path,
        bitrate_bps: i32,
    ) -> Result<f64, AudioError> {
        crate::audio::transcode_to_ogg_opus(input, output, bitrate_bps)
    }

    fn ogg_opus_range(
        &self,
        input: &Path,
        output: &Path,
        start_s: f64,
        end_s: f64,
        bitrate_bps: i32,
    ) -> Result<f64, AudioError> {
        crate::audio::write_ogg_opus_range(input, output, start_s, end_s, bitrate_bps)
    }
}

/// A converter that converts nothing (for tests of the upload plan): WAV durations come from
/// the header, and any conversion fails with a message asking for a file the service takes.
pub struct PassThroughOnly;

impl Transcoder for PassThroughOnly {
    fn probe_duration_s(&self, input: &Path) -> Result<Option<f64>, AudioError> {
        Ok(wav_duration_s(input))
    }

    fn to_wav(
        &self,
        input: &Path,
        _output: &Path,
        _sample_rate_hz: u32,
    ) -> Result<f64, AudioError> {
        Err(cannot_convert(input))
    }

    fn to_ogg_opus(
        &self,
        input: &Path,
        _output: &Path,
        _bitrate_bps: i32,
    ) -> Result<f64, AudioError> {
        Err(cannot_convert(input))
    }

    fn ogg_opus_range(
        &self,
        input: &Path,
        _output: &Path,
        _start_s: f64,
        _end_s: f64,
        _bitrate_bps: i32,
    ) -> Result<f64, AudioError> {
        Err(cannot_convert(input))
    }
}

fn cannot_convert(input: &Path) -> AudioError {
    AudioError::Unsupported {
        path: input.display().to_string(),
        reason: "this build cannot convert audio for upload".into(),
    }
}

/// Duration of a WAV file from its header, if it is one hound can read.
pub fn wav_duration_s(path: &Path) -> Option<f64> {
    let reader = hound::WavReader::open(path).ok()?;
    let spec = reader.spec();
    (spec.sample_rate > 0).then(|| f64::from(reader.duration()) / f64::from(spec.sample_rate))
}

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

/// What a service takes, and how to convert what it does not.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadRules {
    pub service_name: &'static str,
    pub accepted: &'static [AudioFormat],
    pub max_size_bytes: Option<u64>,
    pub max_duration_s: Option<f64>,
    /// Opus bitrate for conversions and for re-encoding an oversized file.
    pub opus_bitrate_bps: i32,
}

const ANY_COMMON_FORMAT: &[AudioFormat] = &[
    AudioFormat::PcmWav,
    AudioFormat::OtherWav,
    AudioFormat::Mp3,
    AudioFormat::M4a,
    AudioFormat::Mp4,
    AudioFormat::OggOpus,
    AudioFormat::OggVorbis,
    AudioFormat::Flac,
    AudioFormat::WebM,
];

impl UploadRules {
    /// Gradium: PCM WAV or Ogg Opus only; no documented size limit.
    pub fn gradium() -> UploadRules {
        UploadRules {
            service_name: "Gradium",
            accepted: &[AudioFormat::PcmWav, AudioFormat::OggOpus],
            max_size_bytes: None,
            max_duration_s: None,
            opus_bitrate_bps: 48_000,
        }
    }

    /// PolarGrid: MP3, WAV, M4A, OGG, FLAC, WebM; no documented limits.
    pub fn polargrid() -> UploadRules {
        UploadRules {
            service_name: "PolarGrid",
            accepted: &[
                AudioFormat::PcmWav,
                AudioFormat::OtherWav,
                AudioFormat::Mp3,
                AudioFormat::M4a,
                AudioFormat::OggOpus,
                AudioFormat::OggVorbis,
                AudioFormat::Flac,
                AudioFormat::WebM,
            ],
            max_size_bytes: None,
            max_duration_s: None,
            opus_bitrate_bps: 48_000,
        }
    }

    /// LLM Stats: common formats up to 25 MB.
    pub fn llmstats() -> UploadRules {
        UploadRules {
            service_name: "LLM Stats",
            accepted: ANY_COMMON_FORMAT,
            max_size_bytes: Some(25_000_000),
            max_duration_s: None,
            opus_bitrate_bps: 32_000,
        }
    }

    /// 60db: common formats up to 10 MB and one hour.
    pub fn sixtydb() -> UploadRules {
        UploadRules {
            service_name: "60db",
            accepted: ANY_COMMON_FORMAT,
            max_size_bytes: Some(10_000_000),
            max_duration_s: Some(3600.0),
            opus_bitrate_bps: 32_000,
        }
    }

    fn fits(&self, size_bytes: u64, duration_s: Option<f64>) -> bool {
        self.max_size_bytes.is_none_or(|max| size_bytes <= max)
            && match (self.max_duration_s, duration_s) {
                (Some(max), Some(duration)) => duration <= max,
                _ => true,
            }
    }
}

/// One file to send and where it sits in the original.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadPart {
    pub path: PathBuf,
    pub format: AudioFormat,
    pub start_s: f64,
    pub duration_s: Option<f64>,
    pub size_bytes: u64,
    /// The name sent with multipart uploads (the original's stem with the part's extension).
    pub file_name: String,
}

/// The parts to send (one unless the file had to be split), kept alive with their temporary
/// directory.
#[derive(Debug)]
pub struct PreparedUpload {
    pub parts: Vec<UploadPart>,
    /// Duration of the whole file, when known.
    pub total_duration_s: Option<f64>,
    /// Things the user should be told (re-encoding, splitting).
    pub warnings: Vec<String>,
    _workdir: Option<tempfile::TempDir>,
}

/// Prepares `input` for a service with `rules`. Blocking; run it in `spawn_blocking`.
pub fn prepare_upload(
    input: &Path,
    rules: &UploadRules,
    transcoder: &dyn Transcoder,
) -> Result<PreparedUpload, EngineError> {
    let metadata = std::fs::metadata(input).map_err(|error| {
        EngineError::Service(format!("cannot read {}: {error}", input.display()))
    })?;
    if !metadata.is_file() {
        return Err(EngineError::Service(format!(
            "{} is not a file",
            input.display()
        )));
    }
    let size_bytes = metadata.len();
    if size_bytes == 0 {
        return Err(EngineError::Service(format!(
            "{} is empty; there is nothing to transcribe",
            input.display()
        )));
    }
    let format = sniff_file(input)?;
    let duration_s = transcoder.probe_duration_s(input).ok().flatten();
    let stem = input
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| !s.is_empty())
        .unwrap_or("audio")
        .to_string();
    let accepted = rules.accepted.contains(&format);

    if accepted && rules.fits(size_bytes, duration_s) {
        let file_name = match input.file_name().and_then(|n| n.to_str()) {
            Some(name) => name.to_string(),
            None => format!("{stem}.{}", format.extension()),
        };
        return Ok(PreparedUpload {
            parts: vec![UploadPart {
                path: input.to_path_buf(),
                format,
                start_s: 0.0,
                duration_s,
                size_bytes,
                file_name,
            }],
            total_duration_s: duration_s,
            warnings: Vec::new(),
            _workdir: None,
        });
    }

    let workdir = tempfile::Builder::new()
        .prefix("verbatim-upload-")
        .tempdir()
        .map_err(|error| {
            EngineError::Service(format!(
                "cannot create a temporary directory for the upload: {error}"
            ))
        })?;
    let mut warnings = Vec::new();
    let name = rules.service_name;
    let kbps = rules.opus_bitrate_bps / 1000;
    if !rules.fits(size_bytes, duration_s) {
        warnings.push(format!(
            "{} is {}, over the {name} limit of {}; re-encoding it as Opus at {kbps} kbit/s",
            display_name(input),
            describe_file(size_bytes, duration_s),
            describe_limits(rules),
        ));
    }
    let converted = workdir.path().join(format!("{stem}.ogg"));
    let converted_duration_s = transcoder
        .to_ogg_opus(input, &converted, rules.opus_bitrate_bps)
        .map_err(|error| {
            EngineError::Service(format!(
                "{} could not be converted for {name} ({error}); {}",
                display_name(input),
                if accepted {
                    "use a smaller or shorter file".to_string()
                } else {
                    format!(
                        "convert it to {} yourself and try again",
                        describe_accepted(rules)
                    )
                }
            ))
        })?;
    let converted_size = std::fs::metadata(&converted)
        .map(|m| m.len())
        .map_err(|error| {
            EngineError::Service(format!(
                "the converted audio could not be read back: {error}"
            ))
        })?;
    if rules.fits(converted_size, Some(converted_duration_s)) {
        return Ok(PreparedUpload {
            parts: vec![UploadPart {
                path: converted,
                format: AudioFormat::OggOpus,
                start_s: 0.0,
                duration_s: Some(converted_duration_s),
                size_bytes: converted_size,
                file_name: format!("{stem}.ogg"),
            }],
            total_duration_s: Some(converted_duration_s),
            warnings,
            _workdir: Some(workdir),
        });
    }

    // Still too big: split at quiet moments into parts under both limits, with a margin for
    // the Opus bitrate varying along the file.
    let mut max_part_s = converted_duration_s;
    if let Some(max_size) = rules.max_size_bytes
        && converted_size > 0
    {
        max_part_s =
            max_part_s.min(converted_duration_s * (max_size as f64 / converted_size as f64) * 0.85);
    }
    if let Some(max_duration) = rules.max_duration_s {
        max_part_s = max_part_s.min(max_duration * 0.98);
    }
    if max_part_s < 10.0 {
        return Err(EngineError::Service(format!(
            "{} cannot be split into parts small enough for {name}; use a shorter file",
            display_name(input)
        )));
    }
    let analysis = workdir.path().join("analysis.wav");
    transcoder.to_wav(input, &analysis, ANALYSIS_SAMPLE_RATE_HZ)?;
    let energies = frame_energies(&analysis, ENERGY_FRAME_S)?;
    let _ = std::fs::remove_file(&analysis);
    let boundaries = find_split_points(
        &energies,
        ENERGY_FRAME_S,
        converted_duration_s,
        max_part_s,
        SPLIT_SEARCH_WINDOW_S,
    );
    let mut starts = vec![0.0];
    starts.extend(boundaries.iter().copied());
    let mut ends = boundaries.clone();
    ends.push(converted_duration_s);
    let mut parts = Vec::new();
    for (index, (start_s, end_s)) in starts.iter().zip(&ends).enumerate() {
        let path = workdir.path().join(format!("{stem}.part{}.ogg", index + 1));
        let part_duration_s =
            transcoder.ogg_opus_range(input, &path, *start_s, *end_s, rules.opus_bitrate_bps)?;
        let part_size = std::fs::metadata(&path)
            .map(|m| m.len())
            .unwrap_or(u64::MAX);
        if !rules.fits(part_size, Some(part_duration_s)) {
            return Err(EngineError::Service(format!(
                "part {} of {} is still {}, over the {name} limit; use a shorter file",
                index + 1,
                display_name(input),
                describe_file(part_size, Some(part_duration_s))
            )));
        }
        parts.push(UploadPart {
            path,
            format: AudioFormat::OggOpus,
            start_s: *start_s,
            duration_s: Some(part_duration_s),
            size_bytes: part_size,
            file_name: format!("{stem}.part{}.ogg", index + 1),
        });
    }
    let spans: Vec<String> = parts
        .iter()
        .zip(&ends)
        .map(|(part, end_s)| format!("{}–{}", clock_rounded(part.start_s), clock_rounded(*end_s)))
        .collect();
    warnings.push(format!(
        "{} is still {} after re-encoding; sending it to {name} in {} parts split at pauses ({}) and joining the transcripts",
        display_name(input),
        describe_file(converted_size, Some(converted_duration_s)),
        parts.len(),
        spans.join(", ")
    ));
    Ok(PreparedUpload {
        parts,
        total_duration_s: Some(converted_duration_s),
        warnings,
        _workdir: Some(workdir),
    })
}

/// [`prepare_upload`] off the async threads, cancellable while it waits, with its warnings
/// sent to `sink`.
pub async fn prepare_upload_in_background(
    input: &Path,
    rules: UploadRules,
    transcoder: Arc<dyn Transcoder>,
    sink: &crate::events::EventSink,
    cancel: &tokio_util::sync::CancellationToken,
) -> Result<PreparedUpload, EngineError> {
    let input = input.to_path_buf();
    let work =
        tokio::task::spawn_blocking(move || prepare_upload(&input, &rules, transcoder.as_ref()));
    let prepared = tokio::select! {
        biased;
        _ = cancel.cancelled() => return Err(EngineError::Cancelled),
        joined = work => joined.map_err(|error| EngineError::Service(format!("preparing the upload failed: {error}")))??,
    };
    for warning in &prepared.warnings {
        sink.warning(warning.clone());
    }
    Ok(prepared)
}

/// [`prepare_upload_in_background`], and where the parts' segments go (see
/// [`crate::engine::cloud::output::PartOutput`]).
pub async fn prepare_parts<'a>(
    input: &Path,
    rules: UploadRules,
    transcoder: Arc<dyn Transcoder>,
    sink: &'a crate::events::EventSink,
    cancel: &tokio_util::sync::CancellationToken,
) -> Result<(PreparedUpload, super::output::PartOutput<'a>), EngineError> {
    let prepared = prepare_upload_in_background(input, rules, transcoder, sink, cancel).await?;
    let output = super::output::PartOutput::new(sink, prepared.total_duration_s);
    Ok((prepared, output))
}

/// Sample rate of the WAV decoded only to find pauses.
pub const ANALYSIS_SAMPLE_RATE_HZ: u32 = 8_000;
/// Energy is measured over frames this long.
pub const ENERGY_FRAME_S: f64 = 0.05;
/// How far before a part's longest allowed end a pause is looked for.
pub const SPLIT_SEARCH_WINDOW_S: f64 = 120.0;

/// RMS energy of each `frame_s` frame of a WAV file (channels mixed), read as a stream so
/// an hour of audio costs a few hundred kilobytes.
pub fn frame_energies(wav_path: &Path, frame_s: f64) -> Result<Vec<f32>, EngineError> {
    let fail = |reason: String| {
        EngineError::Service(format!("cannot analyse the audio to split it: {reason}"))
    };
    let mut reader = hound::WavReader::open(wav_path).map_err(|error| fail(error.to_string()))?;
    let spec = reader.spec();
    let channels = usize::from(spec.channels.max(1));
    let frame_len = ((f64::from(spec.sample_rate) * frame_s).round() as usize).max(1) * channels;
    let scale = match spec.sample_format {
        hound::SampleFormat::Float => 1.0,
        hound::SampleFormat::Int => 1.0 / (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f64,
    };
    let mut energies = Vec::new();
    let mut sum_squares = 0.0f64;
    let mut count = 0usize;
    let mut push_sample = |value: f64, energies: &mut Vec<f32>| {
        sum_squares += value * value;
        count += 1;
        if count == frame_len {
            energies.push((sum_squares / count as f64).sqrt() as f32);
            sum_squares = 0.0;
            count = 0;
        }
    };
    match spec.sample_format {
        hound::SampleFormat::Float => {
            for sample in reader.samples::<f32>() {
                push_sample(
                    f64::from(sample.map_err(|error| fail(error.to_string()))?),
                    &mut energies,
                );
            }
        }
        hound::SampleFormat::Int => {
            for sample in reader.samples::<i32>() {
                push_sample(
                    f64::from(sample.map_err(|error| fail(error.to_string()))?) * scale,
                    &mut energies,
                );
            }
        }
    }
    Ok(energies)
}

/// Where to cut a recording of `total_s` seconds into parts no longer than `max_part_s`:
/// for each cut, the quietest stretch (energy averaged over ~0.3 s) in the last
/// `search_window_s` before the longest allowed end, but never in a part's first half. With no
/// energy data the cuts fall at the longest allowed ends. Returns the cut times in seconds.
pub fn find_split_points(
    energies: &[f32],
    frame_s: f64,
    total_s: f64,
    max_part_s: f64,
    search_window_s: f64,
) -> Vec<f64> {
    let mut cuts = Vec::new();
    if !(max_part_s > 0.0 && frame_s > 0.0 && total_s.is_finite()) {
        return cuts;
    }
    let smoothing = ((0.3 / frame_s).round() as usize).max(1);
    let mut start_s = 0.0;
    while total_s - start_s > max_part_s {
        let limit_s = start_s + max_part_s;
        let window_start_s = (limit_s - search_window_s).max(start_s + max_part_s * 0.5);
        let first = (window_start_s / frame_s).ceil() as usize;
        let last = ((limit_s / frame_s).floor() as usize).min(energies.len());
        let mut best: Option<(f64, usize)> = None;
        for index in first..last.saturating_sub(smoothing.saturating_sub(1)) {
            let window = &energies[index..(index + smoothing).min(energies.len())];
            let mean = window.iter().map(|&e| f64::from(e)).sum::<f64>() / window.len() as f64;
            // `<=` prefers the latest of equally quiet places: longer parts, fewer cuts.
            if best.is_none_or(|(quietest, _)| mean <= quietest) {
                best = Some((mean, index));
            }
        }
        let cut_s = match best {
            Some((_, index)) => ((index as f64 + smoothing as f64 / 2.0) * frame_s).min(limit_s),
            None => limit_s,
        };
        let cut_s = if cut_s <= start_s { limit_s } else { cut_s };
        cuts.push(cut_s);
        start_s = cut_s;
    }
    cuts
}

fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn describe_file(size_bytes: u64, duration_s: Option<f64>) -> String {
    match duration_s {
        Some(duration) => format!(
            "{} and {}",
            describe_size(size_bytes),
            clock_rounded(duration)
        ),
        None => describe_size(size_bytes),
    }
}

fn describe_accepted(rules: &UploadRules) -> &'static str {
    if rules.accepted.contains(&AudioFormat::Mp3) {
        "WAV, FLAC or MP3"
    } else {
        "16-bit WAV or Ogg Opus"
    }
}

fn describe_limits(rules: &UploadRules) -> String {
    match (rules.max_size_bytes, rules.max_duration_s) {
        (Some(size), Some(duration)) => format!(
            "{} and {}",
            describe_size(size),
            clock_rounded(duration)
        ),
        (Some(size), None) => describe_size(size),
        (None, Some(duration)) => clock_rounded(duration),
        (None, None) => "none".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn testdata(relative: &str) -> Option<PathBuf> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/testdata")
            .join(relative);
        if path.exists() {
            Some(path)
        } else {
            assert!(
                std::env::var("CI").is_err(),
                "test data missing in CI: {}",
                path.display()
            );
            None
        }
    }

    /// A converter that writes files of a chosen size per second of audio and records calls.
    struct FakeTranscoder {
        duration_s: f64,
        opus_bytes_per_s: f64,
        calls: Mutex<Vec<String>>,
    }

    impl Transcoder for FakeTranscoder {
        fn probe_duration_s(&self, _input: &Path) -> Result<Option<f64>, AudioError> {
            Ok(Some(self.duration_s))
        }
        fn to_wav(
            &self,
            _input: &Path,
            output: &Path,
            sample_rate_hz: u32,
        ) -> Result<f64, AudioError> {
            self.calls
                .lock()
                .unwrap()
                .push(format!("wav {sample_rate_hz}"));
            // Loud audio with a silent second every 100 s, at 95–96 s, 195–196 s…
            let spec = hound::WavSpec {
                channels: 1,
                sample_rate: sample_rate_hz,
                bits_per_sample: 16,
                sample_format: hound::SampleFormat::Int,
            };
            let mut writer = hound::WavWriter::create(output, spec).unwrap();
            let total = (self.duration_s * f64::from(sample_rate_hz)) as u64;
            for index in 0..total {
                let t = index as f64 / f64::from(sample_rate_hz);
                let silent = (t % 100.0) >= 95.0 && (t % 100.0) < 96.0;
                let value = if silent {
                    0
                } else if index % 2 == 0 {
                    8000
                } else {
                    -8000
                };
                writer.write_sample(value as i16).unwrap();
            }
            writer.finalize().unwrap();
            Ok(self.duration_s)
        }
        fn to_ogg_opus(
            &self,
            _input: &Path,
            output: &Path,
            bitrate_bps: i32,
        ) -> Result<f64, AudioError> {
            self.calls
                .lock()
                .unwrap()
                .push(format!("opus {bitrate_bps}"));
            std::fs::write(
                output,
                vec![0u8; (self.duration_s * self.opus_bytes_per_s) as usize],
            )
            .unwrap();
            Ok(self.duration_s)
        }
        fn ogg_opus_range(
            &self,
            _input: &Path,
            output: &Path,
            start_s: f64,
            end_s: f64,
            bitrate_bps: i32,
        ) -> Result<f64, AudioError> {
            self.calls
                .lock()
                .unwrap()
                .push(format!("range {start_s:.2}-{end_s:.2} {bitrate_bps}"));
            std::fs::write(
                output,
                vec![0u8; ((end_s - start_s) * self.opus_bytes_per_s) as usize],
            )
            .unwrap();
            Ok(end_s - start_s)
        }
    }

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
        assert!(
            saw_float || std::env::var("CI").is_err(),
            "no float WAV found in wav-edge"
        );
    }

    #[test]
    fn a_file_the_service_takes_goes_up_untouched() {
        let Some(jfk) = testdata("speech/jfk.wav") else {
            return;
        };
        let prepared = prepare_upload(&jfk, &UploadRules::gradium(), &PassThroughOnly).unwrap();
        assert_eq!(prepared.parts.len(), 1);
        assert_eq!(prepared.parts[0].path, jfk);
        assert_eq!(prepared.parts[0].file_name, "jfk.wav");
        let duration = prepared.total_duration_s.unwrap();
        assert!((duration - 11.0).abs() < 0.1, "{duration}");
        assert!(prepared.warnings.is_empty());
    }

    #[test]
    fn a_format_the_service_refuses_is_converted_or_refused_clearly() {
        let Some(mp3) = testdata("speech/jfk.mp3") else {
            return;
        };
        let error = prepare_upload(&mp3, &UploadRules::gradium(), &PassThroughOnly)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("jfk.mp3") && error.contains("convert"),
            "{error}"
        );
        let fake = FakeTranscoder {
            duration_s: 11.0,
            opus_bytes_per_s: 6000.0,
            calls: Mutex::new(vec![]),
        };
        let prepared = prepare_upload(&mp3, &UploadRules::gradium(), &fake).unwrap();
        assert_eq!(prepared.parts[0].format, AudioFormat::OggOpus);
        assert_eq!(prepared.parts[0].file_name, "jfk.ogg");
        assert_eq!(fake.calls.lock().unwrap().as_slice(), ["opus 48000"]);
        assert!(prepared.warnings.is_empty());
        // The same MP3 goes to 60db as it is.
        let prepared = prepare_upload(&mp3, &UploadRules::sixtydb(), &fake).unwrap();
        assert_eq!(prepared.parts[0].path, mp3);
    }

    #[test]
    fn an_oversized_file_is_reencoded_then_split_at_pauses_within_the_limits() {
        let Some(jfk) = testdata("speech/jfk.wav") else {
            return;
        };
        // Pretend jfk.wav (352 kB) is 250 s long, the limit is 300 kB, and Opus makes 2 kB per
        // second: 500 kB, still over, so parts may be at most 127.5 s long; the cuts fall in
        // the silences at 95–96 s and 195–196 s.
        let fake = FakeTranscoder {
            duration_s: 250.0,
            opus_bytes_per_s: 2_000.0,
            calls: Mutex::new(vec![]),
        };
        let mut rules = UploadRules::sixtydb();
        rules.max_size_bytes = Some(300_000);
        let prepared = prepare_upload(&jfk, &rules, &fake).unwrap();
        assert_eq!(prepared.parts.len(), 3, "{:?}", prepared.parts);
        assert!(
            (95.0..=96.0).contains(&prepared.parts[1].start_s),
            "{:?}",
            prepared.parts[1]
        );
        assert!(
            (195.0..=196.0).contains(&prepared.parts[2].start_s),
            "{:?}",
            prepared.parts[2]
        );
        let mut previous_end = 0.0;
        for part in &prepared.parts {
            assert!(
                (part.start_s - previous_end).abs() < 1e-9,
                "parts must be contiguous"
            );
            assert!(part.size_bytes <= 300_000);
            previous_end = part.start_s + part.duration_s.unwrap();
        }
        assert!((previous_end - 250.0).abs() < 1e-6);
        assert_eq!(prepared.warnings.len(), 2, "{:?}", prepared.warnings);
        assert!(
            prepared.warnings[0].contains("over the 60db limit of 300 KB and 1:00:00"),
            "{}",
            prepared.warnings[0]
        );
        assert!(prepared.warnings[1].contains("parts"));
        let calls = fake.calls.lock().unwrap().clone();
        assert_eq!(calls[0], "opus 32000");
        assert_eq!(calls[1], "wav 8000");
        assert!(calls[2].starts_with("range 0.00-"));
    }

    #[test]
    fn an_over_long_file_is_split_under_an_hour_at_a_silence() {
        let Some(jfk) = testdata("speech/jfk.wav") else {
            return;
        };
        // 100 minutes, small enough in bytes, but 60db takes at most an hour per file.
        let fake = FakeTranscoder {
            duration_s: 6000.0,
            opus_bytes_per_s: 1000.0,
            calls: Mutex::new(vec![]),
        };
        let prepared = prepare_upload(&jfk, &UploadRules::sixtydb(), &fake).unwrap();
        assert_eq!(prepared.parts.len(), 2);
        let cut = prepared.parts[1].start_s;
        // The last silence before 0.98 h (3528 s) is at 3495–3496 s.
        assert!((3495.0..=3496.0).contains(&cut), "cut at {cut}");
    }

    #[test]
    fn split_points_prefer_the_quietest_place_before_the_limit() {
        let frame_s = 0.1;
        let mut energies = vec![1.0f32; 300];
        for energy in &mut energies[150..155] {
            *energy = 0.0;
        }
        let cuts = find_split_points(&energies, frame_s, 30.0, 20.0, 15.0);
        assert_eq!(cuts.len(), 1);
        assert!((15.0..=15.5).contains(&cuts[0]), "{cuts:?}");
        // No energy data: cut at the limits.
        assert_eq!(
            find_split_points(&[], frame_s, 45.0, 20.0, 15.0),
            vec![20.0, 40.0]
        );
        assert!(find_split_points(&energies, frame_s, 30.0, 40.0, 15.0).is_empty());
    }

    #[test]
    fn energies_are_measured_per_frame() {
        let Some(jfk) = testdata("speech/jfk.wav") else {
            return;
        };
        let energies = frame_energies(&jfk, 0.05).unwrap();
        assert!(
            (energies.len() as f64 - 11.0 / 0.05).abs() < 2.0,
            "{}",
            energies.len()
        );
        let loudest = energies.iter().cloned().fold(0.0f32, f32::max);
        let quietest = energies.iter().cloned().fold(f32::MAX, f32::min);
        assert!(
            loudest > 0.05 && quietest < loudest / 10.0,
            "{quietest} {loudest}"
        );
    }
}
