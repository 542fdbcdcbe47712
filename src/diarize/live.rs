//! Speaker labels while recording: each phrase the live engine cuts is heard by a
//! [`Diarizer`] on a thread of its own (so decoding never waits for it), and after each one
//! the speakers of everything heard so far come back as turns. A speaker gets a label once
//! they have been heard for [`ESTABLISHED_S`]; labels already shown may change as more is
//! heard (the live engine sends those segments again under the same revision key).

use super::{Diarizer, SpeakerBounds, SpeakerTurn};
use std::path::Path;
use std::sync::mpsc;

/// Speech a speaker must have been heard for before segments are labelled with them.
pub const ESTABLISHED_S: f64 = 3.0;

/// A phrase to listen to: 16 kHz mono from `start_s`.
struct HeardPhrase {
    start_s: f64,
    samples: Vec<f32>,
}

/// The labelling thread: phrases in, turns out.
pub struct LiveSpeakers {
    phrases: Option<mpsc::Sender<HeardPhrase>>,
    turns: tokio::sync::mpsc::UnboundedReceiver<Vec<SpeakerTurn>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LiveSpeakers {
    /// Loads the voice encoder from `model_path` and starts the thread (one core: the other
    /// belongs to the decoder). The error says why labels cannot be given.
    pub fn start(model_path: &Path, bounds: SpeakerBounds) -> Result<LiveSpeakers, String> {
        let mut diarizer = Diarizer::load(model_path, 1).map_err(|error| error.to_string())?;
        let (phrase_sender, phrase_receiver) = mpsc::channel::<HeardPhrase>();
        let (turn_sender, turns) = tokio::sync::mpsc::unbounded_channel();
        let thread = std::thread::Builder::new()
            .name("live-speakers".into())
            .spawn(move || {
                while let Ok(phrase) = phrase_receiver.recv() {
                    diarizer.add_chunk(&phrase.samples, phrase.start_s);
                    // Phrases that came meanwhile are heard before clustering again.
                    let waiting: Vec<HeardPhrase> = phrase_receiver.try_iter().collect();
                    for phrase in waiting {
                        diarizer.add_chunk(&phrase.samples, phrase.start_s);
                    }
                    if turn_sender.send(diarizer.turns(bounds)).is_err() {
                        break;
                    }
                }
            })
            .map_err(|error| format!("cannot start the speaker labelling thread: {error}"))?;
        Ok(LiveSpeakers { phrases: Some(phrase_sender), turns, thread: Some(thread) })
    }

    /// Hands one phrase to the thread.
    pub fn hear(&self, start_s: f64, samples: &[f32]) {
        if let Some(phrases) = &self.phrases {
            let _ = phrases.send(HeardPhrase { start_s, samples: samples.to_vec() });
        }
    }

    /// The newest turns, when the thread has heard another phrase; `None` once it has heard
    /// everything after [`finish`](Self::finish).
    pub async fn next_turns(&mut self) -> Option<Vec<SpeakerTurn>> {
        self.turns.recv().await
    }

    /// No more phrases will come: the turns after the last one are still delivered.
    pub fn finish(&mut self) {
        self.phrases = None;
    }
}

impl Drop for LiveSpeakers {
    fn drop(&mut self) {
        self.phrases = None;
        self.turns.close();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The speaker of `[start_s, end_s)` in `turns`, when that speaker has been heard for at least
/// [`ESTABLISHED_S`] in all.
pub fn established_speaker(turns: &[SpeakerTurn], start_s: f64, end_s: f64) -> Option<usize> {
    let speaker = super::assign::dominant_speaker(turns, start_s, end_s)?;
    let heard_s: f64 = turns.iter().filter(|turn| turn.speaker == speaker).map(|turn| turn.end_s - turn.start_s).sum();
    (heard_s >= ESTABLISHED_S).then_some(speaker)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(start_s: f64, end_s: f64, speaker: usize) -> SpeakerTurn {
        SpeakerTurn { start_s, end_s, speaker }
    }

    #[test]
    fn a_speaker_heard_only_briefly_gets_no_label_yet() {
        let turns = [turn(0.0, 6.0, 0), turn(6.0, 7.6, 1)];
        assert_eq!(established_speaker(&turns, 1.0, 3.0), Some(0));
        assert_eq!(established_speaker(&turns, 6.1, 7.5), None, "1.6 s of speaker 1 is not enough");
        let later = [turn(0.0, 6.0, 0), turn(6.0, 7.6, 1), turn(9.0, 11.0, 1)];
        assert_eq!(established_speaker(&later, 6.1, 7.5), Some(1));
    }
}
