//! Running the selected cells: at most `jobs` at once, each attempt through the [`CellRunner`],
//! a failed or errored attempt retried up to `retries` times, `cell.json` rewritten after every
//! attempt (so Ctrl-C keeps everything written so far), and one [`CancellationToken`] shared by
//! every cell: cancelling it ends the running attempts (the runner tears their guests down) and
//! starts no new ones.

use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::known::{Evidence, KnownIssues};
use super::preflight::{self, Preflight};
use super::record::{AttemptRecord, CellRecord, CellStatus};
use super::runner::{Attempt, AttemptOutcome, CellRunner};
use super::{Cell, Shard};
use crate::report::Status;
use crate::report::results::timestamp;

/// How a night runs.
#[derive(Clone, Debug)]
pub struct MatrixOptions {
    /// `DIR` of `--results DIR`: cells go to `DIR/<night>/<harness>/<variant>/`.
    pub results: std::path::PathBuf,
    pub night: String,
    /// Cells at once (≥ 1).
    pub jobs: usize,
    /// Extra attempts after a failed or errored one.
    pub retries: u32,
    pub shard: Option<Shard>,
    /// The matrix file as given, for cell.json.
    pub matrix: String,
    pub known: KnownIssues,
    pub cancel: CancellationToken,
}

/// The night's folder name for a moment: its UTC date, `YYYY-MM-DD`.
pub fn night_of(time: SystemTime) -> String {
    timestamp(time, false)[..10].to_string()
}

/// Runs `cells`, calling `done` as each finishes; returns every cell's record in `cells` order.
pub async fn run_matrix<R: CellRunner>(
    cells: Vec<Cell>,
    runner: Arc<R>,
    options: Arc<MatrixOptions>,
    done: Arc<dyn Fn(&CellRecord) + Send + Sync>,
) -> Vec<CellRecord> {
    let slots = Arc::new(Semaphore::new(options.jobs.max(1)));
    let mut tasks = Vec::new();
    for cell in cells {
        let (runner, options, slots, done) =
            (runner.clone(), options.clone(), slots.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let record = run_cell(cell, &*runner, &options, &slots).await;
            done(&record);
            record
        }));
    }
    let mut records = Vec::new();
    for task in tasks {
        match task.await {
            Ok(record) => records.push(record),
            Err(e) => tracing::error!("a cell's task failed: {e}"),
        }
    }
    records
}

async fn run_cell<R: CellRunner>(
    cell: Cell,
    runner: &R,
    options: &MatrixOptions,
    slots: &Arc<Semaphore>,
) -> CellRecord {
    let dir = cell.dir(&options.results, &options.night);
    let permit = tokio::select! {
        permit = slots.clone().acquire_owned() => permit.ok(),
        _ = options.cancel.cancelled() => None,
    };
    let mut record = CellRecord {
        harness: cell.harness.clone(),
        variant: cell.variant.clone(),
        night: options.night.clone(),
        status: CellStatus::Skip,
        reason: String::new(),
        duration_s: 0.0,
        started: timestamp(SystemTime::now(), false),
        shard: options.shard.map(|s| s.to_string()),
        matrix: options.matrix.clone(),
        attempts: Vec::new(),
        label: None,
    };
    if is_nonempty_dir(&dir) {
        // Never overwrite an earlier run's evidence; this record is reported, not written.
        record.status = CellStatus::Error;
        record.reason = format!(
            "{} already holds results (of an earlier run of this night): remove it or pass \
             another --night",
            dir.display()
        );
        return record;
    }
    if let Err(e) = std::fs::create_dir_all(&dir) {
        record.status = CellStatus::Error;
        record.reason = format!("cannot create {}: {e}", dir.display());
        return record;
    }
    let Some(_permit) = permit else {
        record.reason = "not run: interrupted before it started".into();
        return written(record, &dir);
    };
    record.started = timestamp(SystemTime::now(), false);
    let harness = match preflight::check(&cell) {
        Preflight::Ready(h) => *h,
        Preflight::Skip(reason) => {
            record.reason = reason;
            return written(record, &dir);
        }
        Preflight::Error(reason) => {
            record.status = CellStatus::Error;
            record.reason = reason;
            return written(record, &dir);
        }
    };
    let mut statuses = Vec::new();
    for number in 1..=1 + options.retries {
        if options.cancel.is_cancelled() {
            break;
        }
        let folder = format!("attempt-{number}");
        let outcome = runner
            .run_attempt(Attempt {
                cell: cell.clone(),
                harness: harness.clone(),
                results: dir.join(&folder),
                number,
                cancel: options.cancel.clone(),
            })
            .await;
        statuses.push(outcome.status);
        record.attempts.push(AttemptRecord {
            status: outcome.status,
            reason: outcome.reason.clone(),
            duration_s: outcome.duration_s,
            results: folder,
        });
        settle(
            &mut record,
            &statuses,
            &outcome,
            &cell,
            &dir,
            &options.known,
        );
        record = written(record, &dir);
        if outcome.status == Status::Pass {
            break;
        }
    }
    if record.attempts.is_empty() {
        record.reason = "not run: interrupted before its first attempt".into();
        record = written(record, &dir);
    }
    record
}

/// Updates the cell's status, reason, duration and label after an attempt.
fn settle(
    record: &mut CellRecord,
    statuses: &[Status],
    last: &AttemptOutcome,
    cell: &Cell,
    dir: &Path,
    known: &KnownIssues,
) {
    record.status = CellStatus::from_attempts(statuses).unwrap_or(CellStatus::Skip);
    record.duration_s = record.attempts.iter().map(|a| a.duration_s).sum();
    let failed = record
        .attempts
        .iter()
        .rev()
        .find(|a| a.status != Status::Pass);
    record.reason = match (record.status, failed) {
        (CellStatus::Flaky, Some(f)) => format!(
            "passed on attempt {} after {} ({}: {})",
            record.attempts.len(),
            f.results,
            f.status.as_str(),
            f.reason
        ),
        _ => last.reason.clone(),
    };
    record.label = failed.and_then(|f| {
        known.label(&Evidence {
            cell: &cell.name(),
            reason: &f.reason,
            results: &dir.join(&f.results),
        })
    });
}

/// Writes cell.json; a cell whose record cannot be written becomes an error saying so.
fn written(mut record: CellRecord, dir: &Path) -> CellRecord {
    if let Err(e) = record.write(dir) {
        tracing::error!("{e}");
        record.status = CellStatus::Error;
        record.reason = format!("{e} (after: {})", record.reason);
    }
    record
}

fn is_nonempty_dir(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some())
}
