//! Shared by the window tests: a scripted engine (so the window can be driven through any
//! sequence of engine events, errors and cancellations without a model), an engine factory
//! that hands it out, a dropped-file stand-in, and helpers to run the harness until something
//! shows up.

#![allow(dead_code)]

use async_trait::async_trait;
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use verbatim::app::runtime::{EngineFactory, EngineSpec};
use verbatim::app::settings::Settings;
use verbatim::app::{AppOptions, VerbatimApp};
use verbatim::engine::{Engine, EngineError, EngineOutcome, TranscribeOptions};
use verbatim::events::{EngineEvent, EventSink, Hypothesis, Segment};

/// A file from the shared test data: `None` (the test skips) outside CI, a failure under
/// `CI=true` — the one rule of `verbatim::dev::testdata`.
#[allow(unused_imports)] // the UI bench shares this module and reads no test data
pub use verbatim::dev::testdata::testdata;

/// One step of a scripted run.
#[derive(Debug, Clone)]
pub enum Step {
    Emit(EngineEvent),
    /// Wait until the test opens the gate once.
    Gate,
    /// Wait until cancelled, then stop as cancelled.
    WaitForCancel,
    /// Stop with this error.
    Fail(String),
    /// Emit `count` segments as fast as possible.
    Flood {
        count: usize,
        speaker: Option<String>,
    },
    /// Emit `count` segments of alternating speakers ("left", "right") and varied length, as
    /// fast as possible (a long meeting arriving at once).
    Meeting {
        count: usize,
    },
    /// Stream like a live service: every `every`, a growing hypothesis, and every third tick
    /// the finished segment; `count` segments in all.
    Live {
        count: usize,
        every: Duration,
    },
}

/// Text of meeting segment `index`: short and long lines, so rows wrap differently.
pub fn meeting_text(index: usize) -> String {
    const PHRASES: [&str; 6] = [
        "Right.",
        "I think we should look at the numbers again before Friday.",
        "The second quarter was better than we expected, mostly because the new customers in the north signed earlier than planned and paid upfront.",
        "Can you share the slide?",
        "Let me check with the team and come back to you tomorrow morning with a proper answer, including the costs we discussed last week and the timeline for the rollout.",
        "Agreed.",
    ];
    format!("{} ({index})", PHRASES[index % PHRASES.len()])
}

pub fn segment(text: &str, start_s: f64, speaker: Option<&str>) -> Step {
    Step::Emit(EngineEvent::Segment(Segment {
        revision_key: None,
        start_s,
        end_s: start_s + 2.0,
        text: text.into(),
        speaker: speaker.map(str::to_string),
        words: vec![],
        ..Default::default()
    }))
}

pub fn hypothesis(text: &str, start_s: f64) -> Step {
    Step::Emit(EngineEvent::Hypothesis(Hypothesis {
        text: text.into(),
        start_s: Some(start_s),
    }))
}

/// An engine that plays a script; run `n` plays `scripts[min(n, last)]`.
pub struct ScriptedEngine {
    scripts: Vec<Vec<Step>>,
    runs: AtomicUsize,
    pub gate: Arc<Semaphore>,
    pub paths: Mutex<Vec<PathBuf>>,
}

impl ScriptedEngine {
    pub fn new(scripts: Vec<Vec<Step>>) -> Arc<ScriptedEngine> {
        Arc::new(ScriptedEngine {
            scripts,
            runs: AtomicUsize::new(0),
            gate: Arc::new(Semaphore::new(0)),
            paths: Mutex::new(Vec::new()),
        })
    }

    /// Lets the engine past one `Gate`.
    pub fn open_gate(&self) {
        self.gate.add_permits(1);
    }

