//! Command-line parsing and the subcommands, one file each.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod check;
mod import_needles;
mod replay;

#[derive(Parser, Debug)]
#[command(
    name = "vncpilot",
    version,
    about = "Drive an OS installer over VNC and tell whether it worked"
)]
struct Cli {
    /// More logging (-v info, -vv debug, -vvv trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Does a reference screen or openQA needle match an image? (exit 0 match, 1 no match, 2 error)
    Check(check::CheckArgs),
    /// Convert a folder of openQA needles into screens/, masks/ and .toml settings.
    ImportNeedles(import_needles::ImportNeedlesArgs),
    /// Look at a recorded run: the frame at a time, when a screen appeared, report.html.
    Replay(replay::ReplayArgs),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    match cli.command {
        Command::Check(a) => check::run(a),
        Command::ImportNeedles(a) => import_needles::run(a),
        Command::Replay(a) => replay::run(a),
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
