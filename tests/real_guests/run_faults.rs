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

use crate::common;

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

/// The empty-disk harness with a second QMP monitor for the test (`test-qmp.sock` in `dir`)
/// and `timeouts` in its [timeouts] section.
fn harness_with_monitor(dir: &Path, script: &str, timeouts: &str) -> (PathBuf, PathBuf) {
    let h = dir.join("frozen");
    std::fs::create_dir_all(&h).unwrap();
    let screens = Path::new(env!("CARGO_MANIFEST_DIR")).join("screens");
    let monitor = dir.join("test-qmp.sock");
    std::fs::write(
        h.join("harness.toml"),
        format!(
            "screens = \"debian-12\"\nscreens_root = {:?}\n\
             [guest]\nmemory_mib = 256\naccel = \"tcg\"\nnetwork = false\n\
             disks = [{{ size = \"16M\" }}]\n\
             extra_args = [\"-qmp\", \"unix:{},server=on,wait=off\"]\n\
             [guest.boot]\ndisk = true\n[timeouts]\nrun_s = 900\n{timeouts}\n",
            screens.display().to_string(),
            monitor.display()
        ),
    )
    .unwrap();
    std::fs::write(h.join("install.rhai"), script).unwrap();
    (h, monitor)
}

/// Sends one QMP command on the test's own monitor of the guest.
fn qmp(monitor: &Path, command: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let qmp = vncpilot::guest::Qmp::connect(monitor, Duration::from_secs(10))
            .await
            .expect("the test's QMP monitor");
        qmp.execute(command, None).await.expect(command);
        assert_eq!(qmp.status().await.unwrap(), "paused");
    });
}

/// The first event with `action` (and step `step` when given).
fn event<'a>(events: &'a [Value], action: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["action"] == action)
        .unwrap_or_else(|| panic!("no {action} event: {events:?}"))
}

#[test]
fn a_frozen_guest_fails_the_wait_at_the_stall_time_not_its_timeout() {
    let _lock = common::guest_lock();
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    // First, while the guest runs: a check that stalls at 3 s if SeaBIOS's screen were still
    // (its text cursor blinks, so it must run its whole 8 s). Then the wait the test freezes.
    let script = "let c = check_screen(\"language\", 8);\nlog(\"the live screen moves\");\n\
                  wait_screen(\"language\", 600);\n";
    let (harness, monitor) = harness_with_monitor(tmp.path(), script, "stall_s = 3");
    let mut run = Run::start(&harness, &results, &[]);
    let dir = wait_guest_ready(&results, &mut run);
    qmp(&monitor, "stop");
    let stopped = Instant::now();
    let (status, stderr) = run.wait(Duration::from_secs(120));
    let took = stopped.elapsed().as_secs_f64();
    assert_eq!(
        status.code(),
        Some(1),
        "a frozen guest fails the run:\n{stderr}"
    );
    assert_qemu_gone(&dir);
    let events = events(&dir);
    let check = event(&events, "check_screen");
    let live = check["duration_s"].as_f64().unwrap();
    assert!(
        live >= 7.5,
        "the live guest's screen did not stall: {check}"
    );
    let result = read_json(&dir.join("result.json"));
    let reason = result["reason"].as_str().unwrap();
    eprintln!("the run ended {took:.2} s after QMP stop: {reason}");
    assert_eq!(result["status"], "fail", "{result}");
    assert!(
        reason.contains("install.rhai:3") && reason.contains("screen unchanged for 3 s"),
        "{reason}"
    );
    // At the stall time after the freeze (3 s, a tick, teardown), not the 600 s timeout.
    assert!(
        (2.5..12.0).contains(&took),
        "ended {took:.1} s after the stop"
    );
    let wait = event(&events, "wait_screen");
    let waited = wait["duration_s"].as_f64().unwrap();
    assert!((3.0..600.0).contains(&waited), "{wait}");
    assert_eq!(wait["matched"], Value::Null, "{wait}");
    assert!(dir.join("forensics").is_dir(), "forensics kept");
    assert!(image::open(dir.join("final.png")).is_ok(), "final.png kept");
    assert_video_kept(&dir);
    // result.json: each wait against its timeout.
    let waits = result["waits"].as_array().expect("waits in result.json");
    assert_eq!(waits.len(), 2, "{waits:?}");
    assert_eq!(waits[1]["action"], "wait_screen");
    assert_eq!(waits[1]["timeout_s"], 600.0);
}

