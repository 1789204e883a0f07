//! End to end: `vncpilot run harnesses/debian-12` boots the real Debian 12 text installer under
//! QEMU (TCG), walks it to the BusyBox shell and sees a random marker come back on the serial
//! port. About 4–5 minutes on 2 cores. The verdict is read from result.json and events.jsonl.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const KERNEL: &str = "/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64/linux";

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
fn debian_text_installer_reaches_the_shell_and_the_serial_port() {
    if !Path::new(KERNEL).exists() {
        panic!(
            "{KERNEL} is missing: install debian-installer-12-netboot-amd64 (scripts/install-deps)"
        );
    }
    let _lock = common::guest_lock();
    let results = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vncpilot"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "harnesses/debian-12", "--junit"])
        .arg(results.path().join("junit.xml"))
        .arg("--results")
        .arg(results.path());
    let status = run_with_deadline(cmd, Duration::from_secs(900));
    let dir = results.path().join("latest");
    let result: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("result.json")).unwrap()).unwrap();
    assert_eq!(result["status"], "pass", "{result}");
    assert_eq!(status.code(), Some(0));
    assert_eq!(result["harness"], "debian-12");
    let events = events(&dir);
    let matched: Vec<&str> = events
        .iter()
        .filter(|e| e["action"] == "wait_screen")
        .map(|e| e["matched"].as_str().expect("every wait matched"))
        .collect();
    assert_eq!(matched.first(), Some(&"language"));
    assert_eq!(matched.last(), Some(&"shell"));
    assert!(
        matched.contains(&"bad-mirror") && matched.contains(&"main-menu"),
        "{matched:?}"
    );
    let serial = events
        .iter()
        .find(|e| e["action"] == "wait_serial")
        .expect("a wait_serial event");
    let marker = serial["matched"].as_str().expect("the marker was seen");
    assert!(marker.starts_with("vncpilot-debian-12-"), "{marker}");
    let log = std::fs::read_to_string(dir.join("serial.log")).unwrap();
    assert!(log.contains(marker), "serial.log lacks {marker}");
    assert!(image::open(dir.join("final.png")).is_ok());
    let junit = std::fs::read_to_string(results.path().join("junit.xml")).unwrap();
    assert!(
        junit.contains("failures=\"0\"") && junit.contains("errors=\"0\""),
        "{junit}"
    );
}
