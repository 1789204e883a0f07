//! The macro mouse functions against a real TigerVNC Xvnc (an absolute pointer): `mouse_move`,
//! `click` with each button, `double_click`, `drag` and `mouse_hide` in a `vncpilot run
//! --vnc` harness, checked by what the X server delivered to a real X client (`xev`, its
//! window covering the screen) and by the run's events.jsonl. Also the failure paths: a
//! `click_screen` whose screen never comes fails (exit 1) with the screen saved, a target off
//! the screen is an error (exit 2).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::xvnc::{Xvnc, XvncAuth};

/// `xev` on the Xvnc display, its output line-buffered into a file; killed on drop.
struct Xev {
    child: Child,
    out: PathBuf,
}

impl Drop for Xev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Xev {
    fn start(xvnc: &Xvnc) -> Xev {
        let out = xvnc.dir().join("xev.txt");
        let file = std::fs::File::create(&out).unwrap();
        let child = Command::new("stdbuf")
            .args(["-oL", "xev", "-geometry", "1280x800+0+0"])
            .env("DISPLAY", format!(":{}", xvnc.display))
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(Stdio::null())
            .spawn()
            .expect("start xev (package x11-utils) through stdbuf (coreutils)");
        let xev = Xev { child, out };
        // Its window is mapped and drawn once it prints an Expose event.
        xev.wait_for(|text| text.contains("Expose event"), "xev's window to show");
        xev
    }

