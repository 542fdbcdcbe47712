//! Where the shared test recordings are (`../shared/testdata`, beside the repository), and the
//! one rule for a test that needs something this machine lacks (a recording, a model, a tool):
//! under CI (`CI=true`) the test fails; elsewhere it says it skipped and returns. The unit
//! tests in `src/` and the integration tests (through `tests/common`) all use it.

use std::path::PathBuf;

/// A file or folder under `../shared/testdata`, or `None` after [`missing`] when it is absent
/// (the caller skips).
#[track_caller]
pub fn testdata(relative: &str) -> Option<PathBuf> {
    let path =
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/testdata")).join(relative);
    if path.exists() {
        return Some(path);
    }
    missing(&format!("test data missing: {}", path.display()));
    None
}

/// Whether the tests run in CI (`CI=true`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| value == "true")
}

/// Something a test needs is missing: in CI the test fails here; elsewhere this says the test
/// skipped, and the caller returns.
#[track_caller]
pub fn missing(what: &str) {
    if in_ci() {
        panic!("{what} — required in CI (run scripts/setup)");
    }
    eprintln!("skipping: {what} (run scripts/setup)");
}
