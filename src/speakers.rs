//! Speaker labels from a stereo recording with one speaker per channel.
//!
//! Interviews and calls are often recorded with each person on their own channel. Each
//! channel is transcribed on its own; where a channel is much quieter than the other it only
//! carries the other person's voice bleeding into its microphone, so it is muted there. A
//! segment then belongs to the channel it came from.

/// Speaker id given to segments of channel `index` (0 = left).
pub fn channel_speaker_id(index: usize) -> String {
    match index {
        0 => "left".to_string(),
        1 => "right".to_string(),
        other => format!("channel_{}", other + 1),
    }
}

/// How much quieter than the loudest channel a channel may be before it counts as bleed (dB).
pub const BLEED_MARGIN_DB: f32 = 15.0;

/// Mutes, in place, the frames of each channel that are only bleed from a louder channel.
/// `channels` hold samples at the same rate and length; `frame_len` samples per decision.
pub fn mute_bleed(channels: &mut [Vec<f32>], frame_len: usize) {
    if channels.len() < 2 || frame_len == 0 {
        return;
    }
    let length = channels.iter().map(Vec::len).min().unwrap_or(0);
    let mut start = 0;
    while start < length {
        let end = (start + frame_len).min(length);
        let levels: Vec<f32> = channels.iter().map(|c| crate::vad::rms_dbfs(&c[start..end])).collect();
        let loudest = levels.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        for (channel, level) in channels.iter_mut().zip(&levels) {
            if *level < loudest - BLEED_MARGIN_DB {
                channel[start..end].iter_mut().for_each(|s| *s = 0.0);
            }
        }
        start = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_copy_of_the_other_channel_is_muted() {
        let loud: Vec<f32> = (0..1600).map(|i| 0.5 * (i as f32 * 0.1).sin()).collect();
        let bleed: Vec<f32> = loud.iter().map(|s| s * 0.01).collect();
        let mut channels = vec![loud.clone(), bleed];
        mute_bleed(&mut channels, 320);
        assert_eq!(channels[0], loud);
        assert!(channels[1].iter().all(|&s| s == 0.0));
    }

    #[test]
    fn both_channels_kept_when_both_speak() {
        let left: Vec<f32> = (0..1600).map(|i| 0.5 * (i as f32 * 0.1).sin()).collect();
        let right: Vec<f32> = (0..1600).map(|i| 0.3 * (i as f32 * 0.07).sin()).collect();
        let mut channels = vec![left.clone(), right.clone()];
        mute_bleed(&mut channels, 320);
        assert_eq!(channels, vec![left, right]);
    }
}
