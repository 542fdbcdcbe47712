//! Frame times of the real window with a 10 000-segment transcript while new text streams in.
//!
//! Each frame does what the native window does on the CPU: drain the background events,
//! build the UI (`eframe::App::logic` + `ui`), and tessellate the shapes into triangles. Only
//! the upload to the GPU is left out. The app is the real `VerbatimApp` with its real runtime;
//! a scripted engine delivers a 10 000-segment meeting (two speakers, rows of one to four
//! lines), then streams like a live service: a growing hypothesis every 50 ms and a finished
//! segment every 150 ms. Frames are paced at 60 per second.
//!
//! Phases: the 10 000 segments arriving; following the live text; reading in the middle while
//! text keeps arriving; resizing the window every frame (every row height changes); playing,
//! with the highlight on a new segment every frame and the view following it. Goal:
//! median at most 4 ms, worst at most 16 ms. The session is saved as in the real window.
//!
//! Peers in the same run: the same rows and arrivals drawn the two ways egui offers — a
//! `Label` per segment in a `ScrollArea` (what a plain egui app does), and
//! `ScrollArea::show_rows` (only visible rows, but one fixed height, so no wrapping).
//!
//! Run with `cargo bench --bench transcript_pane` (or `scripts/bench-ui`).

#[path = "../tests/app_support/mod.rs"]
mod app_support;

use app_support::{FixedFactory, ScriptedEngine, Step};
use eframe::egui;
use std::sync::Arc;
use std::time::{Duration, Instant};
use verbatim::app::settings::Settings;
use verbatim::app::{AppOptions, VerbatimApp};

const SEGMENTS: usize = 10_000;
const FRAME_INTERVAL: Duration = Duration::from_micros(16_667);

struct Window {
    ctx: egui::Context,
    app: VerbatimApp,
    frame: eframe::Frame,
    size: egui::Vec2,
    started: Instant,
}

impl Window {
    /// Runs one frame; returns its CPU time.
    fn frame(&mut self, events: Vec<egui::Event>) -> Duration {
        let input = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, self.size)),
            time: Some(self.started.elapsed().as_secs_f64()),
            predicted_dt: 1.0 / 60.0,
            events,
            ..Default::default()
        };
        let began = Instant::now();
        let Window {
            ctx, app, frame, ..
        } = self;
        let output = ctx.run_ui(input, |ui| {
            eframe::App::logic(app, ui.ctx(), frame);
            eframe::App::ui(app, ui, frame);
        });
        let primitives = ctx.tessellate(output.shapes, output.pixels_per_point);
        std::hint::black_box(primitives);
        began.elapsed()
    }

    fn segments(&self) -> usize {
        self.app
            .state()
            .jobs
            .first()
            .map(|job| job.transcript.segments.len())
            .unwrap_or(0)
    }
}

struct Figures {
    name: &'static str,
    times: Vec<Duration>,
}

impl Figures {
    fn print(&mut self) -> (Duration, Duration) {
        self.times.sort();
        let count = self.times.len().max(1);
        let median = self.times.get(count / 2).copied().unwrap_or_default();
        let p95 = self
            .times
            .get(count * 95 / 100)
            .copied()
            .unwrap_or_default();
        let worst = self.times.last().copied().unwrap_or_default();
        println!(
            "{:<44} frames {:>4}   median {:>6.2} ms   p95 {:>6.2} ms   worst {:>6.2} ms",
            self.name,
            self.times.len(),
            median.as_secs_f64() * 1e3,
            p95.as_secs_f64() * 1e3,
            worst.as_secs_f64() * 1e3
        );
        (median, worst)
    }
}

