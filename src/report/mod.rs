//! Results of a run: the results folder (result.json, events.jsonl, log.txt, final.png), the
//! live progress line, CI formats, the failure evidence ([`forensics`], gathered by
//! [`ScreenWaits`]), the captions of the steps ([`StepCaptions`]), `report.html` ([`html`]) and
//! `replay --find` ([`find`]), and the [`RunObserver`] hook through which everything that
//! follows a run (including the video recorder) receives its events and frames.

pub mod ci;
pub mod event_kind;
pub mod event_log;
pub mod find;
pub mod forensics;
pub mod html;
pub mod observer;
pub mod progress;
pub mod results;
pub mod screen_waits;
pub mod step_captions;
pub mod wait_timings;

pub use event_kind::{Click, EventKind, MouseMove, ScreenWait, Stillness};
pub use event_log::EventLog;
pub use observer::{Event, Observers, Progress, RunObserver, ScreenCheck, redact};
pub use progress::ProgressLine;
pub use results::{ResultsDir, RunResult, Status, read_result};
pub use screen_waits::ScreenWaits;
pub use step_captions::StepCaptions;
pub use wait_timings::{WaitTiming, WaitTimings};

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the results folder {path} is not empty (a run writes into an empty folder)")]
    NotEmpty { path: PathBuf },
    #[error("JSON: {0}")]
    Json(String),
    #[error(
        "events.jsonl: the event {action:?} at t = {t} s: {message} (docs/recording.md lists every action and its fields)"
    )]
    BadEvent {
        action: String,
        t: f64,
        message: String,
    },
    #[error("writing image {path}: {message}")]
    Image { path: PathBuf, message: String },
}

impl ReportError {
    pub fn io(path: &Path, source: std::io::Error) -> ReportError {
        ReportError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
