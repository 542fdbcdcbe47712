//! Who is who: the window embeddings grouped into speakers, the number of speakers found
//! from the data. Average-linkage agglomerative clustering on cosine similarity, over the
//! windows that heard enough speech, stops where the closest two groups are less alike than
//! [`MERGE_SIMILARITY`] (tuned on the shared test recordings), within the caller's bounds;
//! then each window (those that heard little too) joins its nearest speaker, and a
//! group that is only a blend of two others (windows over a change of speaker, or over
//! speech on speech) is dissolved into them. Groups that are not clearly apart (silhouette)
//! are one voice split up: with no bounds given, that is one speaker.

/// Groups at least this alike (average cosine similarity) are the same speaker.
pub const MERGE_SIMILARITY: f32 = 0.60;
/// At most this many windows are clustered directly; the others join the nearest speaker found.
const MAX_LINKAGE_WINDOWS: usize = 600;
/// A speaker heard in fewer windows than this is taken for a stray of a bigger one.
const MIN_SPEAKER_WINDOWS: usize = 3;
/// A window that heard less speech than this (a short reply between pauses: the rest of its
/// 1.6 s is silence) has too little voice in it to found a speaker; it joins the nearest one.
/// On conversations built from pairs of the shared recordings, a 0.6 s reply otherwise became
/// a speaker of its own (4 of 28 pairs: 3 speakers found for 2); 0.8-1.0 s gave the same
/// counts, 1.2 s lost a phone-band three-way's third voice.
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

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// A speaker index for each embedding (unit vectors), numbered by first appearance.
/// `speech_heard_s` is the speech in each embedding's window (missing ones count as full).
pub fn cluster(embeddings: &[Vec<f32>], speech_heard_s: &[f64], bounds: SpeakerBounds) -> Vec<usize> {
    let count = embeddings.len();
    if count == 0 {
        return Vec::new();
    }
    let min = bounds.min.unwrap_or(1).clamp(1, count);
    let max = bounds.max.unwrap_or(usize::MAX).clamp(min, count);
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
    let groups = average_linkage(&sample.iter().map(|&i| embeddings[i].as_slice()).collect::<Vec<_>>(), min, max);
    let mut centroids: Vec<Vec<f32>> = groups.iter().map(|members| centroid(members.iter().map(|&m| embeddings[sample[m]].as_slice()))).collect();
    let mut labels = refine(embeddings, &centroids);
    // A blend of two voices is no speaker: its windows join the nearest real one.
    while centroids.len() > min {
        centroids = centroids_of(embeddings, &labels, centroids.len());
        let sizes: Vec<usize> = (0..centroids.len()).map(|speaker| labels.iter().filter(|&&l| l == speaker).count()).collect();
        let Some(blend) = find_blend(&centroids, &sizes, &labels) else { break };
        centroids.remove(blend);
        labels = refine(embeddings, &centroids);
    }
    // Left to find the count, a voice split up is one speaker.
    if bounds.min.is_none_or(|m| m <= 1) && bounds.max.is_none() && one_voice(embeddings, &sample, &labels, centroids.len()) {
        return vec![0; count];
    }
    number_by_first_appearance(&labels)
}

/// Below this silhouette (cosine distance, mean over the windows clustered directly) groups
/// are one voice split up rather than several voices. Measured on the shared recordings: JFK
/// alone, split in two by the similarity threshold, 0.31; the built interview and three-way
/// conversations 0.47 and 0.48; single voices split by silhouette-chosen partitions scored at
/// most 0.27, the right partitions of 2-3 voices 0.43-0.51.
const ONE_VOICE_SILHOUETTE: f32 = 0.35;

/// Whether the groups in `labels` (of `speaker_count`) are one voice heard as several: their
/// silhouette over the `sample` windows is below [`ONE_VOICE_SILHOUETTE`].
fn one_voice(embeddings: &[Vec<f32>], sample: &[usize], labels: &[usize], speaker_count: usize) -> bool {
    let sample_labels: Vec<usize> = sample.iter().map(|&i| labels[i]).collect();
    let heard = (0..speaker_count).filter(|speaker| sample_labels.contains(speaker)).count();
    if heard < 2 {
        return false;
    }
    let similarity: Vec<Vec<f32>> = sample.iter().map(|&i| sample.iter().map(|&j| dot(&embeddings[i], &embeddings[j])).collect()).collect();
    silhouette(&similarity, &sample_labels, speaker_count) < ONE_VOICE_SILHOUETTE
}

/// The mean silhouette of `labels` under cosine distance: for each point, how much nearer it
/// is to its own group than to the nearest other (1: clearly apart, 0 or less: not).
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

