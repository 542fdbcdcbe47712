//! The command line.

pub mod models;

pub fn main() -> std::process::ExitCode {
    std::process::ExitCode::SUCCESS
}
