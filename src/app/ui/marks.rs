//! What the transcript pane marks inside a row's text: search matches (the current one
//! stronger), words the engine was unsure of (underlined until accepted or fixed), and the
//! uncertain word under review. Rows with nothing to mark keep the plain, cached layout.

use crate::transcript::search::Match;
use crate::transcript::review::WordAt;
use crate::transcript::{SegmentId, Transcript};
use eframe::egui::{self, Color32, Stroke};
use std::collections::BTreeSet;
use std::ops::Range;
use std::sync::Arc;

/// The search's matches in transcript order, and which one is current.
#[derive(Debug, Clone, Copy, Default)]
pub struct SearchHighlights<'a> {
    pub matches: &'a [Match],
    pub current: Option<usize>,
}

/// Everything a row may be marked with this frame.
pub struct RowMarks<'a> {
    pub search: SearchHighlights<'a>,
    pub review: Option<WordAt>,
    pub selection: &'a BTreeSet<SegmentId>,
}

impl RowMarks<'_> {
    pub fn is_selected(&self, transcript: &Transcript, index: usize) -> bool {
        !self.selection.is_empty() && transcript.id_at(index).is_some_and(|id| self.selection.contains(&id))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Mark {
    Uncertain,
    Match,
    Review,
    CurrentMatch,
}

/// Segment `index` laid out with its marks, or `None` when it has none.
pub fn marked_galley(
    ui: &egui::Ui,
    transcript: &Transcript,
    index: usize,
    wrap_width: f32,
    marks: &RowMarks,
) -> Option<Arc<egui::Galley>> {
    let spans = row_spans(transcript, index, marks);
    if spans.is_empty() {
        return None;
    }
    let text = &transcript.segments[index].text;
    let mut boundaries: Vec<usize> = vec![0, text.len()];
    boundaries.extend(spans.iter().flat_map(|(range, _)| [range.start, range.end]));
    boundaries.sort_unstable();
    boundaries.dedup();
    let font_id = egui::TextStyle::Body.resolve(ui.style());
    let visuals = ui.visuals();
    let mut job = egui::text::LayoutJob::default();
    for pair in boundaries.windows(2) {
        let (start, end) = (pair[0], pair[1]);
        let strongest = spans.iter().filter(|(range, _)| range.start <= start && end <= range.end).map(|(_, mark)| *mark).max();
        let mut format = egui::TextFormat { font_id: font_id.clone(), color: visuals.text_color(), ..Default::default() };
        match strongest {
            Some(Mark::CurrentMatch) => format.background = Color32::from_rgb(255, 150, 30),
            Some(Mark::Match) => format.background = Color32::from_rgba_unmultiplied(255, 210, 60, 120),
            Some(Mark::Review) => {
                format.background = Color32::from_rgba_unmultiplied(230, 90, 60, 110);
                format.underline = Stroke::new(2.0, Color32::from_rgb(220, 70, 40));
            }
            Some(Mark::Uncertain) => format.underline = Stroke::new(1.5, Color32::from_rgb(230, 120, 40)),
            None => {}
        }
        job.append(&text[start..end], 0.0, format);
    }
    job.wrap.max_width = wrap_width;
    Some(ui.painter().layout_job(job))
}

/// The marked byte ranges of segment `index`'s text.
fn row_spans(transcript: &Transcript, index: usize, marks: &RowMarks) -> Vec<(Range<usize>, Mark)> {
    let mut spans = Vec::new();
    let matches = marks.search.matches;
    let first = matches.partition_point(|found| found.segment < index);
    for (offset, found) in matches[first..].iter().take_while(|found| found.segment == index).enumerate() {
        let mark = if marks.search.current == Some(first + offset) { Mark::CurrentMatch } else { Mark::Match };
        spans.push((found.range.clone(), mark));
    }
    let words = crate::transcript::word_ranges(&transcript.segments[index]);
    // A word not found in the text (after an edit) has an empty range: nothing to mark.
    for (word_index, range) in words.into_iter().enumerate().filter(|(_, range)| !range.is_empty()) {
        if marks.review == Some((index, word_index)) {
            spans.push((range, Mark::Review));
        } else if transcript.is_uncertain(index, word_index) {
            spans.push((range, Mark::Uncertain));
        }
    }
    spans
}
