//! References that maintain themselves: which references of a screen set no run matched
//! ([`unused`]), and new pictures for references a run just missed ([`suggest`]).
//!
//! Read-only over results (like `site`), but it may write references into `screens/` when asked
//! (`--apply`). It reads runs through `report` (result.json, events.jsonl, forensics),
//! matrix nights through `matrix::record` (cell.json), and references through `screen`; it is
//! imported by nothing in the library (docs/design.md).

pub mod runs;
pub mod suggest;
pub mod unused;

pub use runs::{RunFolder, find_runs};
pub use suggest::{
    DEFAULT_MIN_SIMILARITY, SuggestOptions, SuggestReport, Suggestion, UnsuggestedWait, suggest,
};
pub use unused::{LastMatch, ReferenceUse, UsageReport, usage};

use std::path::PathBuf;

/// What can go wrong while reading results or updating references.
#[derive(Debug, thiserror::Error)]
pub enum RefsError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is not a results folder: neither it nor a folder below it is a run (result.json or events.jsonl) or a matrix cell (cell.json)"
    )]
    NotResults { path: PathBuf },
    #[error(
        "the run {run} does not say which screen set it used (its result.json has no \"screens\"); name the set with --screens DIR"
    )]
    NoScreenSet { run: PathBuf },
    #[error("the screen set {dir}: {source} (name the set with --screens DIR if it moved)")]
    Screens {
        dir: PathBuf,
        source: Box<crate::screen::ScreenError>,
    },
    #[error("{0}")]
    Screen(#[from] crate::screen::ScreenError),
    #[error("{0}")]
    Report(#[from] crate::report::ReportError),
    #[error("{0}")]
    Record(#[from] crate::record::RecordError),
    #[error("{0}")]
    Matrix(#[from] crate::matrix::MatrixError),
    #[error(
        "cannot update {reference}: the run's frame is {frame_w}x{frame_h} but {against} is {w}x{h}; capture the screen again at the new size instead"
    )]
    SizeMismatch {
        reference: PathBuf,
        against: PathBuf,
        frame_w: u32,
        frame_h: u32,
        w: u32,
        h: u32,
    },
    #[error("cannot update {path}: {why}")]
    CannotUpdate { path: PathBuf, why: String },
    #[error("image {path}: {source}")]
    Image {
        path: PathBuf,
        source: image::ImageError,
    },
}

impl RefsError {
    pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> RefsError + '_ {
        move |source| RefsError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
