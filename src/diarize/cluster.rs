//! Who is who: the window embeddings grouped into speakers, the number of speakers found
//! from the data. The windows that heard enough speech are grouped by average-linkage
//! agglomerative clustering on cosine similarity; each cut of that tree into 2 to
//! [`MAX_AUTO_SPEAKERS`] groups (within the caller's bounds) becomes a candidate labelling —
//! every window (those that heard little too) joins its nearest group, and a group that is
//! only a blend of two others (windows over a change of speaker, or over speech on speech) is
//! dissolved into them — and the candidate whose groups are most clearly apart (silhouette)
//! wins. A candidate is only believed when each speaker holds a fair share of the windows
//! (a window that heard the same audio again is clustered once) and no two speakers sound alike;
//! with none believed, or none clearly apart, the recording is one voice. Choosing the count
//! by how well the groups separate, instead of merging down to a fixed similarity, follows
//! the level of similarity of the recording: a phone line makes every voice sound more like
//! every other (0.05-0.1 higher between speakers), which a fixed threshold took for one
//! speaker.

use super::encoder::dot;

/// Most speakers looked for when the caller sets no upper bound.
const MAX_AUTO_SPEAKERS: usize = 10;
/// At most this many windows are clustered directly; the others join the nearest speaker found.
const MAX_LINKAGE_WINDOWS: usize = 600;
/// Each speaker of a believed labelling holds at least this many of the clustered windows…
const MIN_SPEAKER_WINDOWS: usize = 2;
/// …and at least this share of them (both counted without repeats, see
/// [`REPEATED_AUDIO_SIMILARITY`]): a long recording of one voice may have passages (a laugh,
/// a raised voice) that form a little group of their own. A real speaker heard for less than
/// this share of a recording joins the nearest one: in a 30-minute meeting, 1 % is 18 s.
const MIN_SPEAKER_SHARE: f64 = 0.01;
/// Windows more alike than this heard the same audio: a recording that repeats itself (a
/// jingle, a clip played twice, a file joined to itself). Only the first of such windows is
/// clustered directly: ten repeats of one passage founded a speaker of their own, and repeats
/// make a group that looks clearly apart (the hour built of one interview and one three-way
/// conversation, repeated, found 5 speakers for 3). The others join their speaker. Measured on the
/// shared recordings: the nearest other window of a window, at most 0.981 without repeats
/// (neighbours overlap by half), at least 0.996 with the recording repeated ten times.
const REPEATED_AUDIO_SIMILARITY: f32 = 0.99;
/// Two speakers whose voices (centroids) are more alike than this are one voice split up.
/// Measured on the shared recordings: one voice cut in two by the best silhouette, 0.82-0.92
/// (JFK through a phone band the lowest); two to five different voices, as recorded and
/// through a phone band, at most 0.76 (0.80 for the stereo file's two voices spoken over each
/// other for most of its 5 s).
const SAME_VOICE_SIMILARITY: f32 = 0.80;
/// Below this silhouette (cosine distance, mean over the windows clustered directly) the best
/// labelling is one voice split up rather than several voices. On the shared recordings the
/// right labellings of 2-5 voices scored 0.33-0.67 (one pair of 5 s clips 0.29); one voice
/// split up scored 0.25-0.41, the splits above 0.30 all caught by the two guards above.
/// 0.25-0.35 gave the same counts but for that pair.
const ONE_VOICE_SILHOUETTE: f32 = 0.30;
/// A window that heard less speech than this (a short reply between pauses: the rest of its
/// 1.6 s is silence) has too little voice in it to found a speaker; it joins the nearest one.
/// On conversations built from pairs of the shared recordings, a 0.6 s reply otherwise became
/// a speaker of its own (4 of 28 pairs: 3 speakers found for 2).
const MIN_CLUSTERED_SPEECH_S: f64 = 1.0;

/// Fewest and most speakers the caller expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SpeakerBounds {
    pub min: Option<usize>,
    pub max: Option<usize>,
}

