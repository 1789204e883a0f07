//! A [`CellRunner`] that runs each attempt as a `vncpilot run` child process — the same binary,
//! the same run, in a process of its own — and moves the results folder it writes
//! (`STAGING/<harness>/<timestamp>/`) to the attempt's folder.
//!
//! This is how the matrix runs until the library run engine (`crate::run`) is merged; then
//! `engine_runner.rs` replaces it. The variant's variables and guest overrides reach the child
//! as `--var` and `--guest`; Ctrl-C (the shared token) sends the child SIGTERM, which it handles
//! like a user's Ctrl-C: the macro stops, the guest is reaped, the results are written.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::process::Command;

use super::runner::{Attempt, AttemptOutcome, CellRunner};
use crate::report::{Status, read_result};

/// How long a child may take to finish after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(60);

/// Runs attempts with `program run …` (`program` is the vncpilot binary).
pub struct SubprocessRunner {
    pub program: PathBuf,
}

impl CellRunner for SubprocessRunner {
    async fn run_attempt(&self, attempt: Attempt) -> AttemptOutcome {
        let started = Instant::now();
        let staging = staging_dir(&attempt.results);
        let outcome = self.run_child(&attempt, &staging).await;
        let moved = adopt_results(&staging, &attempt.harness.name, &attempt.results);
        let _ = std::fs::remove_dir_all(&staging);
        let duration_s = started.elapsed().as_secs_f64();
        match (outcome, moved) {
            (_, Ok(())) => match read_result(&attempt.results) {
                Ok(r) => AttemptOutcome {
                    status: r.status,
                    reason: r.reason,
                    duration_s: r.duration_s,
                },
                Err(e) => error(
                    format!("the run left no readable result.json: {e}"),
                    duration_s,
                ),
            },
            (Err(why), Err(_)) => error(why, duration_s),
            (Ok(stderr), Err(e)) => error(format!("{e}; its stderr: {stderr}"), duration_s),
        }
    }
}

fn error(reason: String, duration_s: f64) -> AttemptOutcome {
    AttemptOutcome {
        status: Status::Error,
        reason,
        duration_s,
    }
}

/// `…/<variant>/.attempt-<k>.staging`.
fn staging_dir(results: &Path) -> PathBuf {
    let name = results
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    results.with_file_name(format!(".{name}.staging"))
}

impl SubprocessRunner {
    /// Runs the child to its end (or until cancelled and stopped); Ok(its stderr's tail).
    async fn run_child(&self, attempt: &Attempt, staging: &Path) -> Result<String, String> {
        let cell = &attempt.cell;
        let mut command = Command::new(&self.program);
        command
            .arg("run")
            .arg(&cell.harness_dir)
            .arg("--results")
            .arg(staging);
        for (k, v) in &cell.variables {
            command.arg("--var").arg(format!("{k}={v}"));
        }
        for a in cell.guest.assignments() {
            command.arg("--guest").arg(a);
        }
        if let Some(addr) = &cell.vnc {
            command.arg("--vnc").arg(addr.to_string());
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            // Its own group: a terminal's Ctrl-C reaches the matrix, which stops children in order.
            .process_group(0);
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("could not run {}: {e}", self.program.display()))?;
        let mut stderr = child.stderr.take();
        let collect = tokio::spawn(async move {
            let mut text = String::new();
            if let Some(s) = stderr.as_mut() {
                let _ = s.read_to_string(&mut text).await;
            }
            text
        });
        let status = tokio::select! {
            status = child.wait() => status,
            _ = attempt.cancel.cancelled() => {
                if let Some(pid) = child.id() {
                    // SAFETY: plain syscall on our own child.
                    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
                }
                match tokio::time::timeout(STOP_GRACE, child.wait()).await {
                    Ok(status) => status,
                    Err(_) => {
                        let _ = child.kill().await;
                        child.wait().await
                    }
                }
            }
        }
        .map_err(|e| format!("waiting for {}: {e}", self.program.display()))?;
        let text = collect.await.unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(5).collect();
        let tail = tail.into_iter().rev().collect::<Vec<_>>().join(" / ");
        tracing::debug!(cell = %cell.name(), %status, "vncpilot run ended");
        Ok(format!("{status}: {tail}"))
    }
}

/// Moves the one results folder `vncpilot run` wrote under `staging/<harness>/` to `results`.
fn adopt_results(staging: &Path, harness: &str, results: &Path) -> Result<(), String> {
    let parent = staging.join(harness);
    let entries = std::fs::read_dir(&parent).map_err(|e| {
        format!(
            "the run wrote no results folder ({}: {e})",
            parent.display()
        )
    })?;
    let run = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.file_name().is_some_and(|n| n != "latest") && !p.is_symlink() && p.is_dir())
        .ok_or_else(|| format!("the run wrote no results folder under {}", parent.display()))?;
    std::fs::rename(&run, results)
        .map_err(|e| format!("moving {} to {}: {e}", run.display(), results.display()))
}
