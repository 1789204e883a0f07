//! End to end with the mouse: `vncpilot run harnesses/debian-12-gtk` boots the real Debian 12
//! graphical installer under QEMU (TCG) with its default PS/2 mouse — relative, accelerated,
//! the cursor drawn into the framebuffer by X.org — and answers language, location (a click on
//! "Canada"), keyboard, network and hostname with clicks, ending with a `wait_still` that
//! ignores the blinking text cursor. The verdict and the mouse's behaviour are read from
//! result.json and events.jsonl. (The same clicks with an absolute usb-tablet are in
//! tests/pointer_guest.rs.)

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const KERNEL: &str = "/usr/lib/debian-installer/images/12/amd64/gtk/debian-installer/amd64/linux";

fn run_with_deadline(mut cmd: Command, limit: Duration) -> std::process::ExitStatus {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start vncpilot");
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait for vncpilot") {
            return status;
        }
        if Instant::now() > deadline {
            // SIGTERM lets vncpilot tear its QEMU down; then make sure.
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            std::thread::sleep(Duration::from_secs(5));
            let _ = child.kill();
            let _ = child.wait();
            panic!("vncpilot run did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn events(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("events.jsonl"))
        .expect("events.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each event is JSON"))
        .collect()
}

#[test]
fn debian_gtk_installer_is_answered_with_the_mouse() {
    if !Path::new(KERNEL).exists() {
        panic!(
            "{KERNEL} is missing: install debian-installer-12-netboot-amd64 (scripts/install-deps)"
        );
    }
    let _lock = common::guest_lock();
    let results = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vncpilot"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "harnesses/debian-12-gtk", "--results"])
        .arg(results.path());
    let status = run_with_deadline(cmd, Duration::from_secs(700));
    let dir = results.path().join("latest");
    let result: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("result.json")).unwrap()).unwrap();
    assert_eq!(result["status"], "pass", "{result}");
    assert_eq!(status.code(), Some(0));
    assert_eq!(result["harness"], "debian-12-gtk");
    let events = events(&dir);

    let matched: Vec<&str> = events
        .iter()
        .filter(|e| e["action"] == "wait_screen")
        .map(|e| e["matched"].as_str().expect("every wait matched"))
        .collect();
    assert_eq!(
        matched,
        [
            "language",
            "location",
            "canada-selected",
            "keyboard",
            "network-driver",
            "no-network",
            "hostname"
        ]
    );

    // Every click moved the relative PS/2 pointer onto its target, exactly.
    let moves: Vec<&Value> = events
        .iter()
        .filter(|e| e["action"] == "mouse_move")
        .collect();
    assert_eq!(moves.len(), 7, "one move per click: {moves:?}");
    for m in &moves {
        assert_eq!(m["mode"], "relative", "{m}");
        assert_eq!(m["error_px"], 0, "{m}");
        assert_eq!(m["at"], m["target"], "{m}");
        let rounds = m["rounds"].as_u64().unwrap();
        let distance = m["distance"].as_f64().unwrap();
        // ⌈log2 d⌉ + 16 is the loop's own bound; in practice far fewer.
        assert!(rounds <= 12, "{m}");
        assert!(distance >= 0.0, "{m}");
    }
    // "Canada" was clicked where the screen showed it (its row's centre, 52,283), and the
    // Continue button where it was found.
    let canada = events
        .iter()
        .find(|e| e["action"] == "click_screen" && e["screen"] == "canada")
        .expect("the Canada click");
    assert_eq!(
        (canada["x"].as_u64(), canada["y"].as_u64()),
        (Some(52), Some(283))
    );
    let continues = events
        .iter()
        .filter(|e| e["action"] == "click_screen" && e["screen"] == "continue")
        .count();
    assert_eq!(continues, 4);

    // The blinking text cursor was left out of the stillness.
    let still = events
        .iter()
        .find(|e| e["action"] == "wait_still")
        .expect("a wait_still event");
    assert_eq!(still["ignored"], 1, "{still}");
    assert!(dir.join("screenshots/001-hostname.png").exists());
    assert!(image::open(dir.join("final.png")).is_ok());
}