/// Groups (member indices) of `points`, merged closest first until no two groups are alike
/// enough and there are at most `max`, never fewer than `min`.
fn average_linkage(points: &[&[f32]], min: usize, max: usize) -> Vec<Vec<usize>> {
    let count = points.len();
    let mut similarity: Vec<Vec<f32>> = (0..count).map(|i| (0..count).map(|j| dot(points[i], points[j])).collect()).collect();
    let mut groups: Vec<Option<Vec<usize>>> = (0..count).map(|i| Some(vec![i])).collect();
    let mut alive = count;
    while alive > min {
        let Some((best, a, b)) = closest_pair(&similarity, &groups) else { break };
        let too_small = groups.iter().flatten().any(|g| g.len() < MIN_SPEAKER_WINDOWS) && count >= 4 * MIN_SPEAKER_WINDOWS;
        if best < MERGE_SIMILARITY && alive <= max && !too_small {
            break;
        }
        let (size_a, size_b) = (group_len(&groups, a), group_len(&groups, b));
        for k in 0..count {
            let merged = (similarity[a][k] * size_a + similarity[b][k] * size_b) / (size_a + size_b);
            similarity[a][k] = merged;
            similarity[k][a] = merged;
        }
        let moved = groups[b].take().unwrap_or_default();
        if let Some(group) = groups[a].as_mut() {
            group.extend(moved);
        }
        alive -= 1;
    }
    groups.into_iter().flatten().collect()
}

fn group_len(groups: &[Option<Vec<usize>>], index: usize) -> f32 {
    groups[index].as_ref().map_or(0, Vec::len) as f32
}

/// The two live groups most alike, or — when some group is still too small to be a speaker —
/// the small group's best partner.
fn closest_pair(similarity: &[Vec<f32>], groups: &[Option<Vec<usize>>]) -> Option<(f32, usize, usize)> {
    let live: Vec<usize> = (0..groups.len()).filter(|&i| groups[i].is_some()).collect();
    let mut best: Option<(f32, usize, usize)> = None;
    for (position, &a) in live.iter().enumerate() {
        for &b in &live[position + 1..] {
            if best.is_none_or(|(s, _, _)| similarity[a][b] > s) {
                best = Some((similarity[a][b], a, b));
            }
        }
    }
    let (best_similarity, ..) = best?;
    if best_similarity >= MERGE_SIMILARITY {
        return best;
    }
    // No pair is alike enough: fold the smallest stray group into its best partner.
    let smallest = *live.iter().min_by_key(|&&i| groups[i].as_ref().map_or(0, Vec::len))?;
    if groups[smallest].as_ref().map_or(0, Vec::len) >= MIN_SPEAKER_WINDOWS {
        return best;
    }
    live.iter()
        .filter(|&&other| other != smallest)
        .map(|&other| (similarity[smallest][other], smallest.min(other), smallest.max(other)))
        .max_by(|x, y| x.0.total_cmp(&y.0))
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
        // Windows of one voice, each pushed a different way (no two alike enough to merge).
        let mut seed = 7u32;
        let mut next = move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        let embeddings: Vec<Vec<f32>> = (0..40)
            .map(|_| {
                let mut v: Vec<f32> = (0..32).map(|_| next()).collect();
                super::super::encoder::normalize(&mut v);
                v[0] += 1.1;
                super::super::encoder::normalize(&mut v);
                v
            })
            .collect();
        assert!(embeddings.iter().skip(1).all(|e| dot(e, &embeddings[0]) < MERGE_SIMILARITY + 0.2));
        assert_eq!(cluster(&embeddings, &[], SpeakerBounds::default()).iter().max(), Some(&0));
        // Without the silhouette's say, the similarity threshold alone splits it several ways.
        let at_least_two = cluster(&embeddings, &[], SpeakerBounds { min: Some(2), max: None });
        assert!(at_least_two.iter().max() >= Some(&1));
    }

    #[test]
    fn a_window_with_little_speech_joins_a_speaker_instead_of_founding_one() {
        let mut embeddings = voice(0, 5);
        embeddings.extend(voice(4, 4));
        let mut reply = vec![0.0f32; 8];
        (reply[2], reply[0]) = (1.0, 0.3);
        super::super::encoder::normalize(&mut reply);
        embeddings.push(reply);
        let mut heard_s = vec![1.6; 10];
        assert_eq!(cluster(&embeddings, &heard_s, SpeakerBounds::default()).iter().max(), Some(&2), "a voice of its own when heard long enough");
        heard_s[9] = 0.6;
        assert_eq!(cluster(&embeddings, &heard_s, SpeakerBounds::default()), [0, 0, 0, 0, 0, 1, 1, 1, 1, 0]);
    }

    #[test]
    fn bounds_that_make_no_sense_are_refused() {
        assert!(SpeakerBounds { min: Some(3), max: Some(2) }.validate().unwrap_err().contains("more than"));
        assert!(SpeakerBounds { min: Some(0), max: None }.validate().is_err());
        assert!(SpeakerBounds { min: Some(2), max: Some(2) }.validate().is_ok());
    }
}
