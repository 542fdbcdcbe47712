//! Playback in the real window, with a fake sound output the test consumes at its own pace
//! (the clock counts what the output consumed, so every position here is exact up to the
//! 10 ms callbacks): a click on a word seeks to its start, Space plays and pauses, the
//! highlight follows the position, Ctrl+Left / Ctrl+Right jump 5 s, L loops the segment, the
//! speed menu changes the pace, a double click still edits; and without an output device the
//! window says so in one line while clicks and the position bar still seek.

mod app_support;

use app_support::*;
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use std::sync::Arc;
use std::time::Duration;
use verbatim::app::VerbatimApp;
use verbatim::app::settings::Settings;
use verbatim::app::state::JobStatus;
use verbatim::events::{EngineEvent, Segment, Word};
use verbatim::playback::{FakeOutput, OutputChoice};

const TIMEOUT: Duration = Duration::from_secs(20);
const FIRST: &str = "And so my fellow Americans,";
const SECOND: &str = "ask not what your country can do for you.";

/// A segment with one timed word per space-separated word, `step_s` apart.
fn timed_segment(text: &str, start_s: f64, step_s: f64) -> Step {
    let words: Vec<Word> = text
        .split(' ')
        .enumerate()
        .map(|(index, word)| Word {
            text: format!(" {word}"),
            start_s: start_s + index as f64 * step_s,
            end_s: start_s + (index as f64 + 0.9) * step_s,
            probability: Some(0.9),
        })
        .collect();
    let end_s = start_s + words.len() as f64 * step_s;
    Step::Emit(EngineEvent::Segment(Segment {
        revision_key: None,
        start_s,
        end_s,
        text: text.into(),
        speaker: None,
        words,
        ..Default::default()
    }))
}

/// The window with JFK's clip transcribed (two segments with word times), playing into
/// `output`. `None` when the test data is missing outside CI.
fn transcribed_window(output: OutputChoice) -> Option<Harness<'static, VerbatimApp>> {
    let audio = testdata("speech/jfk.wav")?;
    let engine = ScriptedEngine::new(vec![vec![
        timed_segment(FIRST, 0.3, 0.5),
        timed_segment(SECOND, 3.5, 0.5),
    ]]);
    let mut options = test_options(Arc::new(FixedFactory(engine)), Settings::default(), None);
    options.playback_output = output;
    let mut harness = window_with_options(options);
    drop_files(&mut harness, &[audio]);
    run_until(&mut harness, "the file to be transcribed", TIMEOUT, |h| {
        first_status(h) == Some(JobStatus::Done)
    });
    harness.run_steps(3);
    Some(harness)
}

fn position(harness: &Harness<'static, VerbatimApp>) -> f64 {
    harness.state().player().position_s()
}

fn assert_near(actual: f64, expected: f64, what: &str) {
    assert!(
        (actual - expected).abs() < 0.03,
        "{what}: at {actual:.3} s, expected {expected:.3} s"
    );
}

/// Clicks the text of the row showing `segment_text`, on its word number `word_index`
/// (laid out with the pane's own font to find where the word is).
fn click_word(harness: &mut Harness<'static, VerbatimApp>, segment_text: &str, word_index: usize) {
    let rect = harness.get_by_label(segment_text).rect();
    let prefix: String = segment_text
        .split(' ')
        .take(word_index)
        .map(|word| format!("{word} "))
        .collect();
    let font = egui::FontId::proportional(14.5);
    let prefix_width = harness.ctx.fonts_mut(|fonts| {
        fonts
            .layout_no_wrap(prefix, font, egui::Color32::WHITE)
            .size()
            .x
    });
    let point = egui::pos2(rect.left() + prefix_width + 4.0, rect.top() + 8.0);
    click_at(harness, point);
}

