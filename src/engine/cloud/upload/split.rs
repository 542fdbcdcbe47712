//! Splitting a file that is still too big after re-encoding: where the pauses are (frame
//! energies of a small analysis WAV, read with `crate::audio`), where to cut (the quietest
//! stretch before each part's longest allowed end, by [`crate::vad::quietest_window`]), and
//! the parts themselves.

use super::{AudioFormat, Original, Transcoder, UploadPart, UploadRules, describe_file};
use crate::engine::EngineError;
use crate::units::clock_rounded;
use crate::vad;
use std::path::Path;

/// Sample rate of the WAV decoded only to find pauses.
pub const ANALYSIS_SAMPLE_RATE_HZ: u32 = 8_000;
/// Energy is measured over frames this long.
pub const ENERGY_FRAME_S: f64 = 0.05;
/// How far before a part's longest allowed end a pause is looked for.
pub const SPLIT_SEARCH_WINDOW_S: f64 = 120.0;

/// Cuts the original into Ogg Opus parts under both limits of `rules`, at pauses, with a
/// margin for the Opus bitrate varying along the file. `converted` is the whole file
/// re-encoded, which was still too big.
pub(super) fn split_at_pauses(
    original: &Original,
    converted: &UploadPart,
    rules: &UploadRules,
    transcoder: &dyn Transcoder,
    workdir: &Path,
) -> Result<Vec<UploadPart>, EngineError> {
    let name = rules.service_name;
    let total_s = converted.duration_s.unwrap_or(0.0);
    let mut max_part_s = total_s;
    if let Some(max_size) = rules.max_size_bytes
        && converted.size_bytes > 0
    {
        max_part_s = max_part_s.min(total_s * (max_size as f64 / converted.size_bytes as f64) * 0.85);
    }
    if let Some(max_duration) = rules.max_duration_s {
        max_part_s = max_part_s.min(max_duration * 0.98);
    }
    if max_part_s < 10.0 {
        return Err(EngineError::Service(format!(
            "{} cannot be split into parts small enough for {name}; use a shorter file",
            original.display_name()
        )));
    }
    let analysis = workdir.join("analysis.wav");
    transcoder.to_wav(original.path, &analysis, ANALYSIS_SAMPLE_RATE_HZ)?;
    let energies = frame_energies(&analysis, ENERGY_FRAME_S)?;
    let _ = std::fs::remove_file(&analysis);
    let cuts = find_split_points(&energies, ENERGY_FRAME_S, total_s, max_part_s, SPLIT_SEARCH_WINDOW_S);
    let starts = std::iter::once(0.0).chain(cuts.iter().copied());
    let ends = cuts.iter().copied().chain(std::iter::once(total_s));
    let mut parts = Vec::new();
    for (index, (start_s, end_s)) in starts.zip(ends).enumerate() {
        let file_name = format!("{}.part{}.ogg", original.stem, index + 1);
        let path = workdir.join(&file_name);
        let duration_s = transcoder.ogg_opus_range(original.path, &path, start_s, end_s, rules.opus_bitrate_bps)?;
        let size_bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(u64::MAX);
        if !rules.fits(size_bytes, Some(duration_s)) {
            return Err(EngineError::Service(format!(
                "part {} of {} is still {}, over the {name} limit; use a shorter file",
                index + 1,
                original.display_name(),
                describe_file(size_bytes, Some(duration_s))
            )));
        }
        parts.push(UploadPart {
            path,
            format: AudioFormat::OggOpus,
            start_s,
            duration_s: Some(duration_s),
            size_bytes,
            file_name,
        });
    }
    Ok(parts)
}

/// What the user is told about a split: how big the re-encoded file still was, and the
/// stretch of each part.
pub(super) fn split_warning(original: &Original, converted: &UploadPart, parts: &[UploadPart], rules: &UploadRules) -> String {
    let total_s = converted.duration_s.unwrap_or(0.0);
    let spans: Vec<String> = parts
        .iter()
        .enumerate()
        .map(|(index, part)| {
            let end_s = parts.get(index + 1).map_or(total_s, |next| next.start_s);
            format!("{}–{}", clock_rounded(part.start_s), clock_rounded(end_s))
        })
        .collect();
    format!(
        "{} is still {} after re-encoding; sending it to {} in {} parts split at pauses ({}) and joining the transcripts",
        original.display_name(),
        describe_file(converted.size_bytes, converted.duration_s),
        rules.service_name,
        parts.len(),
        spans.join(", ")
    )
}

/// RMS energy of each `frame_s` frame of an audio file (channels mixed; the last, partial
/// frame left out), read block by block with `crate::audio`, so an hour of audio costs a few
/// hundred kilobytes.
pub fn frame_energies(path: &Path, frame_s: f64) -> Result<Vec<f32>, EngineError> {
    let fail = |error: crate::audio::AudioError| {
        EngineError::Service(format!("cannot analyse the audio to split it: {error}"))
    };
    let frame_len = ((f64::from(crate::audio::ENGINE_SAMPLE_RATE_HZ) * frame_s).round() as usize).max(1);
    let mut energies = Vec::new();
    let mut frame: Vec<f32> = Vec::with_capacity(frame_len);
    for block in crate::audio::open(path).map_err(fail)? {
        let mono = block.map_err(fail)?.mono();
        let mut rest = mono.as_slice();
        while !rest.is_empty() {
            let (head, tail) = rest.split_at((frame_len - frame.len()).min(rest.len()));
            frame.extend_from_slice(head);
            rest = tail;
            if frame.len() == frame_len {
                energies.push(vad::rms(&frame));
                frame.clear();
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
        let last = ((limit_s / frame_s).floor() as usize).min(energies.len());
        let first = ((window_start_s / frame_s).ceil() as usize).min(last);
        let cut_s = match vad::quietest_window(&energies[first..last], smoothing) {
            Some(offset) => ((first + offset) as f64 + smoothing as f64 / 2.0) * frame_s,
            None => limit_s,
        }
        .min(limit_s);
        let cut_s = if cut_s <= start_s { limit_s } else { cut_s };
        cuts.push(cut_s);
        start_s = cut_s;
    }
    cuts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::cloud::upload::tests::testdata;

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
