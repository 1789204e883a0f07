//! Results of a run: the results folder (result.json, events.jsonl, log.txt, final.png), the
//! live progress line, CI formats, and the [`RunObserver`] hook through which everything that
//! follows a run (including the video recorder) receives its events and frames.

pub mod ci;
pub mod event_log;
pub mod observer;
pub mod progress;
pub mod results;

pub use event_log::EventLog;
pub use observer::{Event, Observers, Progress, RunObserver, ScreenCheck, redact};
pub use progress::ProgressLine;
pub use results::{ResultsDir, RunResult, Status, read_result};

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("JSON: {0}")]
    Json(String),
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
