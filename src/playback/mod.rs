//! Playback synced to the text: the file streamed from the shared decoders to the sound
//! output, with seeking, a speed change that keeps the pitch, and a clock the UI reads each
//! frame (DESIGN.md: "playback is a clock the UI reads each frame, not a stream of events").
//!
//! ```text
//!  audio::Pipeline ──> Stretcher ──> rtrb ring ──> OutputFeed (cpal callback / fake output)
//!  (decoder thread: decode, resample to the output rate, stretch)    └─> frames consumed ──> clock
//! ```
//!
//! `player` is what the window holds; `decoder` the session thread; `output` cpal or a fake;
//! `clock` what they share; `stretch` the WSOLA; `follow` maps a time to a segment and word.

pub mod clock;
pub mod decoder;
pub mod follow;
pub mod output;
pub mod player;
pub mod stretch;

pub use output::{FakeOutput, OutputChoice};
pub use player::{JUMP_S, Player};
