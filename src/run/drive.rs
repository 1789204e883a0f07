//! The middle of a run: reach the guest, start the video, run the macro on a blocking thread
//! under the watchdog, and keep the evidence (final.png on a pass, forensics otherwise).

use std::sync::Arc;
use std::time::Instant;

use super::forensics_collect::{self, QemuEvidence};
use super::guest_setup::{self, Guest};
use super::guest_watch;
use super::observers::Followers;
use super::pause_page::PagePauser;
use super::watchdog::Watchdog;
use super::{RunError, RunOptions, recording};
use crate::guest::Qemu;
use crate::record::RunRecording;
use crate::report::{EventKind, ReportError, ResultsDir, RunObserver, Status};
use crate::screen::ScreenSet;
use crate::script::{Outcome as Verdict, RunContext, run_macro};

/// What the end of a run must tear down or close, whatever happened.
#[derive(Default)]
pub(crate) struct Live {
    pub qemu: Option<Qemu>,
    pub recording: Option<RunRecording>,
}

/// Runs the harness's macro against its guest; the verdict (an `Err` is an error verdict).
pub(crate) async fn drive(
    options: &RunOptions,
    results: &ResultsDir,
    followers: &Followers,
    started: Instant,
    live: &mut Live,
) -> Result<Verdict, RunError> {
    let harness = &options.harness;
    let screens =
        ScreenSet::load(&harness.screens_root, &harness.screen_set).map_err(|source| {
            RunError::Screens {
                set: harness.screen_set.clone(),
                harness: harness.dir.clone(),
                source: Box::new(source),
            }
        })?;
    let source =
        std::fs::read_to_string(&harness.macro_path).map_err(|source| RunError::Macro {
            path: harness.macro_path.clone(),
            source,
        })?;
    let observer = followers.all.as_ref();
    let guest = tokio::select! {
        guest = guest_setup::reach(options, results, observer, &mut live.qemu) => guest?,
        _ = options.cancel.cancelled() => {
            let why = options.cancel_reason.get().unwrap_or("cancelled").to_string();
            return Err(RunError::Interrupted { why });
        }
    };
    observer.event(&EventKind::GuestReady.at(started.elapsed().as_secs_f64()));
    let Guest {
        display,
        qmp,
        serial,
    } = guest;
    live.recording = recording::start(results, started, &display, followers);
    let pauser = options.pause.as_ref().map(|p| {
        Arc::new(PagePauser::new(
            p.clone(),
            display.clone(),
            harness.screens_root.clone(),
            harness.screen_set.clone(),
        ))
    });
    let mut builder = RunContext::builder(
        display,
        screens,
        followers.all.clone(),
        results.file("screenshots"),
    )
    // The macro's events count from the run's start, like the video.
    .started(started)
    .qmp(qmp)
    .serial(serial)
    .variables(harness.variables.clone(), harness.secrets.clone())
    .time_scale(options.scale())
    .stall(harness.timeouts.stall);
    if let (Some(p), Some(pauser)) = (&options.pause, &pauser) {
        builder = builder.pause(p.policy.clone(), pauser.clone());
    }
    let ctx = Arc::new(builder.build());
    // A run that may pause waits for a person: only the caller's cancellation ends it.
    let limit = match &options.pause {
        Some(p) if p.policy.is_active() => None,
        _ => Some(options.timeouts().run.saturating_sub(started.elapsed())),
    };
    let watchdog = Watchdog::start(
        ctx.clone(),
        limit,
        options.cancel.clone(),
        options.cancel_reason.clone(),
    );
    let macro_path = harness.macro_path.clone();
    let max_ops = harness.timeouts.max_operations;
    let runner = ctx.clone();
    let macro_thread =
        tokio::task::spawn_blocking(move || run_macro(&source, &macro_path, &runner, max_ops));
    let verdict = match live.qemu.as_mut() {
        Some(qemu) => guest_watch::watch(macro_thread, qemu, &ctx).await,
        None => macro_thread.await,
    }
    .unwrap_or_else(|e| Verdict {
        status: Status::Error,
        reason: format!("the macro thread failed: {e}"),
    });
    drop(watchdog);
    if let Some(pauser) = &pauser {
        pauser.shutdown().await;
    }
    if let Some(e) = keep_evidence(results, &ctx, followers, &verdict, live.qemu.as_ref()).await {
        // A pass must leave its final screen; a results disk that cannot take it is an error.
        return Ok(Verdict {
            status: Status::Error,
            reason: format!("results folder: {e}"),
        });
    }
    Ok(verdict)
}

/// final.png on a pass (the error if it cannot be written); the forensics otherwise.
async fn keep_evidence(
    results: &ResultsDir,
    ctx: &RunContext,
    followers: &Followers,
    verdict: &Verdict,
    qemu: Option<&Qemu>,
) -> Option<ReportError> {
    // A display that is gone (its guest died) still leaves the last screen the macro saw.
    let final_frame = ctx
        .display()
        .latest()
        .inspect_err(|e| tracing::warn!("no final frame from the display: {e}"))
        .ok()
        .or_else(|| followers.last_frame.get());
    if verdict.status == Status::Pass {
        return final_frame.and_then(|frame| results.write_final(&frame.image).err());
    }
    let qemu = match (ctx.qmp(), qemu) {
        (Some(qmp), Some(launched)) => Some(QemuEvidence {
            qmp: qmp.as_ref(),
            dump_path: launched.paths().runtime_dir.join("failure-screendump.ppm"),
        }),
        _ => None,
    };
    forensics_collect::write(results, &ctx.screens(), &followers.waits, final_frame, qemu).await;
    None
}