impl SpeakerBounds {
    /// Checks the bounds make sense; the message names the command-line options.
    pub fn validate(&self) -> Result<(), String> {
        if self.min == Some(0) || self.max == Some(0) {
            return Err("--min-speakers and --max-speakers must be at least 1".to_string());
        }
        if let (Some(min), Some(max)) = (self.min, self.max)
            && min > max
        {
            return Err(format!("--min-speakers ({min}) is more than --max-speakers ({max})"));
        }
        Ok(())
    }
}

/// A speaker index for each embedding (unit vectors), numbered by first appearance.
/// `speech_heard_s` is the speech in each embedding's window (missing ones count as full).
pub fn cluster(embeddings: &[Vec<f32>], speech_heard_s: &[f64], bounds: SpeakerBounds) -> Vec<usize> {
    let count = embeddings.len();
    if count == 0 {
        return Vec::new();
    }
    let min = bounds.min.unwrap_or(1).clamp(1, count);
    let max = bounds.max.unwrap_or(MAX_AUTO_SPEAKERS.max(min)).clamp(min, count);
    if max < 2 {
        return vec![0; count];
    }
    // Windows that heard little speech join the speaker nearest them, but do not form speakers.
    let mut candidates: Vec<usize> = (0..count).filter(|&i| speech_heard_s.get(i).is_none_or(|&s| s >= MIN_CLUSTERED_SPEECH_S)).collect();
    if candidates.len() < 2 * min {
        candidates = (0..count).collect();
    }
    // Evenly spaced windows stand for all when there are many.
    let sample: Vec<usize> = if candidates.len() > MAX_LINKAGE_WINDOWS {
        (0..MAX_LINKAGE_WINDOWS).map(|i| candidates[i * candidates.len() / MAX_LINKAGE_WINDOWS]).collect()
    } else {
        candidates
    };
    let similarity: Vec<Vec<f32>> = sample.iter().map(|&i| sample.iter().map(|&j| dot(&embeddings[i], &embeddings[j])).collect()).collect();
    // A passage heard again (a recording that repeats itself) is clustered once: repeats of
    // one window would otherwise form a tight group that looks clearly apart.
    let kept = distinct_windows(&similarity, &(0..sample.len()).collect::<Vec<_>>());
    let similarity: Vec<Vec<f32>> = kept.iter().map(|&a| kept.iter().map(|&b| similarity[a][b]).collect()).collect();
    let sample: Vec<usize> = kept.iter().map(|&k| sample[k]).collect();
    let min_windows = MIN_SPEAKER_WINDOWS.max((MIN_SPEAKER_SHARE * sample.len() as f64).round() as usize);
    let (mut believed, mut any): (Option<Labelling>, Option<Labelling>) = (None, None);
    for groups in linkage_cuts(&similarity, min.max(2), max.min(sample.len())) {
        let centroids: Vec<Vec<f32>> = groups.iter().map(|members| centroid(members.iter().map(|&m| embeddings[sample[m]].as_slice()))).collect();
        let labelling = Labelling::judge(embeddings, &sample, &similarity, dissolve_blends(embeddings, centroids, min));
        if labelling.speakers_heard < 2 && min < 2 {
            continue;
        }
        let believable = labelling.smallest_windows >= min_windows && labelling.most_alike <= SAME_VOICE_SIMILARITY;
        if believable && believed.as_ref().is_none_or(|b| labelling.silhouette > b.silhouette) {
            believed = Some(labelling.clone());
        }
        if any.as_ref().is_none_or(|b| labelling.silhouette > b.silhouette) {
            any = Some(labelling);
        }
    }
    let chosen = if min < 2 { believed.filter(|b| b.silhouette >= ONE_VOICE_SILHOUETTE) } else { believed.or(any) };
    match chosen {
        Some(labelling) => number_by_first_appearance(&labelling.labels),
        None => vec![0; count],
    }
}