fn click_at(harness: &mut Harness<'static, VerbatimApp>, point: egui::Pos2) {
    harness.hover_at(point);
    harness.step();
    for pressed in [true, false] {
        harness.event(egui::Event::PointerButton {
            pos: point,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
    }
    harness.run_steps(2);
}

/// Plays `seconds` of output time in 50 ms steps, drawing a frame after each.
fn play_for(harness: &mut Harness<'static, VerbatimApp>, output: &FakeOutput, seconds: f64) -> f64 {
    let mut played = 0.0;
    let steps = (seconds / 0.05).round() as usize;
    for _ in 0..steps {
        played += output.play_for(0.05);
        harness.step();
    }
    played
}

#[test]
fn a_click_seeks_to_the_word_space_plays_and_the_highlight_follows() {
    let output = FakeOutput::new(16_000, 1);
    let Some(mut harness) = transcribed_window(OutputChoice::Fake(output.clone())) else {
        return;
    };
    assert_near(
        position(&harness),
        0.0,
        "a new file starts at the beginning",
    );

    // "fellow" is word 3 of the first segment: it starts at 0.3 + 3 × 0.5 s.
    click_word(&mut harness, FIRST, 3);
    assert_near(position(&harness), 1.8, "a click on \"fellow\"");
    assert!(
        !harness.state().player().is_playing(),
        "a click seeks, it does not play"
    );
    assert_eq!(
        harness.state().transcript_pane().playback.highlighted,
        Some((0, Some(3)))
    );

    harness.key_press(egui::Key::Space);
    harness.run_steps(2);
    assert!(harness.state().player().is_playing(), "Space plays");
    let played = play_for(&mut harness, &output, 0.6);
    assert_near(played, 0.6, "the output consumed");
    assert_near(position(&harness), 2.4, "0.6 s after \"fellow\"");
    assert_eq!(
        harness.state().transcript_pane().playback.highlighted,
        Some((0, Some(4))),
        "the highlight moved on to \"Americans,\""
    );
    assert_near(
        harness.state().state().jobs[0].playback_position_s,
        2.4,
        "the file remembers the position",
    );

    harness.key_press(egui::Key::Space);
    harness.run_steps(2);
    assert!(!harness.state().player().is_playing(), "Space pauses");
    assert_eq!(
        output.play_for(0.5),
        0.0,
        "nothing is consumed while paused"
    );
    assert_near(position(&harness), 2.4, "paused");

    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::ArrowRight);
    harness.run_steps(2);
    assert_near(position(&harness), 7.4, "Ctrl+Right");
    assert_eq!(
        harness.state().transcript_pane().playback.highlighted,
        Some((1, Some(7))),
        "\"for\" of the second segment"
    );
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::ArrowLeft);
    harness.run_steps(2);
    assert_near(position(&harness), 2.4, "Ctrl+Left");

    // Playing on from a seek made while paused plays the new position's audio.
    harness.key_press(egui::Key::Space);
    harness.run_steps(1);
    let played = play_for(&mut harness, &output, 0.5);
    assert_near(played, 0.5, "the output consumed after the seeks");
    assert_near(position(&harness), 2.9, "played on from 2.4 s");
}

