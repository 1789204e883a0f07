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
    /// `vncpilot matrix --time-scale F`: multiplies each cell's own scale (its variant's
    /// `time_scale`, else its harness's `[timeouts] time_scale`), for a loaded night.
    pub time_scale: Option<f64>,
}

impl EngineRunner {
    /// The scale a cell runs at: its own, times the night's.
    fn scale(&self, cell: Option<f64>, harness: f64) -> Option<f64> {
        match (self.time_scale, cell) {
            (None, cell) => cell,
            (Some(night), cell) => {
                Some((night * cell.unwrap_or(harness)).min(crate::script::MAX_TIME_SCALE))
            }
        }
    }
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
        options.time_scale =
            self.scale(attempt.cell.time_scale, options.harness.timeouts.time_scale);
        options.password = self.password.clone();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn runner(night: Option<f64>) -> EngineRunner {
        EngineRunner {
            password: PasswordSource::None,
            time_scale: night,
        }
    }

    #[test]
    fn the_night_s_scale_multiplies_the_cell_s_or_else_the_harness_s() {
        assert_eq!(runner(None).scale(Some(2.0), 1.5), Some(2.0));
        assert_eq!(runner(None).scale(None, 1.5), None);
        assert_eq!(runner(Some(3.0)).scale(Some(2.0), 1.5), Some(6.0));
        assert_eq!(runner(Some(3.0)).scale(None, 1.5), Some(4.5));
        assert_eq!(
            runner(Some(90.0)).scale(Some(90.0), 1.0),
            Some(crate::script::MAX_TIME_SCALE)
        );
    }
}
