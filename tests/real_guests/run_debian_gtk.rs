//! End to end with the mouse: `vncpilot run harnesses/debian-12-gtk` boots the real Debian 12
//! graphical installer under QEMU (TCG) with its default PS/2 mouse — relative, accelerated,
//! the cursor drawn into the framebuffer by X.org — and answers language, location (a click on
//! "Canada"), keyboard, network and hostname with clicks, ending with a `wait_still` that
//! ignores the blinking text cursor. The verdict and the mouse's behaviour are read from
//! result.json and events.jsonl. (The same clicks with an absolute usb-tablet are in
//! tests/real_guests/pointer_guest.rs.)

use crate::common;

use std::time::Duration;

use common::run::{events, matched_screens, run_harness};
use serde_json::Value;

const KERNEL: &str = "/usr/lib/debian-installer/images/12/amd64/gtk/debian-installer/amd64/linux";

#[test]
fn debian_gtk_installer_is_answered_with_the_mouse() {
    let _lock = common::guest_lock();
    let run = run_harness(
        "harnesses/debian-12-gtk",
        &[],
        KERNEL,
        Duration::from_secs(700),
    );
    run.assert_passed("debian-12-gtk");
    let dir = &run.dir;
    let events = events(dir);

    let matched = matched_screens(&events);
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
