//! Voice activity from signal energy.
//!
//! whisper.cpp invents text ("Thank you.", repeated phrases) when it is fed silence, so the
//! local engine uses this to skip stretches with no sound worth transcribing, to drop
//! segments that lie over silence, to cut long recordings into chunks at quiet moments, and
//! (as [`LiveVad`]) to cut live audio into phrases at pauses.
//! It is deliberately simple (frame loudness against an adaptive floor) and has no model.

/// Length of one analysis frame.
pub const FRAME_S: f64 = 0.02;

/// Loudness under which a frame is silence whatever the background (dBFS).
pub const SILENCE_FLOOR_DBFS: f32 = -50.0;

/// How far above the background noise a frame must be to count as sound (dB).
pub const ACTIVITY_MARGIN_DB: f32 = 9.0;

/// Which quantile of the frame levels is taken as the background noise.
const BACKGROUND_PERCENTILE: f64 = 0.10;

/// How much recent audio [`LiveVad`] takes the background from.
pub const LIVE_BACKGROUND_S: f64 = 30.0;

/// Loudness a frame must exceed to count as sound over `background_dbfs`.
fn activity_threshold_dbfs(background_dbfs: f32) -> f32 {
    (background_dbfs + ACTIVITY_MARGIN_DB).max(SILENCE_FLOOR_DBFS)
}

/// Seconds of speech among the frames `frames` of `active` (what lies past its end counts as
/// silence).
pub fn speech_s(active: &[bool], frames: std::ops::Range<usize>) -> f64 {
    active.iter().take(frames.end).skip(frames.start).filter(|&&a| a).count() as f64 * FRAME_S
}

/// How long the audio has been silent at its end: the inactive frames after the last active
/// one, in seconds.
pub fn silent_tail_s(active: &[bool]) -> f64 {
    active.iter().rev().take_while(|&&frame_active| !frame_active).count() as f64 * FRAME_S
}

/// Samples per analysis frame at `sample_rate_hz`.
pub fn frame_len(sample_rate_hz: u32) -> usize {
    ((sample_rate_hz as f64 * FRAME_S).round() as usize).max(1)
}

/// RMS level of each frame in dBFS (−120 for digital silence).
pub fn frame_levels_dbfs(samples: &[f32], frame_len: usize) -> Vec<f32> {
    samples.chunks(frame_len.max(1)).map(rms_dbfs).collect()
}

/// RMS level of a run of samples in dBFS (−120 for digital silence or no samples).
pub fn rms_dbfs(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return -120.0;
    }
    let mean_square = mean_square(samples);
    if mean_square <= 1e-12 {
        -120.0
    } else {
        (10.0 * mean_square.log10()) as f32
    }
}

/// RMS of a run of samples, on the samples' own scale (0 for no samples).
pub fn rms(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    mean_square(samples).sqrt() as f32
}

fn mean_square(samples: &[f32]) -> f64 {
    samples.iter().map(|&s| (s as f64) * (s as f64)).sum::<f64>() / samples.len() as f64
}

/// Which frames carry sound: louder than [`SILENCE_FLOOR_DBFS`] and at least
/// [`ACTIVITY_MARGIN_DB`] above the background, estimated as the 10th percentile of the levels
/// (of the whole input; [`LiveVad`] is the same rule over recent audio).
/// Short gaps (< 0.3 s) between active frames are filled so words are not chopped.
pub fn active_frames(levels_dbfs: &[f32]) -> Vec<bool> {
    if levels_dbfs.is_empty() {
        return Vec::new();
    }
    let threshold = activity_threshold_dbfs(percentile(levels_dbfs, BACKGROUND_PERCENTILE));
    let mut active: Vec<bool> = levels_dbfs.iter().map(|&level| level > threshold).collect();
    // A recording that is loud all the way through (no quiet background at all) is active
    // wherever it is above the silence floor.
    if !active.iter().any(|&a| a) {
        let loud_everywhere = levels_dbfs.iter().filter(|&&l| l > SILENCE_FLOOR_DBFS).count();
        if loud_everywhere * 2 > levels_dbfs.len() {
            active = levels_dbfs.iter().map(|&level| level > SILENCE_FLOOR_DBFS).collect();
        }
    }
    fill_short_gaps(&mut active, (0.3 / FRAME_S) as usize);
    active
}

/// Marks active the runs of at most `max_gap_frames` inactive frames between active ones.
pub fn fill_short_gaps(active: &mut [bool], max_gap_frames: usize) {
    let mut last_active: Option<usize> = None;
    for index in 0..active.len() {
        if active[index] {
            if let Some(previous) = last_active {
                if index - previous > 1 && index - previous <= max_gap_frames + 1 {
                    active[previous + 1..index].iter_mut().for_each(|a| *a = true);
                }
            }
            last_active = Some(index);
        }
    }
}

