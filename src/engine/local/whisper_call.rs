//! One call into whisper.cpp, with segments handed out as they are decoded.
//!
//! whisper-rs 0.16's closure-based abort callback casts its user data to the wrong type
//! (reported unsound), and its safe callbacks leak their boxes. So the three callbacks are
//! set here with the raw API and user data that lives on this function's stack for exactly
//! the duration of `whisper_full`: the abort callback only reads an `AtomicBool` (ggml may
//! call it from worker threads), and nothing unwinds across the FFI boundary.

use std::ffi::{CStr, c_void};
use std::os::raw::c_int;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use whisper_rs::{FullParams, WhisperState};
use whisper_rs_sys as sys;

/// A token as whisper.cpp decoded it, with times relative to the start of the call.
#[derive(Debug, Clone)]
pub struct DecodedToken {
    /// The token's id in the model's vocabulary.
    pub id: i32,
    /// Raw bytes: a token may hold part of a UTF-8 character.
    pub bytes: Vec<u8>,
    pub start_s: f64,
    pub end_s: f64,
    /// Where dynamic time warping over the alignment heads puts the token (see
    /// [`super::alignment`]); `None` when the model was loaded without them.
    pub aligned_s: Option<f64>,
    pub probability: f32,
}

/// A segment as whisper.cpp decoded it, with times relative to the start of the call.
#[derive(Debug, Clone)]
pub struct DecodedSegment {
    pub start_s: f64,
    pub end_s: f64,
    pub text: String,
    pub no_speech_probability: f32,
    /// Text tokens only (special and timestamp tokens left out).
    pub tokens: Vec<DecodedToken>,
}

/// What the callbacks reach while `whisper_full` runs.
struct CallbackData<'a> {
    on_segment: &'a mut dyn FnMut(DecodedSegment),
    on_progress: &'a mut dyn FnMut(f64),
    /// Segments of the state already handed to `on_segment`.
    delivered: c_int,
    /// The pointers whisper.cpp passed to the last callback, to hand out what is left once
    /// `whisper_full` returns.
    seen: Option<(*mut sys::whisper_context, *mut sys::whisper_state)>,
}

impl CallbackData<'_> {
    /// Hands every segment not yet delivered to `on_segment`, in order.
    ///
    /// whisper.cpp's own count of new segments cannot be trusted: with DTW word alignment on
    /// it calls the segment callback with a segment index instead of a count, and only for the
    /// first 30-second window. So the segments are counted here, and the progress callback
    /// (called before each window, and once more after the last) delivers them too.
    ///
    /// # Safety
    /// `ctx` and `state` must be the live pointers of the running (or just finished) call.
    unsafe fn deliver_new(&mut self, ctx: *mut sys::whisper_context, state: *mut sys::whisper_state) {
        self.seen = Some((ctx, state));
        // SAFETY: as the caller promises.
        let n_segments = unsafe { sys::whisper_full_n_segments_from_state(state) };
        while self.delivered < n_segments {
            let segment = unsafe { read_segment(ctx, state, self.delivered) };
            self.delivered += 1;
            let _ = catch_unwind(AssertUnwindSafe(|| (self.on_segment)(segment)));
        }
    }
}

/// Why a call did not complete.
#[derive(Debug)]
pub enum CallError {
    Cancelled,
    Failed(String),
}

/// Runs `whisper_full` on `samples` (16 kHz mono). Each decoded segment goes to `on_segment`
/// as soon as whisper.cpp has it, progress (0–1) to `on_progress`. Setting `cancel` stops the
/// call at the next check (between graph nodes), well within a second.
pub fn run_full(
    state: &mut WhisperState,
    mut params: FullParams,
    samples: &[f32],
    cancel: &AtomicBool,
    on_segment: &mut dyn FnMut(DecodedSegment),
    on_progress: &mut dyn FnMut(f64),
) -> Result<(), CallError> {
    let mut callback_data = CallbackData { on_segment, on_progress, delivered: 0, seen: None };
    let user_data = &mut callback_data as *mut CallbackData as *mut c_void;
    // SAFETY: `callback_data` and `cancel` outlive `state.full` below, which is the only
    // place whisper.cpp calls these callbacks; the trampolines cast the pointers back to the
    // exact types they were made from.
    unsafe {
        params.set_new_segment_callback(Some(new_segment_trampoline));
        params.set_new_segment_callback_user_data(user_data);
        params.set_progress_callback(Some(progress_trampoline));
        params.set_progress_callback_user_data(user_data);
        params.set_abort_callback(Some(abort_trampoline));
        params.set_abort_callback_user_data(cancel as *const AtomicBool as *mut c_void);
    }
    let result = state.full(params, samples);
    if let (Ok(()), Some((ctx, state))) = (&result, callback_data.seen) {
        // SAFETY: the pointers whisper.cpp passed during this call; the state is still borrowed
        // here and holds the call's results.
        unsafe { callback_data.deliver_new(ctx, state) };
    }
    if cancel.load(Ordering::Relaxed) {
        return Err(CallError::Cancelled);
    }
    result.map_err(|error| CallError::Failed(format!("whisper.cpp failed: {error}")))
}