    pub fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Engine for ScriptedEngine {
    fn name(&self) -> &str {
        "scripted"
    }

    async fn transcribe_file(
        &self,
        path: &Path,
        _options: &TranscribeOptions,
        sink: &EventSink,
        cancel: &CancellationToken,
    ) -> Result<EngineOutcome, EngineError> {
        if let Ok(mut paths) = self.paths.lock() {
            paths.push(path.to_path_buf());
        }
        let run = self.runs.fetch_add(1, Ordering::SeqCst);
        let script = self
            .scripts
            .get(run)
            .or_else(|| self.scripts.last())
            .cloned()
            .unwrap_or_default();
        let mut end_s = 0.0;
        for step in script {
            if cancel.is_cancelled() {
                return Err(EngineError::Cancelled);
            }
            match step {
                Step::Emit(event) => {
                    if let EngineEvent::Segment(segment) = &event {
                        end_s = segment.end_s;
                    }
                    sink.emit(event);
                }
                Step::Gate => {
                    tokio::select! {
                        permit = self.gate.acquire() => {
                            if let Ok(permit) = permit {
                                permit.forget();
                            }
                        }
                        _ = cancel.cancelled() => return Err(EngineError::Cancelled),
                    }
                }
                Step::WaitForCancel => {
                    cancel.cancelled().await;
                    return Err(EngineError::Cancelled);
                }
                Step::Fail(message) => return Err(EngineError::Service(message)),
                Step::Meeting { count } => {
                    for index in 0..count {
                        let start_s = index as f64 * 3.0;
                        end_s = start_s + 2.5;
                        sink.segment(Segment {
                            revision_key: None,
                            start_s,
                            end_s,
                            text: meeting_text(index),
                            speaker: Some(
                                if index % 3 == 1 { "right" } else { "left" }.to_string(),
                            ),
                            words: vec![],
                            ..Default::default()
                        });
                    }
                }
                Step::Live { count, every } => {
                    let first_index = 1_000_000;
                    for index in first_index..first_index + count {
                        let text = meeting_text(index);
                        let words: Vec<&str> = text.split(' ').collect();
                        for tick in 1..=3 {
                            let shown = (words.len() * tick / 3).max(1);
                            let partial = words[..shown].join(" ");
                            tokio::select! {
                                _ = tokio::time::sleep(every) => {}
                                _ = cancel.cancelled() => return Err(EngineError::Cancelled),
                            }
                            if tick < 3 {
                                sink.hypothesis(partial, Some(end_s));
                            }
                        }
                        let start_s = end_s + 0.5;
                        end_s = start_s + 2.5;
                        sink.segment(Segment {
                            revision_key: None,
                            start_s,
                            end_s,
                            text,
                            speaker: Some(
                                if index % 2 == 0 { "left" } else { "right" }.to_string(),
                            ),
                            words: vec![],
                            ..Default::default()
                        });
                    }
                }
                Step::Flood { count, speaker } => {
                    for index in 0..count {
                        let start_s = index as f64 * 2.0;
                        end_s = start_s + 2.0;
                        sink.segment(Segment {
                            revision_key: None,
                            start_s,
                            end_s,
                            text: format!("Segment number {index} of the flood, with enough words to wrap now and then on a narrow window."),
                            speaker: speaker.clone(),
                            words: vec![],
                            ..Default::default()
                        });
                    }
                }
            }
        }
        Ok(EngineOutcome {
            language: Some("en".into()),
            duration_s: Some(end_s),
        })
    }
}

/// Hands every job the same engine.
pub struct FixedFactory(pub Arc<dyn Engine>);

impl EngineFactory for FixedFactory {
    fn engine_for(&self, _spec: &EngineSpec) -> Result<Arc<dyn Engine>, verbatim::engine::EngineError> {
        Ok(self.0.clone())
    }
}

/// A file dropped on the window.
#[derive(Debug)]
pub struct DroppedPath(pub PathBuf);

impl egui::DroppedFile for DroppedPath {
    fn path(&self) -> &Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|error| error.to_string())
    }
}

/// The real window at a desktop size, with `factory` building its engines and no session
/// kept.
pub fn window(
    factory: Arc<dyn EngineFactory>,
    settings: Settings,
) -> Harness<'static, VerbatimApp> {
    window_keeping(factory, settings, None)
}

