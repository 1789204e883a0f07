//! The one place where anything that wants to follow a run attaches: every step's [`Event`],
//! every frame the macro looks at, the progress of a wait, and the secrets to redact.
//!
//! Why a trait rather than files written directly by the script engine: the results folder
//! ([`super::EventLog`]), the terminal progress line ([`super::ProgressLine`]) and the video
//! recorder all need the same stream, and the run must not know which of them are present.
//! `vncpilot run` builds an [`Observers`] list and hands it to the engine.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::rfb::Frame;
use crate::screen::MatchResult;

/// One step of a run, as one line of `events.jsonl`. Built from an [`super::EventKind`]
/// ([`super::EventKind::at`]) and read back with [`Event::kind`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Seconds since the run started.
    pub t: f64,
    /// The macro function ("wait_screen", "key", ...) or a run phase ("start", "end").
    pub action: String,
    /// Everything else: "screens", "matched", "similarity", "duration_s", "text", ...
    #[serde(flatten)]
    pub detail: Map<String, Value>,
}

impl Event {
    pub fn new(t: f64, action: &str) -> Event {
        Event {
            t,
            action: action.to_string(),
            detail: Map::new(),
        }
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Event {
        self.detail.insert(key.to_string(), value.into());
        self
    }

    /// A one-line human rendering, for log.txt and plain terminal output.
    pub fn human(&self) -> String {
        let mut s = format!("[{:8.1}s] {}", self.t, self.action);
        for (k, v) in &self.detail {
            match v {
                Value::String(text) => s.push_str(&format!(" {k}={text:?}")),
                Value::Number(n) if n.is_f64() => {
                    s.push_str(&format!(" {k}={:.3}", n.as_f64().unwrap_or(0.0)))
                }
                other => s.push_str(&format!(" {k}={other}")),
            }
        }
        s
    }
}

/// Where a long wait stands, for live displays (not written to events.jsonl).
#[derive(Clone, Debug)]
pub struct Progress {
    /// Number of the macro step (one per host function call).
    pub step: u64,
    pub action: String,
    /// What is awaited: screen names, a serial pattern, ...
    pub awaiting: String,
    /// The best similarity seen so far, when waiting for screens.
    pub best: Option<(String, f64)>,
    pub elapsed_s: f64,
    pub timeout_s: f64,
}

/// One check of an awaited screen against one frame, while a macro waits for screens.
///
/// Why it exists beside [`Progress`]: the failure forensics need the best match of each awaited
/// screen, *which frame* it was and its per-region results, and only the waiting loop has them.
pub struct ScreenCheck<'a> {
    /// Number of the macro step that waits.
    pub step: u64,
    /// The screen checked (one of the awaited names).
    pub screen: &'a str,
    pub result: &'a MatchResult,
    /// The frame it was checked against (its `time` says when it appeared).
    pub frame: &'a Arc<Frame>,
}

/// Something following a run. All methods have empty defaults; implement what you need.
/// Methods are called from the macro's thread and must not block for long.
pub trait RunObserver: Send + Sync {
    /// A step finished (or the run started/ended).
    fn event(&self, _event: &Event) {}
    /// A frame the macro looked at (every frame while it waits for screens).
    fn frame(&self, _frame: &Arc<Frame>) {}
    /// A wait is under way.
    fn progress(&self, _progress: &Progress) {}
    /// An awaited screen was checked against a frame (every screen, every frame of the wait).
    fn screen_checked(&self, _check: &ScreenCheck) {}
    /// Text that must never be shown (typed secrets, secret variables).
    fn secret(&self, _secret: &str) {}
}

/// Fans out to several observers.
#[derive(Clone, Default)]
pub struct Observers(Vec<Arc<dyn RunObserver>>);

impl Observers {
    pub fn new() -> Observers {
        Observers(Vec::new())
    }

    pub fn add(&mut self, observer: Arc<dyn RunObserver>) {
        self.0.push(observer);
    }
}

impl RunObserver for Observers {
    fn event(&self, event: &Event) {
        self.0.iter().for_each(|o| o.event(event));
    }
    fn frame(&self, frame: &Arc<Frame>) {
        self.0.iter().for_each(|o| o.frame(frame));
    }
    fn progress(&self, progress: &Progress) {
        self.0.iter().for_each(|o| o.progress(progress));
    }
    fn screen_checked(&self, check: &ScreenCheck) {
        self.0.iter().for_each(|o| o.screen_checked(check));
    }
    fn secret(&self, secret: &str) {
        self.0.iter().for_each(|o| o.secret(secret));
    }
}

/// Replaces every registered secret in `text` with `<secret>`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        out = out.replace(s.as_str(), "<secret>");
    }
    out
}
