//! One run of a harness, from code: [`run`] takes [`RunOptions`] (the harness, where results
//! go, how to watch the guest, a cancellation token) and gives the [`Outcome`] (pass, fail or
//! error, why, and the results folder). `vncpilot run` is a thin layer over it; a matrix of
//! runs or an authoring page starts runs the same way.
//!
//! The life of a run: create the results folder ([`ResultsLocation`]), attach the followers
//! (events.jsonl, log.txt, progress line, video captions, screen-wait evidence, the caller's
//! observers), reach the guest (launch QEMU on private sockets, or attach over VNC), record the
//! screen, run the macro under the watchdog (the harness's run timeout and the caller's
//! cancellation) and the guest watch (QEMU's death), keep the evidence (final.png, forensics),
//! tear the guest down, write result.json (whole or not at all), finish the video. Several runs
//! may go on at once in one process: each owns its folder, guest, sockets, recorder and
//! watchdog, and nothing here handles signals (the caller maps Ctrl-C to
//! [`Canceller::cancel`]). docs/library.md shows it in use.

mod drive;
mod error;
mod exit_code;
mod forensics_collect;
mod guest_setup;
mod guest_watch;
mod observers;
mod options;
mod outcome;
mod pause_page;
mod recording;
mod watchdog;

pub use error::RunError;
pub use exit_code::{connection_exit_code, exit_code};
pub use options::{CancelReason, Canceller, PasswordSource, ResultsLocation, RunOptions, Watch};
pub use outcome::Outcome;
pub use pause_page::{PauseNotice, PauseOptions};

use std::time::Instant;

use drive::Live;
use observers::Followers;

use crate::record::Keep;
use crate::report::{EventKind, EventLog, ResultsDir, RunObserver, RunResult, Status};
use crate::screen::ScreenSet;
use crate::script::{Harness, Outcome as Verdict};

/// Runs one harness to its verdict. Only a results folder that cannot be created or written is
/// an `Err`; everything else (a guest that will not start, a macro error, a cancellation) ends
/// as an [`Outcome`] with status `error` and the reason.
pub async fn run(options: RunOptions) -> Result<Outcome, RunError> {
    // t = 0 of the run: events.jsonl, the video and the subtitles all count from here.
    let started = Instant::now();
    let harness = &options.harness;
    let results = match &options.results {
        ResultsLocation::Under(root) => ResultsDir::create(root, &harness.name)?,
        ResultsLocation::Exactly(dir) => ResultsDir::create_exactly(dir)?,
    };
    let followers = Followers::attach(&results, &options, started)?;
    followers.all.event(
        &EventKind::Start {
            harness: harness.name.clone(),
            attach: options.attach.as_ref().map(|a| a.to_string()),
        }
        .at(0.0),
    );
    let mut live = Live::default();
    let mut verdict = drive::drive(&options, &results, &followers, started, &mut live)
        .await
        .unwrap_or_else(|e| Verdict {
            status: Status::Error,
            reason: e.to_string(),
        });
    let log = &followers.log;
    if let Some(qemu) = live.qemu.take() {
        let tail = qemu.stderr_tail();
        if !tail.is_empty() {
            log.note(&format!("QEMU stderr:\n{tail}"));
        }
        qemu.stop().await;
    }
    // A results disk that failed under the run (full, gone read-only): its evidence is not
    // whole, so the run cannot pass, and the reason names the file.
    if let Some(e) = log.take_write_error() {
        tracing::error!("results folder: {e}");
        verdict = Verdict {
            status: Status::Error,
            reason: format!(
                "results folder: {e} (the run's verdict was: {})",
                verdict.reason
            ),
        };
    }
    let duration_s = started.elapsed().as_secs_f64();
    let mut result = RunResult {
        status: verdict.status,
        reason: log.redact(&verdict.reason),
        duration_s,
        harness: harness.name.clone(),
        variables: harness.public_variables(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        started: results.started(),
        screens: Some(screen_set_dir(harness)),
        time_scale: options.scale(),
        // What was awaited is the macro's text: it may hold a secret (a serial pattern).
        waits: followers
            .timings
            .waits()
            .into_iter()
            .map(|mut w| {
                w.what = log.redact(&w.what);
                w
            })
            .collect(),
    };
    note_waits(log, &result);
    // result.json before the end event: a disk that cannot take the verdict must not see
    // events.jsonl (or the video's fate) say the run passed.
    let written = results.write_result(&result);
    if let Err(e) = &written {
        tracing::error!("results folder: {e}");
        result.status = Status::Error;
        result.reason = log.redact(&format!("results folder: {e}"));
    }
    followers.all.event(
        &EventKind::End {
            status: result.status,
            reason: result.reason.clone(),
        }
        .at(duration_s),
    );
    if let Some(recording) = live.recording.take() {
        let keep = Keep::for_outcome(result.status == Status::Pass, options.keep_video);
        recording::finish(recording, keep, log).await;
    }
    written?;
    Ok(Outcome {
        status: result.status,
        reason: result.reason.clone(),
        results: results.path().to_path_buf(),
        duration_s,
        result,
    })
}

/// The harness's screen set folder, absolute where it exists (result.json's `screens`: a results
/// folder is read later, from elsewhere).
fn screen_set_dir(harness: &Harness) -> std::path::PathBuf {
    let dir = ScreenSet::dir_of(&harness.screens_root, &harness.screen_set);
    std::fs::canonicalize(&dir).unwrap_or(dir)
}

/// One line in log.txt: how many waits, and the one that came closest to its timeout.
fn note_waits(log: &EventLog, result: &RunResult) {
    if let Some(tightest) = result
        .waits
        .iter()
        .max_by(|a, b| a.used().total_cmp(&b.used()))
    {
        log.note(&format!(
            "waits: {} (time scale {}); the tightest: step {} {} {} took {:.1} s of {:.0} s \
             ({:.0} %)",
            result.waits.len(),
            result.time_scale,
            tightest.step,
            tightest.action,
            tightest.what,
            tightest.elapsed_s,
            tightest.timeout_s,
            100.0 * tightest.used()
        ));
    }
}
