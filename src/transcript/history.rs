//! Undo and redo for a transcript's edits: one history per transcript, one step per user
//! action (a replace-all over a hundred segments is one step).
//!
//! A step remembers the segments it replaced and the ones it put in their place (each with
//! its [`SegmentMeta`], so its stable id), and the speaker list before and after when it
//! changed. Undo finds the new segments **by id**, not by index, and puts the old ones back;
//! redo does the reverse. Segments a live engine appends meanwhile come after, and do not
//! move the ones a step refers to.
//!
//! Steps are shared (`Arc`), so cloning a transcript for an export or an autosave does not
//! copy its history.

use super::{SegmentMeta, Speaker};
use crate::events::Segment;
use std::sync::Arc;

/// How many steps are kept; older ones are forgotten.
const MAX_STEPS: usize = 500;

/// Segments `before` replaced by `after` at one place (neither is empty).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Splice {
    pub before: Vec<(Segment, SegmentMeta)>,
    pub after: Vec<(Segment, SegmentMeta)>,
}

/// One user action.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Step {
    pub splices: Vec<Splice>,
    pub speakers: Option<(Vec<Speaker>, Vec<Speaker>)>,
}

impl Step {
    pub fn is_empty(&self) -> bool {
        self.splices.is_empty() && self.speakers.is_none()
    }
}

/// The undo and redo stacks.
#[derive(Debug, Clone, Default)]
pub struct History {
    undo: Vec<Arc<Step>>,
    redo: Vec<Arc<Step>>,
}

impl History {
    pub(crate) fn record(&mut self, step: Step) {
        if step.is_empty() {
            return;
        }
        self.redo.clear();
        self.undo.push(Arc::new(step));
        if self.undo.len() > MAX_STEPS {
            self.undo.remove(0);
        }
    }

    pub(crate) fn take_undo(&mut self) -> Option<Arc<Step>> {
        self.undo.pop()
    }

    pub(crate) fn take_redo(&mut self) -> Option<Arc<Step>> {
        self.redo.pop()
    }

    pub(crate) fn push_undone(&mut self, step: Arc<Step>) {
        self.redo.push(step);
    }

    pub(crate) fn push_redone(&mut self, step: Arc<Step>) {
        self.undo.push(step);
    }

    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }
}