/// One candidate labelling of every window, and what tells whether to believe it.
#[derive(Clone)]
struct Labelling {
    labels: Vec<usize>,
    /// How clearly apart its groups are over the windows clustered directly.
    silhouette: f32,
    /// Groups with at least one directly clustered window.
    speakers_heard: usize,
    /// Directly clustered windows (no two of them repeats) of the smallest such group.
    smallest_windows: usize,
    /// The highest similarity between two such groups' centroids.
    most_alike: f32,
}

impl Labelling {
    fn judge(embeddings: &[Vec<f32>], sample: &[usize], similarity: &[Vec<f32>], labels: Vec<usize>) -> Labelling {
        let speaker_count = labels.iter().max().map_or(0, |&m| m + 1);
        let sample_labels: Vec<usize> = sample.iter().map(|&i| labels[i]).collect();
        let sizes: Vec<usize> = (0..speaker_count).map(|speaker| sample_labels.iter().filter(|&&l| l == speaker).count()).collect();
        let heard: Vec<usize> = (0..speaker_count).filter(|&speaker| sizes[speaker] > 0).collect();
        let centroids = centroids_of(embeddings, &labels, speaker_count);
        let most_alike = heard
            .iter()
            .enumerate()
            .flat_map(|(position, &a)| heard[position + 1..].iter().map(move |&b| (a, b)))
            .map(|(a, b)| dot(&centroids[a], &centroids[b]))
            .fold(f32::NEG_INFINITY, f32::max);
        Labelling {
            silhouette: silhouette(similarity, &sample_labels, speaker_count),
            speakers_heard: heard.len(),
            smallest_windows: heard.iter().map(|&speaker| sizes[speaker]).min().unwrap_or(0),
            most_alike,
            labels,
        }
    }
}

/// The sampled windows of `members` that heard different audio: a window that is a repeat
/// of one already kept ([`REPEATED_AUDIO_SIMILARITY`]) is left out.
fn distinct_windows(similarity: &[Vec<f32>], members: &[usize]) -> Vec<usize> {
    let mut kept: Vec<usize> = Vec::new();
    for &member in members {
        if !kept.iter().any(|&other| similarity[member][other] >= REPEATED_AUDIO_SIMILARITY) {
            kept.push(member);
        }
    }
    kept
}

/// Every window to its nearest of `centroids`, then groups that are a blend of two others
/// dissolved into the rest while more than `min` are left.
fn dissolve_blends(embeddings: &[Vec<f32>], mut centroids: Vec<Vec<f32>>, min: usize) -> Vec<usize> {
    let mut labels = refine(embeddings, &centroids);
    while centroids.len() > min {
        centroids = centroids_of(embeddings, &labels, centroids.len());
        let sizes: Vec<usize> = (0..centroids.len()).map(|speaker| labels.iter().filter(|&&l| l == speaker).count()).collect();
        let Some(blend) = find_blend(&centroids, &sizes, &labels) else { break };
        centroids.remove(blend);
        labels = refine(embeddings, &centroids);
    }
    labels
}

/// The mean silhouette of `labels` under cosine distance: for each point, how much nearer it
/// is to its own group than to the nearest other (1: clearly apart, 0 or less: not). A point
/// alone in its group counts 0.
fn silhouette(similarity: &[Vec<f32>], labels: &[usize], speaker_count: usize) -> f32 {
    let sizes: Vec<usize> = (0..speaker_count).map(|speaker| labels.iter().filter(|&&l| l == speaker).count()).collect();
    let mut total = 0.0f32;
    for (point, row) in similarity.iter().enumerate() {
        let own = labels[point];
        if sizes[own] < 2 {
            continue;
        }
        let mut distance_sums = vec![0.0f32; speaker_count];
        row.iter().zip(labels).for_each(|(s, &l)| distance_sums[l] += 1.0 - s);
        let within = (distance_sums[own] - (1.0 - row[point])) / (sizes[own] - 1) as f32;
        let nearest_other = (0..speaker_count)
            .filter(|&other| other != own && sizes[other] > 0)
            .map(|other| distance_sums[other] / sizes[other] as f32)
            .fold(f32::INFINITY, f32::min);
        if nearest_other.is_finite() && within.max(nearest_other) > 0.0 {
            total += (nearest_other - within) / within.max(nearest_other);
        }
    }
    total / labels.len().max(1) as f32
}

