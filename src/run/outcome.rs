//! How a run ended, as its caller sees it: the verdict, why (secrets redacted), and the results
//! folder holding the evidence.

use std::path::PathBuf;

use crate::report::{RunResult, Status};

/// The end of one run.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub status: Status,
    /// Why, with every secret replaced by `<secret>`.
    pub reason: String,
    /// The results folder written.
    pub results: PathBuf,
    pub duration_s: f64,
    /// What `result.json` holds.
    pub result: RunResult,
}