fn paced(
    window: &mut Window,
    frames: usize,
    mut events_for: impl FnMut(usize, &Window) -> Vec<egui::Event>,
    name: &'static str,
) -> Figures {
    let mut figures = Figures {
        name,
        times: Vec::with_capacity(frames),
    };
    for index in 0..frames {
        let next = Instant::now() + FRAME_INTERVAL;
        let events = events_for(index, window);
        figures.times.push(window.frame(events));
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    figures
}

/// The peers: the same 10 000 meeting rows (speaker, time, wrapped text) with the same
/// arrivals (a hypothesis every 50 ms, a segment every 150 ms), drawn the two ways egui
/// itself offers, in a bare egui context (no app, no runtime) following the live end.
#[derive(Clone, Copy, PartialEq)]
enum PeerKind {
    /// `ScrollArea` + one `Label` per segment: every row laid out every frame.
    AllLabels,
    /// `ScrollArea::show_rows`: only visible rows, but one fixed height (text truncated).
    ShowRows,
}

fn peer_figures(kind: PeerKind, name: &'static str, frames: usize) -> Figures {
    let ctx = egui::Context::default();
    let mut rows: Vec<(String, String)> = (0..SEGMENTS)
        .map(|index| {
            let speaker = if index % 3 == 1 { "Speaker 2" } else { "Speaker 1" };
            (speaker.to_string(), app_support::meeting_text(index))
        })
        .collect();
    let started = Instant::now();
    let mut figures = Figures {
        name,
        times: Vec::with_capacity(frames),
    };
    for index in 0..frames + 30 {
        let next = Instant::now() + FRAME_INTERVAL;
        let elapsed_ms = started.elapsed().as_millis() as usize;
        let wanted = SEGMENTS + elapsed_ms / 150;
        while rows.len() < wanted {
            let index = rows.len();
            rows.push(("Speaker 1".into(), app_support::meeting_text(index)));
        }
        let words: Vec<&str> = "and the next speaker is still talking about the numbers".split(' ').collect();
        let hypothesis = words[..(elapsed_ms / 50) % words.len() + 1].join(" ");
        let input = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1280.0, 800.0))),
            time: Some(started.elapsed().as_secs_f64()),
            predicted_dt: 1.0 / 60.0,
            ..Default::default()
        };
        let began = Instant::now();
        let output = ctx.run_ui(input, |ui| {
            egui::CentralPanel::default().show(ui, |ui| {
                let area = egui::ScrollArea::vertical()
                    .stick_to_bottom(true)
                    .auto_shrink([false, false]);
                let row = |ui: &mut egui::Ui, (speaker, text): &(String, String), index: usize| {
                    ui.horizontal(|ui| {
                        ui.monospace(format!("{}:{:02}", index * 3 / 60, index * 3 % 60));
                        ui.strong(speaker.as_str());
                        match kind {
                            PeerKind::AllLabels => ui.add(egui::Label::new(text.as_str()).wrap()),
                            PeerKind::ShowRows => ui.add(egui::Label::new(text.as_str()).truncate()),
                        };
                    });
                };
                match kind {
                    PeerKind::AllLabels => {
                        area.show(ui, |ui| {
                            for (index, entry) in rows.iter().enumerate() {
                                row(ui, entry, index);
                            }
                            ui.weak(format!("Live: {hypothesis}"));
                        });
                    }
                    PeerKind::ShowRows => {
                        let height = ui.text_style_height(&egui::TextStyle::Body) + ui.spacing().item_spacing.y;
                        area.show_rows(ui, height, rows.len() + 1, |ui, range| {
                            for index in range {
                                match rows.get(index) {
                                    Some(entry) => row(ui, entry, index),
                                    None => {
                                        ui.weak(format!("Live: {hypothesis}"));
                                    }
                                }
                            }
                        });
                    }
                }
            });
        });
        let primitives = ctx.tessellate(output.shapes, output.pixels_per_point);
        std::hint::black_box(primitives);
        // The first frames rasterise glyphs; measure from the same warm state as the app.
        if index >= 30 {
            figures.times.push(began.elapsed());
        }
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    figures
}

