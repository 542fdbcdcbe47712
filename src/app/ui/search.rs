//! The find / replace bar above the transcript (Ctrl+F, Ctrl+H), the Edit menu, and the
//! editing shortcuts (undo / redo, next uncertain word, accept it, copy a quote).
//!
//! The bar keeps its matches for one (file, transcript revision, query, options), so typing
//! in it searches once per change, not once per frame.

use super::super::VerbatimApp;
use super::menu::item;
use super::super::commands::AppCommand;
use super::super::messages::TranscriptEdit;
use super::super::state::{Job, JobId};
use super::marks::SearchHighlights;
use crate::transcript::search::{Match, SearchOptions, find_all};
use eframe::egui::{self, Key, KeyboardShortcut, Modifiers};

pub const SHORTCUT_UNDO: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::Z);
pub const SHORTCUT_REDO: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND.plus(Modifiers::SHIFT), Key::Z);
/// Ctrl+Y: redo, as on Windows.
pub const SHORTCUT_REDO_Y: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::Y);
pub const SHORTCUT_FIND: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::F);
pub const SHORTCUT_REPLACE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::H);
pub const SHORTCUT_NEXT_UNCERTAIN: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::F8);
/// Ctrl+Enter: accept the uncertain word under review as it is.
pub const SHORTCUT_ACCEPT_WORD: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::Enter);

/// The find / replace bar's state (not persisted).
#[derive(Debug, Default)]
pub struct SearchBar {
    pub open: bool,
    pub replace_open: bool,
    pub query: String,
    pub replacement: String,
    pub options: SearchOptions,
    /// Which match is current (an index into the matches).
    current: usize,
    focus_query: bool,
    cached_for: Option<(JobId, u64, String, SearchOptions)>,
    matches: Vec<Match>,
}

impl SearchBar {
    /// Opens the bar (with the replace row when `replace`) and puts the cursor in it.
    pub fn show(&mut self, replace: bool) {
        self.open = true;
        self.replace_open |= replace;
        self.focus_query = true;
    }

    fn matches_for(&mut self, job: &Job) -> &[Match] {
        let key = (job.id, job.revision, self.query.clone(), self.options);
        if self.cached_for.as_ref() != Some(&key) {
            self.matches = find_all(&job.transcript, &self.query, self.options);
            self.cached_for = Some(key);
            self.current = self.current.min(self.matches.len().saturating_sub(1));
        }
        &self.matches
    }

    /// What the pane highlights in `job` this frame (nothing while the bar is closed).
    pub fn highlights(&mut self, job: &Job) -> SearchHighlights<'_> {
        if !self.open {
            return SearchHighlights::default();
        }
        self.matches_for(job);
        let current = (!self.matches.is_empty()).then_some(self.current);
        SearchHighlights { matches: &self.matches, current }
    }

    /// Moves to the next (`forward`) or previous match; returns its row.
    fn step(&mut self, job: &Job, forward: bool) -> Option<usize> {
        let count = self.matches_for(job).len();
        if count == 0 {
            return None;
        }
        self.current = if forward { (self.current + 1) % count } else { (self.current + count - 1) % count };
        Some(self.matches[self.current].segment)
    }
}

/// The bar, when open: query, count, previous / next, case and whole-word toggles, and the
/// replace row.
pub fn search_bar_ui(app: &mut VerbatimApp, ui: &mut egui::Ui) {
    let Some(job_id) = app.state.selected.filter(|_| app.search.open) else { return };
    let VerbatimApp { state, search, pane, .. } = app;
    let Some(job) = state.job(job_id) else { return };
    let mut commands = Vec::new();
    let mut go: Option<bool> = None;
    ui.horizontal(|ui| {
        let response = ui.add(egui::TextEdit::singleline(&mut search.query).hint_text("Find").desired_width(200.0));
        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::TextInput, true, "Find"));
        if std::mem::take(&mut search.focus_query) {
            response.request_focus();
        }
        if response.lost_focus() && ui.input(|input| input.key_pressed(Key::Enter)) {
            go = Some(!ui.input(|input| input.modifiers.shift));
            response.request_focus();
        }
        let count = search.matches_for(job).len();
        let label = match count {
            0 if search.query.is_empty() => String::new(),
            0 => "no matches".to_string(),
            _ => format!("{} of {count}", search.current + 1),
        };
        ui.label(egui::RichText::new(label).small());
        if ui.add_enabled(count > 0, egui::Button::new("Previous")).on_hover_text("Previous match (Shift+Enter)").clicked() {
            go = Some(false);
        }
        if ui.add_enabled(count > 0, egui::Button::new("Next")).on_hover_text("Next match (Enter)").clicked() {
            go = Some(true);
        }
        ui.toggle_value(&mut search.options.case_sensitive, "Aa").on_hover_text("Match case");
        ui.toggle_value(&mut search.options.whole_word, "Whole word");
        ui.toggle_value(&mut search.replace_open, "Replace…");
        if ui.button("×").on_hover_text("Close (Esc)").clicked() || (response.has_focus() && ui.input(|input| input.key_pressed(Key::Escape))) {
            search.open = false;
        }
    });
    if search.open && search.replace_open {
        replace_row_ui(ui, search, job, &mut commands);
    }
    if let Some(row) = go.and_then(|forward| search.step(job, forward)) {
        pane.scroll_to(row);
    }
    for command in commands {
        app.send(command);
    }
}

