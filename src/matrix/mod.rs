//! The nightly matrix: many harnesses × variants (firmware, architecture, display, memory, …),
//! each cell run by the run engine into its own results folder, in parallel, with retries,
//! known-issue labels and deterministic shards for spreading a night over many hosts.
//!
//! The data flow: [`file`] reads the matrix file into [`Cell`]s, [`glob`] and [`shard`] select
//! some of them, [`preflight`] loads each cell's harness and decides whether it can run at all
//! (`skip` naming the missing package), [`schedule`] runs the rest through a [`CellRunner`]
//! bounded by [`jobs`], retrying, and [`record`] writes each cell's `cell.json` (labelled by
//! [`known`]); [`ci`] turns the night into TAP or JUnit.

pub mod cell;
pub mod ci;
pub mod engine_runner;
pub mod file;
pub mod glob;
pub mod jobs;
pub mod known;
pub mod preflight;
pub mod record;
pub mod runner;
pub mod schedule;
pub mod shard;

pub use cell::Cell;
pub use engine_runner::EngineRunner;
pub use file::Matrix;
pub use glob::Glob;
pub use known::{KnownIssues, Label};
pub use record::{AttemptRecord, CellRecord, CellStatus};
pub use runner::{Attempt, AttemptOutcome, CellRunner};
pub use schedule::{MatrixOptions, run_matrix};
pub use shard::Shard;

use std::path::PathBuf;

/// Everything that can go wrong with a matrix as a whole (a cell's own trouble ends in its
/// `cell.json` instead).
#[derive(Debug, thiserror::Error)]
pub enum MatrixError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A bad matrix or known-issues file; `line` is 1-based.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Usage(String),
}

impl MatrixError {
    /// A `toml` error with its span turned into a line of `text`.
    pub(crate) fn from_toml(path: &std::path::Path, text: &str, e: &toml::de::Error) -> Self {
        MatrixError::Invalid {
            path: path.to_path_buf(),
            line: e.span().map(|span| line_of(text, span.start)),
            message: e.message().trim().to_string(),
        }
    }
}

/// The 1-based line holding byte `offset` of `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