/// [`window`] keeping its session in `session_dir`.
pub fn window_with_session(
    factory: Arc<dyn EngineFactory>,
    settings: Settings,
    session_dir: &Path,
) -> Harness<'static, VerbatimApp> {
    window_keeping(
        factory,
        settings,
        Some(verbatim::app::session::SessionStore::at(session_dir)),
    )
}

/// [`window`] keeping its session in `store` (one a test may have slowed down).
pub fn window_with_session_store(
    factory: Arc<dyn EngineFactory>,
    settings: Settings,
    store: verbatim::app::session::SessionStore,
) -> Harness<'static, VerbatimApp> {
    window_keeping(factory, settings, Some(store))
}

fn window_keeping(
    factory: Arc<dyn EngineFactory>,
    settings: Settings,
    session: Option<verbatim::app::session::SessionStore>,
) -> Harness<'static, VerbatimApp> {
    window_with_options(test_options(factory, settings, session))
}

/// What the test windows start with: `factory`'s engines, `settings`, the session in
/// `session` (or none), no signals handled, and no recordings folder (so a test never looks
/// at the recordings of the machine it runs on).
pub fn test_options(
    factory: Arc<dyn EngineFactory>,
    settings: Settings,
    session: Option<verbatim::app::session::SessionStore>,
) -> AppOptions {
    AppOptions {
        engine_factory: factory,
        settings: Some(settings),
        files: Vec::new(),
        session,
        close_on_signals: false,
        recordings_dir: None,
        input_device: None,
        input_speed: 1.0,
        record_at_start: false,
        playback_output: verbatim::playback::OutputChoice::Fake(
            verbatim::playback::FakeOutput::missing(),
        ),
    }
}

/// The real window at a desktop size, started with `options`.
pub fn window_with_options(options: AppOptions) -> Harness<'static, VerbatimApp> {
    Harness::builder()
        .with_size(egui::vec2(1200.0, 800.0))
        .build_eframe(move |cc| VerbatimApp::with_options(cc, options))
}

/// The status of the first file in the queue.
pub fn first_status(
    harness: &Harness<'static, VerbatimApp>,
) -> Option<verbatim::app::state::JobStatus> {
    harness
        .state()
        .state()
        .jobs
        .first()
        .map(|job| job.status.clone())
}

/// Drops files on the window, exactly as the window system would.
pub fn drop_files(harness: &mut Harness<'static, VerbatimApp>, paths: &[PathBuf]) {
    for path in paths {
        harness
            .input_mut()
            .dropped_files
            .push(Arc::new(DroppedPath(path.clone())));
    }
    harness.step();
}

/// Steps the window until `done` holds, failing after `timeout`. Returns the time taken.
pub fn run_until(
    harness: &mut Harness<'static, VerbatimApp>,
    what: &str,
    timeout: Duration,
    mut done: impl FnMut(&mut Harness<'static, VerbatimApp>) -> bool,
) -> Duration {
    let started = Instant::now();
    loop {
        harness.step();
        if done(harness) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Whether some widget's accessible label contains `text`.
pub fn shows(harness: &Harness<'static, VerbatimApp>, text: &str) -> bool {
    harness.query_all_by_label_contains(text).next().is_some()
}

/// How many widgets' labels contain `text`.
pub fn count_shown(harness: &Harness<'static, VerbatimApp>, text: &str) -> usize {
    harness.query_all_by_label_contains(text).count()
}

/// Double-clicks the widget labelled `label`: both clicks in one frame (the harness gives
/// each queued event a frame of its own, 0.25 s apart, too slow for a double click).
pub fn double_click(harness: &mut Harness<'static, VerbatimApp>, label: &str) {
    let center = harness.get_by_label(label).rect().center();
    harness.hover_at(center);
    harness.step();
    for pressed in [true, false, true, false] {
        harness.input_mut().events.push(egui::Event::PointerButton {
            pos: center,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
    }
    harness.run_steps(2);
}