fn main() {
    // A few segments first, so glyphs are rasterised once before anything is measured (a
    // one-off cost of any first frame), then the rest of the 10 000 at once.
    const WARM_UP: usize = 20;
    let engine = ScriptedEngine::new(vec![vec![
        Step::Meeting { count: WARM_UP },
        Step::Gate,
        Step::Meeting {
            count: SEGMENTS - WARM_UP,
        },
        Step::Live {
            count: 2_000,
            every: Duration::from_millis(50),
        },
    ]]);
    let ctx = egui::Context::default();
    let mut creation = eframe::CreationContext::_new_kittest(ctx.clone());
    let factory = Arc::new(FixedFactory(engine.clone()));
    // The session is saved as in the real window (every few seconds while text arrives).
    let session_dir = std::env::temp_dir().join(format!("verbatim-bench-session-{}", std::process::id()));
    let app = VerbatimApp::with_options(
        &mut creation,
        AppOptions {
            engine_factory: factory,
            settings: Some(Settings::default()),
            files: Vec::new(),
            session: Some(verbatim::app::session::SessionStore::at(&session_dir)),
            close_on_signals: false,
            recordings_dir: None,
            playback_output: verbatim::playback::OutputChoice::Fake(verbatim::playback::FakeOutput::missing()),
            ..AppOptions::default()
        },
    );
    let mut window = Window {
        ctx,
        app,
        frame: eframe::Frame::_new_kittest(),
        size: egui::vec2(1280.0, 800.0),
        started: Instant::now(),
    };
    window.frame(Vec::new());
    let audio = std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/testdata/speech/jfk.wav"
    ));
    window
        .app
        .send(verbatim::app::commands::AppCommand::AddFiles(vec![audio]));

    println!("Transcript pane, {SEGMENTS} segments, 1280x800, CPU only (UI build + tessellation)");
    let warm_up_deadline = Instant::now() + Duration::from_secs(60);
    while window.segments() < WARM_UP && Instant::now() < warm_up_deadline {
        window.frame(Vec::new());
        std::thread::sleep(FRAME_INTERVAL);
    }
    for _ in 0..30 {
        window.frame(Vec::new());
    }
    engine.open_gate();
    let mut arriving = Figures {
        name: "10 000 segments arriving",
        times: Vec::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while window.segments() < SEGMENTS && Instant::now() < deadline {
        let next = Instant::now() + FRAME_INTERVAL;
        arriving.times.push(window.frame(Vec::new()));
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    assert!(
        window.segments() >= SEGMENTS,
        "only {} segments arrived",
        window.segments()
    );
    arriving.print();

    // Let the background measuring of row heights finish, as it would in the first second.
    let _settle = paced(&mut window, 90, |_, _| Vec::new(), "settling");
    let mut following = paced(
        &mut window,
        600,
        |_, _| Vec::new(),
        "following live text (streaming)",
    );
    let following_figures = following.print();
    assert!(window.app.transcript_pane().follow_live);

    // Scroll up into the middle and keep reading while text arrives below.
    let wheel = |delta: f32| egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Point,
        delta: egui::vec2(0.0, delta),
        phase: egui::TouchPhase::Move,
        modifiers: egui::Modifiers::NONE,
        source: egui::MouseWheelSource::Wheel,
    };
    let pointer = egui::Event::PointerMoved(egui::pos2(800.0, 450.0));
    window.frame(vec![pointer.clone()]);
    window.frame(vec![wheel(200_000.0)]);
    let mut reading = paced(
        &mut window,
        600,
        |index, _| {
            if index % 20 == 0 {
                vec![wheel(-120.0)]
            } else {
                Vec::new()
            }
        },
        "reading mid-transcript (scrolling, streaming)",
    );
    let reading_figures = reading.print();
    assert!(
        !window.app.transcript_pane().follow_live,
        "the view should have stopped following"
    );

    // Drag the window edge: every frame a new width, so every row height is stale.
    let mut resizing = Figures {
        name: "resizing every frame (streaming)",
        times: Vec::new(),
    };
    for index in 0..300 {
        let next = Instant::now() + FRAME_INTERVAL;
        window.size = egui::vec2(900.0 + (index % 60) as f32 * 6.0, 800.0);
        resizing.times.push(window.frame(Vec::new()));
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    let resizing_figures = resizing.print();
    window.size = egui::vec2(1280.0, 800.0);

    // Playing: the player's position moves on a segment every frame, so the highlight moves
    // every frame and the view scrolls to follow it whenever the line leaves the screen.
    window.app.transcript_pane_mut().playback.following = true;
    let start_s = 4_000.0 * 3.0;
    let mut playing = Figures {
        name: "playing (highlight moves every frame)",
        times: Vec::new(),
    };
    for index in 0..600 {
        let next = Instant::now() + FRAME_INTERVAL;
        let position_s = start_s + index as f64 * 3.0 + 0.5;
        window.app.player_mut().seek(position_s);
        playing.times.push(window.frame(Vec::new()));
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    let playing_figures = playing.print();
    let highlighted = window.app.transcript_pane().playback.highlighted;
    assert!(
        highlighted.is_some_and(|(segment, _)| segment >= 4_500),
        "the highlight should have followed the position: {highlighted:?}"
    );
    println!("segments at the end: {}", window.segments());

    println!("peers, same rows and arrivals, following the live end:");
    let all_labels = peer_figures(
        PeerKind::AllLabels,
        "  egui ScrollArea, a Label per segment",
        120,
    )
    .print();
    let show_rows = peer_figures(
        PeerKind::ShowRows,
        "  egui ScrollArea::show_rows (fixed height)",
        600,
    )
    .print();
    let ratio = |ours: Duration, theirs: Duration| ours.as_secs_f64() / theirs.as_secs_f64().max(1e-9);
    println!(
        "Verbatim following vs peers (median): {:.2}x a Label per segment, {:.2}x show_rows",
        ratio(following_figures.0, all_labels.0),
        ratio(following_figures.0, show_rows.0)
    );
    let _ = std::fs::remove_dir_all(&session_dir);

    let (median, worst) = following_figures;
    let ok = |(median, worst): (Duration, Duration)| {
        median <= Duration::from_millis(4) && worst <= Duration::from_millis(16)
    };
    println!(
        "goal (median <= 4 ms, worst <= 16 ms) while following: {} (median {:.2} ms, worst {:.2} ms); reading: {}; resizing: {}; playing: {}",
        if ok((median, worst)) { "met" } else { "MISSED" },
        median.as_secs_f64() * 1e3,
        worst.as_secs_f64() * 1e3,
        if ok(reading_figures) { "met" } else { "MISSED" },
        if ok(resizing_figures) {
            "met"
        } else {
            "MISSED"
        },
        if ok(playing_figures) { "met" } else { "MISSED" },
    );
}
