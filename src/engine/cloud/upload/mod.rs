//! Getting a file into a shape a service accepts: the right format, under its size and
//! duration limits.
//!
//! A file a service takes as it is goes up untouched. Otherwise it is converted (Gradium takes
//! only PCM WAV and Ogg Opus); a file over a service's limit (LLM Stats 25 MB; 60db 10 MB and
//! one hour) is re-encoded as Opus, and if it is still too big, split at quiet moments into
//! parts whose transcripts are stitched back with their time offsets. The converting itself is
//! behind the [`Transcoder`] trait so the planning can be tested with a fake; the real one
//! wraps `crate::audio`.
//!
//! One job per module: [`sniff`] tells a file's format, [`limits`] holds what each service
//! takes, [`split`] finds the pauses to cut at; this module plans and converts.

pub mod limits;
pub mod sniff;
pub mod split;

pub use limits::UploadRules;
pub use sniff::{AudioFormat, sniff_bytes, sniff_file};
pub use split::{
    ANALYSIS_SAMPLE_RATE_HZ, ENERGY_FRAME_S, SPLIT_SEARCH_WINDOW_S, find_split_points,
    frame_energies,
};

use crate::audio::AudioError;
use crate::engine::EngineError;
use crate::units::{clock_rounded, describe_size};
use limits::{describe_accepted, describe_limits};
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
        let is_wav = matches!(
            sniff_file(input),
            Ok(AudioFormat::PcmWav | AudioFormat::OtherWav)
        );
        Ok(if is_wav {
            crate::audio::probe(input)?.duration_s
        } else {
            None
        })
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
    let original = Original::inspect(input, transcoder)?;
    let accepted = rules.accepted.contains(&original.format);
    let fits = rules.fits(original.size_bytes, original.duration_s);
    if accepted && fits {
        return Ok(PreparedUpload {
            parts: vec![original.as_part()],
            total_duration_s: original.duration_s,
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
    if !fits {
        warnings.push(format!(
            "{} is {}, over the {} limit of {}; re-encoding it as Opus at {} kbit/s",
            original.display_name(),
            describe_file(original.size_bytes, original.duration_s),
            rules.service_name,
            describe_limits(rules),
            rules.opus_bitrate_bps / 1000,
        ));
    }
    let converted = reencode(&original, rules, accepted, transcoder, workdir.path())?;
    let total_duration_s = converted.duration_s;
    if rules.fits(converted.size_bytes, converted.duration_s) {
        return Ok(PreparedUpload {
            parts: vec![converted],
            total_duration_s,
            warnings,
            _workdir: Some(workdir),
        });
    }
    let parts = split::split_at_pauses(&original, &converted, rules, transcoder, workdir.path())?;
    warnings.push(split::split_warning(&original, &converted, &parts, rules));
    Ok(PreparedUpload {
        parts,
        total_duration_s,
        warnings,
        _workdir: Some(workdir),
    })
}

/// The file as it was given: what it is, how big and how long.
struct Original<'a> {
    path: &'a Path,
    format: AudioFormat,
    size_bytes: u64,
    duration_s: Option<f64>,
    /// The file name without its extension, for the names of converted parts.
    stem: String,
}

impl<'a> Original<'a> {
    /// Refuses what is not a file or is empty, then sniffs and probes it.
    fn inspect(path: &'a Path, transcoder: &dyn Transcoder) -> Result<Original<'a>, EngineError> {
        let metadata = std::fs::metadata(path).map_err(|error| {
            EngineError::Service(format!("cannot read {}: {error}", path.display()))
        })?;
        if !metadata.is_file() {
            return Err(EngineError::Service(format!(
                "{} is not a file",
                path.display()
            )));
        }
        if metadata.len() == 0 {
            return Err(EngineError::Service(format!(
                "{} is empty; there is nothing to transcribe",
                path.display()
            )));
        }
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .filter(|s| !s.is_empty())
            .unwrap_or("audio")
            .to_string();
        Ok(Original {
            path,
            format: sniff_file(path)?,
            size_bytes: metadata.len(),
            duration_s: transcoder.probe_duration_s(path).ok().flatten(),
            stem,
        })
    }

    /// The file sent as it is, under its own name.
    fn as_part(&self) -> UploadPart {
        let file_name = match self.path.file_name().and_then(|n| n.to_str()) {
            Some(name) => name.to_string(),
            None => format!("{}.{}", self.stem, self.format.extension()),
        };
        UploadPart {
            path: self.path.to_path_buf(),
            format: self.format,
            start_s: 0.0,
            duration_s: self.duration_s,
            size_bytes: self.size_bytes,
            file_name,
        }
    }

    fn display_name(&self) -> String {
        self.path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.path.display().to_string())
    }
}

/// The whole file as Ogg Opus at the service's bitrate, in `workdir`.
fn reencode(
    original: &Original,
    rules: &UploadRules,
    accepted: bool,
    transcoder: &dyn Transcoder,
    workdir: &Path,
) -> Result<UploadPart, EngineError> {
    let file_name = format!("{}.ogg", original.stem);
    let path = workdir.join(&file_name);
    let duration_s = transcoder
        .to_ogg_opus(original.path, &path, rules.opus_bitrate_bps)
        .map_err(|error| {
            let advice = if accepted {
                "use a smaller or shorter file".to_string()
            } else {
                format!(
                    "convert it to {} yourself and try again",
                    describe_accepted(rules)
                )
            };
            EngineError::Service(format!(
                "{} could not be converted for {} ({error}); {advice}",
                original.display_name(),
                rules.service_name,
            ))
        })?;
    let size_bytes = std::fs::metadata(&path)
        .map(|m| m.len())
        .map_err(|error| {
            EngineError::Service(format!(
                "the converted audio could not be read back: {error}"
            ))
        })?;
    Ok(UploadPart {
        path,
        format: AudioFormat::OggOpus,
        start_s: 0.0,
        duration_s: Some(duration_s),
        size_bytes,
        file_name,
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::Mutex;

    pub(crate) use crate::dev::testdata::testdata;

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
}
