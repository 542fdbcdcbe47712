fn main() -> std::process::ExitCode {
    verbatim::cli::main()
}
