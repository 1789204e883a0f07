//! `vncpilot matrix FILE.toml`: run a night of the matrix — the selected cells (`--only`,
//! `--shard`) in parallel (`--jobs`), with retries, known-issue labels and one results folder
//! per cell — and print each cell's verdict; exit 0 (all passed, flaky or skipped), 1 (a cell
//! failed) or 2 (a cell errored, or bad input).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::Context;
use tokio_util::sync::CancellationToken;
use vncpilot::matrix::schedule::night_of;
use vncpilot::matrix::{
    CellRecord, CellStatus, EngineRunner, Glob, KnownIssues, Matrix, MatrixOptions, Shard, ci,
    jobs, run_matrix,
};
use vncpilot::run::PasswordSource;
use vncpilot::script::Harness;

#[derive(clap::Args, Debug)]
pub struct MatrixArgs {
    /// The matrix file (TOML: harnesses and their variants).
    pub file: PathBuf,
    /// Where nights go: DIR/<night>/<harness>/<variant>/.
    #[arg(long, value_name = "DIR", default_value = "results")]
    pub results: PathBuf,
    /// Cells at once (default: min(cores, (free memory − 1 GiB) / (guest memory + 512 MiB))).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
    /// Run only shard I of N (0 ≤ I < N): a stable hash of each cell's name picks its shard.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
    /// Re-run a failed or errored cell up to N more times (one that then passes is `flaky`).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub retries: u32,
    /// Only cells whose <harness>/<variant> name matches this shell-style glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub only: Vec<Glob>,
    /// Print the selected cells, one a line, and run nothing.
    #[arg(long)]
    pub list: bool,
    /// The night's folder name (default: today's UTC date, YYYY-MM-DD).
    #[arg(long, value_name = "NAME")]
    pub night: Option<String>,
    /// Known-issue signatures (TOML) to label matching failures with.
    #[arg(long, value_name = "FILE")]
    pub known: Option<PathBuf>,
    /// Also write the night as JUnit XML to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Also print the night as TAP on stdout.
    #[arg(long)]
    pub tap: bool,
    /// Multiply every cell's timeouts by F on a loaded host (times the cell's own scale).
    #[arg(long, value_name = "F", value_parser = super::run::parse_time_scale)]
    pub time_scale: Option<f64>,
    /// File whose first line is the VNC password of cells that attach (`vnc = …`; else
    /// $VNCPILOT_PASSWORD).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
}

pub fn run(args: MatrixArgs) -> ExitCode {
    match run_night(args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run_night(args: MatrixArgs) -> anyhow::Result<u8> {
    let matrix = Matrix::load(&args.file)?;
    for glob in &args.only {
        if !matrix.cells.iter().any(|c| glob.matches(&c.name())) {
            anyhow::bail!(
                "--only {glob}: matches no cell of {} (it has: {})",
                args.file.display(),
                matrix
                    .cells
                    .iter()
                    .map(|c| c.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    let cells: Vec<_> = matrix
        .cells
        .into_iter()
        .filter(|c| args.only.is_empty() || args.only.iter().any(|g| g.matches(&c.name())))
        .filter(|c| args.shard.is_none_or(|s| s.contains(&c.name())))
        .collect();
    if args.list {
        for cell in &cells {
            println!("{}", cell.name());
        }
        return Ok(0);
    }
    let night = args
        .night
        .clone()
        .unwrap_or_else(|| night_of(SystemTime::now()));
    if night.is_empty() || night.starts_with('.') || night.contains('/') {
        anyhow::bail!("--night {night:?}: expected a folder name");
    }
    let known = match &args.known {
        Some(path) => KnownIssues::load(path)?,
        None => KnownIssues::default(),
    };
    let largest_guest = cells
        .iter()
        .filter_map(|c| Harness::load(&c.harness_dir, &[]).ok()?.guest)
        .map(|g| g.memory_mib)
        .max()
        .unwrap_or(1024);
    let jobs = args.jobs.map_or_else(
        || jobs::default_jobs(cells.len(), largest_guest),
        |j| j as usize,
    );
    let cancel = CancellationToken::new();
    let options = Arc::new(MatrixOptions {
        results: args.results.clone(),
        night: night.clone(),
        jobs,
        retries: args.retries,
        shard: args.shard,
        matrix: args.file.display().to_string(),
        known,
        cancel: cancel.clone(),
    });
    let password = match &args.password_file {
        Some(path) => {
            // Checked before any cell starts, so a wrong path is one error, not one per cell.
            std::fs::metadata(path)
                .with_context(|| format!("--password-file {}: cannot be read", path.display()))?;
            PasswordSource::File(path.clone())
        }
        None => PasswordSource::Env(super::vnc_args::PASSWORD_ENV.to_string()),
    };
    let runner = Arc::new(EngineRunner {
        password,
        time_scale: args.time_scale,
    });
    eprintln!(
        "matrix {}: {} cells, {jobs} at a time, into {}",
        args.file.display(),
        cells.len(),
        args.results.join(&night).display()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let records = runtime.block_on(async {
        let stopper = cancel.clone();
        tokio::spawn(async move {
            let why = shutdown_signal().await;
            eprintln!("{why}: stopping every cell (their results so far are kept)");
            stopper.cancel();
        });
        run_matrix(cells, runner, options, Arc::new(print_cell)).await
    });
    print_summary(&records);
    if args.tap {
        print!("{}", ci::tap(&records));
    }
    if let Some(path) = &args.junit {
        std::fs::write(path, ci::junit(&records))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(ci::exit_code(&records))
}

fn print_cell(r: &CellRecord) {
    let mut line = format!(
        "{:5} {} in {:.1} s",
        r.status.as_str().to_uppercase(),
        r.name(),
        r.duration_s
    );
    if r.status != CellStatus::Pass {
        line.push_str(&format!(": {}", r.reason));
    }
    if let Some(label) = &r.label {
        line.push_str(&format!(" [known: {}]", label.label));
    }
    eprintln!("{line}");
}

fn print_summary(records: &[CellRecord]) {
    let count = |s: CellStatus| records.iter().filter(|r| r.status == s).count();
    eprintln!(
        "{} cells: {} pass, {} flaky, {} fail, {} error, {} skip",
        records.len(),
        count(CellStatus::Pass),
        count(CellStatus::Flaky),
        count(CellStatus::Fail),
        count(CellStatus::Error),
        count(CellStatus::Skip)
    );
}

/// Resolves on Ctrl-C or SIGTERM, saying which.
async fn shutdown_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return "Ctrl-C";
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "Ctrl-C",
        _ = term.recv() => "SIGTERM",
    }
}
