//! `vncpilot report DIR... --out OUT`: the static status site over nightly matrix results
//! (docs/nightly.md, "Status page"). Parses and prints; `vncpilot::site` does the work.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use vncpilot::site::{self, KnownIssues, SiteOptions};

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Nightly results folders (`vncpilot matrix --results DIR`), any number: shards are merged.
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Where the site is written (created; existing files are overwritten).
    #[arg(long, value_name = "OUT")]
    pub out: PathBuf,
    /// Known-issue signatures (TOML): failures that match are shown with their label.
    #[arg(long, value_name = "FILE")]
    pub known: Option<PathBuf>,
    /// How many nights the site covers, the latest last.
    #[arg(long, value_name = "N", default_value_t = site::DEFAULT_NIGHTS as u64,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub nights: u64,
}

/// Exit 0 when the site was written, 2 on an error.
pub fn run(args: ReportArgs) -> ExitCode {
    match report(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn report(args: &ReportArgs) -> Result<()> {
    let known = args
        .known
        .as_deref()
        .map(KnownIssues::load)
        .transpose()
        .context("reading the known issues")?;
    let options = SiteOptions {
        nights: usize::try_from(args.nights).unwrap_or(usize::MAX),
        known,
    };
    let summary = site::build(&args.dirs, &args.out, &options)
        .with_context(|| format!("writing the status site into {}", args.out.display()))?;
    for warning in &summary.warnings {
        eprintln!("warning: {warning}");
    }
    println!(
        "{}: {} cell(s) over {} night(s) ({} … {})",
        summary.index.display(),
        summary.cells,
        summary.nights.len(),
        summary.nights.first().map_or("", String::as_str),
        summary.nights.last().map_or("", String::as_str),
    );
    Ok(())
}
