//! Shared by the integration tests: where the test data and the installed models are.
#![allow(dead_code, unused_imports)]

use std::path::PathBuf;

/// The one rule for missing test data, models and tools (`verbatim::dev::testdata`): a file
/// under `../shared/testdata`, or `None` (the test skips) outside CI; under `CI=true` it fails.
pub use verbatim::dev::testdata::{missing, testdata};

/// An installed model (by name) from the model store; `scripts/setup` installs tiny.en and base.
pub fn model(name: &str) -> Option<PathBuf> {
    let store = verbatim::models::ModelStore::from_env().expect("model store");
    match store.resolve(name) {
        Ok(path) => Some(path),
        Err(error) => {
            missing(&format!("model {name} missing: {error}"));
            None
        }
    }
}

/// The faster-whisper (CTranslate2) tiny.en folder: `VERBATIM_TEST_CT2_DIR`, default
/// `~/.cache/verbatim/ct2-tiny.en` (`scripts/setup` fetches it); `None` when it is missing.
pub fn ct2_tiny_model() -> Option<PathBuf> {
    let dir = std::env::var_os("VERBATIM_TEST_CT2_DIR")
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|home| home.join(".cache/verbatim/ct2-tiny.en")));
    match dir {
        Some(dir) if dir.join("model.bin").is_file() => Some(dir),
        other => {
            let message = format!(
                "CTranslate2 test model not found at {other:?}; set VERBATIM_TEST_CT2_DIR to a faster-whisper tiny.en folder"
            );
            missing(&message);
            None
        }
    }
}

/// Reference transcripts from `../shared/testdata/README.md`.
pub const JFK_REFERENCE: &str = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country.";
pub const TWO_CITIES_REFERENCE: &str = "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness, it was the epoch of belief, it was the epoch of incredulity, it was the season of Light, it was the season of Darkness, it was the spring of hope, it was the winter of despair, we had everything before us, we had nothing before us, we were all going direct to Heaven, we were all going direct the other way – in short, the period was so far like the present period, that some of its noisiest authorities insisted on its being received, for good or for evil, in the superlative degree of comparison only.";

/// The `verbatim` binary the local engine's worker runs from (`VERBATIM_EXE` overrides the
/// one Cargo built for this test run).
pub fn verbatim_exe() -> PathBuf {
    std::env::var_os("VERBATIM_EXE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_verbatim")))
}

/// Whether a command-line tool is on the PATH (xvfb-run, xdotool).
pub fn have_tool(tool: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Ten readings of `two_cities.wav` in a row, written to `dir`: long enough that a run cannot
/// finish while a test cancels it or looks at it.
pub fn long_recording(dir: &std::path::Path) -> Option<PathBuf> {
    readings_of_two_cities(dir, "long.wav", 10)
}

/// `copies` readings of `two_cities.wav` in a row, written to `dir` as `name`.
pub fn readings_of_two_cities(dir: &std::path::Path, name: &str, copies: usize) -> Option<PathBuf> {
    let source = testdata("speech/two_cities.wav")?;
    let out = dir.join(name);
    let mut reader = hound::WavReader::open(&source).unwrap();
    let spec = reader.spec();
    let samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
    let mut writer = hound::WavWriter::create(&out, spec).unwrap();
    for _ in 0..copies {
        samples.iter().for_each(|&s| writer.write_sample(s).unwrap());
    }
    writer.finalize().unwrap();
    Some(out)
}

/// Every sample of a 16-bit WAV, read by hound (strict: a header that claims more than the
/// file holds is an error).
pub fn strict_samples(path: &std::path::Path) -> Vec<i16> {
    hound::WavReader::open(path)
        .unwrap_or_else(|error| panic!("{} does not open: {error}", path.display()))
        .into_samples()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|error| panic!("{} does not read to its end: {error}", path.display()))
}

/// Writes into `store` a session with one finished file, `recording` transcribed by tiny.en
/// into `transcript` and kept as `key`, as an earlier window would have left it.
pub fn save_finished_session(store: &verbatim::app::session::SessionStore, key: &str, recording: PathBuf, transcript: verbatim::transcript::Transcript) {
    use verbatim::app::session::{SavedJob, SavedStatus, SessionSnapshot};
    let snapshot = SessionSnapshot {
        jobs: vec![SavedJob {
            key: key.into(),
            path: recording,
            status: SavedStatus::Done,
            engine: Some("local · tiny.en".into()),
            warnings: vec![],
            project: Default::default(),
            playback_position_s: 0.0,
        }],
        changed: vec![(key.into(), transcript)],
        keep_earlier: false,
    };
    store.save(&snapshot).unwrap_or_else(|error| panic!("cannot write the earlier session: {error}"));
}
