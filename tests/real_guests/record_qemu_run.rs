//! `vncpilot run` with a QEMU guest it launches itself, failing: the recording and the
//! QEMU-only forensics (QMP `info registers` and a screendump), watched over VNC and with
//! `--watch qmp` (no VNC session: the recording takes QEMU's screendumps). The guest boots an
//! empty disk, so SeaBIOS shows "No bootable device" within seconds and the macro's screen never
//! comes: a fast, real guest.

use crate::common;

use std::ops::ControlFlow;
use std::process::{Command, Stdio};

use common::run::empty_disk_harness;
use serde_json::Value;
use vncpilot::record::{Manifest, Recording};
use vncpilot::report::forensics;

fn failing_run(watch: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    let status = Command::new(env!("CARGO_BIN_EXE_vncpilot"))
        .arg("run")
        .arg(empty_disk_harness(
            tmp.path(),
            "log(\"booting\");\nwait_screen(\"language\", 8);\n",
            120,
        ))
        .args(["--watch", watch, "--results"])
        .arg(&results)
        .stdout(Stdio::null())
        .status()
        .expect("run vncpilot");
    let dir = std::fs::canonicalize(results.join("latest")).unwrap();
    let result: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("result.json")).unwrap()).unwrap();
    assert_eq!(status.code(), Some(1), "{result}");
    assert_eq!(result["status"], "fail");

    // Forensics: the QEMU pieces are there and readable.
    let summary = forensics::load(&dir).unwrap().expect("forensics.json");
    let registers = std::fs::read_to_string(dir.join(summary.qemu_registers.expect("registers")))
        .expect("registers.txt");
    assert!(
        registers.contains("RIP=") || registers.contains("EIP="),
        "{registers}"
    );
    let dump = image::open(dir.join(summary.qemu_screendump.expect("screendump")))
        .expect("screendump.png")
        .to_rgb8();
    let final_png = image::open(dir.join("final.png")).unwrap().to_rgb8();
    assert_eq!(dump.dimensions(), final_png.dimensions());
    assert!(summary.serial_tail.is_some());
    let awaited = summary.awaited.expect("the awaited screen");
    assert_eq!(awaited.screen, "language");
    assert!(dir.join(awaited.diff_png).is_file());

    // The recording: finished, decodable, and it shows the final screen. (Not necessarily as
    // its very last frame: the guest's screen goes on changing — SeaBIOS's blinking text
    // cursor — while the forensics are written, and the video keeps recording until the end.)
    let manifest = Manifest::load(&dir).expect("video.json");
    assert!(manifest.complete);
    assert!(manifest.stats.frames_encoded > 0);
    let mut shows_final = false;
    let mut last_t = 0.0;
    let decoded = Recording::open(&dir)
        .unwrap()
        .for_each_frame(|f| {
            shows_final |= f.image == final_png;
            last_t = f.t;
            ControlFlow::Continue(())
        })
        .expect("decode the lossless track");
    assert_eq!(decoded, manifest.stats.frames_encoded);
    assert!(
        shows_final,
        "final.png is not among the {decoded} recorded frames"
    );
    let end = result["duration_s"].as_f64().unwrap();
    assert!(
        last_t <= end + 0.5,
        "a frame at {last_t} s, the run ended at {end} s"
    );
}

#[test]
fn a_failing_qemu_run_records_and_keeps_qemu_forensics_over_vnc() {
    let _lock = common::guest_lock();
    failing_run("vnc");
}

#[test]
fn a_failing_qemu_run_records_from_qmp_screendumps() {
    let _lock = common::guest_lock();
    failing_run("qmp");
}
