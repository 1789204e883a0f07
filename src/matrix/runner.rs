//! How a cell's attempt is run: the [`CellRunner`] trait, owned by the scheduler that calls it,
//! so the scheduler's retries and bounds do not depend on how a run happens.
//!
//! The implementation: [`super::EngineRunner`] (`crate::run::run` with
//! `ResultsLocation::Exactly`, in this process).

use std::future::Future;
use std::path::PathBuf;

use tokio_util::sync::CancellationToken;

use super::Cell;
use crate::report::Status;
use crate::script::Harness;

/// One attempt of one cell.
pub struct Attempt {
    pub cell: Cell,
    /// The cell's harness, loaded with the variant's variables and guest overrides applied.
    pub harness: Harness,
    /// Where this attempt's results folder must be (`…/<variant>/attempt-<k>`; absent).
    pub results: PathBuf,
    /// 1-based.
    pub number: u32,
    /// Cancelled on Ctrl-C: the attempt must end soon, keep what it wrote, and leave no guest.
    pub cancel: CancellationToken,
}

/// What an attempt came to.
#[derive(Clone, Debug)]
pub struct AttemptOutcome {
    pub status: Status,
    pub reason: String,
    pub duration_s: f64,
}

/// Runs attempts; shared by all cells (called concurrently).
pub trait CellRunner: Send + Sync + 'static {
    fn run_attempt(&self, attempt: Attempt) -> impl Future<Output = AttemptOutcome> + Send;
}
