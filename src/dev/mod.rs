//! Tools for working on Verbatim without the real services: local fake servers that speak
//! each cloud service's protocol (`verbatim dev fake-server`, and the `tests/cloud_*.rs`
//! tests).

pub mod fakes;
