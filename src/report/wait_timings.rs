//! How long each wait of a run took against its timeout, for result.json's `waits`: the data a
//! time scale (`--time-scale`, `[timeouts] time_scale`) is chosen from. Gathered from what a
//! run already reports: a wait's [`Progress`] (action, what, elapsed, timeout) and its closing
//! event's `duration_s`. Waits with no time to wait (`check_screen(name)`) are left out.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::{Event, Progress, RunObserver};

/// One wait of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WaitTiming {
    /// The macro step.
    pub step: u64,
    /// The function: "wait_screen", "wait_serial", ...
    pub action: String,
    /// What was awaited: screen names (`a|b`), `/pattern/`, "2.0s still", ...
    pub what: String,
    /// How long it waited (for a wait the run stopped, until its last progress report).
    pub elapsed_s: f64,
    /// Its timeout, the time scale applied.
    pub timeout_s: f64,
}

impl WaitTiming {
    /// The share of its timeout it used (1 = all of it).
    pub fn used(&self) -> f64 {
        if self.timeout_s > 0.0 {
            self.elapsed_s / self.timeout_s
        } else {
            0.0
        }
    }
}

/// Follows a run's waits (see the module docs).
#[derive(Default)]
pub struct WaitTimings(Mutex<BTreeMap<u64, WaitTiming>>);

impl WaitTimings {
    pub fn new() -> WaitTimings {
        WaitTimings::default()
    }

    /// Every wait so far, in step order.
    pub fn waits(&self) -> Vec<WaitTiming> {
        let waits = self.0.lock().unwrap_or_else(|e| e.into_inner());
        waits.values().cloned().collect()
    }
}

impl RunObserver for WaitTimings {
    fn progress(&self, p: &Progress) {
        if p.timeout_s <= 0.0 {
            return;
        }
        let mut waits = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let wait = waits.entry(p.step).or_insert_with(|| WaitTiming {
            step: p.step,
            action: p.action.clone(),
            what: p.awaiting.clone(),
            elapsed_s: 0.0,
            timeout_s: p.timeout_s,
        });
        wait.elapsed_s = wait.elapsed_s.max(p.elapsed_s);
    }

    fn event(&self, event: &Event) {
        let step = event.detail.get("step").and_then(|v| v.as_u64());
        let duration = event.detail.get("duration_s").and_then(|v| v.as_f64());
        if let (Some(step), Some(duration)) = (step, duration) {
            let mut waits = self.0.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(wait) = waits.get_mut(&step) {
                wait.elapsed_s = duration;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{EventKind, ScreenWait};

    fn progress(step: u64, elapsed_s: f64, timeout_s: f64) -> Progress {
        Progress {
            step,
            action: "wait_screen".into(),
            awaiting: "language|shell".into(),
            best: None,
            elapsed_s,
            timeout_s,
        }
    }

    #[test]
    fn a_wait_takes_its_closing_duration_and_unended_ones_their_last_progress() {
        let t = WaitTimings::new();
        t.progress(&progress(1, 0.0, 30.0));
        t.progress(&progress(1, 0.5, 30.0));
        t.progress(&progress(2, 0.0, 0.0));
        let done = EventKind::WaitScreen(ScreenWait {
            step: 1,
            screens: vec!["language".into()],
            matched: Some("language".into()),
            similarity: 1.0,
            best: None,
            duration_s: 0.75,
        });
        t.event(&done.at(1.0));
        t.progress(&progress(3, 4.5, 9.0));
        let waits = t.waits();
        assert_eq!(waits.len(), 2, "{waits:?}");
        assert_eq!((waits[0].step, waits[0].elapsed_s), (1, 0.75));
        assert_eq!(waits[0].what, "language|shell");
        assert_eq!((waits[1].step, waits[1].elapsed_s), (3, 4.5));
        assert_eq!(waits[1].used(), 0.5);
    }
}
