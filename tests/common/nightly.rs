//! Nightly results for testing `vncpilot report`: real attempt folders made by real `vncpilot run`s
//! against a real Xvnc desktop (one failing with forensics and a video, one passing with its video
//! kept), laid out as three synthetic nights of a matrix (docs/nightly.md's layout).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use super::xvnc::{Xvnc, XvncAuth};

/// Two real results folders.
pub struct RealAttempts {
    pub failed: PathBuf,
    pub passed: PathBuf,
    _results: tempfile::TempDir,
}

/// Runs a failing and a passing harness on a real Xvnc desktop with an xterm on it.
pub fn real_attempts() -> RealAttempts {
    let mut desktop = Xvnc::start(1024, 768, XvncAuth::None);
    desktop.spawn_centred_xterm();
    let tmp = tempfile::tempdir().expect("tmp");
    let screens = Path::new(env!("CARGO_MANIFEST_DIR")).join("screens");
    let run = |name: &str, script: &str, extra: &[&str]| -> PathBuf {
        let h = tmp.path().join(name);
        std::fs::create_dir_all(&h).unwrap();
        std::fs::write(
            h.join("harness.toml"),
            format!(
                "screens = \"debian-12\"\nscreens_root = {:?}\n[timeouts]\nrun_s = 60\n",
                screens.display().to_string()
            ),
        )
        .unwrap();
        std::fs::write(h.join("install.rhai"), script).unwrap();
        let results = tmp.path().join(format!("results-{name}"));
        let status = Command::new(env!("CARGO_BIN_EXE_vncpilot"))
            .arg("run")
            .arg(&h)
            .arg("--vnc")
            .arg(desktop.unix_addr())
            .arg("--results")
            .arg(&results)
            .args(extra)
            .stdout(Stdio::null())
            .status()
            .expect("run vncpilot");
        assert!(status.code().is_some(), "{name}: {status}");
        std::fs::canonicalize(results.join("latest")).expect("results/latest")
    };
    let failed = run(
        "wrong-installer",
        "log(\"looking for the installer\");\ncheck_screen([\"language\"], 1);\nkey(\"ret\");\n\
         check_screen([\"shell\"], 1);\nwait_screen([\"language\"], 2);\n",
        &[],
    );
    let passed = run(
        "quick",
        "log(\"hello\");\nkey(\"ret\");\n",
        &["--keep-video"],
    );
    let read = |dir: &Path| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join("result.json")).unwrap()).unwrap()
    };
    assert_eq!(read(&failed)["status"], "fail", "{}", read(&failed));
    assert_eq!(read(&passed)["status"], "pass", "{}", read(&passed));
    assert!(failed.join("video.webm").is_file() && failed.join("forensics").is_dir());
    RealAttempts {
        failed,
        passed,
        _results: tmp,
    }
}

/// Copies a results folder (recursively).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// One cell to write: its status, reason, duration, start, label, and attempts (status + the
/// real folder to copy).
pub struct CellSpec<'a> {
    pub night: &'a str,
    pub harness: &'a str,
    pub variant: &'a str,
    pub status: &'a str,
    pub reason: &'a str,
    pub duration_s: f64,
    pub started: String,
    pub label: Option<(&'a str, &'a str)>,
    pub attempts: Vec<(&'a str, &'a Path)>,
}

/// Writes `root/<night>/<harness>/<variant>/cell.json` and `attempt-<k>/` for `spec`.
pub fn write_cell(root: &Path, spec: &CellSpec) {
    let dir = root.join(spec.night).join(spec.harness).join(spec.variant);
    let mut attempts = Vec::new();
    for (k, (status, source)) in spec.attempts.iter().enumerate() {
        let name = format!("attempt-{}", k + 1);
        copy_dir(source, &dir.join(&name));
        let result: Value =
            serde_json::from_str(&std::fs::read_to_string(source.join("result.json")).unwrap())
                .unwrap();
        attempts.push(
            json!({"status": status, "reason": result["reason"], "duration_s": result["duration_s"],
                             "results": name}),
        );
    }
    std::fs::create_dir_all(&dir).unwrap();
    let cell = json!({
        "harness": spec.harness, "variant": spec.variant, "night": spec.night,
        "status": spec.status, "reason": spec.reason, "duration_s": spec.duration_s,
        "started": spec.started, "shard": null, "matrix": "matrix/nightly.toml",
        "attempts": attempts,
        "label": spec.label.map(|(label, link)| json!({"label": label, "link": link})),
    });
    std::fs::write(
        dir.join("cell.json"),
        serde_json::to_string_pretty(&cell).unwrap(),
    )
    .unwrap();
}

pub const NIGHTS: [&str; 3] = ["2026-12-01", "2026-12-02", "2026-12-03"];

/// A reason with markup in it: it must be shown as text, never run.
pub const HOSTILE_REASON: &str = "install.rhai:5:1: screen language did not appear <script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\">";

