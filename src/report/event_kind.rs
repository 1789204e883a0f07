//! The vocabulary of a run's events: one [`EventKind`] variant per `action` of `events.jsonl`,
//! with its fields typed.
//!
//! Why a type and not string keys: the producers (the macro functions in `script`, the run's
//! phases in `run`) and the consumers (the event log, the step captions, the screen-wait
//! evidence) must agree on every field's name and type; a typo on either side compiled and
//! silently read nothing. The line on disk is unchanged: an [`EventKind`] becomes today's
//! [`Event`] (`t`, `action`, the other fields in key order) with [`EventKind::at`], and
//! [`Event::kind`] reads it back. docs/recording.md lists the kinds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ReportError;
use super::observer::Event;
use super::results::Status;

/// What one event says, by its `action`. Field names are the JSON keys.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum EventKind {
    /// The run began (t = 0). `attach` is the `--vnc` address, `null` when the run launched QEMU.
    Start {
        harness: String,
        attach: Option<String>,
    },
    /// The guest's screen is reachable; the macro starts.
    GuestReady,
    /// The run's verdict (`reason` redacted).
    End { status: Status, reason: String },
    /// `key(combo)`.
    Key { step: u64, key: String },
    /// `type(text)`.
    Type {
        step: u64,
        text: String,
        duration_s: f64,
    },
    /// `type_secret(text)`: `text` is always `"<secret>"`.
    TypeSecret {
        step: u64,
        text: String,
        duration_s: f64,
    },
    /// `screenshot(label)`: `file` is relative to the results folder.
    Screenshot {
        step: u64,
        label: String,
        file: String,
    },
    /// `snapshot(name)`.
    Snapshot {
        step: u64,
        name: String,
        duration_s: f64,
    },
    /// `revert(name)`.
    Revert {
        step: u64,
        name: String,
        duration_s: f64,
    },
    /// `log(message)`.
    Log { step: u64, message: String },
    /// `fail(message)` (no step field).
    Fail { message: String },
    /// Rhai's `print(...)`.
    Print { message: String },
    /// Rhai's `debug(...)`, with the macro's line.
    Debug { message: String, line: u64 },
    /// `wait_screen(...)`.
    WaitScreen(ScreenWait),
    /// `check_screen(...)`.
    CheckScreen(ScreenWait),
    /// `click_screen(name)`: on a match, where it clicked (`x`, `y`); on a timeout, `best`.
    ClickScreen {
        step: u64,
        screen: String,
        matched: Option<String>,
        similarity: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        best: Option<BTreeMap<String, f64>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        x: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        y: Option<u32>,
        duration_s: f64,
    },
    /// `wait_still(...)`.
    WaitStill {
        step: u64,
        #[serde(flatten)]
        outcome: Stillness,
        duration_s: f64,
    },
    /// `wait_change(timeout)`.
    WaitChange {
        step: u64,
        changed: bool,
        duration_s: f64,
    },
    /// `wait_serial(pattern)`: `matched` is the matching text, `null` on a timeout.
    WaitSerial {
        step: u64,
        pattern: String,
        matched: Option<String>,
        duration_s: f64,
    },
    /// One pointer move of a mouse function (`call` says which).
    MouseMove(MouseMove),
    /// A mouse function failed; `screenshot` is the screen it left, when there is one.
    MouseError {
        step: u64,
        call: String,
        error: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        screenshot: Option<String>,
    },
    /// `click(...)`.
    Click(Click),
    /// `double_click(...)`.
    DoubleClick(Click),
    /// `drag(x1, y1, x2, y2)`.
    Drag {
        step: u64,
        from: (u32, u32),
        to: (u32, u32),
    },
    /// `mouse_hide()`.
    MouseHide { step: u64 },
}

/// How a `wait_screen` / `check_screen` ended: `matched` is the screen that appeared (`null` on
/// a timeout), `similarity` its score (on a timeout the best of all), `best` per screen on a
/// timeout only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScreenWait {
    pub step: u64,
    pub screens: Vec<String>,
    pub matched: Option<String>,
    pub similarity: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best: Option<BTreeMap<String, f64>>,
    pub duration_s: f64,
}

/// How a `wait_still` ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Stillness {
    /// The screen stayed still for `still_s` seconds (`ignored` rectangles left out, changes
    /// under `min_change` pixels not counted).
    Still {
        still_s: f64,
        ignored: u64,
        min_change: u64,
    },
    /// The time was up first (`still` is `false`).
    NotStill { still: bool },
}

/// One move of the pointer (`pointer::MoveReport` and the call that made it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MouseMove {
    pub step: u64,
    pub call: String,
    pub from: (u32, u32),
    pub target: (u32, u32),
    pub at: (u32, u32),
    pub distance: f64,
    pub rounds: u32,
    /// `null` when an absolute move could not see the cursor to check.
    pub error_px: Option<u32>,
    /// "absolute" or "relative".
    pub mode: String,
    pub probe_moves: u32,
    pub duration_s: f64,
}

/// A click at (`x`, `y`) with `button` ("left", "right", "middle"), `clicks` times.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Click {
    pub step: u64,
    pub x: u32,
    pub y: u32,
    pub button: String,
    pub clicks: u32,
}

impl EventKind {
    /// Every `action` of the vocabulary, one per variant, in declaration order.
    pub const ACTIONS: [&'static str; 25] = [
        "start",
        "guest_ready",
        "end",
        "key",
        "type",
        "type_secret",
        "screenshot",
        "snapshot",
        "revert",
        "log",
        "fail",
        "print",
        "debug",
        "wait_screen",
        "check_screen",
        "click_screen",
        "wait_still",
        "wait_change",
        "wait_serial",
        "mouse_move",
        "mouse_error",
        "click",
        "double_click",
        "drag",
        "mouse_hide",
    ];

    /// This event at `t` seconds since the run started: one line of `events.jsonl`.
    pub fn at(&self, t: f64) -> Event {
        let mut event = Event::new(t, "");
        // Serialising these types cannot fail: every key is a string, every value plain data.
        if let Ok(Value::Object(mut map)) = serde_json::to_value(self) {
            if let Some(Value::String(action)) = map.remove("action") {
                event.action = action;
            }
            event.detail = map;
        }
        event
    }

    /// The step number, for the kinds that are a macro step.
    pub fn step(&self) -> Option<u64> {
        use EventKind::*;
        match self {
            Key { step, .. }
            | Type { step, .. }
            | TypeSecret { step, .. }
            | Screenshot { step, .. }
            | Snapshot { step, .. }
            | Revert { step, .. }
            | Log { step, .. }
            | ClickScreen { step, .. }
            | WaitStill { step, .. }
            | WaitChange { step, .. }
            | WaitSerial { step, .. }
            | MouseError { step, .. }
            | Drag { step, .. }
            | MouseHide { step } => Some(*step),
            WaitScreen(w) | CheckScreen(w) => Some(w.step),
            MouseMove(m) => Some(m.step),
            Click(c) | DoubleClick(c) => Some(c.step),
            Start { .. } | GuestReady | End { .. } | Fail { .. } | Print { .. } | Debug { .. } => {
                None
            }
        }
    }
}

impl Event {
    /// What this event says, typed; an error names the action and the field that does not fit
    /// (an action this version does not know, a missing field, a field of the wrong type).
    pub fn kind(&self) -> Result<EventKind, ReportError> {
        let mut map = self.detail.clone();
        map.insert("action".into(), Value::String(self.action.clone()));
        serde_json::from_value(Value::Object(map)).map_err(|e| ReportError::BadEvent {
            action: self.action.clone(),
            t: self.t,
            message: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests;