unsafe extern "C" fn abort_trampoline(user_data: *mut c_void) -> bool {
    if user_data.is_null() {
        return false;
    }
    // SAFETY: set from a `&AtomicBool` in `run_full`, valid for the whole call.
    let cancel = unsafe { &*(user_data as *const AtomicBool) };
    cancel.load(Ordering::Relaxed)
}

unsafe extern "C" fn progress_trampoline(
    ctx: *mut sys::whisper_context,
    state: *mut sys::whisper_state,
    progress_percent: c_int,
    user_data: *mut c_void,
) {
    if user_data.is_null() || state.is_null() || ctx.is_null() {
        return;
    }
    // SAFETY: set from a `&mut CallbackData` in `run_full`; whisper.cpp calls this on the
    // thread that called `whisper_full`, never concurrently with the segment callback.
    let data = unsafe { &mut *(user_data as *mut CallbackData) };
    // SAFETY: `ctx` and `state` are the live pointers whisper.cpp passes for this call.
    unsafe { data.deliver_new(ctx, state) };
    let fraction = (progress_percent as f64 / 100.0).clamp(0.0, 1.0);
    let _ = catch_unwind(AssertUnwindSafe(|| (data.on_progress)(fraction)));
}

unsafe extern "C" fn new_segment_trampoline(
    ctx: *mut sys::whisper_context,
    state: *mut sys::whisper_state,
    _n_new: c_int,
    user_data: *mut c_void,
) {
    if user_data.is_null() || state.is_null() || ctx.is_null() {
        return;
    }
    // SAFETY: as in `progress_trampoline`.
    let data = unsafe { &mut *(user_data as *mut CallbackData) };
    // SAFETY: `ctx` and `state` are the live pointers whisper.cpp passes for this call.
    unsafe { data.deliver_new(ctx, state) };
}

/// Reads segment `index` with its text tokens.
///
/// # Safety
/// `ctx` and `state` must be valid and `index` below the state's segment count.
unsafe fn read_segment(ctx: *mut sys::whisper_context, state: *mut sys::whisper_state, index: c_int) -> DecodedSegment {
    unsafe {
        let text = c_text(sys::whisper_full_get_segment_text_from_state(state, index));
        let start_s = sys::whisper_full_get_segment_t0_from_state(state, index) as f64 / 100.0;
        let end_s = sys::whisper_full_get_segment_t1_from_state(state, index) as f64 / 100.0;
        let no_speech_probability = sys::whisper_full_get_segment_no_speech_prob_from_state(state, index);
        let end_of_text = sys::whisper_token_eot(ctx);
        let n_tokens = sys::whisper_full_n_tokens_from_state(state, index);
        let mut tokens = Vec::with_capacity(n_tokens.max(0) as usize);
        for token_index in 0..n_tokens {
            let data = sys::whisper_full_get_token_data_from_state(state, index, token_index);
            if data.id >= end_of_text {
                continue; // special and timestamp tokens
            }
            let bytes = c_bytes(sys::whisper_full_get_token_text_from_state(ctx, state, index, token_index));
            tokens.push(DecodedToken {
                id: data.id,
                bytes,
                start_s: data.t0 as f64 / 100.0,
                end_s: data.t1 as f64 / 100.0,
                aligned_s: (data.t_dtw >= 0).then(|| data.t_dtw as f64 / 100.0),
                probability: data.p,
            });
        }
        DecodedSegment { start_s, end_s, text, no_speech_probability, tokens }
    }
}

/// Copies a C string whisper.cpp owns.
unsafe fn c_bytes(pointer: *const std::os::raw::c_char) -> Vec<u8> {
    if pointer.is_null() {
        return Vec::new();
    }
    // SAFETY: whisper.cpp returns NUL-terminated strings that live as long as the state.
    unsafe { CStr::from_ptr(pointer) }.to_bytes().to_vec()
}

/// Copies a C string whisper.cpp owns, invalid UTF-8 shown as U+FFFD.
unsafe fn c_text(pointer: *const std::os::raw::c_char) -> String {
    String::from_utf8_lossy(&unsafe { c_bytes(pointer) }).into_owned()
}
