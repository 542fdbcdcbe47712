//! Decoder + resampler + optional time range: frames at the rate the caller wants, a packet's
//! worth at a time. `AudioStream` groups its output into blocks; the encoders write it out.

use super::error::AudioError;
use super::resample::StreamResampler;
use super::dispatch::open_source;
use super::source::{Frames, Source, SourceFormat};
use std::path::{Path, PathBuf};

/// Frames of a file at `output_rate_hz`, from `start_s` to `end_s`.
pub(crate) struct Pipeline {
    path: PathBuf,
    source: Box<dyn Source>,
    resampler: StreamResampler,
    /// Source frames still to drop before the range starts.
    source_skip: u64,
    /// Output frames still wanted before the range ends; `None` for the whole file.
    output_left: Option<u64>,
    start_s: f64,
    finished: bool,
}

impl Pipeline {
    pub(crate) fn open(
        path: &Path,
        output_rate_hz: u32,
        start_s: f64,
        end_s: Option<f64>,
    ) -> Result<Pipeline, AudioError> {
        if !start_s.is_finite() || start_s < 0.0 {
            return Err(AudioError::invalid_request(format!(
                "start time {start_s} s must be 0 or more"
            )));
        }
        if let Some(end_s) = end_s
            && !(end_s.is_finite() && end_s > start_s)
        {
            return Err(AudioError::invalid_request(format!(
                "end time {end_s} s must be after the start time {start_s} s"
            )));
        }
        let mut source = open_source(path)?;
        let source_rate_hz = source.format().sample_rate_hz;
        let start_frame = (start_s * f64::from(source_rate_hz)).round() as u64;
        let mut source_skip = start_frame;
        if start_frame > 0 {
            match source.seek_to_frame(start_frame) {
                Ok(Some(reached)) => source_skip = start_frame.saturating_sub(reached),
                Ok(None) => {}
                Err(error) => {
                    log::info!("{error}; decoding from the start instead");
                    source = open_source(path)?;
                }
            }
        }
        let start_s = start_frame as f64 / f64::from(source_rate_hz);
        let output_left = end_s.map(|end_s| {
            ((end_s - start_s) * f64::from(output_rate_hz))
                .round()
                .max(0.0) as u64
        });
        let resampler = StreamResampler::new(
            source_rate_hz,
            output_rate_hz,
            source.format().channel_count,
        )
        .map_err(|reason| AudioError::unsupported(path, reason))?;
        Ok(Pipeline {
            path: path.to_path_buf(),
            source,
            resampler,
            source_skip,
            output_left,
            start_s,
            finished: false,
        })
    }

    pub(crate) fn format(&self) -> &SourceFormat {
        self.source.format()
    }

    /// Where the first output frame is in the file, in seconds.
    pub(crate) fn start_s(&self) -> f64 {
        self.start_s
    }

    /// The next output frames, or `None` at the end of the file or range.
    pub(crate) fn next_frames(&mut self) -> Result<Option<Frames>, AudioError> {
        while !self.finished {
            let output = match self.source.next_frames()? {
                Some(mut frames) => {
                    if self.source_skip > 0 {
                        let available = frames.first().map_or(0, Vec::len);
                        let dropped = usize::try_from(self.source_skip)
                            .unwrap_or(usize::MAX)
                            .min(available);
                        for channel in frames.iter_mut() {
                            channel.drain(..dropped);
                        }
                        self.source_skip -= dropped as u64;
                        if dropped == available {
                            continue;
                        }
                    }
                    self.resampler.push(frames)
                }
                None => {
                    self.finished = true;
                    self.resampler.finish()
                }
            };
            let mut output =
                output.map_err(|reason| AudioError::damaged(&self.path, self.start_s, reason))?;
            if let Some(left) = self.output_left.as_mut() {
                let kept = usize::try_from(*left)
                    .unwrap_or(usize::MAX)
                    .min(output.first().map_or(0, Vec::len));
                for channel in output.iter_mut() {
                    channel.truncate(kept);
                }
                *left -= kept as u64;
                if *left == 0 {
                    self.finished = true;
                }
            }
            if output.first().is_some_and(|channel| !channel.is_empty()) {
                return Ok(Some(output));
            }
        }
        Ok(None)
    }
}
