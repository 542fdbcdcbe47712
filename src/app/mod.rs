//! The desktop window: drop files in, watch the transcript stream in, fix names and text,
//! export subtitles.
//!
//! The window holds no business logic (see DESIGN.md, "the shape"): the UI thread draws
//! [`state::AppState`] and turns what the user does into [`commands::AppCommand`]s; a tokio
//! runtime on its own thread ([`runtime`]) does every slow thing and sends back
//! [`runtime::BackgroundEvent`]s, which the window drains at the start of each frame within a
//! time budget. Split as in rerun's viewer: this file is the `eframe::App`, `state.rs` the plain
//! data (`recording.rs` the recording panel's), `commands.rs` the command enum and its
//! handling, `logic.rs` what the background's events do, `runtime.rs` the background, `ui/`
//! the drawing, `settings.rs` what persists.

pub mod backend;
pub mod commands;
mod edit_commands;
mod logic;
pub mod messages;
pub mod project;
mod project_commands;
mod record_commands;
pub mod recording;
pub mod runtime;
pub mod session;
pub mod settings;
pub mod state;
pub mod ui;

use commands::AppCommand;
use runtime::{AppRuntime, DefaultEngineFactory, EngineFactory, EngineSpec};
use crate::engine::EngineKind;
use settings::{Settings, ThemeChoice};
use state::{AppState, NoticeLevel};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a frame may spend applying background events before it draws (the rest wait for
/// the next frame, which is requested at once).
pub const EVENT_BUDGET: Duration = Duration::from_millis(8);

/// How the window starts. `Default` is what `verbatim` uses; tests swap the engine factory.
pub struct AppOptions {
    /// Builds the engine for each file.
    pub engine_factory: Arc<dyn EngineFactory>,
    /// Start with these settings instead of the saved ones (and don't save them on exit).
    pub settings: Option<Settings>,
    /// Files to queue at start (`verbatim open FILE...`).
    pub files: Vec<PathBuf>,
    /// Where the session (every file and its transcript) is kept between runs; `None` keeps
    /// nothing. `Default` uses the platform data directory.
    pub session: Option<session::SessionStore>,
    /// Close the window cleanly (saving the session) on SIGTERM, SIGHUP or SIGINT: what
    /// `verbatim` does; tests leave the signals alone.
    pub close_on_signals: bool,
    /// Where recordings go, and where unfinished ones are looked for at start; `None` records
    /// nowhere. `Default` uses the recordings folder (`VERBATIM_RECORDINGS_DIR` or the data
    /// folder).
    pub recordings_dir: Option<PathBuf>,
    /// An input device to offer first and use (`--input-device`): `file:PATH` plays a file as
    /// a virtual microphone.
    pub input_device: Option<String>,
    /// Pace of a `file:PATH` input device: 1 is real time.
    pub input_speed: f64,
    /// Start recording as soon as the window is up (`--record`).
    pub record_at_start: bool,
    /// Where the player's sound goes (tests use a fake output).
    pub playback_output: crate::playback::OutputChoice,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            engine_factory: Arc::new(DefaultEngineFactory::default()),
            settings: None,
            files: Vec::new(),
            session: session::SessionStore::platform(),
            close_on_signals: false,
            recordings_dir: crate::record::recordings_dir().ok(),
            input_device: None,
            input_speed: 1.0,
            record_at_start: false,
            playback_output: crate::playback::OutputChoice::Device,
        }
    }
}

/// How often the session is written while something changes.
pub const SESSION_SAVE_INTERVAL: Duration = Duration::from_secs(3);

/// What the window last wrote to the session, so only changes are written again.
#[derive(Debug)]
struct SessionTracker {
    enabled: bool,
    /// The last session has been read back. Until then nothing is written (a save would list
    /// only this window's files and so delete the earlier ones), except on exit, which keeps
    /// what is on disk (see [`session::SessionSnapshot::keep_earlier`]).
    loaded: bool,
    saved_revisions: std::collections::HashMap<String, u64>,
    saved_jobs: Vec<session::SavedJob>,
    last_save: Instant,
    /// Something the user did (an edit, a rename, a removal) or a file ending: written at
    /// once rather than at the next interval.
    urgent: bool,
}

/// Which secondary windows are open.
#[derive(Debug, Default)]
pub struct OpenWindows {
    pub settings: bool,
    pub model_manager: bool,
    /// A model whose Remove button was pressed once (the second press removes it).
    pub confirm_remove: Option<String>,
    /// A service whose key field takes the keyboard when Settings is next drawn.
    pub focus_key: Option<crate::engine::cloud::CloudService>,
}

