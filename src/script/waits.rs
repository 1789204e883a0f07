//! The waiting macro functions: `wait_screen` / `check_screen` (and the screen wait that
//! `click_screen` shares), `wait_still`, `wait_change`, `wait_serial`.
//!
//! Each is a step: it gets a step number, reports progress while it waits, and ends with one
//! [`crate::report::Event`]. Waits poll the display at most every half second so that the
//! cancellation token (Ctrl-C, whole-run timeout) is honoured promptly even though Rhai's own
//! progress callback cannot run while a host function blocks.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rhai::{Dynamic, EvalAltResult};

use super::context::RunContext;
use super::convert::{RhaiResult, error, screen_names, seconds};
use super::pause::{Paused, Resume};
use super::stall::{WaitOptions, pixels_changed};
use super::still::StillOptions;
use crate::report::{EventKind, Progress, ScreenCheck, ScreenWait, Stillness};
use crate::screen::{MatchResult, Reference, Watcher};

/// How a screen wait ended.
pub(crate) enum Awaited {
    /// `name` matched; `result` is its check (where its regions were found).
    Matched { name: String, result: MatchResult },
    /// The time was up: the best similarity of each awaited screen.
    TimedOut { best: BTreeMap<String, f64> },
    /// The screen did not change at all for `still` (the guest hangs): the best similarities.
    Stalled {
        best: BTreeMap<String, f64>,
        still: Duration,
    },
}

impl Awaited {
    /// Why a wait for `names` within `timeout` did not match (None if it did).
    pub(crate) fn failure(&self, names: &[String], timeout: Duration) -> Option<String> {
        let (best, why) = match self {
            Awaited::Matched { .. } => return None,
            Awaited::TimedOut { best } => (
                best,
                format!(
                    "screen {} did not appear within {:.0} s",
                    names.join(" | "),
                    timeout.as_secs_f64()
                ),
            ),
            Awaited::Stalled { best, still } => (
                best,
                format!(
                    "screen unchanged for {:.0} s while waiting for {} (the guest hangs?)",
                    still.as_secs_f64(),
                    names.join(" | ")
                ),
            ),
        };
        let seen: Vec<String> = best.iter().map(|(n, s)| format!("{n} {s:.3}")).collect();
        Some(format!("{why} (best similarity: {})", seen.join(", ")))
    }
}

/// The event of a `wait_screen` (`must`) or `check_screen`.
fn screen_wait(must: bool, wait: ScreenWait) -> EventKind {
    if must {
        EventKind::WaitScreen(wait)
    } else {
        EventKind::CheckScreen(wait)
    }
}

/// How often a wait wakes up to check for cancellation and report progress.
const TICK: Duration = Duration::from_millis(500);

impl RunContext {
    /// Err if the run was stopped (Ctrl-C, whole-run timeout).
    pub(crate) fn check_cancel(&self) -> RhaiResult<()> {
        if !self.cancel.is_cancelled() {
            return Ok(());
        }
        Err(error(
            self.stop_reason()
                .map_or_else(|| "cancelled".into(), |stop| stop.reason()),
        ))
    }

    fn fail_with(&self, reason: String) -> Box<EvalAltResult> {
        self.set_failure(&reason);
        error(reason)
    }

    /// `wait_screen` / `check_screen`: waits for any of `names`; the first that matches is
    /// the result. On a timeout `wait_screen` (`must`) fails the run, `check_screen` returns "".
    pub(crate) fn wait_screens(
        &self,
        action: &str,
        names: Dynamic,
        timeout: &Dynamic,
        must: bool,
        options: &WaitOptions,
    ) -> RhaiResult<String> {
        let step = self.next_step();
        let names = screen_names(names)?;
        let timeout = self.scaled_timeout(timeout)?;
        let start = Instant::now();
        let (awaited, _) = self.await_named(
            step,
            action,
            &names,
            "",
            timeout,
            self.stall_for(options),
            must,
        )?;
        let failure = awaited.failure(&names, timeout);
        match awaited {
            Awaited::Matched { name, result } => {
                self.emit(screen_wait(
                    must,
                    ScreenWait {
                        step,
                        screens: names.clone(),
                        matched: Some(name.clone()),
                        similarity: result.similarity,
                        best: None,
                        duration_s: start.elapsed().as_secs_f64(),
                    },
                ));
                Ok(name)
            }
            Awaited::TimedOut { best } | Awaited::Stalled { best, .. } => {
                let top = best.values().copied().fold(0.0, f64::max);
                self.emit(screen_wait(
                    must,
                    ScreenWait {
                        step,
                        screens: names.clone(),
                        matched: None,
                        similarity: top,
                        best: Some(best.clone()),
                        duration_s: start.elapsed().as_secs_f64(),
                    },
                ));
                if !must {
                    return Ok(String::new());
                }
                Err(self.fail_with(failure.unwrap_or_default()))
            }
        }
    }

