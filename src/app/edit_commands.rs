//! How the window applies [`TranscriptEdit`]s (the Edit menu, the pane's row menu, the search
//! bar, F8): each is one call into the transcript model (`crate::transcript`), which keeps the
//! undo history; here only what the window adds — a notice with a count, the row cache to
//! forget, the row to scroll to, the word to play.
//!
//! **Playing a word:** "next uncertain word" sets [`AppState::seek_request`] to the word's
//! start; the player takes it (`Option::take`) on its next frame, seeks there and plays.
//!
//! [`AppState::seek_request`]: super::state::AppState::seek_request

use super::VerbatimApp;
use super::messages::{JobId, NoticeLevel, TranscriptEdit};
use crate::transcript::quote::format_quote;

impl VerbatimApp {
    pub(crate) fn handle_transcript_edit(&mut self, ctx: &eframe::egui::Context, job: JobId, edit: TranscriptEdit) {
        match edit {
            TranscriptEdit::Split { segment, at_char } => {
                self.change_structure(job, |transcript| transcript.split(segment, at_char).is_some());
            }
            TranscriptEdit::MergeWithNext(segment) => {
                self.change_structure(job, |transcript| transcript.merge_with_next(segment));
            }
            TranscriptEdit::Undo => self.change_structure(job, |transcript| transcript.undo()),
            TranscriptEdit::Redo => self.change_structure(job, |transcript| transcript.redo()),
            TranscriptEdit::ReplaceOne { found, replacement } => {
                self.change_structure(job, |transcript| transcript.replace_one(&found, &replacement));
            }
            TranscriptEdit::ReplaceAll { query, replacement, options } => {
                let mut count = 0;
                self.change_structure(job, |transcript| {
                    count = transcript.replace_all(&query, &replacement, options);
                    count > 0
                });
                let noun = if count == 1 { "match" } else { "matches" };
                self.state.notify(NoticeLevel::Info, format!("Replaced {count} {noun} of “{query}”"), None);
            }
            TranscriptEdit::AcceptWord(word) => {
                self.state.edit_transcript(job, |transcript| transcript.accept_word(word));
                self.next_uncertain_word(job);
            }
            TranscriptEdit::NextUncertainWord => self.next_uncertain_word(job),
            TranscriptEdit::CopyQuote(segment) => self.copy_quote(ctx, job, segment),
        }
    }

    /// An edit that may add, remove or move rows: the pane measures its rows again.
    fn change_structure(&mut self, job: JobId, edit: impl FnOnce(&mut crate::transcript::Transcript) -> bool) {
        // The search bar needs no telling: its matches are keyed on the job's revision.
        if self.state.edit_transcript(job, edit) {
            self.pane.forget_rows();
        }
    }

    /// Selects the next word waiting for review, scrolls to it and asks the player to play it.
    fn next_uncertain_word(&mut self, job: JobId) {
        let Some(found) = self.state.job(job) else { return };
        let transcript = &found.transcript;
        let after = self.pane.review_word(transcript);
        match transcript.next_uncertain(after) {
            Some((segment, word)) => {
                let start_s = transcript.segments[segment].words[word].start_s;
                self.pane.review_at(transcript, segment, word);
                self.state.seek_request = Some(start_s);
            }
            None => {
                self.pane.clear_review();
                self.state.notify(NoticeLevel::Info, "No uncertain words left", None);
            }
        }
    }

    /// The selected rows (or `segment` when none is selected) as quote lines on the clipboard.
    fn copy_quote(&mut self, ctx: &eframe::egui::Context, job: JobId, segment: Option<crate::transcript::SegmentId>) {
        let Some(found) = self.state.job(job) else { return };
        let transcript = &found.transcript;
        let mut indices = self.pane.selected_rows(transcript);
        if indices.is_empty() {
            indices.extend(segment.and_then(|id| transcript.index_of(id)));
        }
        if indices.is_empty() {
            self.state.notify(NoticeLevel::Info, "select rows first (Ctrl+click or Shift+click)", None);
            return;
        }
        let quote = format_quote(transcript, &indices, &self.settings.export.quote_template);
        ctx.copy_text(quote);
        let noun = if indices.len() == 1 { "segment" } else { "segments" };
        self.state.notify(NoticeLevel::Info, format!("Quote of {} {noun} copied", indices.len()), None);
    }
}