/// The Verbatim window.
pub struct VerbatimApp {
    pub(crate) settings: Settings,
    pub(crate) state: AppState,
    pub(crate) runtime: Option<AppRuntime>,
    pub(crate) pending_commands: Vec<AppCommand>,
    pub(crate) windows: OpenWindows,
    pub(crate) pane: ui::transcript::TranscriptPane,
    /// Where the exported cues break, for the pane (recomputed when the transcript changes).
    pub(crate) cue_preview: ui::cue_preview::CuePreview,
    pub(crate) rename: Option<ui::speakers::RenameDialog>,
    /// The find / replace bar.
    pub(crate) search: ui::search::SearchBar,
    /// Which recent projects are gone (File ▸ Open recent).
    pub(crate) recent: ui::project::RecentCheck,
    /// API keys being typed (never saved; emptied when sent).
    pub(crate) key_drafts: ui::cloud::KeyDrafts,
    /// Save settings on exit (off when a test supplied them).
    persist: bool,
    session: SessionTracker,
    applied_theme: Option<ThemeChoice>,
    window_title: String,
    /// Events applied in the last frame, and whether the budget cut the drain short.
    last_drain: (usize, bool),
    /// Where recordings go (`None`: the window cannot record).
    pub(crate) recordings_dir: Option<PathBuf>,
    /// Pace of a `file:PATH` input device.
    pub(crate) input_speed: f64,
    /// Plays the selected file (the player bar and the transcript pane drive it).
    pub(crate) player: crate::playback::Player,
}

impl VerbatimApp {
    /// The window as `verbatim` opens it: saved settings, real engines.
    pub fn new(cc: &eframe::CreationContext<'_>) -> VerbatimApp {
        VerbatimApp::with_options(cc, AppOptions::default())
    }

    /// The window with explicit options (tests, `verbatim open FILE...`).
    pub fn with_options(cc: &eframe::CreationContext<'_>, options: AppOptions) -> VerbatimApp {
        let ctx = cc.egui_ctx.clone();
        ui::apply_style(&ctx);
        let persist = options.settings.is_none();
        let settings = options
            .settings
            .or_else(|| {
                cc.storage.and_then(|storage| {
                    eframe::get_value::<Settings>(storage, settings::SETTINGS_KEY)
                })
            })
            .unwrap_or_default();
        let waker: runtime::Waker = Arc::new(move || ctx.request_repaint());
        let mut state = AppState::new();
        state.recording.use_command_line_device = options.input_device.is_some();
        state.recording.command_line_device = options.input_device;
        let session_enabled = options.session.is_some();
        let runtime = match AppRuntime::start(
            options.engine_factory,
            options.session,
            options.close_on_signals,
            waker,
        ) {
            Ok(runtime) => Some(runtime),
            Err(error) => {
                state.notify(
                    NoticeLevel::Error,
                    format!("cannot start the background worker ({error}); restart Verbatim"),
                    None,
                );
                None
            }
        };
        let mut app = VerbatimApp {
            settings,
            state,
            runtime,
            pending_commands: Vec::new(),
            windows: OpenWindows::default(),
            pane: ui::transcript::TranscriptPane::default(),
            cue_preview: ui::cue_preview::CuePreview::default(),
            rename: None,
            search: ui::search::SearchBar::default(),
            recent: ui::project::RecentCheck::default(),
            key_drafts: ui::cloud::KeyDrafts::default(),
            persist,
            session: SessionTracker {
                enabled: session_enabled,
                loaded: false,
                saved_revisions: Default::default(),
                saved_jobs: Vec::new(),
                last_save: Instant::now(),
                urgent: false,
            },
            applied_theme: None,
            window_title: String::new(),
            last_drain: (0, false),
            recordings_dir: options.recordings_dir,
            input_speed: options.input_speed,
            player: crate::playback::Player::new(options.playback_output),
        };
        app.send(AppCommand::RefreshModels);
        if session_enabled {
            app.request(runtime::RuntimeRequest::LoadSession);
        }
        if let Some(dir) = app.recordings_dir.clone() {
            app.request(runtime::RuntimeRequest::RecoverRecordings(dir));
        }
        if !options.files.is_empty() {
            app.send(AppCommand::AddFiles(options.files));
        }
        if options.record_at_start {
            app.send(AppCommand::Recording(record_commands::RecordingCommand::Start));
        }
        app
    }

