//! The run's video: started once the guest's screen is up (from the VNC session, or from the
//! frames a QMP display produces), finished at the end — kept or deleted by the verdict — with a
//! line in log.txt saying what became of it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use super::observers::Followers;
use crate::record::{FrameSink, Keep, RecorderOptions, RunRecording};
use crate::report::{EventLog, ResultsDir};
use crate::rfb::Session;
use crate::script::Display;

/// Starts recording the guest's screen into the results folder. A recording that cannot start
/// is noted in log.txt and the run goes on without it.
pub(crate) fn start(
    results: &ResultsDir,
    started: Instant,
    session: Option<&Session>,
    display: &Arc<dyn Display>,
    followers: &Followers,
) -> Option<RunRecording> {
    let dir = results.path();
    let options = RecorderOptions::default();
    let recording = match session {
        Some(session) => RunRecording::start(dir, started, session, options),
        None => {
            let display = display.clone();
            RunRecording::start_fed(dir, started, options, |sink| follow_display(display, sink))
        }
    };
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

/// Pushes every frame of `display` into `sink` until the recorder finishes or the display ends
/// (a blocking loop: displays are read from blocking threads).
fn follow_display(display: Arc<dyn Display>, sink: FrameSink) -> JoinHandle<()> {
    tokio::task::spawn_blocking(move || {
        let mut frames = display.subscribe();
        if let Ok(first) = display.latest()
            && !sink.push(first)
        {
            return;
        }
        loop {
            match frames.next(Duration::from_millis(500)) {
                Ok(Some(frame)) => {
                    if !sink.push(frame) {
                        return;
                    }
                }
                Ok(None) if sink.is_closed() => return,
                Ok(None) => {}
                Err(e) => {
                    tracing::debug!("recording stops following the display: {e}");
                    return;
                }
            }
        }
    })
}
