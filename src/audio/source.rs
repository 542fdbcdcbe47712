//! The decoders behind one interface. A `Source` hands out planar `f32` frames at the file's
//! own sample rate, one packet at a time, so nothing above it ever holds a whole file. This
//! module also holds the limits that keep header fields from sizing allocations, and what
//! every decoder shares; `dispatch` picks the decoder for a file.

use super::error::AudioError;
use std::io::Read;
use std::path::Path;

/// Lowest source sample rate accepted (telephone audio is 8 kHz).
pub(crate) const MIN_SAMPLE_RATE_HZ: u32 = 1_000;
/// Highest source sample rate accepted: studio rates go to 384 kHz; anything above is a broken
/// header, and would make the resampler's filters needlessly large.
pub(crate) const MAX_SAMPLE_RATE_HZ: u32 = 384_000;
/// Most channels accepted (a header claiming more is broken or not meant for transcription).
pub(crate) const MAX_CHANNELS: usize = 32;
/// Largest packet, in frames, that a decoder may announce (FLAC's limit is 65 535, ADPCM's
/// about 130 000): decoders allocate this many frames per channel up front.
pub(crate) const MAX_FRAMES_PER_PACKET: u64 = 1 << 18;
/// Undecodable packets in a row after which a file counts as damaged rather than glitchy.
pub(crate) const MAX_BAD_PACKETS_IN_A_ROW: usize = 64;

/// What a source is, as read from the file and its first decoded packet.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SourceFormat {
    pub sample_rate_hz: u32,
    pub channel_count: usize,
    pub duration_s: Option<f64>,
    pub codec: String,
}

/// Planar frames: one `Vec` per channel, all the same length.
pub(crate) type Frames = Vec<Vec<f32>>;

/// A decoder for one file, read front to back.
pub(crate) trait Source: Send {
    fn format(&self) -> &SourceFormat;

    /// The next frames (exactly `format().channel_count` channels), or `None` at the end.
    fn next_frames(&mut self) -> Result<Option<Frames>, AudioError>;

    /// Moves the read position to at most `frame` (at the source rate) and returns where the
    /// next frames start, or `None` if this source cannot seek (the caller then decodes and
    /// discards). After an error the source must not be used again.
    fn seek_to_frame(&mut self, _frame: u64) -> Result<Option<u64>, AudioError> {
        Ok(None)
    }
}

/// Rejects formats that are broken or that would make buffers absurdly large.
pub(crate) fn check_format(
    path: &Path,
    sample_rate_hz: u32,
    channel_count: usize,
) -> Result<(), AudioError> {
    if sample_rate_hz == 0 {
        return Err(AudioError::unsupported(
            path,
            "the header gives a sample rate of 0 Hz",
        ));
    }
    if !(MIN_SAMPLE_RATE_HZ..=MAX_SAMPLE_RATE_HZ).contains(&sample_rate_hz) {
        return Err(AudioError::unsupported(
            path,
            format!(
                "sample rate {sample_rate_hz} Hz is outside {MIN_SAMPLE_RATE_HZ}..={MAX_SAMPLE_RATE_HZ} Hz"
            ),
        ));
    }
    if channel_count == 0 {
        return Err(AudioError::unsupported(path, "the header gives 0 channels"));
    }
    if channel_count > MAX_CHANNELS {
        return Err(AudioError::unsupported(
            path,
            format!("{channel_count} channels; at most {MAX_CHANNELS} are supported"),
        ));
    }
    Ok(())
}

/// Makes decoded frames have exactly `channel_count` channels (some codecs change their
/// channel count mid-stream): missing channels repeat the last one, extra ones are dropped.
pub(crate) fn fit_channels(mut frames: Frames, channel_count: usize) -> Frames {
    let frame_count = frames.first().map_or(0, Vec::len);
    for channel in frames.iter_mut() {
        channel.resize(frame_count, 0.0);
    }
    if frames.len() > channel_count {
        frames.truncate(channel_count);
    }
    while frames.len() < channel_count {
        let copy = frames
            .last()
            .cloned()
            .unwrap_or_else(|| vec![0.0; frame_count]);
        frames.push(copy);
    }
    frames
}

/// Reads until `buffer` is full or the input ends; returns how many bytes were read.
pub(crate) fn read_up_to(reader: &mut impl Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        let Some(rest) = buffer.get_mut(filled..) else {
            break;
        };
        match reader.read(rest) {
            Ok(0) => break,
            Ok(count) => filled += count,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

/// Runs a third-party decoder call and turns a panic inside it into an error message, so a
/// damaged file can never take the application down.
pub(crate) fn guard<T>(call: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(call)).map_err(|payload| {
        let detail = payload
            .downcast_ref::<&str>()
            .map(|text| text.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".to_string());
        format!("the decoder crashed on this data: {detail}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_channels_repeats_or_drops() {
        let mono = vec![vec![1.0, 2.0]];
        assert_eq!(fit_channels(mono, 2), vec![vec![1.0, 2.0], vec![1.0, 2.0]]);
        let three = vec![vec![1.0], vec![2.0], vec![3.0]];
        assert_eq!(fit_channels(three, 2), vec![vec![1.0], vec![2.0]]);
    }

    #[test]
    fn guard_turns_a_panic_into_an_error() {
        let result: Result<(), String> = guard(|| panic!("boom"));
        assert!(result.unwrap_err().contains("boom"));
    }
}
