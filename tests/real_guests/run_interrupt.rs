//! Stopping `vncpilot run` from outside while its QEMU guest runs: Ctrl-C (SIGINT) ends the run
//! as an error, keeps the results so far and reaps QEMU; even SIGKILL, which vncpilot cannot
//! handle, takes QEMU with it (PR_SET_PDEATHSIG). The guest boots an empty disk, so SeaBIOS
//! shows "No bootable device" and the macro waits for a screen that never comes.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
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

/// Starts `vncpilot run` on the empty-disk harness and returns once the guest is up (the
/// `guest_ready` event is in events.jsonl), with the run's results folder.
fn start_run(tmp: &Path) -> (Run, PathBuf) {
    let results = tmp.join("results");
    let child = Run(Command::new(env!("CARGO_BIN_EXE_vncpilot"))
        .arg("run")
        .arg(empty_disk_harness(
            tmp,
            "log(\"waiting for a screen that never comes\");\nwait_screen(\"language\", 600);\n",
            600,
        ))
        .arg("--results")
        .arg(&results)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start vncpilot"));
    let latest = results.join("latest");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let events = std::fs::read_to_string(latest.join("events.jsonl")).unwrap_or_default();
        if events.contains("\"guest_ready\"") && events.contains("\"log\"") {
            return (child, latest.canonicalize().unwrap());
        }
        assert!(
            Instant::now() < deadline,
            "the guest was not ready in 120 s; events so far:\n{events}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn signal(child: &Run, name: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.0.id().to_string())
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{name} failed");
}

fn wait_exit(child: &mut Run, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            panic!("vncpilot did not exit within {limit:?} of the signal");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Processes whose command line mentions `needle` (QEMU's names the run's serial.log).
fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if !entry
            .file_name()
            .to_string_lossy()
            .bytes()
            .all(|b| b.is_ascii_digit())
        {
            continue;
        }
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if text.contains(needle) && !text.contains("vncpilot run") {
                found.push(format!("{}: {text}", entry.file_name().to_string_lossy()));
            }
        }
    }
    found
}

/// QEMU may take a moment to die after its parent; poll (bounded) until it is gone.
fn assert_qemu_gone(run_dir: &Path) {
    let needle = run_dir.join("serial.log").display().to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = processes_mentioning(&needle);
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "QEMU outlived vncpilot: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn ctrl_c_mid_run_is_an_error_keeps_the_results_and_reaps_qemu() {
    let _lock = common::guest_lock();
    let tmp = tempfile::tempdir().unwrap();
    let (mut child, run_dir) = start_run(tmp.path());
    assert!(
        !processes_mentioning(&run_dir.join("serial.log").display().to_string()).is_empty(),
        "QEMU should be running while the macro waits"
    );
    signal(&child, "INT");
    let status = wait_exit(&mut child, Duration::from_secs(60));
    assert_eq!(status.code(), Some(2), "Ctrl-C is an error (exit 2)");
    assert_qemu_gone(&run_dir);

    let result: Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("result.json")).unwrap())
            .unwrap();
    assert_eq!(result["status"], "error", "{result}");
    assert!(
        result["reason"].as_str().unwrap().contains("Ctrl-C"),
        "{result}"
    );
    let events = std::fs::read_to_string(run_dir.join("events.jsonl")).unwrap();
    let actions: Vec<String> = events
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["action"].to_string())
        .collect();
    for wanted in ["\"start\"", "\"guest_ready\"", "\"log\"", "\"end\""] {
        assert!(
            actions.iter().any(|a| a == wanted),
            "{wanted} in {actions:?}"
        );
    }
    let last = image::open(run_dir.join("final.png")).expect("final.png is kept");
    assert!(last.width() > 0);
}

#[test]
fn sigkill_of_vncpilot_takes_qemu_with_it() {
    let _lock = common::guest_lock();
    let tmp = tempfile::tempdir().unwrap();
    let (mut child, run_dir) = start_run(tmp.path());
    signal(&child, "KILL");
    wait_exit(&mut child, Duration::from_secs(10));
    assert_qemu_gone(&run_dir);
}
