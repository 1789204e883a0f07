//! Running `vncpilot run` on a real harness as a child process, bounded in time, and reading
//! back what it left in the results folder.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// One finished run: its exit status and its results folder (`<results>/latest`), which lives
/// as long as this value.
pub struct HarnessRun {
    pub status: ExitStatus,
    pub dir: PathBuf,
    pub result: Value,
    pub results: tempfile::TempDir,
}

impl HarnessRun {
    /// Asserts that the run of `harness` passed: exit 0 and `result.json` saying so.
    pub fn assert_passed(&self, harness: &str) {
        assert_eq!(self.result["status"], "pass", "{}", self.result);
        assert_eq!(self.status.code(), Some(0));
        assert_eq!(self.result["harness"], harness);
    }
}

/// Runs `vncpilot run <harness> --results <tmp> <extra...>` from the repository root and waits
/// at most `limit`; past it the run gets SIGTERM (so it tears its QEMU down) and the test fails.
/// `boot_media` must exist (the Debian installer package), else the test fails saying so.
pub fn run_harness(harness: &str, extra: &[&str], boot_media: &str, limit: Duration) -> HarnessRun {
    assert!(
        Path::new(boot_media).exists(),
        "{boot_media} is missing: install debian-installer-12-netboot-amd64 (scripts/install-deps)"
    );
    let results = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_vncpilot"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", harness, "--results"])
        .arg(results.path())
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start vncpilot");
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for vncpilot") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            std::thread::sleep(Duration::from_secs(5));
            let _ = child.kill();
            let _ = child.wait();
            panic!("vncpilot run {harness} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let dir = results.path().join("latest");
    let result = serde_json::from_str(
        &std::fs::read_to_string(dir.join("result.json")).expect("result.json"),
    )
    .expect("result.json is JSON");
    HarnessRun {
        status,
        dir,
        result,
        results,
    }
}

/// The run's events.jsonl, one value per line.
pub fn events(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("events.jsonl"))
        .expect("events.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each event is JSON"))
        .collect()
}

/// A harness (in `dir/empty-disk/`) whose QEMU guest boots an empty disk: SeaBIOS shows "No
/// bootable device" within seconds, so `script` (which waits for a Debian screen) never sees
/// its screen. A real guest that costs almost nothing, for testing how runs end.
pub fn empty_disk_harness(dir: &Path, script: &str, run_s: u32) -> PathBuf {
    let h = dir.join("empty-disk");
    std::fs::create_dir_all(&h).unwrap();
    let screens = Path::new(env!("CARGO_MANIFEST_DIR")).join("screens");
    std::fs::write(
        h.join("harness.toml"),
        format!(
            "screens = \"debian-12\"\nscreens_root = {:?}\n\
             [guest]\nmemory_mib = 256\naccel = \"tcg\"\nnetwork = false\n\
             disks = [{{ size = \"16M\" }}]\n[guest.boot]\ndisk = true\n\
             [timeouts]\nrun_s = {run_s}\n",
            screens.display().to_string()
        ),
    )
    .unwrap();
    std::fs::write(h.join("install.rhai"), script).unwrap();
    h
}

/// The screens the run's `wait_screen` steps matched, in order; every wait must have matched.
pub fn matched_screens(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .filter(|e| e["action"] == "wait_screen")
        .map(|e| e["matched"].as_str().expect("every wait matched"))
        .collect()
}
