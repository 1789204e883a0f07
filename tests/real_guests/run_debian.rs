//! End to end: `vncpilot run harnesses/debian-12` boots the real Debian 12 text installer under
//! QEMU (TCG), walks it to the BusyBox shell and sees a random marker come back on the serial
//! port. About 4–5 minutes on 2 cores. The verdict is read from result.json and events.jsonl.

use crate::common;

use std::time::Duration;

use common::run::{events, matched_screens, run_harness};

const KERNEL: &str = "/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64/linux";

#[test]
fn debian_text_installer_reaches_the_shell_and_the_serial_port() {
    let _lock = common::guest_lock();
    let junit_dir = tempfile::tempdir().unwrap();
    let junit = junit_dir.path().join("junit.xml");
    let run = run_harness(
        "harnesses/debian-12",
        &["--junit", junit.to_str().unwrap()],
        KERNEL,
        Duration::from_secs(900),
    );
    run.assert_passed("debian-12");
    let dir = &run.dir;
    let events = events(dir);
    let matched = matched_screens(&events);
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
    let junit = std::fs::read_to_string(&junit).unwrap();
    assert!(
        junit.contains("failures=\"0\"") && junit.contains("errors=\"0\""),
        "{junit}"
    );
}