#[test]
fn the_segment_loops_the_speed_changes_the_pace_and_a_double_click_edits() {
    let output = FakeOutput::new(16_000, 1);
    let Some(mut harness) = transcribed_window(OutputChoice::Fake(output.clone())) else {
        return;
    };
    // A click on the second row's time seeks to its start; L loops it.
    harness.get_by_label("Play from 0:03").click();
    harness.run_steps(2);
    assert_near(position(&harness), 3.5, "a click on the row's time");
    harness.key_press(egui::Key::L);
    harness.run_steps(1);
    assert_eq!(harness.state().player().loop_range(), Some((3.5, 8.0)));
    harness.key_press(egui::Key::Space);
    harness.run_steps(1);
    let mut latest = 0.0_f64;
    let mut wrapped = false;
    for _ in 0..100 {
        output.play_for(0.05);
        harness.step();
        let now = position(&harness);
        wrapped |= now < latest - 1.0;
        latest = now;
        assert!(
            (3.5..8.1).contains(&now),
            "the loop left its segment: {now}"
        );
    }
    assert!(
        wrapped,
        "5 s of playing should have looped the 4.5 s segment"
    );
    harness.key_press(egui::Key::L);
    harness.run_steps(1);
    assert_eq!(harness.state().player().loop_range(), None);

    // 2× from the speed menu: 0.5 s of output is 1 s of the file.
    harness.get_by_label("Play from 0:03").click();
    harness.run_steps(2);
    harness.get_by_label("Speed").click();
    harness.run_steps(2);
    harness.get_by_label("2×").click();
    harness.run_steps(2);
    assert_eq!(harness.state().player().speed(), 2.0);
    let before = position(&harness);
    let played = play_for(&mut harness, &output, 0.5);
    assert_near(played, 0.5, "output time");
    assert_near(position(&harness) - before, 1.0, "file time at 2×");

    // A double click still edits (a single click seeks).
    harness.key_press(egui::Key::Space);
    double_click(&mut harness, FIRST);
    assert!(
        harness.query_by_label("Segment text").is_some(),
        "the editor opened"
    );
}

#[test]
fn without_an_output_device_the_window_says_so_and_seeking_still_works() {
    let Some(mut harness) = transcribed_window(OutputChoice::Fake(FakeOutput::missing())) else {
        return;
    };
    harness.key_press(egui::Key::Space);
    run_until(
        &mut harness,
        "the player to report the missing device",
        TIMEOUT,
        |h| h.state().player().problem().is_some(),
    );
    harness.run_steps(2);
    assert!(
        shows(&harness, "no sound output device"),
        "one line says why"
    );
    assert!(!harness.state().player().is_playing());

    click_word(&mut harness, SECOND, 2);
    assert_near(position(&harness), 4.5, "a click on \"what\"");
    let bar = harness.get_by_label("Playback position").rect();
    click_at(
        &mut harness,
        egui::pos2(bar.left() + bar.width() * 0.25, bar.center().y),
    );
    let duration = harness.state().state().jobs[0]
        .transcript
        .duration_s
        .unwrap_or(0.0);
    assert!(duration > 7.5, "duration {duration}");
    assert!(
        (position(&harness) - duration * 0.25).abs() < duration * 0.02,
        "the position bar seeks: {} of {duration}",
        position(&harness)
    );
}

#[test]
fn a_finished_recording_plays_like_any_file() {
    let Some(source) = testdata("speech/jfk.wav") else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let engine = ScriptedEngine::new(vec![vec![timed_segment(FIRST, 0.3, 0.5)]]);
    let mut settings = Settings::default();
    settings.recording.live = None;
    let output = FakeOutput::new(16_000, 1);
    let mut harness = window_with_options(verbatim::app::AppOptions {
        recordings_dir: Some(scratch.path().join("recordings")),
        input_device: Some(format!("file:{}", source.display())),
        input_speed: 8.0,
        playback_output: OutputChoice::Fake(output.clone()),
        ..test_options(Arc::new(FixedFactory(engine)), settings, None)
    });
    harness.get_by_label("Record").click();
    run_until(&mut harness, "the recording to be transcribed", TIMEOUT, |h| {
        first_status(h) == Some(JobStatus::Done)
    });
    harness.run_steps(2);
    let recorded = harness.state().state().jobs[0].path.clone();
    assert!(recorded.starts_with(scratch.path()), "{recorded:?} is the recording");

    click_word(&mut harness, FIRST, 1);
    assert_near(position(&harness), 0.8, "a click on \"so\"");
    harness.key_press(egui::Key::Space);
    harness.run_steps(1);
    let played = play_for(&mut harness, &output, 1.0);
    assert_near(played, 1.0, "the recording's sound was consumed");
    assert_near(position(&harness), 1.8, "1 s after \"so\"");
    assert_eq!(harness.state().player().problem(), None);
}
