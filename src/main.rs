//! The `vncpilot` binary: a thin layer over the library that parses arguments and adds context
//! to errors.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
