//! Developer mode (`vncpilot run --pause-on-fail`, `--pause-at`) through the binary, against a
//! real Xvnc running an xterm and a real headless Chromium on the authoring page it prints:
//! - a wait for a screen that has no reference yet pauses instead of failing; on the page the
//!   failed frame is frozen and named after the awaited screen, a drawn rectangle is saved as
//!   the reference, Retry reruns the step with the references reloaded and the run passes
//!   (events.jsonl says paused / resumed). Writes docs/images/author-paused.png;
//! - `--pause-at 1` pauses before the step; Retry runs it, its failure pauses again, Give up
//!   fails the run as it would have failed without developer mode;
//! - SIGTERM while paused ends the run `error` within seconds, results kept.

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::devtools::{Chromium, Page};
use common::xvnc::{Xvnc, XvncAuth};

/// A `vncpilot run` in developer mode, its stderr lines read on a thread; killed on drop.
struct PausedRun {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl PausedRun {
    fn start(desktop: &Xvnc, work: &Path, script: &str, flags: &[&str]) -> PausedRun {
        let screens = work.join("screens");
        std::fs::create_dir_all(screens.join("dev")).unwrap();
        let h = work.join("dev");
        std::fs::create_dir_all(&h).unwrap();
        std::fs::write(
            h.join("harness.toml"),
            format!(
                "screens = \"dev\"\nscreens_root = {:?}\n[timeouts]\nrun_s = 20\n",
                screens.display().to_string()
            ),
        )
        .unwrap();
        std::fs::write(h.join("install.rhai"), script).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_vncpilot"))
            .arg("run")
            .arg(&h)
            .args(["--vnc", &desktop.unix_addr(), "--results"])
            .arg(work.join("results"))
            .args(flags)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start vncpilot run");
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // The progress line redraws with \r: keep the last state of each line.
                let line = line.rsplit('\r').next().unwrap_or_default().to_string();
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        PausedRun {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The next stderr line starting with `prefix` (≤ `secs`).
    fn line(&mut self, prefix: &str, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if let Some(i) = line.find(prefix) {
                        return line[i..].to_string();
                    }
                }
                Err(_) => panic!(
                    "no stderr line {prefix:?} within {secs} s; it said:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// The authoring page's URL from the next pause notice.
    fn pause_url(&mut self) -> String {
        let line = self.line("fix or add the reference", 60);
        let url = line.rsplit(' ').next().unwrap().to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "{line}");
        url
    }

    /// Waits (≤ `secs`) for the exit; its code, the results folder and its result.json.
    fn finish(&mut self, secs: u64) -> (i32, PathBuf, Value) {
        let results = PathBuf::from(self.line("results: ", secs)["results: ".len()..].trim());
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "vncpilot did not exit");
            std::thread::sleep(Duration::from_millis(50));
        };
        let result = std::fs::read_to_string(results.join("result.json"))
            .unwrap_or_else(|e| panic!("{}: {e}", results.display()));
        (
            status.code().unwrap_or(-1),
            results,
            serde_json::from_str(&result).unwrap(),
        )
    }
}

impl Drop for PausedRun {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The messages of the run's `log` events.
fn logs(results: &Path) -> Vec<String> {
    common::run::events(results)
        .iter()
        .filter(|e| e["action"] == "log")
        .filter_map(|e| e["message"].as_str().map(str::to_string))
        .collect()
}

fn paused_page(url: &str) -> (Chromium, Page) {
    let browser = Chromium::launch(url);
    let mut page = browser.page(url);
    page.wait_for("!document.getElementById('paused').hidden", 20);
    (browser, page)
}

#[test]
fn a_paused_run_resumes_after_the_reference_is_saved_and_passes() {
    let mut desktop = Xvnc::start(800, 600, XvncAuth::None);
    desktop.spawn_centred_xterm();
    let work = tempfile::tempdir().unwrap();
    let mut run = PausedRun::start(
        &desktop,
        work.path(),
        "wait_screen(\"desk\", 3);\nlog(\"desk seen\");\n",
        &["--pause-on-fail"],
    );
    let url = run.pause_url();
    let (_browser, mut page) = paused_page(&url);
    let reason = page.wait_for("document.getElementById('paused-reason').textContent", 10);
    assert!(
        reason.as_str().unwrap().contains("no screen \"desk\""),
        "{reason}"
    );
    // The failed frame is frozen for editing, named after the awaited screen.
    page.wait_for("author.mode === 'frozen'", 20);
    assert_eq!(
        page.eval("document.getElementById('ref-name').value"),
        "desk"
    );
    page.eval("author.shapes = [{kind: 'match', x: 0, y: 0, w: 800, h: 600}]");
    page.eval("document.getElementById('save-form').requestSubmit()");
    page.wait_for("author.saved", 20);
    let docs_image = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/images/author-paused.png");
    page.screenshot(&docs_image);
    assert!(work.path().join("screens/dev/desk.png").is_file());
    page.eval("document.getElementById('retry').click()");

    let (code, results, result) = run.finish(30);
    assert_eq!(code, 0, "{result}");
    assert_eq!(result["status"], "pass", "{result}");
    let logs = logs(&results);
    let paused = logs
        .iter()
        .position(|m| m.starts_with("paused: step 1 wait_screen(desk)"));
    let resumed = logs
        .iter()
        .position(|m| m == "resumed: retrying with the references reloaded");
    let seen = logs.iter().position(|m| m == "desk seen");
    assert!(
        paused < resumed && resumed < seen && paused.is_some(),
        "{logs:?}"
    );
    // Nothing paused any more: the page's answer is refused.
    assert!(
        page.eval("document.getElementById('paused').hidden")
            .as_bool()
            != Some(false)
    );
}

#[test]
fn pause_at_a_step_then_give_up_fails_as_without_developer_mode() {
    let mut desktop = Xvnc::start(640, 480, XvncAuth::None);
    desktop.spawn_centred_xterm();
    let work = tempfile::tempdir().unwrap();
    // A reference that cannot match the xterm desktop: the Debian installer's language screen.
    let debian = Path::new(env!("CARGO_MANIFEST_DIR")).join("screens/debian-12");
    let dev = work.path().join("screens/dev");
    std::fs::create_dir_all(&dev).unwrap();
    for ext in ["png", "toml"] {
        let from = debian.join(format!("language.{ext}"));
        if from.exists() {
            std::fs::copy(&from, dev.join(format!("language.{ext}"))).unwrap();
        }
    }
    let mask = Path::new(env!("CARGO_MANIFEST_DIR")).join("masks/debian-12/language.png");
    if mask.exists() {
        std::fs::create_dir_all(work.path().join("masks/dev")).unwrap();
        std::fs::copy(&mask, work.path().join("masks/dev/language.png")).unwrap();
    }
    let mut run = PausedRun::start(
        &desktop,
        work.path(),
        "wait_screen(\"language\", 1);\n",
        &["--pause-at", "1", "--pause-on-fail"],
    );
    let url = run.pause_url();
    let (_browser, mut page) = paused_page(&url);
    page.wait_for(
        "document.getElementById('paused-reason').textContent.includes('paused before it runs')",
        10,
    );
    page.eval("document.getElementById('retry').click()");
    // The step ran and failed: paused again, with the wait's own reason.
    page.wait_for(
        "!document.getElementById('paused').hidden && \
         document.getElementById('paused-reason').textContent.includes('did not appear within 1 s')",
        30,
    );
    page.eval("document.getElementById('give-up').click()");
    let (code, results, result) = run.finish(30);
    assert_eq!(code, 1, "{result}");
    assert_eq!(result["status"], "fail", "{result}");
    assert!(
        result["reason"]
            .as_str()
            .unwrap()
            .contains("screen language did not appear within 1 s"),
        "{result}"
    );
    let logs = logs(&results);
    assert_eq!(
        logs.iter().filter(|m| m.starts_with("paused: ")).count(),
        2,
        "{logs:?}"
    );
    assert!(logs.iter().any(|m| m == "resumed: given up"), "{logs:?}");
}

#[test]
fn sigterm_while_paused_ends_the_run_as_an_error_promptly() {
    let mut desktop = Xvnc::start(640, 480, XvncAuth::None);
    desktop.spawn_centred_xterm();
    let work = tempfile::tempdir().unwrap();
    let mut run = PausedRun::start(
        &desktop,
        work.path(),
        "wait_screen(\"desk\", 1);\n",
        &["--pause-on-fail"],
    );
    run.pause_url();
    let asked = Instant::now();
    let pid = run.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let (code, _results, result) = run.finish(15);
    assert_eq!(code, 2, "{result}");
    assert_eq!(result["status"], "error", "{result}");
    assert!(
        result["reason"].as_str().unwrap().contains("SIGTERM"),
        "{result}"
    );
    assert!(
        asked.elapsed() < Duration::from_secs(10),
        "{:?}",
        asked.elapsed()
    );
}
