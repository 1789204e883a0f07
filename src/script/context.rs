//! Everything the macro functions act on during one run, and the bookkeeping they share:
//! step numbers, the first failure, why the run was stopped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;

use crate::display::Display;
use crate::guest::{Qmp, SerialLog};
use crate::pointer::MouseState;
use crate::report::{Event, RunObserver};
use crate::screen::ScreenSet;

/// The world of one macro run.
pub struct RunContext {
    pub display: Arc<dyn Display>,
    pub screens: ScreenSet,
    /// QEMU's monitor, when vncpilot launched the guest (not with `--vnc`).
    pub qmp: Option<Arc<Qmp>>,
    /// The guest's serial port, when vncpilot launched the guest.
    pub serial: Option<Arc<SerialLog>>,
    pub handle: Handle,
    /// Cancelled on Ctrl-C and when the run's time is up; every blocking function watches it.
    pub cancel: CancellationToken,
    pub observer: Arc<dyn RunObserver>,
    pub variables: BTreeMap<String, String>,
    pub secret_variables: BTreeSet<String>,
    /// Where `screenshot(label)` writes.
    pub screenshots: PathBuf,
    pub started: Instant,
    /// The mouse and the cursor pictures (from the `cursors/` folder beside the screen sets).
    pub(crate) mouse: Mutex<MouseState>,
    failure: Mutex<Option<String>>,
    stop_reason: Mutex<Option<Stop>>,
    step: AtomicU64,
    shots: AtomicU64,
}

/// Why a run was stopped from outside the macro.
#[derive(Clone, Debug, PartialEq)]
pub enum Stop {
    /// The whole-run timeout passed (counts as a failure: the guest was too slow).
    Timeout(Duration),
    /// Ctrl-C or another signal (an error: nobody judged the guest).
    Interrupted(String),
}

impl RunContext {
    pub fn new(
        display: Arc<dyn Display>,
        screens: ScreenSet,
        observer: Arc<dyn RunObserver>,
        screenshots: PathBuf,
    ) -> RunContext {
        let cursors = screens
            .dir()
            .parent()
            .map(|root| root.join("cursors"))
            .unwrap_or_else(|| PathBuf::from("cursors"));
        RunContext {
            display,
            mouse: Mutex::new(MouseState::new(cursors)),
            screens,
            qmp: None,
            serial: None,
            handle: Handle::current(),
            cancel: CancellationToken::new(),
            observer,
            variables: BTreeMap::new(),
            secret_variables: BTreeSet::new(),
            screenshots,
            started: Instant::now(),
            failure: Mutex::new(None),
            stop_reason: Mutex::new(None),
            step: AtomicU64::new(0),
            shots: AtomicU64::new(0),
        }
    }

    /// Looks for cursor pictures in `dir` instead of `<screens root>/cursors`.
    pub fn set_cursors_dir(&mut self, dir: PathBuf) {
        self.mouse = Mutex::new(MouseState::new(dir));
    }

    /// Seconds since the run started.
    pub fn t(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    pub fn event(&self, action: &str) -> Event {
        Event::new(self.t(), action)
    }

    pub fn emit(&self, event: Event) {
        self.observer.event(&event);
    }

    pub(crate) fn next_step(&self) -> u64 {
        self.step.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub(crate) fn next_shot(&self) -> u64 {
        self.shots.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Records the guest failing the macro's expectation (the first one wins).
    pub fn set_failure(&self, reason: &str) {
        let mut f = self.failure.lock().unwrap_or_else(|e| e.into_inner());
        if f.is_none() {
            *f = Some(reason.to_string());
        }
    }

    pub fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Stops the run: blocking functions return at their next check.
    pub fn stop(&self, why: Stop) {
        let mut s = self.stop_reason.lock().unwrap_or_else(|e| e.into_inner());
        if s.is_none() {
            *s = Some(why);
        }
        self.cancel.cancel();
    }

    pub fn stop_reason(&self) -> Option<Stop> {
        self.stop_reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