fn percentile(values: &[f32], fraction: f64) -> f32 {
    let mut sorted: Vec<f32> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return -120.0;
    }
    sorted.sort_by(|a, b| a.total_cmp(b));
    let index = ((sorted.len() - 1) as f64 * fraction).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// Fraction of frames in `[start_s, end_s)` that are active.
pub fn active_fraction(active: &[bool], start_s: f64, end_s: f64) -> f64 {
    let first = ((start_s / FRAME_S).floor().max(0.0) as usize).min(active.len());
    let last = ((end_s / FRAME_S).ceil().max(0.0) as usize).min(active.len());
    if last <= first {
        return 0.0;
    }
    active[first..last].iter().filter(|&&a| a).count() as f64 / (last - first) as f64
}

/// Voice activity frame by frame as audio arrives, for live transcription: the rule of
/// [`active_frames`] with the background taken over the last [`LIVE_BACKGROUND_S`]. Until
/// half a second has been heard there is no background yet, and anything above
/// [`SILENCE_FLOOR_DBFS`] counts as sound. Short gaps are not filled: the caller decides what
/// a pause is.
#[derive(Debug)]
pub struct LiveVad {
    frame_len: usize,
    /// Samples of the frame not yet complete.
    partial: Vec<f32>,
    recent_levels_dbfs: std::collections::VecDeque<f32>,
    threshold_dbfs: f32,
    frames_since_estimate: usize,
}

impl LiveVad {
    /// Frames between two estimates of the background (it moves slowly).
    const ESTIMATE_EVERY_FRAMES: usize = 10;

    pub fn new(sample_rate_hz: u32) -> LiveVad {
        LiveVad {
            frame_len: frame_len(sample_rate_hz),
            partial: Vec::new(),
            recent_levels_dbfs: std::collections::VecDeque::new(),
            threshold_dbfs: SILENCE_FLOOR_DBFS,
            frames_since_estimate: 0,
        }
    }

    pub fn frame_len(&self) -> usize {
        self.frame_len
    }

    /// Feeds samples; returns the activity of each frame they complete, in order.
    pub fn push(&mut self, samples: &[f32]) -> Vec<bool> {
        let mut flags = Vec::with_capacity((self.partial.len() + samples.len()) / self.frame_len);
        let mut rest = samples;
        while !rest.is_empty() {
            let take = (self.frame_len - self.partial.len()).min(rest.len());
            self.partial.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.partial.len() == self.frame_len {
                let level = rms_dbfs(&self.partial);
                self.partial.clear();
                flags.push(self.classify(level));
            }
        }
        flags
    }

    fn classify(&mut self, level_dbfs: f32) -> bool {
        let window = (LIVE_BACKGROUND_S / FRAME_S) as usize;
        self.recent_levels_dbfs.push_back(level_dbfs);
        if self.recent_levels_dbfs.len() > window {
            self.recent_levels_dbfs.pop_front();
        }
        self.frames_since_estimate += 1;
        let enough = self.recent_levels_dbfs.len() >= (0.5 / FRAME_S) as usize;
        if enough && self.frames_since_estimate >= Self::ESTIMATE_EVERY_FRAMES {
            self.frames_since_estimate = 0;
            let (front, back) = self.recent_levels_dbfs.as_slices();
            let background = percentile(&[front, back].concat(), BACKGROUND_PERCENTILE);
            self.threshold_dbfs = activity_threshold_dbfs(background);
        }
        level_dbfs > self.threshold_dbfs
    }
}

/// The sample index of the quietest frame in `samples[search_start..search_end]`, used to
/// cut a long recording where nobody is speaking. Returns `search_end` when the range is
/// empty.
pub fn quietest_cut(samples: &[f32], search_start: usize, search_end: usize, frame_len: usize) -> usize {
    let search_end = search_end.min(samples.len());
    if search_start >= search_end || frame_len == 0 {
        return search_end;
    }
    let levels: Vec<f32> = samples[search_start..search_end].chunks_exact(frame_len).map(rms_dbfs).collect();
    match quietest_window(&levels, 1) {
        Some(frame) => search_start + frame * frame_len + frame_len / 2,
        None => search_end,
    }
}