    /// What the window shows.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn settings_mut(&mut self) -> &mut Settings {
        &mut self.settings
    }

    /// The transcript pane's view state (follow mode, rows drawn).
    pub fn transcript_pane(&self) -> &ui::transcript::TranscriptPane {
        &self.pane
    }

    pub fn transcript_pane_mut(&mut self) -> &mut ui::transcript::TranscriptPane {
        &mut self.pane
    }

    /// The player of the selected file.
    pub fn player(&self) -> &crate::playback::Player {
        &self.player
    }

    pub fn player_mut(&mut self) -> &mut crate::playback::Player {
        &mut self.player
    }

    /// Events applied in the last frame, and whether more were left for the next one.
    pub fn last_drain(&self) -> (usize, bool) {
        self.last_drain
    }

    /// The engine new files use, from the settings.
    pub fn engine_spec(&self) -> EngineSpec {
        self.engine_spec_for(self.settings.engine)
    }

    /// `engine` with the settings' model and options.
    pub fn engine_spec_for(&self, engine: EngineKind) -> EngineSpec {
        match engine {
            EngineKind::Local => EngineSpec::Local {
                model: self.settings.local.model.clone(),
                beam_size: self.settings.local.beam_size.max(1),
            },
            EngineKind::Cloud(service) => EngineSpec::Cloud {
                service,
                options: Box::new(self.settings.cloud.clone()),
            },
        }
    }

    /// The shared options new files use: what the engine cannot do (translate, split stereo
    /// channels) the window does not offer for it, and does not send.
    pub fn transcribe_options(&self) -> crate::engine::TranscribeOptions {
        self.transcribe_options_for(self.settings.engine)
    }

    /// The shared options as `engine` takes them.
    pub fn transcribe_options_for(&self, engine: EngineKind) -> crate::engine::TranscribeOptions {
        let mut options = self.settings.options.clone();
        options.translate &= engine.translates();
        if !engine.splits_stereo_channels() {
            options.speakers = crate::engine::SpeakerMode::None;
        }
        options
    }

    /// Whether anything in the session differs from what was last written (cheap: a lookup
    /// per file; every change to a file bumps its revision).
    fn session_changed(&self) -> bool {
        self.session.enabled
            && self.session.loaded
            && (self.state.jobs.len() != self.session.saved_jobs.len()
                || self.state.jobs.iter().any(|job| {
                    self.session.saved_revisions.get(&job.session_key) != Some(&job.revision)
                }))
    }

    /// Writes what changed in the session since the last save (on the runtime), at most every
    /// [`SESSION_SAVE_INTERVAL`] unless `now_anyway`. Before the last session has been read,
    /// only `now_anyway` (the window closing) writes, keeping the files already on disk.
    fn save_session(&mut self, now: Instant, now_anyway: bool) {
        let due = now_anyway
            || (self.session.loaded
                && (self.session.urgent
                    || now.duration_since(self.session.last_save) >= SESSION_SAVE_INTERVAL));
        if !self.session.enabled || !due {
            return;
        }
        self.session.last_save = now;
        self.session.urgent = false;
        let tracker = &mut self.session;
        if let Some(snapshot) = self
            .state
            .session_snapshot(&mut tracker.saved_revisions, &mut tracker.saved_jobs)
        {
            let snapshot = session::SessionSnapshot {
                keep_earlier: !tracker.loaded,
                ..snapshot
            };
            self.request(runtime::RuntimeRequest::SaveSession(Box::new(snapshot)));
        }
    }

    /// Applies background events until none is left or the frame's budget is spent.
    fn drain_background_events(&mut self, ctx: &eframe::egui::Context) {
        let deadline = Instant::now() + EVENT_BUDGET;
        let mut applied = 0;
        let mut cut_short = false;
        if let Some(runtime) = &self.runtime {
            runtime.begin_drain();
        }
        loop {
            let next = match &self.runtime {
                Some(runtime) => runtime.try_recv(),
                None => break,
            };
            match next {
                Ok(event) => {
                    self.on_background_event(ctx, event);
                    applied += 1;
                }
                Err(std::sync::mpsc::TryRecvError::Empty) => break,
                Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                    self.runtime = None;
                    self.state.notify(
                        NoticeLevel::Error,
                        "the background worker stopped; restart Verbatim to transcribe more files",
                        None,
                    );
                    break;
                }
            }
            if Instant::now() >= deadline {
                cut_short = true;
                ctx.request_repaint();
                break;
            }
        }
        self.last_drain = (applied, cut_short);
    }

    /// Keeps the theme and the window title in step with the settings and the selection.
    fn sync_viewport(&mut self, ctx: &eframe::egui::Context) {
        if self.applied_theme != Some(self.settings.theme) {
            ctx.set_theme(self.settings.theme.preference());
            self.applied_theme = Some(self.settings.theme);
        }
        let title = match self.state.selected_job() {
            Some(job) => format!("{} — Verbatim", job.name),
            None => "Verbatim".to_string(),
        };
        if title != self.window_title {
            ctx.send_viewport_cmd(eframe::egui::ViewportCommand::Title(title.clone()));
            self.window_title = title;
        }
    }
}