    /// The screen wait with developer mode around it: pauses before a chosen step or screen,
    /// and — for a wait that must match (`must`) — pauses on a failure instead of failing.
    /// A Retry reloads the references from disk and waits again with the whole timeout, so a
    /// reference saved on the authoring page is what the retry matches against. Returns the
    /// references the last wait used (`call` prefixes an unknown-screen error).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn await_named(
        &self,
        step: u64,
        action: &str,
        names: &[String],
        call: &str,
        timeout: Duration,
        stall: Option<Duration>,
        must: bool,
    ) -> RhaiResult<(Awaited, Vec<Arc<Reference>>)> {
        let pause = |failure: Option<String>| Paused {
            step,
            action: action.to_string(),
            screens: names.to_vec(),
            failure,
        };
        if self
            .pause
            .as_ref()
            .is_some_and(|(policy, _)| policy.pauses_at(step, names))
        {
            self.ask(&pause(None))?;
        }
        let on_fail = self.pause.as_ref().is_some_and(|(p, _)| p.on_fail);
        loop {
            // A reference not made yet is the other thing developer mode is for: add it.
            let refs = match self.references(names, call) {
                Err(e) if must && on_fail => {
                    if self.ask(&pause(Some(e.to_string())))? == Resume::Retry {
                        continue;
                    }
                    return Err(e);
                }
                refs => refs?,
            };
            let awaited = self.await_screens(step, action, refs.clone(), timeout, stall)?;
            if must
                && on_fail
                && let Some(reason) = awaited.failure(names, timeout)
                && self.ask(&pause(Some(reason)))? == Resume::Retry
            {
                continue;
            }
            return Ok((awaited, refs));
        }
    }

    /// Pauses the run and blocks until the pauser answers; a Retry reloads the references.
    /// Both ends are in the event log, so a reader of a developer-mode run sees the pause.
    fn ask(&self, paused: &Paused) -> RhaiResult<Resume> {
        let Some((_, pauser)) = &self.pause else {
            return Ok(Resume::GiveUp);
        };
        self.emit(EventKind::Log {
            step: paused.step,
            message: format!("paused: {}", paused.describe()),
        });
        let answer = pauser.pause(paused, &self.cancel);
        self.check_cancel()?;
        let message = match answer {
            Resume::Retry => {
                self.reload_screens().map_err(|e| {
                    self.fail_with(format!("reloading the references after the pause: {e}"))
                })?;
                "resumed: retrying with the references reloaded"
            }
            Resume::GiveUp => "resumed: given up",
        };
        self.emit(EventKind::Log {
            step: paused.step,
            message: message.into(),
        });
        Ok(answer)
    }

    /// The reference screens called `names`, or an error (prefixed with `call`) listing the
    /// screen set's names.
    pub(crate) fn references(
        &self,
        names: &[String],
        call: &str,
    ) -> RhaiResult<Vec<Arc<Reference>>> {
        let mut refs = Vec::new();
        let screens = self.screens();
        for n in names {
            let r = screens.get(n).ok_or_else(|| {
                let known: Vec<&str> = screens.names().collect();
                error(format!(
                    "{call}no screen {n:?} in {} (it has: {})",
                    screens.dir().display(),
                    known.join(", ")
                ))
            })?;
            refs.push(r.clone());
        }
        Ok(refs)
    }

    /// The incremental screen wait every screen function shares (`wait_screen`,
    /// `check_screen`, `click_screen`): a [`Watcher`] re-checks only what changed, with the
    /// cursor left out; every check is reported ([`ScreenCheck`]: the evidence a failed wait
    /// leaves under `forensics/`) and the progress line shows the best similarity so far.
    /// With a `stall` time, a screen whose pixels do not change for that long ends the wait.
    pub(crate) fn await_screens(
        &self,
        step: u64,
        action: &str,
        refs: Vec<Arc<Reference>>,
        timeout: Duration,
        stall: Option<Duration>,
    ) -> RhaiResult<Awaited> {
        let names: Vec<String> = refs.iter().map(|r| r.name().to_string()).collect();
        let mut watcher = Watcher::new(refs);
        let mut best: BTreeMap<String, f64> = names.iter().map(|n| (n.clone(), 0.0)).collect();
        let start = Instant::now();
        let mut frames = self.display.subscribe();
        let mut frame = Some(
            self.display
                .latest()
                .map_err(|e| error(format!("display: {e}")))?,
        );
        let mut fresh = true;
        // The screen as it last changed, and when (the wait's start counts as a change).
        let mut still_image = frame.as_ref().map(|f| f.image.clone());
        let mut changed_at = Instant::now();
        loop {
            if let Some(f) = frame.take() {
                if still_image
                    .as_ref()
                    .is_none_or(|before| pixels_changed(before, &f))
                {
                    still_image = Some(f.image.clone());
                    changed_at = Instant::now();
                }
                self.observer.frame(&f);
                // A cursor drawn into the framebuffer must not spoil the match.
                watcher.set_ignore(self.cursor_ignore(&f, fresh));
                fresh = false;
                let mut results = watcher.update(&f);
                // A match is acted on as soon as it is decided; only when nothing matched
                // are the failing regions scored in full, for the best similarities and the
                // evidence of the wait.
                if !results.iter().any(|(_, m)| m.matched) {
                    results = watcher.complete(&f.image);
                }
                for (name, m) in results {
                    self.observer.screen_checked(&ScreenCheck {
                        step,
                        screen: &name,
                        result: &m,
                        frame: &f,
                    });
                    let b = best.entry(name.clone()).or_insert(0.0);
                    *b = b.max(m.similarity);
                    if m.matched {
                        return Ok(Awaited::Matched { name, result: m });
                    }
                }
            }
            self.check_cancel()?;
            let elapsed = start.elapsed();
            let top = best
                .iter()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(n, s)| (n.clone(), *s));
            self.observer.progress(&Progress {
                step,
                action: action.into(),
                awaiting: names.join("|"),
                best: top,
                elapsed_s: elapsed.as_secs_f64(),
                timeout_s: timeout.as_secs_f64(),
            });
            if elapsed >= timeout {
                return Ok(Awaited::TimedOut { best });
            }
            if let Some(still) = stall
                && changed_at.elapsed() >= still
            {
                return Ok(Awaited::Stalled { best, still });
            }
            frame = frames
                .next((timeout - elapsed).min(TICK))
                .map_err(|e| error(format!("display: {e}")))?;
        }
    }

    pub(crate) fn wait_still(
        &self,
        still: &Dynamic,
        timeout: &Dynamic,
        options: &StillOptions,
    ) -> RhaiResult<()> {
        let step = self.next_step();
        let still = seconds(still, "still time")?;
        let timeout = self.scaled_timeout(timeout)?;
        let start = Instant::now();
        let mut quiet_since = Instant::now();
        let mut frames = self.display.subscribe();
        // What the screen looked like when it went quiet: small changes are measured against
        // it, so a cursor blinking on and off stays small while a slow drift adds up.
        let mut quiet_image = self
            .display
            .latest()
            .map_err(|e| error(format!("display: {e}")))?
            .image
            .clone();
        loop {
            self.check_cancel()?;
            if quiet_since.elapsed() >= still {
                self.emit(EventKind::WaitStill {
                    step,
                    outcome: Stillness::Still {
                        still_s: still.as_secs_f64(),
                        ignored: options.ignore.len() as u64,
                        min_change: options.min_change,
                    },
                    duration_s: start.elapsed().as_secs_f64(),
                });
                return Ok(());
            }
            let elapsed = start.elapsed();
            if elapsed >= timeout {
                self.emit(EventKind::WaitStill {
                    step,
                    outcome: Stillness::NotStill { still: false },
                    duration_s: elapsed.as_secs_f64(),
                });
                return Err(self.fail_with(format!(
                    "the screen did not stay still for {:.1} s within {:.0} s",
                    still.as_secs_f64(),
                    timeout.as_secs_f64()
                )));
            }
            self.progress(
                step,
                "wait_still",
                format!("{:.1}s still", still.as_secs_f64()),
                elapsed,
                timeout,
            );
            let wait = (timeout - elapsed)
                .min(still.saturating_sub(quiet_since.elapsed()))
                .min(TICK);
            if let Some(f) = frames
                .next(wait.max(Duration::from_millis(10)))
                .map_err(|e| error(format!("display: {e}")))?
                && options.counts(&f, &quiet_image)
            {
                self.observer.frame(&f);
                quiet_since = Instant::now();
                quiet_image = f.image.clone();
            }
        }
    }

    pub(crate) fn wait_change(&self, timeout: &Dynamic) -> RhaiResult<()> {
        let step = self.next_step();
        let timeout = self.scaled_timeout(timeout)?;
        let start = Instant::now();
        let mut frames = self.display.subscribe();
        loop {
            self.check_cancel()?;
            let elapsed = start.elapsed();
            if elapsed >= timeout {
                self.emit(EventKind::WaitChange {
                    step,
                    changed: false,
                    duration_s: elapsed.as_secs_f64(),
                });
                return Err(self.fail_with(format!(
                    "the screen did not change within {:.0} s",
                    timeout.as_secs_f64()
                )));
            }
            self.progress(step, "wait_change", "a change".into(), elapsed, timeout);
            if let Some(f) = frames
                .next((timeout - elapsed).min(TICK))
                .map_err(|e| error(format!("display: {e}")))?
                && f.damage.iter().any(|d| !d.is_empty())
            {
                self.observer.frame(&f);
                self.emit(EventKind::WaitChange {
                    step,
                    changed: true,
                    duration_s: start.elapsed().as_secs_f64(),
                });
                return Ok(());
            }
        }
    }

    fn progress(
        &self,
        step: u64,
        action: &str,
        awaiting: String,
        elapsed: Duration,
        timeout: Duration,
    ) {
        self.observer.progress(&Progress {
            step,
            action: action.into(),
            awaiting,
            best: None,
            elapsed_s: elapsed.as_secs_f64(),
            timeout_s: timeout.as_secs_f64(),
        });
    }

    pub(crate) fn wait_serial(&self, pattern: &str, timeout: &Dynamic) -> RhaiResult<String> {
        let step = self.next_step();
        let timeout = self.scaled_timeout(timeout)?;
        let serial = self.serial.as_ref().ok_or_else(|| {
            error("wait_serial: this run has no serial port (attached with --vnc)")
        })?;
        let start = Instant::now();
        self.progress(
            step,
            "wait_serial",
            format!("/{pattern}/"),
            Duration::ZERO,
            timeout,
        );
        let found = serial.wait_for(pattern, timeout, &self.cancel);
        let (t, duration_s) = (self.t(), start.elapsed().as_secs_f64());
        let event = |matched| EventKind::WaitSerial {
            step,
            pattern: pattern.to_string(),
            matched,
            duration_s,
        };
        match found {
            Ok(text) => {
                self.emit_at(t, event(Some(text.clone())));
                Ok(text)
            }
            Err(crate::guest::GuestError::Timeout { .. }) => {
                self.emit_at(t, event(None));
                Err(self.fail_with(format!(
                    "serial output /{pattern}/ did not appear within {:.0} s",
                    timeout.as_secs_f64()
                )))
            }
            Err(crate::guest::GuestError::Cancelled) => {
                self.check_cancel()?;
                Err(error("cancelled"))
            }
            Err(e) => Err(error(e.to_string())),
        }
    }
}
