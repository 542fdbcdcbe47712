//! The one event vocabulary every engine speaks.
//!
//! Local whisper.cpp, the cloud services, file or live: each turns what it hears into these
//! events and nothing else. The transcript model, the CLI, the window and the exporters read
//! only these, so none of them knows which service produced a word, and a new engine is one
//! new module that emits them.

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

/// A word with its time span and, where the engine reports one, its probability (0–1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Word {
    pub text: String,
    pub start_s: f64,
    pub end_s: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f32>,
}

/// A finished, timed piece of transcript to append — or, when it carries the
/// [`revision_key`](Segment::revision_key) of an earlier segment, to put in that one's place.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Segment {
    pub start_s: f64,
    pub end_s: f64,
    pub text: String,
    /// The engine's own speaker id (`SPEAKER_00`, `left`…); the transcript maps it to a
    /// display name. `None` when the engine does not tell speakers apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaker: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<Word>,
    /// The engine's own name for this piece when it may send a better version later (60db's
    /// live sentences: `60db:3` for `sentence_id` 3). A segment whose key matches an earlier
    /// one replaces it in place instead of being appended. `None` for text that is final.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_key: Option<String>,
    /// The language this segment was transcribed in (ISO 639-1), when the engine knows: a
    /// recording may change language, so this is per segment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The engine doubts this text (it may be misheard or invented: the model rated it as
    /// probably not speech, or it repeats what came before). It is kept, marked, so that no
    /// speech is silently lost; the reader decides.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub low_confidence: bool,
}

/// The live, not yet final text at the tail of the transcript. Each hypothesis replaces the
/// previous one; the next [`EngineEvent::Segment`] (or an empty hypothesis) retires it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Hypothesis {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_s: Option<f64>,
}

/// What an engine says while it works.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EngineEvent {
    /// Append a finished segment.
    Segment(Segment),
    /// Replace the live tail.
    Hypothesis(Hypothesis),
    /// How far the engine has got: seconds of audio done, out of `total_s` when known.
    Progress { done_s: f64, total_s: Option<f64> },
    /// A live engine is behind the audio it has been given by `behind_s` seconds: the newest
    /// text on screen is that old. Only for the status line; the transcript ignores it.
    Lag { behind_s: f64 },
    /// Something the user should know that does not stop the work (noisy audio, a file split
    /// into parts, a retry after a server error…).
    Warning { message: String },
    /// The engine finished; `language` is what it transcribed in, when it knows.
    Done {
        language: Option<String>,
        duration_s: Option<f64>,
    },
    /// The engine stopped on an error. Segments already sent stay valid.
    Error { message: String },
}

impl EngineEvent {
    /// Fraction of the work done (0–1), for a `Progress` event with a known total.
    pub fn progress_fraction(&self) -> Option<f64> {
        match self {
            EngineEvent::Progress { done_s, total_s: Some(total_s) } if *total_s > 0.0 => {
                Some((done_s / total_s).clamp(0.0, 1.0))
            }
            _ => None,
        }
    }
}

/// Where an engine sends its events. Cheap to clone; sending never blocks, so it can be used
/// from blocking inference threads and from async tasks alike.
#[derive(Clone)]
pub struct EventSink {
    sender: mpsc::UnboundedSender<EngineEvent>,
}

impl EventSink {
    /// A sink and the receiver its events arrive on.
    pub fn channel() -> (EventSink, mpsc::UnboundedReceiver<EngineEvent>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (EventSink { sender }, receiver)
    }

    /// Sends one event. Returns `false` when nobody listens any more, which an engine may
    /// take as a reason to stop.
    pub fn emit(&self, event: EngineEvent) -> bool {
        self.sender.send(event).is_ok()
    }

    pub fn segment(&self, segment: Segment) -> bool {
        self.emit(EngineEvent::Segment(segment))
    }

    pub fn hypothesis(&self, text: impl Into<String>, start_s: Option<f64>) -> bool {
        self.emit(EngineEvent::Hypothesis(Hypothesis { text: text.into(), start_s }))
    }

    pub fn progress(&self, done_s: f64, total_s: Option<f64>) -> bool {
        self.emit(EngineEvent::Progress { done_s, total_s })
    }

    pub fn lag(&self, behind_s: f64) -> bool {
        self.emit(EngineEvent::Lag { behind_s })
    }

    pub fn warning(&self, message: impl Into<String>) -> bool {
        self.emit(EngineEvent::Warning { message: message.into() })
    }
}
