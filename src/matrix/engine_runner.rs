//! A [`CellRunner`] that runs each attempt in this process through the library run engine
//! (`crate::run::run`, docs/design.md), into exactly the attempt's folder.
//! Every attempt is a run of its own (its own guest, sockets, results folder and cancellation
//! child token), so cells cannot see each other (tests/servers/matrix_xvnc.rs runs eight at once).

use super::runner::{Attempt, AttemptOutcome, CellRunner};
use crate::report::Status;
use crate::run::{PasswordSource, ResultsLocation, RunOptions};

/// Runs attempts with `crate::run::run`; several run concurrently in this process.
pub struct EngineRunner {
    /// For cells that attach to a VNC server (`vnc = …`): where the password comes from.
    pub password: PasswordSource,
}

impl CellRunner for EngineRunner {
    async fn run_attempt(&self, attempt: Attempt) -> AttemptOutcome {
        let mut options = RunOptions::new(
            attempt.harness,
            ResultsLocation::Exactly(attempt.results.clone()),
        );
        options.progress = false;
        options.cancel = attempt.cancel.clone();
        options.attach = attempt.cell.vnc.clone();
        options.time_scale = attempt.cell.time_scale;
        options.password = match &self.password {
            PasswordSource::None => PasswordSource::None,
            PasswordSource::Env(name) => PasswordSource::Env(name.clone()),
            PasswordSource::File(path) => PasswordSource::File(path.clone()),
        };
        match crate::run::run(options).await {
            Ok(outcome) => AttemptOutcome {
                status: outcome.status,
                reason: outcome.reason,
                duration_s: outcome.duration_s,
            },
            Err(e) => AttemptOutcome {
                status: Status::Error,
                reason: e.to_string(),
                duration_s: 0.0,
            },
        }
    }
}
