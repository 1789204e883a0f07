//! What a run is asked to do: [`RunOptions`] (the harness, where results go, how to watch the
//! guest, the cancellation) and the small choices it is made of.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use tokio_util::sync::CancellationToken;

use super::RunError;
use super::pause_page::PauseOptions;
use crate::report::RunObserver;
use crate::rfb::{Addr, Secret};
use crate::script::{Harness, Timeouts};

/// Everything one run needs. [`RunOptions::new`] gives the defaults of `vncpilot run`.
pub struct RunOptions {
    /// The harness, already loaded (variables applied).
    pub harness: Harness,
    pub results: ResultsLocation,
    /// How to watch a launched guest's screen.
    pub watch: Watch,
    /// Keep the video of a passed run too (a failed or errored run always keeps it).
    pub keep_video: bool,
    /// Attach to this VNC server instead of launching QEMU (then no QMP and no serial port).
    pub attach: Option<Addr>,
    /// The VNC password for `attach`.
    pub password: PasswordSource,
    /// Cancelled => the run ends `error` "interrupted: <why>", `why` from `cancel_reason`.
    pub cancel: CancellationToken,
    /// Why `cancel` was cancelled ("Ctrl-C", "SIGTERM"); "cancelled" when nobody said.
    pub cancel_reason: CancelReason,
    /// Print the progress line on stderr (a matrix of runs turns it off).
    pub progress: bool,
    /// Extra followers of the run (they get every event, frame, check and secret).
    pub observers: Vec<Arc<dyn RunObserver>>,
    /// Multiply every timeout by this instead of the harness's `[timeouts] time_scale`.
    pub time_scale: Option<f64>,
    /// Developer mode: pause on a failed wait or at chosen steps, answered on the authoring
    /// page (then the run has no whole-run timeout: a person is at it).
    pub pause: Option<PauseOptions>,
}

impl RunOptions {
    /// Runs `harness` with results under `results`, watched over VNC, video deleted on a pass,
    /// no password, a fresh cancellation token, the progress line on.
    pub fn new(harness: Harness, results: ResultsLocation) -> RunOptions {
        RunOptions {
            harness,
            results,
            watch: Watch::Vnc,
            keep_video: false,
            attach: None,
            password: PasswordSource::None,
            cancel: CancellationToken::new(),
            cancel_reason: CancelReason::default(),
            progress: true,
            observers: Vec::new(),
            time_scale: None,
            pause: None,
        }
    }

    /// The time scale in effect: `time_scale`, else the harness's.
    pub fn scale(&self) -> f64 {
        self.time_scale.unwrap_or(self.harness.timeouts.time_scale)
    }

    /// The harness's run and start limits with the time scale applied.
    pub(crate) fn timeouts(&self) -> Timeouts {
        self.harness.timeouts.scaled(self.scale())
    }

    /// A handle that cancels this run saying why (keep it before `run(options)` takes them).
    pub fn canceller(&self) -> Canceller {
        Canceller {
            token: self.cancel.clone(),
            reason: self.cancel_reason.clone(),
        }
    }
}

/// Where the results folder goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResultsLocation {
    /// `ROOT/<harness name>/<UTC timestamp>/`, with `ROOT/latest` pointing at it.
    Under(PathBuf),
    /// Exactly this folder (created; it must be empty or absent); no `latest` link.
    Exactly(PathBuf),
}

/// How a launched guest's screen is watched (an attached one is always VNC).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Watch {
    /// QEMU's VNC server on a private socket.
    #[default]
    Vnc,
    /// QMP `screendump` polled 4 times a second, keys through `send-key`.
    Qmp,
}

/// Where the VNC password of an attached server comes from (never the command line).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum PasswordSource {
    #[default]
    None,
    /// The environment variable of this name, if set.
    Env(String),
    /// The first line of this file.
    File(PathBuf),
}

impl PasswordSource {
    pub(crate) fn read(&self) -> Result<Option<Secret>, RunError> {
        match self {
            PasswordSource::None => Ok(None),
            PasswordSource::Env(name) => Ok(std::env::var(name).ok().map(Secret::new)),
            PasswordSource::File(path) => {
                Secret::from_file(path)
                    .map(Some)
                    .map_err(|source| RunError::Password {
                        path: path.clone(),
                        source,
                    })
            }
        }
    }
}

/// Why a run was cancelled, said once by whoever cancels it (the first reason wins).
#[derive(Clone, Debug, Default)]
pub struct CancelReason(Arc<OnceLock<String>>);

impl CancelReason {
    pub fn set(&self, why: impl Into<String>) {
        let _ = self.0.set(why.into());
    }

    pub fn get(&self) -> Option<&str> {
        self.0.get().map(String::as_str)
    }
}

/// Cancels one run, saying why.
#[derive(Clone, Debug)]
pub struct Canceller {
    token: CancellationToken,
    reason: CancelReason,
}

impl Canceller {
    /// Ends the run as `error` "interrupted: <why>".
    pub fn cancel(&self, why: &str) {
        self.reason.set(why);
        self.token.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_reason_wins_and_cancels() {
        let token = CancellationToken::new();
        let reason = CancelReason::default();
        let c = Canceller {
            token: token.clone(),
            reason: reason.clone(),
        };
        c.cancel("Ctrl-C");
        c.cancel("SIGTERM");
        assert!(token.is_cancelled());
        assert_eq!(reason.get(), Some("Ctrl-C"));
    }

    #[test]
    fn a_password_file_that_cannot_be_read_names_it() {
        let source = PasswordSource::File("/nonexistent/vnc-password".into());
        let err = source.read().unwrap_err().to_string();
        assert!(err.contains("/nonexistent/vnc-password"), "{err}");
        assert_eq!(PasswordSource::None.read().unwrap(), None);
    }
}
