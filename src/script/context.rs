//! Everything the macro functions act on during one run, and the bookkeeping they share:
//! step numbers, the first failure, why the run was stopped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;

use super::pause::{PausePolicy, Pauser};
use crate::display::Display;
use crate::guest::{Qmp, SerialLog};
use crate::pointer::MouseState;
use crate::report::{EventKind, RunObserver};
use crate::screen::{ScreenError, ScreenSet};

/// The world of one macro run, built once with [`RunContext::builder`] and read through its
/// accessors. (The fields are crate-visible for the macro API; outside the crate they are only
/// set through the builder.)
pub struct RunContext {
    pub(crate) display: Arc<dyn Display>,
    /// Swapped whole when a paused run reloads the references from disk.
    screens: RwLock<Arc<ScreenSet>>,
    /// QEMU's monitor, when vncpilot launched the guest (not with `--vnc`).
    pub(crate) qmp: Option<Arc<Qmp>>,
    /// The guest's serial port, when vncpilot launched the guest.
    pub(crate) serial: Option<Arc<SerialLog>>,
    pub(crate) handle: Handle,
    /// Cancelled on Ctrl-C and when the run's time is up; every blocking function watches it.
    pub(crate) cancel: CancellationToken,
    pub(crate) observer: Arc<dyn RunObserver>,
    pub(crate) variables: BTreeMap<String, String>,
    pub(crate) secret_variables: BTreeSet<String>,
    /// Where `screenshot(label)` writes.
    pub(crate) screenshots: PathBuf,
    pub(crate) started: Instant,
    /// The mouse and the cursor pictures (from the `cursors/` folder beside the screen sets).
    pub(crate) mouse: Mutex<MouseState>,
    /// Every wait's timeout (and stall time) is multiplied by this.
    pub(crate) time_scale: f64,
    /// The harness's stall time for screen waits (before scaling); `None` is off.
    pub(crate) stall: Option<Duration>,
    /// Developer mode: when to pause and who answers (`None`: never pause).
    pub(crate) pause: Option<(PausePolicy, Arc<dyn Pauser>)>,
    failure: Mutex<Option<String>>,
    stop_reason: Mutex<Option<Stop>>,
    step: AtomicU64,
    shots: AtomicU64,
}

/// Everything a [`RunContext`] is made of; the optional parts default to "none" (no QEMU, no
/// serial port, no variables), a fresh cancellation token, t = 0 now, and the cursor pictures
/// in `<screens root>/cursors`.
pub struct RunContextBuilder {
    display: Arc<dyn Display>,
    screens: ScreenSet,
    observer: Arc<dyn RunObserver>,
    screenshots: PathBuf,
    started: Instant,
    qmp: Option<Arc<Qmp>>,
    serial: Option<Arc<SerialLog>>,
    variables: BTreeMap<String, String>,
    secret_variables: BTreeSet<String>,
    cancel: CancellationToken,
    cursors: Option<PathBuf>,
    time_scale: f64,
    stall: Option<Duration>,
    pause: Option<(PausePolicy, Arc<dyn Pauser>)>,
}

impl RunContextBuilder {
    /// The run's t = 0 (events count from here, like the video).
    pub fn started(mut self, started: Instant) -> Self {
        self.started = started;
        self
    }

    /// QEMU's monitor (snapshots, screendumps).
    pub fn qmp(mut self, qmp: Option<Arc<Qmp>>) -> Self {
        self.qmp = qmp;
        self
    }

    /// The guest's serial port (`wait_serial`).
    pub fn serial(mut self, serial: Option<Arc<SerialLog>>) -> Self {
        self.serial = serial;
        self
    }

    /// The harness variables (`var(name)`) and which of them are secret.
    pub fn variables(
        mut self,
        variables: BTreeMap<String, String>,
        secret: BTreeSet<String>,
    ) -> Self {
        self.variables = variables;
        self.secret_variables = secret;
        self
    }

    /// The token every blocking macro function watches; cancel it through
    /// [`RunContext::stop`] so the run knows why.
    pub fn cancel(mut self, cancel: CancellationToken) -> Self {
        self.cancel = cancel;
        self
    }

    /// Multiplies every wait's timeout and stall time by `scale` (`--time-scale`; default 1).
    pub fn time_scale(mut self, scale: f64) -> Self {
        self.time_scale = scale;
        self
    }

    /// Screen waits end failed when the screen does not change for `stall` (before the time
    /// scale); `None` (the default) is off. A wait's `#{stall: s}` overrides it.
    pub fn stall(mut self, stall: Option<Duration>) -> Self {
        self.stall = stall;
        self
    }

    /// Developer mode: pause where `policy` says and let `pauser` decide how to go on
    /// (`--pause-on-fail`, `--pause-at`). An inactive policy is the same as none.
    pub fn pause(mut self, policy: PausePolicy, pauser: Arc<dyn Pauser>) -> Self {
        self.pause = policy.is_active().then_some((policy, pauser));
        self
    }

    /// Looks for cursor pictures in `dir` instead of `<screens root>/cursors`.
    pub fn cursors_dir(mut self, dir: PathBuf) -> Self {
        self.cursors = Some(dir);
        self
    }