/// Each window to its nearest of `centroids`, then a few rounds of moving each centroid to
/// the middle of its windows and the windows to their nearest centroid again.
fn refine(embeddings: &[Vec<f32>], centroids: &[Vec<f32>]) -> Vec<usize> {
    let mut labels = nearest(embeddings, centroids);
    for _ in 0..3 {
        labels = nearest(embeddings, &centroids_of(embeddings, &labels, centroids.len()));
    }
    labels
}

fn centroids_of(embeddings: &[Vec<f32>], labels: &[usize], speaker_count: usize) -> Vec<Vec<f32>> {
    (0..speaker_count)
        .map(|speaker| centroid(labels.iter().zip(embeddings).filter(|(l, _)| **l == speaker).map(|(_, e)| e.as_slice())))
        .collect()
}

/// The smallest group that is a blend of two bigger ones: more like each of them than they
/// are like each other, and heard mostly in windows of its own between windows of others —
/// what a window over a change of speaker, or over speech on speech, sounds like; a long
/// recording has enough of them to form a group. A real voice is unlike at least one of the
/// two, or is heard for several windows running. `labels` are the windows' groups in time
/// order.
fn find_blend(centroids: &[Vec<f32>], sizes: &[usize], labels: &[usize]) -> Option<usize> {
    let mut by_size: Vec<usize> = (0..centroids.len()).collect();
    by_size.sort_by_key(|&c| sizes[c]);
    by_size.into_iter().find(|&c| {
        let alone = (0..labels.len())
            .filter(|&i| labels[i] == c && (i == 0 || labels[i - 1] != c) && labels.get(i + 1).is_none_or(|&next| next != c))
            .count();
        let bigger: Vec<usize> = (0..centroids.len()).filter(|&o| o != c && sizes[o] > sizes[c]).collect();
        let between = bigger.iter().enumerate().any(|(position, &a)| {
            bigger[position + 1..].iter().any(|&b| {
                let apart = dot(&centroids[a], &centroids[b]);
                dot(&centroids[c], &centroids[a]) > apart && dot(&centroids[c], &centroids[b]) > apart
            })
        });
        sizes[c] == 0 || (between && 2 * alone > sizes[c])
    })
}

/// The average-linkage tree of the points whose pairwise `similarity` is given, cut into each
/// number of groups from `fewest` to `most` (groups of member indices; fewest groups last).
fn linkage_cuts(similarity: &[Vec<f32>], fewest: usize, most: usize) -> Vec<Vec<Vec<usize>>> {
    let count = similarity.len();
    let mut similarity = similarity.to_vec();
    let mut groups: Vec<Option<Vec<usize>>> = (0..count).map(|i| Some(vec![i])).collect();
    let mut cuts = Vec::new();
    for alive in (fewest.max(1)..=count).rev() {
        if alive <= most {
            cuts.push(groups.iter().flatten().cloned().collect());
        }
        if alive == fewest.max(1) {
            break;
        }
        let Some((a, b)) = closest_pair(&similarity, &groups) else { break };
        let size = |index: usize| groups[index].as_ref().map_or(0, Vec::len) as f32;
        let (size_a, size_b) = (size(a), size(b));
        for k in 0..count {
            let merged = (similarity[a][k] * size_a + similarity[b][k] * size_b) / (size_a + size_b);
            similarity[a][k] = merged;
            similarity[k][a] = merged;
        }
        let moved = groups[b].take().unwrap_or_default();
        if let Some(group) = groups[a].as_mut() {
            group.extend(moved);
        }
    }
    cuts.reverse();
    cuts
}

