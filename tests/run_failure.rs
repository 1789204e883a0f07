//! The failure path of `vncpilot run`: a harness waiting for a screen from another installer
//! (Debian's language screen) against a real, empty TigerVNC Xvnc desktop fails with exit 1,
//! a final.png, and the best similarity it saw. Also: Ctrl-C-free errors (a broken macro) exit 2
//! with file:line:col.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

mod common;
use common::xvnc::{Xvnc, XvncAuth};

fn harness(dir: &Path, script: &str) -> PathBuf {
    let h = dir.join("wrong-installer");
    std::fs::create_dir_all(&h).unwrap();
    let screens = Path::new(env!("CARGO_MANIFEST_DIR")).join("screens");
    std::fs::write(
        h.join("harness.toml"),
        format!(
            "screens = \"debian-12\"\nscreens_root = {:?}\n[timeouts]\nrun_s = 60\n",
            screens.display().to_string()
        ),
    )
    .unwrap();
    std::fs::write(h.join("install.rhai"), script).unwrap();
    h
}

fn run(harness: &Path, xvnc: &Xvnc, results: &Path) -> (Option<i32>, Value) {
    let status = Command::new(env!("CARGO_BIN_EXE_vncpilot"))
        .arg("run")
        .arg(harness)
        .arg("--vnc")
        .arg(xvnc.unix_addr())
        .arg("--results")
        .arg(results)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    let result = std::fs::read_to_string(results.join("latest/result.json")).unwrap();
    (status.code(), serde_json::from_str(&result).unwrap())
}

#[test]
fn a_screen_that_never_comes_fails_with_evidence() {
    let xvnc = Xvnc::start(1280, 800, XvncAuth::None);
    let tmp = tempfile::tempdir().unwrap();
    let h = harness(
        tmp.path(),
        "log(\"waiting\");\nwait_screen([\"language\", \"shell\"], 3);\n",
    );
    let (code, result) = run(&h, &xvnc, &tmp.path().join("results"));
    assert_eq!(code, Some(1), "{result}");
    assert_eq!(result["status"], "fail");
    let reason = result["reason"].as_str().unwrap();
    assert!(
        reason.contains("install.rhai:2:") && reason.contains("best similarity: language 0."),
        "{reason}"
    );
    let latest = tmp.path().join("results/latest");
    let final_png = image::open(latest.join("final.png"))
        .expect("final.png")
        .to_rgb8();
    assert_eq!(final_png.dimensions(), (1280, 800));
    let events = std::fs::read_to_string(latest.join("events.jsonl")).unwrap();
    let wait: Value = events
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|e| e["action"] == "wait_screen")
        .expect("a wait_screen event");
    assert!(wait["matched"].is_null());
    let best = wait["best"]["language"].as_f64().unwrap();
    assert!((0.0..0.9).contains(&best), "{wait}");
}

#[test]
fn macro_errors_exit_2_with_file_line_col_and_secrets_stay_out() {
    let xvnc = Xvnc::start(1280, 800, XvncAuth::None);
    let tmp = tempfile::tempdir().unwrap();
    let h = harness(
        tmp.path(),
        "type_secret(\"hunter2\");\nlet x = 1;\nwait_screen(\"no-such-screen\", 1);\n",
    );
    let (code, result) = run(&h, &xvnc, &tmp.path().join("results"));
    assert_eq!(code, Some(2), "{result}");
    assert_eq!(result["status"], "error");
    let reason = result["reason"].as_str().unwrap();
    assert!(
        reason.contains("install.rhai:3:") && reason.contains("no-such-screen"),
        "{reason}"
    );
    let latest = tmp.path().join("results/latest");
    for f in ["events.jsonl", "log.txt", "result.json"] {
        let text = std::fs::read_to_string(latest.join(f)).unwrap();
        assert!(!text.contains("hunter2"), "{f} shows the secret");
    }
}
