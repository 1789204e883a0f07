//! `vncpilot refs unused|suggest`: parses the arguments, calls [`vncpilot::refs`] and prints
//! its reports (a table, or JSON with `--json`). Exit 0 when the report was made, 2 on an error.

use std::path::PathBuf;

use anyhow::{Context, Result};
use vncpilot::refs::{self, SuggestOptions, SuggestReport, UsageReport};

#[derive(clap::Args, Debug)]
pub struct RefsArgs {
    #[command(subcommand)]
    command: RefsCommand,
}

#[derive(clap::Subcommand, Debug)]
enum RefsCommand {
    /// The references no run in RESULTS matched, and when the others last matched.
    Unused(UnusedArgs),
    /// For a wait a run just missed, the updated reference (old/new/diff); --apply writes it.
    Suggest(SuggestArgs),
}

#[derive(clap::Args, Debug)]
struct UnusedArgs {
    /// Results folders: run folders, a harness's results, or matrix nights (searched below).
    #[arg(required = true, value_name = "RESULTS")]
    results: Vec<PathBuf>,
    /// A screen set folder (screens/<set>) to report on, instead of the sets the runs used
    /// (repeatable).
    #[arg(long, value_name = "DIR")]
    screens: Vec<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
struct SuggestArgs {
    /// A results folder: a run's, or one holding many runs.
    #[arg(value_name = "RESULTS_FOLDER")]
    results: PathBuf,
    /// Write the new pictures into the screen set (masks and .toml are kept).
    #[arg(long)]
    apply: bool,
    /// The lowest best similarity of a missed wait that counts as a near miss.
    #[arg(long, value_name = "S", default_value_t = refs::DEFAULT_MIN_SIMILARITY,
          value_parser = similarity)]
    min_similarity: f64,
    /// The screen set folder (screens/<set>) to update, instead of the one the run recorded.
    #[arg(long, value_name = "DIR")]
    screens: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

fn similarity(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?}: expected a similarity in 0..=1 (e.g. 0.8)")),
    }
}

pub fn run(args: RefsArgs) -> Result<()> {
    match args.command {
        RefsCommand::Unused(a) => {
            let report = refs::usage(&a.results, &a.screens)
                .context("reading which references the runs matched")?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_usage(&report);
            }
        }
        RefsCommand::Suggest(a) => {
            let options = SuggestOptions {
                min_similarity: a.min_similarity,
                screens: a.screens,
                apply: a.apply,
            };
            let report = refs::suggest(&a.results, &options)
                .with_context(|| format!("suggesting references from {}", a.results.display()))?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_suggestions(&report, a.apply);
            }
        }
    }
    Ok(())
}

fn print_usage(report: &UsageReport) {
    let sets: Vec<String> = report
        .sets
        .iter()
        .map(|s| s.display().to_string())
        .collect();
    println!(
        "{} run(s), {} reference(s) in {}",
        report.runs,
        report.references.len(),
        sets.join(", ")
    );
    let unused: Vec<_> = report.unused().collect();
    println!("unused ({}):", unused.len());
    for r in &unused {
        println!("  {:<32} {}", r.name, r.path.display());
    }
    println!("used:");
    println!(
        "  {:<32} {:>7}  {:<20} {:>9}  last run",
        "reference", "matches", "last started", "t (s)"
    );
    for r in report.used() {
        if let Some(last) = &r.last {
            println!(
                "  {:<32} {:>7}  {:<20} {:>9.1}  {}",
                r.name,
                r.matches,
                last.started,
                last.t,
                last.run.display()
            );
        }
    }
}

fn print_suggestions(report: &SuggestReport, apply: bool) {
    if report.suggestions.is_empty() {
        println!(
            "no near miss (a missed wait with best similarity >= {:.2})",
            report.min_similarity
        );
    }
    for s in &report.suggestions {
        println!(
            "{}: near miss in {} (best similarity {:.4}, now {:.4}, needs {:.2})",
            s.screen,
            s.run.display(),
            s.best_similarity,
            s.similarity,
            s.threshold
        );
        println!("  old  {}", s.old_png.display());
        println!("  new  {}", s.new_png.display());
        println!("  diff {}", s.diff_png.display());
        match (&s.problem, s.new_similarity) {
            (Some(problem), _) => println!("  cannot be applied: {problem}"),
            (None, Some(new)) => println!(
                "  updated reference would match its frame: similarity {new:.4} (mask {})",
                s.mask
                    .as_ref()
                    .map_or("none".to_string(), |m| m.display().to_string())
            ),
            (None, None) => {}
        }
        if s.applied {
            println!("  wrote {}", s.reference.display());
        } else if !apply {
            println!(
                "  to write it: vncpilot refs suggest {} --apply",
                s.run.display()
            );
        }
    }
    for w in &report.not_suggested {
        println!(
            "{}: not suggested ({}): {}",
            w.screen,
            w.run.display(),
            w.why
        );
    }
}