/// A `--vnc`-only harness on the Debian screens, with `timeouts` in its [timeouts] section.
fn attached_harness(dir: &Path, script: &str, timeouts: &str) -> PathBuf {
    let h = dir.join("attached");
    std::fs::create_dir_all(&h).unwrap();
    let screens = Path::new(env!("CARGO_MANIFEST_DIR")).join("screens");
    std::fs::write(
        h.join("harness.toml"),
        format!(
            "screens = \"debian-12\"\nscreens_root = {:?}\n[timeouts]\nrun_s = 120\n{timeouts}\n",
            screens.display().to_string()
        ),
    )
    .unwrap();
    std::fs::write(h.join("install.rhai"), script).unwrap();
    h
}

/// Runs `harness` attached to `desktop`; exit code, result.json, events, how long it took.
fn run_attached(
    harness: &Path,
    desktop: &Xvnc,
    extra: &[&str],
) -> (Option<i32>, Value, Vec<Value>, f64) {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    let mut args = vec!["--vnc".to_string(), desktop.unix_addr()];
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let started = Instant::now();
    let (status, stderr) = Run::start(harness, &results, &args).wait(Duration::from_secs(120));
    let took = started.elapsed().as_secs_f64();
    let dir = results.join("latest");
    let result = read_json(&dir.join("result.json"));
    eprintln!("{took:.2} s: {result}\n{stderr}");
    (status.code(), result, events(&dir), took)
}

use common::xvnc::{Xvnc, XvncAuth};

#[test]
fn on_a_still_desktop_a_wait_stalls_unless_its_stall_is_off() {
    // An Xvnc desktop with no clients never changes.
    let desktop = Xvnc::start(800, 600, XvncAuth::None);
    let tmp = tempfile::tempdir().unwrap();
    // The harness's stall time (1 s) ends a 60 s wait; a wait's own #{stall: 2} overrides it.
    let h = attached_harness(
        tmp.path(),
        "wait_screen(\"language\", 60, #{stall: 2});\n",
        "stall_s = 1",
    );
    let (code, result, events, _) = run_attached(&h, &desktop, &[]);
    assert_eq!(code, Some(1), "{result}");
    let reason = result["reason"].as_str().unwrap();
    assert!(reason.contains("screen unchanged for 2 s"), "{reason}");
    let waited = event(&events, "wait_screen")["duration_s"]
        .as_f64()
        .unwrap();
    assert!((2.0..4.0).contains(&waited), "waited {waited} s");
    // #{stall: 0}: off, so the wait runs to its timeout.
    let h = attached_harness(
        tmp.path(),
        "wait_screen(\"language\", 3, #{stall: 0});\n",
        "stall_s = 1",
    );
    let (code, result, events, _) = run_attached(&h, &desktop, &[]);
    assert_eq!(code, Some(1), "{result}");
    let reason = result["reason"].as_str().unwrap();
    assert!(reason.contains("did not appear within 3 s"), "{reason}");
    let waited = event(&events, "wait_screen")["duration_s"]
        .as_f64()
        .unwrap();
    assert!(waited >= 3.0, "waited {waited} s");
    // wait_still expects a still screen: no stall there.
    let h = attached_harness(tmp.path(), "wait_still(2, 10);\n", "stall_s = 1");
    let (code, result, _, _) = run_attached(&h, &desktop, &[]);
    assert_eq!(code, Some(0), "{result}");
}

