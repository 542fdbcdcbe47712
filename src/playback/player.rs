//! The player the window holds: play, pause, seek, speed and loop for one file, and the
//! position the UI reads every frame. It never blocks: the output is opened and the file
//! decoded on the session's own thread (`decoder`), started at the first Play; until then (or
//! without any output device) seeking just moves the position.
//!
//! Position = where the current epoch started + the frames the output consumed since, times
//! the speed (see `clock`). A seek or a speed change starts a new epoch.

use super::clock::ClockShared;
use super::decoder::{self, DecoderCommand, DecoderEvent};
use super::output::OutputChoice;
use super::stretch::clamp_speed;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;

/// How far the jump buttons (and Ctrl+Left / Ctrl+Right) move.
pub const JUMP_S: f64 = 5.0;

/// A running session: the decoder thread and what it shares with the output.
struct Session {
    shared: Arc<ClockShared>,
    commands: Sender<DecoderCommand>,
    events: Receiver<DecoderEvent>,
    thread: Option<JoinHandle<()>>,
    sample_rate_hz: Option<u32>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.shared.playing.store(false, Ordering::Release);
        let _ = self.commands.send(DecoderCommand::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Play state for the file the window shows.
pub struct Player {
    output: OutputChoice,
    path: Option<PathBuf>,
    /// The transcript's idea of the length, and the file header's (when a session read it).
    duration_s: Option<f64>,
    audio_duration_s: Option<f64>,
    session: Option<Session>,
    /// Where the current epoch starts in the file.
    base_s: f64,
    speed: f64,
    epoch: u64,
    playing: bool,
    /// Replay this range (a segment) while playing.
    loop_range: Option<(f64, f64)>,
    /// Why nothing can be heard (no device, the file cannot be decoded), in one line.
    problem: Option<String>,
}

impl Player {
    pub fn new(output: OutputChoice) -> Player {
        Player {
            output,
            path: None,
            duration_s: None,
            audio_duration_s: None,
            session: None,
            base_s: 0.0,
            speed: 1.0,
            epoch: 0,
            playing: false,
            loop_range: None,
            problem: None,
        }
    }

    /// Shows `path` at `position_s`, paused (nothing happens if it is already the file).
    pub fn load(&mut self, path: &Path, position_s: f64, duration_s: Option<f64>) {
        self.duration_s = duration_s.filter(|duration| *duration > 0.0);
        if self.path.as_deref() == Some(path) {
            return;
        }
        self.session = None;
        self.audio_duration_s = None;
        self.path = Some(path.to_path_buf());
        self.playing = false;
        self.loop_range = None;
        self.problem = None;
        self.base_s = self.clamp(position_s);
    }

    pub fn is_playing(&self) -> bool {
        self.playing
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }

    pub fn loop_range(&self) -> Option<(f64, f64)> {
        self.loop_range
    }

    /// Why nothing can be heard, if so.
    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    /// Where the listener is in the file, in seconds.
    pub fn position_s(&self) -> f64 {
        let Some(session) = &self.session else {
            return self.base_s;
        };
        let (Some(rate), Some(consumed)) = (
            session.sample_rate_hz,
            session.shared.consumed_in(self.epoch),
        ) else {
            return self.base_s;
        };
        self.clamp(self.base_s + consumed as f64 / f64::from(rate) * self.speed)
    }

    pub fn play(&mut self) {
        if self.path.is_none() {
            return;
        }
        if self
            .duration()
            .is_some_and(|duration| self.base_s >= duration - 0.05)
            && self.session.is_none()
        {
            self.base_s = 0.0;
        }
        if self.session.is_none() {
            self.start_session();
        } else if self.ended() {
            self.seek(0.0);
        }
        if let Some(session) = &self.session {
            session.shared.playing.store(true, Ordering::Release);
            self.playing = true;
        }
    }

    pub fn pause(&mut self) {
        self.playing = false;
        if let Some(session) = &self.session {
            session.shared.playing.store(false, Ordering::Release);
        }
    }

    pub fn toggle(&mut self) {
        if self.playing {
            self.pause()
        } else {
            self.play()
        }
    }

    /// Moves to `position_s` (kept within the file), playing on if it was playing. A seek out
    /// of the looped range ends the loop.
    pub fn seek(&mut self, position_s: f64) {
        self.base_s = self.clamp(position_s);
        if self
            .loop_range
            .is_some_and(|(start, end)| !(start..end).contains(&self.base_s))
        {
            self.loop_range = None;
        }
        self.restart_stream();
    }

    /// Jumps by `delta_s` (negative: back).
    pub fn jump(&mut self, delta_s: f64) {
        self.seek(self.position_s() + delta_s);
    }

    /// Plays at `speed` (0.5–2) from where it is now, with the pitch kept.
    pub fn set_speed(&mut self, speed: f64) {
        let position = self.position_s();
        self.speed = clamp_speed(speed);
        self.seek(position);
    }

    /// Loops over `range` (start, end in seconds) while playing; `None` stops looping.
    pub fn set_loop(&mut self, range: Option<(f64, f64)>) {
        self.loop_range = range.filter(|(start, end)| end > start);
    }

    /// Once per frame: takes in what the session reported, stops at the end of the file and
    /// jumps back at the end of a loop.
    pub fn tick(&mut self) {
        self.take_session_events();
        if !self.playing {
            return;
        }
        if self.ended() {
            let end = self.position_s();
            self.pause();
            self.base_s = end;
            self.session = None;
            return;
        }
        if let Some((start, end)) = self.loop_range {
            let position = self.position_s();
            if position >= end {
                self.base_s = start;
                self.restart_stream();
            }
        }
    }

    fn take_session_events(&mut self) {
        let Some(session) = self.session.as_mut() else {
            return;
        };
        let mut failed = None;
        while let Ok(event) = session.events.try_recv() {
            match event {
                DecoderEvent::Opened { sample_rate_hz } => {
                    session.sample_rate_hz = Some(sample_rate_hz);
                }
                DecoderEvent::Duration(duration_s) => self.audio_duration_s = Some(duration_s),
                DecoderEvent::OutputFailed(reason) | DecoderEvent::DecodeFailed(reason) => {
                    failed = Some(reason);
                }
            }
        }
        if let Some(reason) = failed {
            log::warn!("playback: {reason}");
            let position = self.position_s();
            self.session = None;
            self.playing = false;
            self.base_s = position;
            self.problem = Some(reason);
        }
    }

    fn ended(&self) -> bool {
        self.session.as_ref().is_some_and(|session| {
            self.epoch != 0 && session.shared.ended_epoch.load(Ordering::Acquire) == self.epoch
        })
    }

    fn start_session(&mut self) {
        let Some(path) = self.path.clone() else {
            return;
        };
        let shared = Arc::new(ClockShared::default());
        let (commands, command_receiver) = mpsc::channel();
        let (event_sender, events) = mpsc::channel();
        let output = self.output.clone();
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("verbatim-playback".into())
            .spawn(move || {
                decoder::run(path, output, thread_shared, command_receiver, event_sender)
            });
        match thread {
            Ok(thread) => {
                self.problem = None;
                self.session = Some(Session {
                    shared,
                    commands,
                    events,
                    thread: Some(thread),
                    sample_rate_hz: None,
                });
                self.restart_stream();
            }
            Err(error) => self.problem = Some(format!("cannot start playback: {error}")),
        }
    }

    /// A new epoch from `base_s` at the current speed.
    fn restart_stream(&mut self) {
        let Some(session) = &self.session else { return };
        self.epoch += 1;
        session
            .shared
            .requested_epoch
            .store(self.epoch, Ordering::Release);
        let _ = session.commands.send(DecoderCommand::Start {
            epoch: self.epoch,
            start_s: self.base_s,
            speed: self.speed,
        });
    }

    fn clamp(&self, position_s: f64) -> f64 {
        let position = if position_s.is_finite() {
            position_s.max(0.0)
        } else {
            0.0
        };
        match self.duration() {
            Some(duration) => position.min(duration),
            None => position,
        }
    }

    /// The longer of the transcript's and the file's length, when known.
    pub fn duration(&self) -> Option<f64> {
        match (self.duration_s, self.audio_duration_s) {
            (Some(transcript), Some(audio)) => Some(transcript.max(audio)),
            (one, other) => one.or(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playback::FakeOutput;

    #[test]
    fn what_is_heard_after_a_seek_is_the_file_from_that_position() {
        let Some(path) = crate::dev::testdata::testdata("speech/jfk.wav") else {
            return;
        };
        let file = crate::audio::read_mono_16k(&path).unwrap();
        let output = FakeOutput::new(16_000, 1);
        let mut player = Player::new(OutputChoice::Fake(output.clone()));
        player.load(&path, 0.0, None);
        player.play();
        assert!((output.play_for(0.3) - 0.3).abs() < 1e-9);
        assert_eq!(output.take_heard(), file[..4_800].to_vec());
        player.seek(6.0);
        assert!((output.play_for(0.2) - 0.2).abs() < 1e-9);
        assert_eq!(output.take_heard(), file[96_000..99_200].to_vec(), "from 6 s on");
        player.tick();
        assert!((player.position_s() - 6.2).abs() < 1e-9, "{}", player.position_s());
        // Paused: nothing is heard and the clock stands still.
        player.pause();
        assert_eq!(output.play_for(0.2), 0.0);
        assert!((player.position_s() - 6.2).abs() < 1e-9);
    }
}