/// The two live groups most alike.
fn closest_pair(similarity: &[Vec<f32>], groups: &[Option<Vec<usize>>]) -> Option<(usize, usize)> {
    let live: Vec<usize> = (0..groups.len()).filter(|&i| groups[i].is_some()).collect();
    let mut best: Option<(f32, usize, usize)> = None;
    for (position, &a) in live.iter().enumerate() {
        for &b in &live[position + 1..] {
            if best.is_none_or(|(s, _, _)| similarity[a][b] > s) {
                best = Some((similarity[a][b], a, b));
            }
        }
    }
    best.map(|(_, a, b)| (a, b))
}

fn centroid<'a>(members: impl Iterator<Item = &'a [f32]>) -> Vec<f32> {
    let mut sum: Vec<f32> = Vec::new();
    for member in members {
        if sum.is_empty() {
            sum = vec![0.0; member.len()];
        }
        sum.iter_mut().zip(member).for_each(|(s, m)| *s += m);
    }
    super::encoder::normalize(&mut sum);
    sum
}

fn nearest(embeddings: &[Vec<f32>], centroids: &[Vec<f32>]) -> Vec<usize> {
    embeddings
        .iter()
        .map(|embedding| {
            (0..centroids.len())
                .max_by(|&a, &b| dot(embedding, &centroids[a]).total_cmp(&dot(embedding, &centroids[b])))
                .unwrap_or(0)
        })
        .collect()
}