    fn text(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    fn wait_for(&self, done: impl Fn(&str) -> bool, what: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = self.text();
            if done(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "waiting for {what}; xev said:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// (kind, button, root x, root y) of every ButtonPress/ButtonRelease in xev's output.
fn buttons(text: &str) -> Vec<(String, u32, u32, u32)> {
    let mut out = Vec::new();
    let mut kind: Option<String> = None;
    let mut at = None;
    for line in text.lines() {
        if line.starts_with("ButtonPress event") || line.starts_with("ButtonRelease event") {
            kind = line.split_whitespace().next().map(str::to_string);
            at = None;
        } else if kind.is_some() && line.contains("root:(") {
            let s = &line[line.find("root:(").unwrap() + 6..];
            let s = &s[..s.find(')').unwrap()];
            let (x, y) = s.split_once(',').unwrap();
            at = Some((x.trim().parse().unwrap(), y.trim().parse().unwrap()));
        } else if let (Some(k), Some((x, y))) = (&kind, at)
            && let Some(i) = line.find("button ")
        {
            let b = line[i + 7..]
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap()
                .parse()
                .unwrap();
            out.push((k.clone(), b, x, y));
            kind = None;
        }
    }
    out
}

fn harness(dir: &Path, script: &str) -> PathBuf {
    let h = dir.join("mouse");
    std::fs::create_dir_all(&h).unwrap();
    let screens = Path::new(env!("CARGO_MANIFEST_DIR")).join("screens");
    std::fs::write(
        h.join("harness.toml"),
        format!(
            "screens = \"debian-12-gtk\"\nscreens_root = {:?}\n[timeouts]\nrun_s = 60\n",
            screens.display().to_string()
        ),
    )
    .unwrap();
    std::fs::write(h.join("install.rhai"), script).unwrap();
    h
}

#[test]
fn clicks_double_clicks_and_drags_reach_the_x_server() {
    let xvnc = Xvnc::start(1280, 800, XvncAuth::None);
    let xev = Xev::start(&xvnc);
    let tmp = tempfile::tempdir().unwrap();
    let h = harness(
        tmp.path(),
        r#"
mouse_move(100, 100);
click(200, 150);
click(300, 200, "right");
click(320, 210, "middle");
double_click(400, 250);
drag(500, 300, 600, 350);
mouse_hide();
"#,
    );
    let results = tmp.path().join("results");
    let (code, result) = run(&h, &xvnc, &results);
    assert_eq!(result["status"], "pass", "{result}");
    assert_eq!(code, Some(0));

    let expected: Vec<(String, u32, u32, u32)> = [
        ("ButtonPress", 1, 200, 150),
        ("ButtonRelease", 1, 200, 150),
        ("ButtonPress", 3, 300, 200),
        ("ButtonRelease", 3, 300, 200),
        ("ButtonPress", 2, 320, 210),
        ("ButtonRelease", 2, 320, 210),
        ("ButtonPress", 1, 400, 250),
        ("ButtonRelease", 1, 400, 250),
        ("ButtonPress", 1, 400, 250),
        ("ButtonRelease", 1, 400, 250),
        ("ButtonPress", 1, 500, 300),
        ("ButtonRelease", 1, 600, 350),
    ]
    .iter()
    .map(|(k, b, x, y)| (k.to_string(), *b, *x, *y))
    .collect();
    let text = xev.wait_for(|t| buttons(t).len() >= expected.len(), "every button event");
    assert_eq!(buttons(&text), expected, "xev:\n{text}");

    let events: Vec<Value> = std::fs::read_to_string(results.join("latest/events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let moves: Vec<&Value> = events
        .iter()
        .filter(|e| e["action"] == "mouse_move")
        .collect();
    // One per move_to: mouse_move, 3 clicks, double_click, drag (2).
    assert_eq!(moves.len(), 7, "{moves:?}");
    for m in &moves {
        assert_eq!(m["mode"], "absolute", "{m}");
        assert!(
            m["distance"].as_f64().is_some() && m["rounds"].as_u64() >= Some(1),
            "{m}"
        );
    }
    let targets: Vec<&Value> = moves.iter().map(|m| &m["target"]).collect();
    assert_eq!(targets[0], &serde_json::json!([100, 100]));
    assert_eq!(targets[6], &serde_json::json!([600, 350]));
    // Xvnc draws no cursor into the pixels, so each move starts where the last one went.
    assert_eq!(moves[1]["from"], serde_json::json!([100, 100]));
    assert!((moves[1]["distance"].as_f64().unwrap() - 111.803).abs() < 0.01);
    assert_eq!(moves[6]["from"], serde_json::json!([500, 300]));
    for action in ["click", "double_click", "drag", "mouse_hide"] {
        assert!(
            events.iter().any(|e| e["action"] == action),
            "no {action} event"
        );
    }
    let right = events
        .iter()
        .find(|e| e["action"] == "click" && e["button"] == "right")
        .expect("the right click's event");
    assert_eq!(
        (right["x"].as_u64(), right["y"].as_u64()),
        (Some(300), Some(200))
    );
}

fn run(h: &Path, xvnc: &Xvnc, results: &Path) -> (Option<i32>, Value) {
    let status = Command::new(env!("CARGO_BIN_EXE_vncpilot"))
        .arg("run")
        .arg(h)
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
fn a_click_on_a_screen_that_never_comes_fails_with_the_screen_saved() {
    let xvnc = Xvnc::start(1280, 800, XvncAuth::None);
    let tmp = tempfile::tempdir().unwrap();
    let h = harness(tmp.path(), "log(\"go\");\nclick_screen(\"canada\", 1);\n");
    let results = tmp.path().join("results");
    let (code, result) = run(&h, &xvnc, &results);
    assert_eq!(code, Some(1), "{result}");
    assert_eq!(result["status"], "fail");
    let reason = result["reason"].as_str().unwrap();
    assert!(
        reason.contains("install.rhai:2:")
            && reason.contains("screen canada did not appear within 1 s")
            && reason.contains("screenshots/"),
        "{reason}"
    );
    let shot = reason
        .split("screen saved as ")
        .nth(1)
        .and_then(|s| s.strip_suffix(')'))
        .expect("the reason names the screenshot");
    let saved = image::open(results.join("latest").join(shot)).expect("the screenshot");
    assert_eq!((saved.width(), saved.height()), (1280, 800));

    // A target off the screen is the macro's mistake: an error (exit 2), not a failure.
    let h = harness(tmp.path(), "click(5000, 10);\n");
    let (code, result) = run(&h, &xvnc, &results);
    assert_eq!(code, Some(2), "{result}");
    let reason = result["reason"].as_str().unwrap();
    assert!(
        reason.contains("install.rhai:1:") && reason.contains("outside the 1280x800 screen"),
        "{reason}"
    );
}