    /// Builds the context; call inside the tokio runtime (blocking functions use its handle).
    pub fn build(self) -> RunContext {
        let cursors = self.cursors.unwrap_or_else(|| {
            self.screens
                .dir()
                .parent()
                .map(|root| root.join("cursors"))
                .unwrap_or_else(|| PathBuf::from("cursors"))
        });
        RunContext {
            display: self.display,
            mouse: Mutex::new(MouseState::new(cursors)),
            time_scale: self.time_scale,
            stall: self.stall,
            pause: self.pause,
            screens: RwLock::new(Arc::new(self.screens)),
            qmp: self.qmp,
            serial: self.serial,
            handle: Handle::current(),
            cancel: self.cancel,
            observer: self.observer,
            variables: self.variables,
            secret_variables: self.secret_variables,
            screenshots: self.screenshots,
            started: self.started,
            failure: Mutex::new(None),
            stop_reason: Mutex::new(None),
            step: AtomicU64::new(0),
            shots: AtomicU64::new(0),
        }
    }
}

/// Why a run was stopped from outside the macro.
#[derive(Clone, Debug, PartialEq)]
pub enum Stop {
    /// The whole-run timeout passed (counts as a failure: the guest was too slow).
    Timeout(Duration),
    /// Ctrl-C or another signal (an error: nobody judged the guest).
    Interrupted(String),
    /// The guest's process ended under the macro (an error): how, and its last words.
    GuestDied(String),
}

impl Stop {
    /// What the macro's step says when it is stopped.
    pub fn reason(&self) -> String {
        match self {
            Stop::Timeout(d) => format!("the run's time ({:.0} s) is up", d.as_secs_f64()),
            Stop::Interrupted(why) => format!("interrupted: {why}"),
            Stop::GuestDied(why) => why.clone(),
        }
    }
}

impl RunContext {
    /// A context for `display`, checking against `screens`, reporting to `observer`, with
    /// `screenshot(label)` writing into `screenshots`; the rest is set on the builder.
    pub fn builder(
        display: Arc<dyn Display>,
        screens: ScreenSet,
        observer: Arc<dyn RunObserver>,
        screenshots: PathBuf,
    ) -> RunContextBuilder {
        RunContextBuilder {
            display,
            screens,
            observer,
            screenshots,
            started: Instant::now(),
            qmp: None,
            serial: None,
            variables: BTreeMap::new(),
            secret_variables: BTreeSet::new(),
            cancel: CancellationToken::new(),
            cursors: None,
            time_scale: 1.0,
            stall: None,
            pause: None,
        }
    }

    /// `builder(...).build()`: no QEMU, no serial port, no variables, t = 0 now.
    pub fn new(
        display: Arc<dyn Display>,
        screens: ScreenSet,
        observer: Arc<dyn RunObserver>,
        screenshots: PathBuf,
    ) -> RunContext {
        RunContext::builder(display, screens, observer, screenshots).build()
    }

    pub fn display(&self) -> &Arc<dyn Display> {
        &self.display
    }

    /// The screen set as it is now (a paused run may have reloaded it since).
    pub fn screens(&self) -> Arc<ScreenSet> {
        self.screens
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Reads the screen set's folder again (references saved while the run was paused).
    pub fn reload_screens(&self) -> Result<(), ScreenError> {
        let fresh = ScreenSet::load_dir(self.screens().dir())?;
        *self.screens.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(fresh);
        Ok(())
    }

    pub fn qmp(&self) -> Option<&Arc<Qmp>> {
        self.qmp.as_ref()
    }

    pub fn serial(&self) -> Option<&Arc<SerialLog>> {
        self.serial.as_ref()
    }

    pub fn cancel_token(&self) -> &CancellationToken {
        &self.cancel
    }

    pub fn observer(&self) -> &Arc<dyn RunObserver> {
        &self.observer
    }

    pub fn variables(&self) -> &BTreeMap<String, String> {
        &self.variables
    }

    pub fn secret_variables(&self) -> &BTreeSet<String> {
        &self.secret_variables
    }

    pub fn screenshots(&self) -> &PathBuf {
        &self.screenshots
    }

    /// What every wait's timeout is multiplied by.
    pub fn time_scale_factor(&self) -> f64 {
        self.time_scale
    }

    /// A wait's timeout argument `value`, times the time scale.
    pub(crate) fn scaled_timeout(
        &self,
        value: &rhai::Dynamic,
    ) -> super::convert::RhaiResult<Duration> {
        Ok(super::convert::seconds(value, "timeout")?.mul_f64(self.time_scale))
    }

    /// The stall time of a screen wait with `options`, times the time scale; `None` is off.
    pub(crate) fn stall_for(&self, options: &super::stall::WaitOptions) -> Option<Duration> {
        options
            .stall_or(self.stall)
            .map(|d| d.mul_f64(self.time_scale))
    }

    /// The run's t = 0.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Seconds since the run started.
    pub fn t(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Tells every observer that `kind` happened now.
    pub fn emit(&self, kind: EventKind) {
        self.emit_at(self.t(), kind);
    }

    /// Tells every observer that `kind` happened at `t` (seconds since the run started).
    pub fn emit_at(&self, t: f64, kind: EventKind) {
        self.observer.event(&kind.at(t));
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
