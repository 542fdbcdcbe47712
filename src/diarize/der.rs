//! Diarization error rate, the standard way: missed speech + false alarm + speaker confusion,
//! over the total reference speech, with a collar around every reference boundary left
//! unscored and hypothesis speakers mapped one-to-one onto reference speakers so as to agree
//! the most. Scored on a 10 ms grid. Used by the tests and `scripts/bench --speakers`.

/// A stretch of time one speaker talks in (speakers are any labels; overlaps allowed).
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    pub start_s: f64,
    pub end_s: f64,
    pub speaker: String,
}

/// The parts of the error rate, in seconds of scored time.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DerReport {
    pub speech_s: f64,
    pub missed_s: f64,
    pub false_alarm_s: f64,
    pub confusion_s: f64,
}

impl DerReport {
    /// (missed + false alarm + confusion) / speech; 0 when there is no speech.
    pub fn rate(&self) -> f64 {
        if self.speech_s <= 0.0 { 0.0 } else { (self.missed_s + self.false_alarm_s + self.confusion_s) / self.speech_s }
    }
}

const STEP_S: f64 = 0.01;

fn speakers_of(turns: &[Turn]) -> Vec<&str> {
    let mut names: Vec<&str> = turns.iter().map(|t| t.speaker.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// Which speakers (by index into `names`) talk in each 10 ms step up to `steps`.
fn activity(turns: &[Turn], names: &[&str], steps: usize) -> Vec<Vec<bool>> {
    let mut grid = vec![vec![false; names.len()]; steps];
    for turn in turns {
        let Some(speaker) = names.iter().position(|n| *n == turn.speaker) else { continue };
        let first = (turn.start_s / STEP_S).round().max(0.0) as usize;
        let last = ((turn.end_s / STEP_S).round().max(0.0) as usize).min(steps);
        for row in grid.iter_mut().take(last).skip(first) {
            row[speaker] = true;
        }
    }
    grid
}

/// The error rate of `hypothesis` against `reference` with `collar_s` either side of each
/// reference boundary unscored (0.25 is the usual collar).
pub fn diarization_error(reference: &[Turn], hypothesis: &[Turn], collar_s: f64) -> DerReport {
    let end_s = reference.iter().chain(hypothesis).map(|t| t.end_s).fold(0.0, f64::max);
    let steps = (end_s / STEP_S).ceil() as usize + 1;
    let (ref_names, hyp_names) = (speakers_of(reference), speakers_of(hypothesis));
    let (ref_grid, hyp_grid) = (activity(reference, &ref_names, steps), activity(hypothesis, &hyp_names, steps));
    let mut scored = vec![true; steps];
    for turn in reference {
        for boundary_s in [turn.start_s, turn.end_s] {
            let first = ((boundary_s - collar_s) / STEP_S).round().max(0.0) as usize;
            let last = (((boundary_s + collar_s) / STEP_S).round().max(0.0) as usize).min(steps);
            scored[first.min(steps)..last].iter_mut().for_each(|s| *s = false);
        }
    }
    let mut overlap = vec![vec![0usize; hyp_names.len()]; ref_names.len()];
    for step in (0..steps).filter(|&s| scored[s]) {
        for (_, row) in overlap.iter_mut().enumerate().filter(|(r, _)| ref_grid[step][*r]) {
            for (h, cell) in row.iter_mut().enumerate() {
                *cell += usize::from(hyp_grid[step][h]);
            }
        }
    }
    let mapping = best_mapping(&overlap);
    let mut report = DerReport::default();
    for step in (0..steps).filter(|&s| scored[s]) {
        let ref_count = ref_grid[step].iter().filter(|&&a| a).count();
        let hyp_count = hyp_grid[step].iter().filter(|&&a| a).count();
        let correct = (0..ref_names.len())
            .filter(|&r| ref_grid[step][r] && mapping[r].is_some_and(|h| hyp_grid[step][h]))
            .count();
        report.speech_s += ref_count as f64 * STEP_S;
        report.missed_s += ref_count.saturating_sub(hyp_count) as f64 * STEP_S;
        report.false_alarm_s += hyp_count.saturating_sub(ref_count) as f64 * STEP_S;
        report.confusion_s += (ref_count.min(hyp_count) - correct.min(ref_count.min(hyp_count))) as f64 * STEP_S;
    }
    report
}

/// The one-to-one map from reference to hypothesis speakers with the most agreement
/// (exhaustive: conversations have a handful of speakers).
fn best_mapping(overlap: &[Vec<usize>]) -> Vec<Option<usize>> {
    fn search(overlap: &[Vec<usize>], r: usize, used: &mut Vec<bool>, current: &mut Vec<Option<usize>>, best: &mut (usize, Vec<Option<usize>>), total: usize) {
        if r == overlap.len() {
            if total > best.0 || best.1.is_empty() {
                *best = (total, current.clone());
            }
            return;
        }
        current.push(None);
        search(overlap, r + 1, used, current, best, total);
        current.pop();
        for h in 0..used.len() {
            if !used[h] && overlap[r][h] > 0 {
                used[h] = true;
                current.push(Some(h));
                search(overlap, r + 1, used, current, best, total + overlap[r][h]);
                current.pop();
                used[h] = false;
            }
        }
    }
    let hyp_count = overlap.first().map_or(0, Vec::len);
    let mut best = (0, Vec::new());
    search(overlap, 0, &mut vec![false; hyp_count], &mut Vec::new(), &mut best, 0);
    if best.1.is_empty() { vec![None; overlap.len()] } else { best.1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(start_s: f64, end_s: f64, speaker: &str) -> Turn {
        Turn { start_s, end_s, speaker: speaker.to_string() }
    }

    #[test]
    fn perfect_labels_under_other_names_score_zero() {
        let reference = [turn(0.0, 5.0, "a"), turn(5.0, 9.0, "b"), turn(9.0, 12.0, "a")];
        let hypothesis = [turn(0.0, 5.0, "x"), turn(5.0, 9.0, "y"), turn(9.0, 12.0, "x")];
        assert!(diarization_error(&reference, &hypothesis, 0.25).rate() < 1e-9);
    }

    #[test]
    fn missed_false_alarm_and_confusion_are_counted_outside_the_collar() {
        let reference = [turn(0.0, 10.0, "a"), turn(10.0, 20.0, "b")];
        // 2 s of b called a, 1 s of a missed, 3 s of speech invented after the end.
        let hypothesis = [turn(1.0, 10.0, "x"), turn(10.0, 12.0, "x"), turn(12.0, 20.0, "y"), turn(20.0, 23.0, "y")];
        let report = diarization_error(&reference, &hypothesis, 0.0);
        assert!((report.speech_s - 20.0).abs() < 0.02, "{report:?}");
        assert!((report.missed_s - 1.0).abs() < 0.02 && (report.confusion_s - 2.0).abs() < 0.02 && (report.false_alarm_s - 3.0).abs() < 0.02, "{report:?}");
        // A collar of 0.25 s hides a boundary that is off by 0.2 s.
        let shifted = [turn(0.0, 10.2, "x"), turn(10.2, 20.0, "y")];
        assert!(diarization_error(&reference, &shifted, 0.25).rate() < 1e-9);
        assert!(diarization_error(&reference, &shifted, 0.0).rate() > 0.005);
    }

    #[test]
    fn overlap_counts_each_speaker_and_one_label_for_two_voices_is_a_miss() {
        let reference = [turn(0.0, 4.0, "a"), turn(2.0, 6.0, "b")];
        let hypothesis = [turn(0.0, 3.0, "x"), turn(3.0, 6.0, "y")];
        let report = diarization_error(&reference, &hypothesis, 0.0);
        assert!((report.speech_s - 8.0).abs() < 0.02 && (report.missed_s - 2.0).abs() < 0.02, "{report:?}");
        assert!((report.confusion_s - 0.0).abs() < 0.02, "{report:?}");
    }
}