fn number_by_first_appearance(labels: &[usize]) -> Vec<usize> {
    let mut order: Vec<usize> = Vec::new();
    labels
        .iter()
        .map(|label| match order.iter().position(|seen| seen == label) {
            Some(index) => index,
            None => {
                order.push(*label);
                order.len() - 1
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unit vectors near `axis`, a little apart from one another.
    fn voice(axis: usize, count: usize) -> Vec<Vec<f32>> {
        (0..count)
            .map(|i| {
                let mut v = vec![0.0f32; 8];
                v[axis] = 1.0;
                v[(axis + 1 + i % 3) % 8] = 0.2;
                super::super::encoder::normalize(&mut v);
                v
            })
            .collect()
    }

    #[test]
    fn distinct_voices_are_counted_and_bounds_are_obeyed() {
        let mut embeddings = voice(0, 6);
        embeddings.extend(voice(4, 5));
        embeddings.extend(voice(0, 2));
        embeddings.extend(voice(6, 4));
        let labels = cluster(&embeddings, &[], SpeakerBounds::default());
        assert_eq!(labels, [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 2, 2, 2, 2]);
        let two = cluster(&embeddings, &[], SpeakerBounds { min: None, max: Some(2) });
        assert_eq!(two.iter().max(), Some(&1));
        let four = cluster(&embeddings, &[], SpeakerBounds { min: Some(4), max: None });
        assert_eq!(four.iter().max(), Some(&3));
    }

    #[test]
    fn a_blend_of_two_voices_is_dissolved_and_a_third_voice_kept() {
        let axis = |weights: &[(usize, f32)]| {
            let mut v = vec![0.0f32; 8];
            weights.iter().for_each(|&(i, w)| v[i] = w);
            super::super::encoder::normalize(&mut v);
            v
        };
        let (a, b) = (axis(&[(0, 1.0)]), axis(&[(4, 1.0)]));
        let blend = axis(&[(0, 1.0), (4, 1.0)]);
        // The third group's windows each sit alone between the others' (changes of speaker)…
        let scattered = [0, 0, 0, 0, 2, 1, 1, 1, 1, 2, 0, 0, 0, 1, 1, 2, 0, 0, 0, 1, 1, 1, 1];
        assert_eq!(find_blend(&[a.clone(), b.clone(), blend.clone()], &[10, 10, 3], &scattered), Some(2));
        assert_eq!(find_blend(&[a.clone(), b.clone(), axis(&[(6, 1.0)])], &[10, 10, 3], &scattered), None, "a voice of its own");
        // …or run on for several windows, as a speaker's turn does.
        let turn = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1];
        assert_eq!(find_blend(&[a.clone(), b.clone(), blend.clone()], &[10, 10, 3], &turn), None, "heard for a turn");
        assert_eq!(find_blend(&[a, b, blend], &[10, 2, 3], &scattered), None, "a blend only of groups bigger than it");
    }

    #[test]
    fn one_voice_spread_wide_is_one_speaker_unless_bounds_say_otherwise() {
        // Windows of one voice, each pushed a different way: no two windows are as alike as two
        // speakers may be, but any groups cut from them are (and are not clearly apart).
        let embeddings = spread_voice(0, 40, 7);
        assert!(embeddings.iter().skip(1).all(|e| dot(e, &embeddings[0]) < SAME_VOICE_SIMILARITY));
        assert_eq!(cluster(&embeddings, &[], SpeakerBounds::default()).iter().max(), Some(&0));
        // Bounds that ask for two get two.
        let at_least_two = cluster(&embeddings, &[], SpeakerBounds { min: Some(2), max: None });
        assert!(at_least_two.iter().max() >= Some(&1));
    }

    /// Windows of one voice (32 values), each pushed a different way from `axis`.
    fn spread_voice(axis: usize, count: usize, seed: u32) -> Vec<Vec<f32>> {
        let mut seed = seed;
        let mut next = move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        (0..count)
            .map(|_| {
                let mut v: Vec<f32> = (0..32).map(|_| next()).collect();
                super::super::encoder::normalize(&mut v);
                v[axis] += 1.1;
                super::super::encoder::normalize(&mut v);
                v
            })
            .collect()
    }

    #[test]
    fn a_speaker_heard_for_a_small_share_is_found_but_a_repeated_passage_is_not() {
        // 200 windows of one voice and 3 of another: 1.5 % of the recording.
        let mut embeddings = spread_voice(0, 200, 7);
        embeddings.splice(120..120, spread_voice(5, 3, 11));
        let labels = cluster(&embeddings, &[], SpeakerBounds::default());
        assert_eq!(labels.iter().max(), Some(&1), "the minor speaker is a speaker");
        assert!(labels[120..123].iter().all(|&l| l == 1) && labels.iter().filter(|&&l| l == 1).count() == 3);
        // One window of the other voice heard ten times over (the recording repeats itself)
        // is one window of evidence, not ten.
        let mut repeated = spread_voice(0, 200, 7);
        let passage = spread_voice(5, 1, 11).remove(0);
        for copy in 0..10 {
            repeated.insert(20 * copy, passage.clone());
        }
        assert_eq!(cluster(&repeated, &[], SpeakerBounds::default()).iter().max(), Some(&0));
    }

    #[test]
    fn a_window_with_little_speech_joins_a_speaker_instead_of_founding_one() {
        let mut embeddings = voice(0, 5);
        embeddings.extend(voice(4, 4));
        // A reply in two windows, each a little different (not so alike as a repeat of one).
        for (lean, colour) in [(0.3f32, 0.1f32), (0.5, 0.25)] {
            let mut reply = vec![0.0f32; 8];
            (reply[2], reply[0], reply[7]) = (1.0, lean, colour);
            super::super::encoder::normalize(&mut reply);
            embeddings.push(reply);
        }
        let mut heard_s = vec![1.6; 11];
        assert_eq!(cluster(&embeddings, &heard_s, SpeakerBounds::default()).iter().max(), Some(&2), "a voice of its own when heard long enough");
        (heard_s[9], heard_s[10]) = (0.6, 0.6);
        assert_eq!(cluster(&embeddings, &heard_s, SpeakerBounds::default()), [0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0]);
    }

    #[test]
    fn bounds_that_make_no_sense_are_refused() {
        assert!(SpeakerBounds { min: Some(3), max: Some(2) }.validate().unwrap_err().contains("more than"));
        assert!(SpeakerBounds { min: Some(0), max: None }.validate().is_err());
        assert!(SpeakerBounds { min: Some(2), max: Some(2) }.validate().is_ok());
    }
}
