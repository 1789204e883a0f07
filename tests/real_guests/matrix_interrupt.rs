//! Ctrl-C (here SIGINT, as a terminal sends it) during `vncpilot matrix`: every running cell
//! stops, every QEMU is reaped, cells not yet started are written as skipped, and what was
//! written is kept. Two real QEMU guests (an empty disk: SeaBIOS, then nothing) run at once.

use crate::common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::run::empty_disk_harness;
use serde_json::Value;

/// The `events.jsonl` files under `dir` (any depth).
fn events_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() && !p.is_symlink() {
            events_files(&p, out);
        } else if p.file_name().is_some_and(|n| n == "events.jsonl") {
            out.push(p);
        }
    }
}

#[test]
fn ctrl_c_stops_every_cell_reaps_qemu_and_keeps_results() {
    let _lock = common::guest_lock();
    let dir = tempfile::tempdir().unwrap();
    let harness = empty_disk_harness(
        dir.path(),
        "log(\"waiting\");\nwait_screen(\"language\", 600);\n",
        600,
    );
    let file = dir.path().join("m.toml");
    std::fs::write(
        &file,
        format!(
            "[harness.empty-disk]\npath = {:?}\n[harness.empty-disk.variant.a]\n\
             [harness.empty-disk.variant.b]\n[harness.empty-disk.variant.c]\n",
            harness.display().to_string()
        ),
    )
    .unwrap();
    let results = dir.path().join("results");
    let child = Command::new(env!("CARGO_BIN_EXE_vncpilot"))
        .args([
            "matrix",
            file.to_str().unwrap(),
            "--jobs",
            "2",
            "--night",
            "n",
        ])
        .arg("--results")
        .arg(&results)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until both running cells' guests are up and their macros wait.
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let mut files = Vec::new();
        events_files(&results, &mut files);
        let waiting = files
            .iter()
            .filter(|f| {
                std::fs::read_to_string(f)
                    .unwrap_or_default()
                    .contains("\"log\"")
            })
            .count();
        if waiting == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "two guests were not up in 180 s");
        std::thread::sleep(Duration::from_millis(200));
    }
    let serials: Vec<String> = {
        let mut files = Vec::new();
        events_files(&results, &mut files);
        files
            .iter()
            .map(|f| f.with_file_name("serial.log").display().to_string())
            .collect()
    };
    let started = Instant::now();
    assert!(
        Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(started.elapsed() < Duration::from_secs(60), "{stderr}");
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    // No QEMU of these cells is left.
    for serial in &serials {
        let found = Command::new("pgrep")
            .args(["-f", &format!("file:{serial}")])
            .output()
            .unwrap();
        assert!(found.stdout.is_empty(), "a QEMU for {serial} survived");
    }
    let mut statuses = Vec::new();
    for v in ["a", "b", "c"] {
        let cell_dir = results.join("n/empty-disk").join(v);
        let cell: Value =
            serde_json::from_str(&std::fs::read_to_string(cell_dir.join("cell.json")).unwrap())
                .unwrap();
        statuses.push(cell["status"].as_str().unwrap().to_string());
        if cell["status"] == "error" {
            // It ran: its attempt's results folder is complete and says why it ended.
            assert!(
                cell["reason"].as_str().unwrap().contains("interrupted"),
                "{cell}"
            );
            let result: Value = serde_json::from_str(
                &std::fs::read_to_string(cell_dir.join("attempt-1/result.json")).unwrap(),
            )
            .unwrap();
            assert_eq!(result["status"], "error");
            assert!(cell_dir.join("attempt-1/events.jsonl").is_file());
        } else {
            assert_eq!(cell["status"], "skip", "{cell}");
            assert!(
                cell["reason"].as_str().unwrap().contains("interrupted"),
                "{cell}"
            );
        }
    }
    statuses.sort();
    assert_eq!(statuses, ["error", "error", "skip"], "{stderr}");
}