impl eframe::App for VerbatimApp {
    fn logic(&mut self, ctx: &eframe::egui::Context, _frame: &mut eframe::Frame) {
        self.drain_background_events(ctx);
        let now = Instant::now();
        if let Some(next_expiry) = self.state.expire_notifications(now) {
            ctx.request_repaint_after(next_expiry);
        }
        // Elapsed times tick while a file runs.
        if self.state.running_job().is_some() {
            ctx.request_repaint_after(Duration::from_millis(500));
        }
        if self.session_changed() {
            self.save_session(now, false);
            // Come back for what changed after this save, even if nothing else happens.
            ctx.request_repaint_after(SESSION_SAVE_INTERVAL);
        }
        self.sync_viewport(ctx);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        // The runtime writes it before it stops (see `AppRuntime`'s `Drop`).
        self.save_session(Instant::now(), true);
    }

    fn ui(&mut self, ui: &mut eframe::egui::Ui, _frame: &mut eframe::Frame) {
        ui::show(self, ui);
        let ctx = ui.ctx().clone();
        self.handle_pending_commands(&ctx);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if self.persist {
            eframe::set_value(storage, settings::SETTINGS_KEY, &self.settings);
        }
    }
}

/// Opens the window (blocks until it is closed). `verbatim` with no arguments.
pub fn run_app() -> anyhow::Result<()> {
    run_app_with(WindowStart::default())
}

/// Opens the window as `verbatim open` was asked to: files queued, maybe recording at once.
pub fn run_app_with(args: WindowStart) -> anyhow::Result<()> {
    let files: Vec<PathBuf> = args
        .files
        .into_iter()
        .map(|path| std::path::absolute(&path).unwrap_or(path))
        .collect();
    let input_device = args.input_device.map(|device| match device.strip_prefix(crate::record::FILE_DEVICE_PREFIX) {
        Some(path) => {
            let path = PathBuf::from(path);
            let path = std::path::absolute(&path).unwrap_or(path);
            format!("{}{}", crate::record::FILE_DEVICE_PREFIX, path.display())
        }
        None => device,
    });
    let viewport = eframe::egui::ViewportBuilder::default()
        .with_title("Verbatim")
        .with_app_id("verbatim")
        .with_inner_size([1180.0, 760.0])
        .with_min_inner_size([720.0, 460.0])
        .with_drag_and_drop(true);
    let native_options = eframe::NativeOptions {
        viewport,
        persist_window: true,
        renderer: eframe::Renderer::Glow,
        ..Default::default()
    };
    eframe::run_native(
        "Verbatim",
        native_options,
        Box::new(move |cc| {
            Ok(Box::new(VerbatimApp::with_options(
                cc,
                AppOptions {
                    files,
                    close_on_signals: true,
                    input_device,
                    record_at_start: args.record,
                    ..AppOptions::default()
                },
            )))
        }),
    )
    .map_err(|error| anyhow::anyhow!("cannot open the window ({error}); on a machine without a display, use `verbatim transcribe FILE`"))
}

/// How `verbatim open` asked for the window: files queued, maybe a recording at once. Plain
/// data: the command line's parsing lives in `cli`.
#[derive(Debug, Clone, Default)]
pub struct WindowStart {
    /// Audio or video files to transcribe in the window.
    pub files: Vec<PathBuf>,
    /// The input device the recording panel offers first: a device name or id, or file:PATH
    /// (an audio file played as a virtual microphone at real-time pace).
    pub input_device: Option<String>,
    /// Start recording as soon as the window is open, with the live engine chosen last time.
    pub record: bool,
}
