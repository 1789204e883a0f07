//! The run's video: started once the guest's screen is up (following the display, whether it
//! is watched over VNC or QMP), finished at the end — kept or deleted by the verdict — with a
//! line in log.txt saying what became of it.

use std::sync::Arc;
use std::time::Instant;

use super::observers::Followers;
use crate::display::Display;
use crate::record::{Keep, RecorderOptions, RunRecording};
use crate::report::{EventLog, ResultsDir};

/// Starts recording the guest's screen into the results folder. A recording that cannot start
/// is noted in log.txt and the run goes on without it.
pub(crate) fn start(
    results: &ResultsDir,
    started: Instant,
    display: &Arc<dyn Display>,
    followers: &Followers,
) -> Option<RunRecording> {
    let dir = results.path();
    let options = RecorderOptions::default();
    let recording = RunRecording::start(dir, started, display.clone(), options);
    match recording {
        Ok(recording) => {
            followers.captions.attach(recording.recorder().captions());
            let display = display.clone();
            Some(recording.with_last_frame(move || display.latest().ok()))
        }
        Err(e) => {
            tracing::warn!("not recording this run: {e}");
            followers.log.note(&format!("video: not recorded: {e}"));
            None
        }
    }
}

/// Finishes the recording (kept when `keep`, else deleted) and notes in log.txt what it cost.
pub(crate) async fn finish(recording: RunRecording, keep: Keep, log: &EventLog) {
    match recording.finish(keep).await {
        Ok(Some(manifest)) => log.note(&format!(
            "video: {} ({} frames encoded of {} received; encoder CPU {:.2} s = {:.1} % of \
             one core over {:.1} s)",
            manifest
                .browser
                .as_ref()
                .map_or("no browser track", |b| b.file.as_str()),
            manifest.stats.frames_encoded,
            manifest.stats.frames_received,
            manifest.stats.encoder_cpu_s,
            100.0 * manifest.stats.encoder_cpu_s / manifest.duration_s.max(0.001),
            manifest.duration_s
        )),
        Ok(None) => log.note("video: deleted (the run passed; --keep-video keeps it)"),
        Err(e) => log.note(&format!("video: the recording did not finish cleanly: {e}")),
    }
}
