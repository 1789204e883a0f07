//! Command-line parsing and the subcommands, one file each.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use vncpilot::report::Status;

mod author;
mod check;
mod import_needles;
mod matrix;
mod mouse;
mod refs;
mod replay;
mod report;
mod run;
mod send;
mod snap;
mod type_text;
mod vnc_args;

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
    /// Serve a local page to capture, mask and live-check reference screens and drive the guest.
    Author(author::AuthorArgs),
    /// Does a reference screen or openQA needle match an image? (exit 0 match, 1 no match, 2 error)
    Check(check::CheckArgs),
    /// Convert a folder of openQA needles into screens/, masks/ and .toml settings.
    ImportNeedles(import_needles::ImportNeedlesArgs),
    /// Run a night of a matrix of harnesses × variants in parallel (exit 0 all passed, 1 a cell failed, 2 error).
    Matrix(matrix::MatrixArgs),
    /// Move the guest's pointer to a pixel or click there (relative mice converge by looking).
    Mouse(mouse::MouseArgs),
    /// Maintain references from results: the unused ones, updates for near misses (--apply).
    Refs(refs::RefsArgs),
    /// Look at a recorded run: the frame at a time, when a screen appeared, report.html.
    Replay(replay::ReplayArgs),
    /// Write the static status site over nightly matrix results (shards merged): matrix, history, run pages.
    Report(report::ReportArgs),
    /// Run a harness: start the guest, run its install macro, write results (exit 0 pass, 1 fail, 2 error).
    Run(run::RunArgs),
    /// Save one complete frame of a VNC screen as PNG or PPM.
    Snap(snap::SnapArgs),
    /// Press key combos (ret, ctrl-alt-delete, shift-tab, ...).
    Send(send::SendArgs),
    /// Type printable ASCII text.
    Type(type_text::TypeArgs),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let result = match cli.command {
        Command::Check(a) => return check::run(a),
        Command::ImportNeedles(a) => return import_needles::run(a),
        Command::Matrix(a) => return matrix::run(a),
        Command::Replay(a) => return replay::run(a),
        Command::Report(a) => return report::run(a),
        Command::Run(a) => return run::run(a),
        Command::Refs(a) => refs::run(a),
        Command::Author(a) => runtime().and_then(|rt| rt.block_on(author::run(a))),
        Command::Mouse(a) => runtime().and_then(|rt| rt.block_on(mouse::run(a))),
        Command::Snap(a) => runtime().and_then(|rt| rt.block_on(snap::run(a))),
        Command::Send(a) => runtime().and_then(|rt| rt.block_on(send::run(a))),
        Command::Type(a) => runtime().and_then(|rt| rt.block_on(type_text::run(a))),
    };
    match result {
        Ok(()) => exit(Status::Pass),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(vnc_args::exit_code(&e))
        }
    }
}

/// The exit code of a subcommand that ended with `status` (decided by [`vncpilot::run::exit_code`]).
pub(crate) fn exit(status: Status) -> ExitCode {
    ExitCode::from(vncpilot::run::exit_code(status))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
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
        // Colour only for a person at a terminal: CI logs and files get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}
