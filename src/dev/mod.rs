//! Tools for working on Verbatim without the real services: local fake servers that speak
//! each cloud service's protocol (`verbatim dev fake-server`, and the `tests/cloud_*.rs`
//! tests), and the tests' access to the shared test recordings.

pub mod fakes;
pub mod testdata;