/// "Cut at the quietest moment", for every caller that cuts audio: the first frame of the
/// quietest run of `window_frames` frames lying wholly in `levels` (the mean level decides;
/// any scale where lower is quieter — dBFS or RMS). Ties go to the later run: longer pieces
/// mean fewer cuts. `None` when no run fits.
pub fn quietest_window(levels: &[f32], window_frames: usize) -> Option<usize> {
    let window_frames = window_frames.max(1);
    let mut best: Option<(f64, usize)> = None;
    for (index, window) in levels.windows(window_frames).enumerate() {
        let mean = window.iter().map(|&level| f64::from(level)).sum::<f64>() / window_frames as f64;
        if best.is_none_or(|(quietest, _)| mean <= quietest) {
            best = Some((mean, index));
        }
    }
    best.map(|(_, index)| index)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(seconds: f64, amplitude: f32) -> Vec<f32> {
        (0..(seconds * 16_000.0) as usize)
            .map(|i| amplitude * (i as f32 * 440.0 * std::f32::consts::TAU / 16_000.0).sin())
            .collect()
    }

    #[test]
    fn silence_has_no_active_frames() {
        let levels = frame_levels_dbfs(&vec![0.0; 32_000], frame_len(16_000));
        assert!(active_frames(&levels).iter().all(|&a| !a));
        let hiss: Vec<f32> = (0..32_000).map(|i| ((i * 7919 % 200) as f32 - 100.0) * 1e-5).collect();
        let levels = frame_levels_dbfs(&hiss, frame_len(16_000));
        assert!(active_frames(&levels).iter().all(|&a| !a));
    }

    #[test]
    fn sound_between_silences_is_found() {
        let mut samples = vec![0.0; 16_000];
        samples.extend(tone(1.0, 0.3));
        samples.extend(vec![0.0; 16_000]);
        let active = active_frames(&frame_levels_dbfs(&samples, frame_len(16_000)));
        assert!(active_fraction(&active, 1.05, 1.95) > 0.95);
        assert!(active_fraction(&active, 0.0, 0.9) < 0.05);
        assert!(active_fraction(&active, 2.1, 3.0) < 0.05);
    }

    #[test]
    fn the_quietest_window_is_the_latest_of_equally_quiet_ones() {
        let levels = [5.0, 1.0, 1.0, 5.0, 1.0, 1.0, 5.0];
        assert_eq!(quietest_window(&levels, 2), Some(4));
        assert_eq!(quietest_window(&levels, 1), Some(5));
        assert_eq!(quietest_window(&levels, 8), None);
        assert_eq!(quietest_window(&[], 1), None);
        // A short dip loses to a longer, slightly louder pause when windows are long.
        let levels = [9.0, 0.0, 9.0, 9.0, 2.0, 2.0, 2.0, 9.0];
        assert_eq!(quietest_window(&levels, 3), Some(4));
    }

    #[test]
    fn rms_is_on_the_samples_scale_and_rms_dbfs_in_decibels() {
        assert_eq!(rms(&[]), 0.0);
        assert!((rms(&[0.5, -0.5, 0.5, -0.5]) - 0.5).abs() < 1e-6);
        assert!((rms_dbfs(&[0.5, -0.5]) - 20.0 * 0.5f32.log10()).abs() < 1e-4);
        assert_eq!(rms_dbfs(&[0.0; 8]), -120.0);
    }

    #[test]
    fn live_vad_finds_sound_between_silences_whatever_the_block_size() {
        let mut samples: Vec<f32> = (0..32_000).map(|i| ((i * 7919 % 200) as f32 - 100.0) * 1e-5).collect();
        samples.extend(tone(1.0, 0.3));
        samples.extend(vec![0.0; 16_000]);
        for block_len in [1_600, 317, 48_000] {
            let mut vad = LiveVad::new(16_000);
            let flags: Vec<bool> = samples.chunks(block_len).flat_map(|block| vad.push(block)).collect();
            assert_eq!(flags.len(), samples.len() / vad.frame_len(), "one flag per whole frame");
            assert!(active_fraction(&flags, 2.05, 2.95) > 0.95, "tone missed with blocks of {block_len}");
            assert!(active_fraction(&flags, 0.0, 1.9) < 0.05, "hiss taken for sound with blocks of {block_len}");
            assert!(active_fraction(&flags, 3.1, 4.0) < 0.05);
        }
    }

    #[test]
    fn cut_lands_in_the_quiet_part() {
        let mut samples = tone(2.0, 0.3);
        samples.extend(vec![0.0; 8_000]);
        samples.extend(tone(2.0, 0.3));
        let cut = quietest_cut(&samples, 16_000, samples.len(), frame_len(16_000));
        assert!((32_000..40_000).contains(&cut), "cut at {cut}");
    }
}
