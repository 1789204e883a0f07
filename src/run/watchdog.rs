//! The watch over one run's macro: its whole-run time limit, and the caller's cancellation.
//! Either stops the macro through its [`RunContext`] saying why (a timeout fails the run, a
//! cancellation makes it an error). Per run: nothing here is process-wide.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::options::CancelReason;
use crate::script::{RunContext, Stop};

/// Stops watching when dropped.
pub(crate) struct Watchdog(JoinHandle<()>);

impl Watchdog {
    /// Watches `ctx` for `limit` from now (`None`: no limit, developer mode) and for `cancel`.
    pub fn start(
        ctx: Arc<RunContext>,
        limit: Option<Duration>,
        cancel: CancellationToken,
        reason: CancelReason,
    ) -> Watchdog {
        Watchdog(tokio::spawn(async move {
            let time_up = async {
                match limit {
                    Some(l) => tokio::time::sleep(l).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = time_up => {
                    if let Some(l) = limit {
                        ctx.stop(Stop::Timeout(l));
                    }
                }
                _ = cancel.cancelled() => {
                    let why = reason.get().unwrap_or("cancelled").to_string();
                    ctx.stop(Stop::Interrupted(why));
                }
            }
        }))
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.0.abort();
    }
}