#[test]
fn time_scale_multiplies_each_wait_s_timeout_and_the_result_reports_it() {
    let desktop = Xvnc::start(800, 600, XvncAuth::None);
    let tmp = tempfile::tempdir().unwrap();
    let h = attached_harness(
        tmp.path(),
        "check_screen(\"language\", 1);\nwait_screen(\"language\", 1);\n",
        "time_scale = 2",
    );
    // --time-scale 3 wins over the harness's 2: each 1 s wait takes 3 s.
    let (code, result, _, took) = run_attached(&h, &desktop, &["--time-scale", "3"]);
    assert_eq!(code, Some(1), "{result}");
    assert!(took >= 6.0, "two scaled waits took {took:.1} s in all");
    let reason = result["reason"].as_str().unwrap();
    assert!(reason.contains("did not appear within 3 s"), "{reason}");
    assert_eq!(result["time_scale"], 3.0);
    let waits = result["waits"].as_array().expect("waits");
    assert_eq!(waits.len(), 2, "{waits:?}");
    for (w, action) in waits.iter().zip(["check_screen", "wait_screen"]) {
        assert_eq!(w["action"], action, "{w}");
        assert_eq!(w["what"], "language", "{w}");
        assert_eq!(w["timeout_s"], 3.0, "{w}");
        let elapsed = w["elapsed_s"].as_f64().unwrap();
        assert!((3.0..4.5).contains(&elapsed), "{w}");
    }
    // The harness's own scale applies without the flag.
    let (_, result, _, _) = run_attached(&h, &desktop, &[]);
    assert_eq!(result["time_scale"], 2.0);
    assert_eq!(result["waits"][1]["timeout_s"], 2.0, "{result}");
    // A bad scale is refused before anything runs.
    let (status, stderr) =
        Run::start(&h, &tmp.path().join("r"), &["--time-scale", "0"]).wait(Duration::from_secs(30));
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("time scale 0"), "{stderr}");
}

/// A small tmpfs mounted for the test (unmounted when dropped): a results disk to fill.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(at: &Path, size: &str) -> SmallDisk {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .expect("run mount")
            .success();
        assert!(
            ok,
            "mount -t tmpfs failed (the test needs root and CAP_SYS_ADMIN)"
        );
        SmallDisk(at.to_path_buf())
    }

    /// Writes a filler file until the disk is full.
    fn fill(&self) {
        use std::io::Write;
        let mut f = std::fs::File::create(self.0.join("filler")).unwrap();
        let chunk = [0u8; 4096];
        loop {
            if f.write_all(&chunk).and_then(|()| f.flush()).is_err() {
                return;
            }
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_results_disk_that_fills_mid_run_is_an_error_naming_the_file_and_reaps_the_guest() {
    let _lock = common::guest_lock();
    let tmp = tempfile::tempdir().unwrap();
    let disk = SmallDisk::mount(&tmp.path().join("disk"), "4m");
    let results = disk.0.join("results");
    let script =
        "log(\"started\");\ncheck_screen(\"language\", 4);\nlog(\"after the disk filled\");\n";
    let harness = empty_disk_harness(tmp.path(), script, 300);
    let mut run = Run::start(&harness, &results, &[]);
    let dir = wait_guest_ready(&results, &mut run);
    disk.fill();
    let (status, stderr) = run.wait(Duration::from_secs(60));
    eprintln!("{stderr}");
    assert_eq!(
        status.code(),
        Some(2),
        "a full results disk is an error:\n{stderr}"
    );
    assert_qemu_gone(&dir);
    // The error names the file that could not be written, in this run's folder.
    assert!(
        stderr.contains(&dir.display().to_string()) && stderr.contains("No space left"),
        "{stderr}"
    );
    // Nothing claims a verdict it could not keep the evidence of.
    if let Ok(text) = std::fs::read_to_string(dir.join("result.json")) {
        let result: Value = serde_json::from_str(&text).expect("result.json is whole");
        assert_ne!(result["status"], "pass", "{result}");
    }
    assert!(
        !stderr.contains("PASS"),
        "vncpilot claimed a pass on a full disk:\n{stderr}"
    );
    // events.jsonl is valid up to its last whole line, and no end event in it says pass.
    let text = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    for line in text.split_inclusive('\n').filter(|l| l.ends_with('\n')) {
        let event: Value = serde_json::from_str(line).expect("each whole line is JSON");
        if event["action"] == "end" {
            assert_ne!(event["status"], "pass", "{event}");
        }
    }
}

#[test]
fn a_results_folder_that_cannot_be_created_is_an_error_naming_it_before_any_guest() {
    let tmp = tempfile::tempdir().unwrap();
    // A file where the results folder should be: creating under it fails even for root.
    let blocker = tmp.path().join("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    let harness = empty_disk_harness(tmp.path(), NEVER, 60);
    let started = Instant::now();
    let (status, stderr) =
        Run::start(&harness, &blocker.join("results"), &[]).wait(Duration::from_secs(30));
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&blocker.display().to_string()) && stderr.contains("results folder"),
        "{stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "no guest was started first"
    );
}