/// The cells of three nights (see the table in the test that reads them), in writing order.
pub fn three_nights(real: &RealAttempts) -> Vec<CellSpec<'_>> {
    let (f, p) = (real.failed.as_path(), real.passed.as_path());
    let fail_reason = "wrong-installer/install.rhai:5:1: screen language did not appear within 2 s";
    let mut cells = Vec::new();
    for (i, night) in NIGHTS.iter().enumerate() {
        let started = |minute: u32| format!("{night}T01:{minute:02}:00Z");
        let cell = |harness, variant, status, reason, duration_s, minute, attempts| CellSpec {
            night,
            harness,
            variant,
            status,
            reason,
            duration_s,
            started: started(minute),
            label: None,
            attempts,
        };
        // debian-12/bios-std: passes, then fails two nights running (the last with a hostile reason).
        cells.push(match i {
            0 => cell(
                "debian-12",
                "bios-std",
                "pass",
                "",
                171.0,
                0,
                vec![("pass", p)],
            ),
            1 => cell(
                "debian-12",
                "bios-std",
                "fail",
                fail_reason,
                60.0,
                0,
                vec![("fail", f), ("fail", f)],
            ),
            _ => cell(
                "debian-12",
                "bios-std",
                "fail",
                HOSTILE_REASON,
                61.0,
                0,
                vec![("fail", f), ("fail", f)],
            ),
        });
        // debian-12/uefi-std: pass, flaky, pass; getting slower.
        cells.push(match i {
            0 => cell(
                "debian-12",
                "uefi-std",
                "pass",
                "",
                100.0,
                1,
                vec![("pass", p)],
            ),
            1 => cell(
                "debian-12",
                "uefi-std",
                "flaky",
                fail_reason,
                120.0,
                1,
                vec![("fail", f), ("pass", p)],
            ),
            _ => cell(
                "debian-12",
                "uefi-std",
                "pass",
                "",
                130.0,
                1,
                vec![("pass", p)],
            ),
        });
        // debian-12/bios-virtio: fail, pass, fail again with a label from the matrix.
        let mut virtio = match i {
            1 => cell(
                "debian-12",
                "bios-virtio",
                "pass",
                "",
                90.0,
                2,
                vec![("pass", p)],
            ),
            _ => cell(
                "debian-12",
                "bios-virtio",
                "fail",
                fail_reason,
                30.0,
                2,
                vec![("fail", f)],
            ),
        };
        if i == 2 {
            virtio.label = Some(("bug 123: mirror flaky", "https://bugs.example.org/123"));
        }
        cells.push(virtio);
        // debian-12-gtk/bios-std: error, fail, then fixed.
        cells.push(match i {
            0 => cell(
                "debian-12-gtk",
                "bios-std",
                "error",
                "qemu exited: could not open disk",
                2.0,
                3,
                vec![("error", f)],
            ),
            1 => cell(
                "debian-12-gtk",
                "bios-std",
                "fail",
                fail_reason,
                40.0,
                3,
                vec![("fail", f)],
            ),
            _ => cell(
                "debian-12-gtk",
                "bios-std",
                "pass",
                "",
                300.0,
                3,
                vec![("pass", p)],
            ),
        });
        // debian-12-arm64/uefi: its media is not installed.
        cells.push(cell(
            "debian-12-arm64",
            "uefi",
            "skip",
            "media not installed: install debian-installer-12-netboot-arm64",
            0.0,
            4,
            vec![],
        ));
    }
    cells
}

/// `vncpilot report ARGS...`: (exit code, stdout + stderr).
pub fn report(args: &[&std::ffi::OsStr]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vncpilot"))
        .arg("report")
        .args(args)
        .output()
        .expect("run vncpilot report");
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The known issues the tests use: the bios-std failure of the latest nights is "bug 77".
pub const KNOWN_ISSUES: &str = "[[issue]]\nlabel = \"bug 77: language screen renamed\"\n\
    link = \"https://bugs.example.org/77\"\nreason = \"screen language did not appear\"\nscreen = \"language\"\n";

/// Every relative link (`href`, `src`) of an HTML file that has no scheme, without its fragment.
pub fn relative_links(html: &str) -> Vec<String> {
    let pattern = regex::Regex::new(r#"(?:href|src)="([^"]*)""#).unwrap();
    pattern
        .captures_iter(html)
        .map(|c| c[1].replace("&amp;", "&"))
        .filter(|link| !link.contains("://") && !link.starts_with('#'))
        .map(|link| link.split('#').next().unwrap_or("").to_owned())
        .collect()
}

/// Decodes `%XX` in a URL path.
pub fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&path[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).expect("UTF-8 path")
}

/// Every file under `dir`, relative, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().to_owned());
            }
        }
    }
    out.sort();
    out
}
