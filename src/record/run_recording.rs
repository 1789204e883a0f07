//! The recording of one harness run, in one handle: the recorder, the task feeding it from the
//! session, and the keep-or-delete decision at the end (kept on fail/error, deleted on pass
//! unless `--keep-video`). This is what `vncpilot run` holds; everything else in `record` is
//! reachable for finer control.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use tokio::task::JoinHandle;

use super::follow::follow;
use super::manifest::Manifest;
use super::recorder::discard;
use super::{FrameSink, RecordError, Recorder, RecorderOptions};
use crate::display::Display;
use crate::rfb::Frame;

/// Where the screen's newest frame can be had at the end of a run.
type LastFrame = Box<dyn FnOnce() -> Option<Arc<Frame>> + Send>;

pub struct RunRecording {
    recorder: Recorder,
    follower: JoinHandle<()>,
    last_frame: Option<LastFrame>,
}

/// What happens to the video when the run ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// The run failed or errored, or `--keep-video`: keep everything.
    Video,
    /// The run passed: delete the video, its manifest and subtitles.
    Nothing,
}

impl Keep {
    /// Kept on fail/error; on pass only with `keep_video`.
    pub fn for_outcome(passed: bool, keep_video: bool) -> Keep {
        if passed && !keep_video {
            Keep::Nothing
        } else {
            Keep::Video
        }
    }
}

impl RunRecording {
    /// Starts recording `display` (a VNC session, QEMU's screendumps) into `run_dir`; `origin`
    /// is the run's t = 0 (the instant `events.jsonl` counts from). Must be called inside a
    /// tokio runtime.
    pub fn start(
        run_dir: &Path,
        origin: Instant,
        display: Arc<dyn Display>,
        options: RecorderOptions,
    ) -> Result<RunRecording, RecordError> {
        RunRecording::start_fed(run_dir, origin, options, |sink| follow(display, sink))
    }

    /// Like [`start`](Self::start) for frames that do not come from a display (synthetic ones):
    /// `feed` spawns the task that pushes them into the sink until the sink is closed.
    pub fn start_fed(
        run_dir: &Path,
        origin: Instant,
        options: RecorderOptions,
        feed: impl FnOnce(FrameSink) -> JoinHandle<()>,
    ) -> Result<RunRecording, RecordError> {
        let recorder = Recorder::start(run_dir, origin, options)?;
        let follower = feed(recorder.sink());
        Ok(RunRecording {
            recorder,
            follower,
            last_frame: None,
        })
    }

    /// At the end, `last` gives the screen's newest frame, which then goes into the video too.
    /// The follower runs on its own task and may not have passed on yet what the run saw
    /// last — under load, the very frame a `wait_screen` matched just before the end (the
    /// recorder skips a frame it already has).
    pub fn with_last_frame(
        mut self,
        last: impl FnOnce() -> Option<Arc<Frame>> + Send + 'static,
    ) -> RunRecording {
        self.last_frame = Some(Box::new(last));
        self
    }

    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    /// The caption from now on (never secret text; see [`Recorder::redact`]).
    pub fn step(&self, text: &str) {
        if let Err(e) = self.recorder.step(text) {
            tracing::warn!("subtitles: {e}");
        }
    }

    /// Never show `secret` in a caption.
    pub fn redact(&self, secret: &str) {
        self.recorder.redact(secret);
    }

    /// Stops recording, closes the files, and keeps or deletes them. Returns the manifest of
    /// what was kept (`None` when deleted).
    pub async fn finish(self, keep: Keep) -> Result<Option<Manifest>, RecordError> {
        let dir = self.recorder.dir().to_owned();
        let RunRecording {
            recorder,
            follower,
            last_frame,
        } = self;
        // Encoding what is still queued and writing trailers is blocking work (and so may be
        // getting the last frame: a screendump over QMP).
        let manifest = tokio::task::spawn_blocking(move || {
            if let Some(frame) = last_frame.and_then(|last| last()) {
                recorder.push(frame);
            }
            recorder.finish()
        })
        .await
        .map_err(|e| RecordError::RecorderDied(e.to_string()))??;
        // The follower notices the closed recorder at its next frame or poll.
        if let Err(e) = follower.await {
            tracing::debug!("recording follower: {e}");
        }
        match keep {
            Keep::Video => Ok(Some(manifest)),
            Keep::Nothing => {
                tokio::task::spawn_blocking(move || discard(&dir))
                    .await
                    .map_err(|e| RecordError::RecorderDied(e.to_string()))??;
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn video_is_kept_unless_the_run_passed_without_keep_video() {
        assert_eq!(Keep::for_outcome(true, false), Keep::Nothing);
        assert_eq!(Keep::for_outcome(true, true), Keep::Video);
        assert_eq!(Keep::for_outcome(false, false), Keep::Video);
        assert_eq!(Keep::for_outcome(false, true), Keep::Video);
    }
}