fn replace_row_ui(ui: &mut egui::Ui, search: &mut SearchBar, job: &Job, commands: &mut Vec<AppCommand>) {
    ui.horizontal(|ui| {
        let response = ui.add(egui::TextEdit::singleline(&mut search.replacement).hint_text("Replace with").desired_width(200.0));
        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::TextInput, true, "Replace with"));
        let count = search.matches_for(job).len();
        if ui.add_enabled(count > 0, egui::Button::new("Replace")).clicked() {
            let found = search.matches[search.current].clone();
            commands.push(AppCommand::Edit(job.id, TranscriptEdit::ReplaceOne { found, replacement: search.replacement.clone() }));
        }
        if ui.add_enabled(count > 0, egui::Button::new("Replace all")).clicked() {
            commands.push(AppCommand::Edit(
                job.id,
                TranscriptEdit::ReplaceAll { query: search.query.clone(), replacement: search.replacement.clone(), options: search.options },
            ));
        }
    });
}

/// The Edit menu: undo, redo, find, replace, next uncertain word, copy quote.
pub fn edit_menu_ui(app: &mut VerbatimApp, ui: &mut egui::Ui) {
    let Some(job) = app.state.selected_job() else {
        ui.label(egui::RichText::new("Open a file to edit its transcript").weak());
        return;
    };
    let (id, history) = (job.id, job.transcript.history());
    let (can_undo, can_redo, has_text) = (history.can_undo(), history.can_redo(), !job.transcript.segments.is_empty());
    let mut edit = None;
    if item(ui, "Undo", Some(&SHORTCUT_UNDO), can_undo) {
        edit = Some(TranscriptEdit::Undo);
    }
    if item(ui, "Redo", Some(&SHORTCUT_REDO), can_redo) {
        edit = Some(TranscriptEdit::Redo);
    }
    ui.separator();
    if item(ui, "Find…", Some(&SHORTCUT_FIND), has_text) {
        app.search.show(false);
    }
    if item(ui, "Replace…", Some(&SHORTCUT_REPLACE), has_text) {
        app.search.show(true);
    }
    ui.separator();
    let uncertain = job.transcript.uncertain_count();
    if item(ui, &format!("Next uncertain word ({uncertain} left)"), Some(&SHORTCUT_NEXT_UNCERTAIN), uncertain > 0) {
        edit = Some(TranscriptEdit::NextUncertainWord);
    }
    let review = app.pane.review_word(&job.transcript);
    if item(ui, "Accept uncertain word", Some(&SHORTCUT_ACCEPT_WORD), review.is_some())
        && let Some(word) = review
    {
        edit = Some(TranscriptEdit::AcceptWord(word));
    }
    if item(ui, "Copy quote", Some(&super::SHORTCUT_COPY), !app.pane.selected_rows(&job.transcript).is_empty()) {
        edit = Some(TranscriptEdit::CopyQuote(None));
    }
    if let Some(edit) = edit {
        app.send(AppCommand::Edit(id, edit));
    }
}

/// The editing shortcuts. Undo / redo and accept belong to a text field while one has the
/// keyboard (it undoes its own typing).
pub fn handle_edit_shortcuts(app: &mut VerbatimApp, ctx: &egui::Context, typing: bool) {
    let Some(job) = app.state.selected_job() else { return };
    let id = job.id;
    let review = app.pane.review_word(&job.transcript);
    let mut edits = Vec::new();
    ctx.input_mut(|input| {
        if input.consume_shortcut(&SHORTCUT_FIND) {
            app.search.show(false);
        }
        if input.consume_shortcut(&SHORTCUT_REPLACE) {
            app.search.show(true);
        }
        if input.consume_shortcut(&SHORTCUT_NEXT_UNCERTAIN) {
            edits.push(TranscriptEdit::NextUncertainWord);
        }
        if typing {
            return;
        }
        // Ctrl+Shift+Z before Ctrl+Z: consume_shortcut ignores extra Shift.
        if input.consume_shortcut(&SHORTCUT_REDO) || input.consume_shortcut(&SHORTCUT_REDO_Y) {
            edits.push(TranscriptEdit::Redo);
        }
        if input.consume_shortcut(&SHORTCUT_UNDO) {
            edits.push(TranscriptEdit::Undo);
        }
        if let Some(word) = review
            && input.consume_shortcut(&SHORTCUT_ACCEPT_WORD)
        {
            edits.push(TranscriptEdit::AcceptWord(word));
        }
    });
    for edit in edits {
        app.send(AppCommand::Edit(id, edit));
    }
}
