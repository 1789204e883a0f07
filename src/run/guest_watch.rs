//! Watching a launched guest's process while its macro runs: a QEMU that exits (killed, crashed,
//! powered off) stops the macro at once with [`Stop::GuestDied`] — QEMU's exit status and its
//! last lines on stderr — instead of leaving a wait to run into its timeout, and the run ends
//! `error` with that reason.

use std::time::Duration;

use tokio::task::{JoinError, JoinHandle};

use crate::guest::Qemu;
use crate::report::Status;
use crate::script::{Outcome as Verdict, RunContext, Stop};

/// How long an erroring macro waits for QEMU's exit to be seen. A killed QEMU closes its VNC
/// socket a moment before the kernel reports its exit, so a macro that failed on the closed
/// display must not be judged before that moment has passed.
const EXIT_GRACE: Duration = Duration::from_secs(1);

/// Awaits the macro thread `macro_thread` while watching `qemu`; the verdict.
pub(crate) async fn watch(
    macro_thread: JoinHandle<Verdict>,
    qemu: &mut Qemu,
    ctx: &RunContext,
) -> Result<Verdict, JoinError> {
    tokio::pin!(macro_thread);
    tokio::select! {
        biased;
        verdict = &mut macro_thread => {
            let verdict = verdict?;
            if verdict.status != Status::Error {
                return Ok(verdict);
            }
            match tokio::time::timeout(EXIT_GRACE, qemu.died()).await {
                Ok(died) => Ok(guest_died(died.to_string(), verdict)),
                Err(_) => Ok(verdict),
            }
        }
        died = qemu.died() => {
            let why = died.to_string();
            tracing::warn!("{why}");
            ctx.stop(Stop::GuestDied(why.clone()));
            // The macro notices at its next check (a wait's tick, Rhai's next operation).
            let verdict = macro_thread.await?;
            if verdict.status == Status::Pass {
                // It had nothing left to ask of the guest (e.g. its last step powered it off).
                return Ok(verdict);
            }
            Ok(guest_died(why, verdict))
        }
    }
}

/// The verdict of a run whose guest died: an error with the death as the reason (keeping the
/// macro's `file:line:col` when its own reason already says it).
fn guest_died(why: String, verdict: Verdict) -> Verdict {
    Verdict {
        status: Status::Error,
        reason: if verdict.reason.contains(&why) {
            verdict.reason
        } else {
            match verdict.reason.split_once(": ") {
                // "install.rhai:2:1: display: ..." → "install.rhai:2:1: the guest died: ..."
                Some((at, _)) if at.contains(':') && !at.contains(' ') => format!("{at}: {why}"),
                _ => why,
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_death_replaces_the_macro_s_own_error_but_keeps_its_position() {
        let why = "the guest died: QEMU was killed by signal 9 (SIGKILL)".to_string();
        let display = Verdict {
            status: Status::Error,
            reason: "h/install.rhai:2:1: display: the VNC server closed the connection".into(),
        };
        assert_eq!(
            guest_died(why.clone(), display).reason,
            format!("h/install.rhai:2:1: {why}")
        );
        let stopped = Verdict {
            status: Status::Error,
            reason: format!("h/install.rhai:3:5: {why}"),
        };
        assert_eq!(
            guest_died(why.clone(), stopped.clone()).reason,
            stopped.reason
        );
        let bare = Verdict {
            status: Status::Error,
            reason: "cancelled".into(),
        };
        let v = guest_died(why.clone(), bare);
        assert_eq!((v.status, v.reason), (Status::Error, why));
    }
}
