//! The command line.
pub mod cloud_args;
pub fn main() -> std::process::ExitCode {
    std::process::ExitCode::SUCCESS
}
