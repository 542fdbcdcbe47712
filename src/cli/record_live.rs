//! `verbatim record --live ENGINE`: the engine that hears the recording while it is made, and
//! what the terminal shows of it. The recording never depends on it: a live engine that fails
//! prints one `error:` line, the recording goes on, and at the stop the transcript holds what was
//! heard.

use super::live_display::format_segment;
use crate::engine::{EngineKind, LiveEngine, LiveOptions, TranscribeOptions, build_live_engine, run_live_engine};
use crate::engine::{EngineError, EngineOutcome, cloud::keys::KeyStores};
use crate::events::{EngineEvent, EventSink};
use crate::record::LiveTapReceiver;
use crate::transcript::Transcript;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// What `--live` names: nothing, or an engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveChoice {
    Off,
    Engine(EngineKind),
}

impl std::str::FromStr for LiveChoice {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.trim().eq_ignore_ascii_case("off") {
            return Ok(LiveChoice::Off);
        }
        text.parse::<EngineKind>().map(LiveChoice::Engine).map_err(|error| format!("{error}, or off"))
    }
}

/// `--endpoint` as the base URL the clients take: `ws://` and `wss://` are read as `http://` and
/// `https://` (the client appends the service's documented path and speaks WebSocket itself);
/// the engine then refuses plain http to another machine.
pub fn endpoint_base_url(endpoint: &str) -> String {
    let endpoint = endpoint.trim();
    for (socket, web) in [("ws://", "http://"), ("wss://", "https://")] {
        if endpoint.len() >= socket.len() && endpoint[..socket.len()].eq_ignore_ascii_case(socket) {
            return format!("{web}{}", &endpoint[socket.len()..]);
        }
    }
    endpoint.to_string()
}

/// Builds the live engine for `kind` with `--model` and `--endpoint`, with the user's key.
/// Blocking while the keyring is read. Nothing connects yet: a bad endpoint is refused here.
pub fn build(kind: EngineKind, model: Option<&str>, endpoint: Option<&str>) -> anyhow::Result<Box<dyn LiveEngine>> {
    let cloud = super::cloud_args::CloudArgs { endpoint: endpoint.map(endpoint_base_url), ..Default::default() };
    let spec = super::cloud_args::engine_spec(kind, model, 1, &cloud)?;
    Ok(build_live_engine(&spec, &LiveOptions::default(), &KeyStores::platform, None)?)
}

/// A live engine running on the recording's audio, and what it has said so far.
pub struct LiveSession {
    events: UnboundedReceiver<EngineEvent>,
    task: JoinHandle<Result<EngineOutcome, EngineError>>,
    cancel: CancellationToken,
    pub transcript: Transcript,
    /// The open phrase, for the terminal's status line.
    pub hypothesis: Option<String>,
    terminal: bool,
}

impl LiveSession {
    /// Starts `engine` on the recorder's 16 kHz blocks.
    pub fn start(engine: Box<dyn LiveEngine>, audio: LiveTapReceiver, options: TranscribeOptions, terminal: bool) -> LiveSession {
        let (sink, events) = EventSink::channel();
        let cancel = CancellationToken::new();
        let task = {
            let cancel = cancel.clone();
            tokio::spawn(async move {
                let result = run_live_engine(engine.as_ref(), audio, &options, &sink, &cancel).await;
                drop(sink);
                result
            })
        };
        LiveSession { events, task, cancel, transcript: Transcript::new(), hypothesis: None, terminal }
    }

    /// Shows and keeps every event that has arrived; `before_line` runs before a line is
    /// printed (to clear the terminal's status line).
    pub fn drain(&mut self, before_line: &dyn Fn()) {
        while let Ok(event) = self.events.try_recv() {
            self.show(&event, before_line);
        }
    }

    fn show(&mut self, event: &EngineEvent, before_line: &dyn Fn()) {
        let line = match event {
            EngineEvent::Segment(segment) => Some(format_segment(segment)),
            EngineEvent::Warning { message } => Some(format!("warning: live transcription: {message}")),
            EngineEvent::Error { message } => {
                Some(format!("error: live transcription failed: {message}; the recording is not affected"))
            }
            EngineEvent::Hypothesis(hypothesis) if self.terminal => {
                self.hypothesis = Some(hypothesis.text.trim().to_string()).filter(|text| !text.is_empty());
                None
            }
            _ => None,
        };
        if let Some(line) = line {
            before_line();
            eprintln!("{line}");
        }
        self.transcript.apply(event);
        if matches!(event, EngineEvent::Segment(_)) {
            self.hypothesis = None;
        }
    }

    /// After the recording stopped: shows the engine's last words as they come and returns how
    /// it ended. A Ctrl-C meanwhile stops waiting (what was heard is kept).
    pub async fn finish(mut self) -> (Transcript, Result<EngineOutcome, EngineError>) {
        loop {
            tokio::select! {
                event = self.events.recv() => match event {
                    Some(event) => self.show(&event, &|| {}),
                    None => break,
                },
                _ = tokio::signal::ctrl_c() => {
                    eprintln!("not waiting for the rest of the live transcript");
                    self.cancel.cancel();
                }
            }
        }
        let result = match self.task.await {
            Ok(result) => result,
            Err(_) => Err(EngineError::Inference("the live engine crashed".into())),
        };
        (self.transcript, result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_choices_and_socket_endpoints_read_as_documented() {
        assert_eq!("off".parse::<LiveChoice>(), Ok(LiveChoice::Off));
        assert_eq!("60db".parse::<LiveChoice>(), Ok(LiveChoice::Engine(EngineKind::Cloud(crate::engine::cloud::CloudService::SixtyDb))));
        assert!("whisper".parse::<LiveChoice>().unwrap_err().ends_with(", or off"));
        assert_eq!(endpoint_base_url("ws://127.0.0.1:9000"), "http://127.0.0.1:9000");
        assert_eq!(endpoint_base_url("WSS://example.org/base"), "https://example.org/base");
        assert_eq!(endpoint_base_url("https://example.org"), "https://example.org");
    }
}
