//! The one place where the followers of a run attach: the results files (events.jsonl,
//! log.txt), the progress line, the video's step captions, the evidence of screen waits for the
//! forensics, the last frame the macro looked at (final.png when the display is gone), each
//! wait's time against its timeout, and the caller's own observers. Each receives every event, every frame the macro
//! looks at, progress, every screen check, and the secrets to redact.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::{RunError, RunOptions};
use crate::report::{
    EventLog, Observers, ProgressLine, ResultsDir, RunObserver, ScreenWaits, StepCaptions,
    WaitTimings,
};
use crate::rfb::Frame;

/// The followers of one run, and those of them the run reads back at its end.
pub(crate) struct Followers {
    /// All of them, as one observer.
    pub all: Arc<Observers>,
    pub log: Arc<EventLog>,
    /// The video's captions (attached to the recording once the guest's screen is up).
    pub captions: Arc<StepCaptions>,
    /// The evidence of the last screen wait, for the forensics.
    pub waits: Arc<ScreenWaits>,
    /// The last frame the macro looked at.
    pub last_frame: Arc<LastFrame>,
    /// Each wait's time against its timeout, for result.json.
    pub timings: Arc<WaitTimings>,
}

/// The last frame the macro looked at: the screen as it was when a guest died with its display.
#[derive(Default)]
pub(crate) struct LastFrame(Mutex<Option<Arc<Frame>>>);

impl LastFrame {
    pub fn get(&self) -> Option<Arc<Frame>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl RunObserver for LastFrame {
    fn frame(&self, frame: &Arc<Frame>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(frame.clone());
    }
}

impl Followers {
    /// Attaches the followers of a run that started at `started` (t = 0 of its clock) and tells
    /// them the harness's secret variables.
    pub fn attach(
        results: &ResultsDir,
        options: &RunOptions,
        started: Instant,
    ) -> Result<Followers, RunError> {
        let mut all = Observers::new();
        let log = Arc::new(EventLog::create(results.path())?);
        all.add(log.clone());
        if options.progress {
            all.add(Arc::new(ProgressLine::stderr()));
        }
        let captions = Arc::new(StepCaptions::new());
        all.add(captions.clone());
        let waits = Arc::new(ScreenWaits::new(started));
        all.add(waits.clone());
        let last_frame = Arc::new(LastFrame::default());
        all.add(last_frame.clone());
        let timings = Arc::new(WaitTimings::new());
        all.add(timings.clone());
        for observer in &options.observers {
            all.add(observer.clone());
        }
        let harness = &options.harness;
        for name in &harness.secrets {
            if let Some(value) = harness.variables.get(name) {
                all.secret(value);
            }
        }
        Ok(Followers {
            all: Arc::new(all),
            log,
            captions,
            waits,
            last_frame,
            timings,
        })
    }
}
