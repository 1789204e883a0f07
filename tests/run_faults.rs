//! Faults a night must survive, provoked on real parts through `vncpilot run`:
//! - the guest dies (its QEMU is killed, or told to terminate) while the macro waits for a
//!   screen that never comes: the run ends `error` within seconds — not at the wait's timeout —
//!   naming QEMU's exit and its last words, with events, result, final.png and video kept;
//! - the guest hangs (QMP `stop` on a second monitor the harness opens): stall detection ends
//!   the wait at the stall time with `fail`, "screen unchanged for N s", and the forensics;
//! - `--time-scale` multiplies a wait's timeout, and result.json reports each wait's time
//!   against its timeout;
//! - a results folder that cannot be written is a clear error naming the path, reaps QEMU and
//!   claims no verdict.
//!
//! The guest boots an empty disk (SeaBIOS: "No bootable device"), costing seconds under TCG.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::run::empty_disk_harness;
use serde_json::Value;

/// A `vncpilot run` child, killed if the test ends before it exits.
struct Run(Child);

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Run {
    fn start(harness: &Path, results: &Path, extra: &[&str]) -> Run {
        Run(Command::new(env!("CARGO_BIN_EXE_vncpilot"))
            .arg("run")
            .arg(harness)
            .arg("--results")
            .arg(results)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start vncpilot"))
    }

    /// Waits (≤ `limit`) for the exit; the status and what vncpilot said on stderr.
    fn wait(mut self, limit: Duration) -> (ExitStatus, String) {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                let mut stderr = String::new();
                if let Some(mut pipe) = self.0.stderr.take() {
                    use std::io::Read;
                    let _ = pipe.read_to_string(&mut stderr);
                }
                return (status, stderr);
            }
            assert!(
                Instant::now() < deadline,
                "vncpilot run did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The newest run's folder once its events.jsonl holds `guest_ready` and a `log` event (≤ 120 s).
fn wait_guest_ready(results: &Path, run: &mut Run) -> PathBuf {
    let latest = results.join("latest");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let events = std::fs::read_to_string(latest.join("events.jsonl")).unwrap_or_default();
        if events.contains("\"guest_ready\"") && events.contains("\"log\"") {
            return latest.canonicalize().unwrap();
        }
        if let Some(status) = run.0.try_wait().unwrap() {
            panic!("vncpilot exited ({status}) before the guest was ready:\n{events}");
        }
        assert!(
            Instant::now() < deadline,
            "the guest was not ready in 120 s; events so far:\n{events}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The pids of processes whose command line mentions `needle` (QEMU's names the run's
/// serial.log), vncpilot itself left out.
fn pids_mentioning(needle: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if text.contains(needle) && !text.contains("vncpilot run") {
                found.push(pid);
            }
        }
    }
    found
}

/// The run's QEMU (exactly one).
fn qemu_pid(run_dir: &Path) -> u32 {
    let pids = pids_mentioning(&run_dir.join("serial.log").display().to_string());
    assert_eq!(pids.len(), 1, "one QEMU for the run: {pids:?}");
    pids[0]
}

fn assert_qemu_gone(run_dir: &Path) {
    let needle = run_dir.join("serial.log").display().to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !pids_mentioning(&needle).is_empty() {
        assert!(Instant::now() < deadline, "QEMU outlived the run");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn signal(pid: u32, name: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{name} {pid} failed");
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn events(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("events.jsonl"))
        .expect("events.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each event is JSON"))
        .collect()
}

/// The video of a run that did not pass is kept, finished and complete.
fn assert_video_kept(dir: &Path) {
    let manifest = vncpilot::record::Manifest::load(dir).expect("video.json");
    assert!(manifest.complete, "the recording finished");
    assert!(!manifest.lossless.is_empty(), "a lossless segment");
    for segment in &manifest.lossless {
        let len = std::fs::metadata(dir.join(&segment.file)).unwrap().len();
        assert!(len > 0, "{} is empty", segment.file);
    }
}

const NEVER: &str =
    "log(\"waiting for a screen that never comes\");\nwait_screen(\"language\", 600);\n";

/// Kills the run's QEMU with `sig` mid-wait; the run's folder, result, and how long the run
/// took to end after the kill.
fn kill_guest_mid_wait(sig: &str) -> (tempfile::TempDir, PathBuf, Value, f64) {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    let harness = empty_disk_harness(tmp.path(), NEVER, 900);
    let mut run = Run::start(&harness, &results, &[]);
    let dir = wait_guest_ready(&results, &mut run);
    let pid = qemu_pid(&dir);
    signal(pid, sig);
    let killed = Instant::now();
    let (status, stderr) = run.wait(Duration::from_secs(60));
    let took = killed.elapsed().as_secs_f64();
    assert_eq!(
        status.code(),
        Some(2),
        "a dead guest is an error:\n{stderr}"
    );
    assert_qemu_gone(&dir);
    let result = read_json(&dir.join("result.json"));
    (tmp, dir, result, took)
}

#[test]
fn a_guest_killed_mid_wait_ends_the_run_as_an_error_within_seconds() {
    let _lock = common::guest_lock();
    let (_tmp, dir, result, took) = kill_guest_mid_wait("KILL");
    eprintln!("the run ended {took:.2} s after QEMU was killed: {result}");
    assert!(
        took < 10.0,
        "ended {took:.1} s after the kill, not within 10 s"
    );
    assert_eq!(result["status"], "error", "{result}");
    let reason = result["reason"].as_str().unwrap();
    assert!(
        reason.contains("the guest died") && reason.contains("killed by signal 9 (SIGKILL)"),
        "{reason}"
    );
    // The macro's position is kept: the wait_screen on line 2.
    assert!(reason.contains("install.rhai:2"), "{reason}");
    let events = events(&dir);
    let last = events.last().unwrap();
    assert_eq!(last["action"], "end", "{last}");
    assert_eq!(last["status"], "error", "{last}");
    assert!(image::open(dir.join("final.png")).is_ok(), "final.png kept");
    assert!(
        dir.join("forensics").is_dir(),
        "forensics kept: {:?}",
        std::fs::read_dir(&dir).unwrap().collect::<Vec<_>>()
    );
    assert_video_kept(&dir);
    let log = std::fs::read_to_string(dir.join("log.txt")).unwrap();
    assert!(log.contains("the guest died"), "{log}");
}

#[test]
fn a_guest_terminated_mid_wait_names_qemu_s_last_words() {
    let _lock = common::guest_lock();
    // SIGTERM: QEMU says "terminating on signal 15" on stderr and exits with status 0.
    let (_tmp, dir, result, took) = kill_guest_mid_wait("TERM");
    eprintln!("the run ended {took:.2} s after QEMU was terminated: {result}");
    assert!(
        took < 10.0,
        "ended {took:.1} s after SIGTERM, not within 10 s"
    );
    assert_eq!(result["status"], "error", "{result}");
    let reason = result["reason"].as_str().unwrap();
    assert!(
        reason.contains("exited with status 0") && reason.contains("terminating on signal 15"),
        "{reason}"
    );
    assert_video_kept(&dir);
}
