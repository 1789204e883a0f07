//! `cell.json`: what one cell of one night came to — its status over all attempts, each
//! attempt's verdict and folder, and the known-issue label that matched (docs/nightly.md has the
//! format; the `report` site reads it).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::MatrixError;
use super::known::Label;
use crate::report::Status;

pub const FILE_NAME: &str = "cell.json";

/// A cell's verdict over its attempts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CellStatus {
    /// The first attempt passed.
    Pass,
    /// An attempt failed or errored, then a retry passed.
    Flaky,
    /// Every attempt failed.
    Fail,
    /// An attempt errored and none passed.
    Error,
    /// Could not run (the reason names why, e.g. the package providing missing media).
    Skip,
}

impl CellStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CellStatus::Pass => "pass",
            CellStatus::Flaky => "flaky",
            CellStatus::Fail => "fail",
            CellStatus::Error => "error",
            CellStatus::Skip => "skip",
        }
    }

    /// It installed (first time or on a retry).
    pub fn passed(self) -> bool {
        matches!(self, CellStatus::Pass | CellStatus::Flaky)
    }

    /// It ran and did not install.
    pub fn failed(self) -> bool {
        matches!(self, CellStatus::Fail | CellStatus::Error)
    }

    /// The cell's status from its attempts' statuses, in order.
    pub fn from_attempts(attempts: &[Status]) -> Option<CellStatus> {
        let first = *attempts.first()?;
        if first == Status::Pass {
            Some(CellStatus::Pass)
        } else if attempts.contains(&Status::Pass) {
            Some(CellStatus::Flaky)
        } else if attempts.contains(&Status::Error) {
            Some(CellStatus::Error)
        } else {
            Some(CellStatus::Fail)
        }
    }
}

/// One attempt as cell.json lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttemptRecord {
    pub status: Status,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub duration_s: f64,
    /// The attempt's results folder, relative to the cell's folder (`attempt-1`).
    pub results: String,
}

/// The whole of cell.json.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellRecord {
    pub harness: String,
    pub variant: String,
    pub night: String,
    pub status: CellStatus,
    #[serde(default)]
    pub reason: String,
    /// All attempts together.
    #[serde(default)]
    pub duration_s: f64,
    /// When the cell's first attempt started (UTC, `2026-12-03T01:02:03Z`).
    pub started: String,
    /// `I/N` when run with --shard.
    #[serde(default)]
    pub shard: Option<String>,
    /// The matrix file as given on the command line.
    #[serde(default)]
    pub matrix: String,
    #[serde(default)]
    pub attempts: Vec<AttemptRecord>,
    #[serde(default)]
    pub label: Option<Label>,
}

impl CellRecord {
    pub fn name(&self) -> String {
        format!("{}/{}", self.harness, self.variant)
    }

    /// Writes `dir/cell.json` atomically (a reader never sees half a file, even after Ctrl-C).
    pub fn write(&self, dir: &Path) -> Result<(), MatrixError> {
        let path = dir.join(FILE_NAME);
        let tmp = dir.join(".cell.json.tmp");
        let text = serde_json::to_string_pretty(self).map_err(|e| MatrixError::Write {
            path: path.clone(),
            source: std::io::Error::other(e),
        })? + "\n";
        std::fs::write(&tmp, text).map_err(|source| MatrixError::Write {
            path: tmp.clone(),
            source,
        })?;
        std::fs::rename(&tmp, &path).map_err(|source| MatrixError::Write { path, source })
    }

    pub fn read(dir: &Path) -> Result<CellRecord, MatrixError> {
        let path = dir.join(FILE_NAME);
        let text = std::fs::read_to_string(&path).map_err(|source| MatrixError::Read {
            path: path.clone(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|e| MatrixError::Invalid {
            path,
            line: Some(e.line()),
            message: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_over_attempts() {
        use Status::*;
        assert_eq!(CellStatus::from_attempts(&[Pass]), Some(CellStatus::Pass));
        assert_eq!(
            CellStatus::from_attempts(&[Fail, Pass]),
            Some(CellStatus::Flaky)
        );
        assert_eq!(
            CellStatus::from_attempts(&[Error, Pass]),
            Some(CellStatus::Flaky)
        );
        assert_eq!(
            CellStatus::from_attempts(&[Fail, Error]),
            Some(CellStatus::Error)
        );
        assert_eq!(
            CellStatus::from_attempts(&[Fail, Fail]),
            Some(CellStatus::Fail)
        );
        assert_eq!(CellStatus::from_attempts(&[]), None);
    }
}
