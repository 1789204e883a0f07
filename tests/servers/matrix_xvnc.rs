//! `vncpilot matrix` over real TigerVNC servers: cells attach (`vnc = …`) to their own Xvnc,
//! whose xterm runs a tiny shell "guest". Cheap real cells, so these tests can run many at once:
//! eight cells in parallel without crosstalk; a cell that fails once and passes on the retry is
//! `flaky` with both attempts kept; known-issue signatures label the failures.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::xvnc::{Xvnc, XvncAuth};
use serde_json::Value;

/// A harness that types its `token` variable and a newline, then waits `wait_s` seconds for the
/// screen to change (the guest's answer); it has no [guest]: cells attach to a VNC server.
fn xterm_harness(dir: &Path) -> PathBuf {
    let h = dir.join("xterm");
    std::fs::create_dir_all(h.join("screens/none")).unwrap();
    std::fs::write(
        h.join("harness.toml"),
        "screens = \"none\"\nscreens_root = \"screens\"\n[timeouts]\nrun_s = 120\nstart_s = 30\n\
         [variables]\ntoken = \"unset\"\nwait_s = \"20\"\n",
    )
    .unwrap();
    std::fs::write(
        h.join("install.rhai"),
        "type(var(\"token\") + \"\\n\");\nwait_change(parse_int(var(\"wait_s\")));\n",
    )
    .unwrap();
    h
}

/// An Xvnc whose xterm (over the pointer, so it has the keyboard) runs `script` with `$OUT`
/// set to a file in the server's folder; `script` must `touch "$OUT.ready"` once it reads keys.
fn guest(script: &str) -> Xvnc {
    let mut x = Xvnc::start(800, 600, XvncAuth::None);
    let out = x.dir().join("out");
    let script = format!("OUT={}; {script}", out.display());
    x.spawn_client(
        "xterm",
        &["-geometry", "80x24+100+100", "-e", "/bin/sh", "-c", &script],
    );
    x
}

/// Waits (≤ 30 s) until every guest's script is ready for keys.
fn wait_ready(guests: &[Xvnc]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    for g in guests {
        let ready = g.dir().join("out.ready");
        while !ready.exists() {
            assert!(
                Instant::now() < deadline,
                "{} never appeared",
                ready.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn matrix(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vncpilot"))
        .arg("matrix")
        .args(args)
        .output()
        .expect("run vncpilot matrix");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn cell_json(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("cell.json")).unwrap()).unwrap()
}

/// Silent until it has read one line (no echo), then writes it to $OUT and prints a tick
/// twice a second: the screen changes only once this guest received its own line.
const ANSWER_ONCE: &str = "stty -echo; touch \"$OUT.ready\"; read line; echo \"$line\" > \"$OUT\"; \
                           while :; do date +%N; sleep 0.5; done";

#[test]
fn eight_cells_at_once_show_no_crosstalk() {
    let dir = tempfile::tempdir().unwrap();
    let harness = xterm_harness(dir.path());
    let guests: Vec<Xvnc> = (0..8).map(|_| guest(ANSWER_ONCE)).collect();
    wait_ready(&guests);
    let run_id = std::process::id();
    let mut file = format!(
        "[harness.xterm]\npath = {:?}\n",
        harness.display().to_string()
    );
    for (i, g) in guests.iter().enumerate() {
        file.push_str(&format!(
            "[harness.xterm.variant.s{i}]\nvnc = {:?}\nvariables = {{ token = \"token-{i}-{run_id}\" }}\n",
            g.unix_addr()
        ));
    }
    let matrix_file = dir.path().join("eight.toml");
    std::fs::write(&matrix_file, file).unwrap();
    let results = dir.path().join("results");
    let (code, stdout, stderr) = matrix(&[
        matrix_file.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
        "--jobs",
        "8",
        "--night",
        "n1",
        "--tap",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("1..8"), "{stdout}");
    let mut starts = Vec::new();
    for (i, g) in guests.iter().enumerate() {
        // Each guest received exactly its own cell's line, once.
        let got = std::fs::read_to_string(g.dir().join("out")).unwrap();
        assert_eq!(got.trim(), format!("token-{i}-{run_id}"), "guest {i}");
        let cell_dir = results.join(format!("n1/xterm/s{i}"));
        let cell = cell_json(&cell_dir);
        assert_eq!(cell["status"], "pass", "{cell}");
        assert_eq!(cell["harness"], "xterm");
        assert_eq!(cell["variant"], format!("s{i}"));
        assert_eq!(cell["night"], "n1");
        assert_eq!(cell["attempts"].as_array().unwrap().len(), 1);
        let result: Value = serde_json::from_str(
            &std::fs::read_to_string(cell_dir.join("attempt-1/result.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(result["variables"]["token"], format!("token-{i}-{run_id}"));
        starts.push(cell["started"].as_str().unwrap().to_string());
    }
    // They ran at once: all started within a few seconds of each other, not one after another.
    starts.sort();
    assert!(
        starts.first().map(|s| &s[..16]) == starts.last().map(|s| &s[..16])
            || starts.first() == starts.last(),
        "{starts:?}"
    );
}

#[test]
fn a_retry_that_passes_is_flaky_and_known_issues_label_failures() {
    let dir = tempfile::tempdir().unwrap();
    let harness = xterm_harness(dir.path());
    // Answers only its second line: the first attempt sees no change, the retry does.
    let guests = vec![
        guest(
            "stty -echo; touch \"$OUT.ready\"; read a; read b; echo \"$b\" > \"$OUT\"; \
             while :; do date +%N; sleep 0.5; done",
        ),
        // Never answers: every attempt fails.
        guest("stty -echo; touch \"$OUT.ready\"; exec sleep 600"),
    ];
    wait_ready(&guests);
    let matrix_file = dir.path().join("retry.toml");
    std::fs::write(
        &matrix_file,
        format!(
            "[harness.xterm]\npath = {:?}\n\
             [harness.xterm.variant.second]\nvnc = {:?}\nvariables = {{ wait_s = \"4\" }}\n\
             [harness.xterm.variant.stuck]\nvnc = {:?}\nvariables = {{ wait_s = \"4\" }}\n",
            harness.display().to_string(),
            guests[0].unix_addr(),
            guests[1].unix_addr()
        ),
    )
    .unwrap();
    let known = dir.path().join("known.toml");
    std::fs::write(
        &known,
        "[[issue]]\nlabel = \"bug 7: the stuck guest never answers\"\n\
         link = \"https://bugs.example.org/7\"\nreason = \"did not change\"\ncells = \"*/stuck\"\n",
    )
    .unwrap();
    let results = dir.path().join("results");
    let junit = dir.path().join("junit.xml");
    let (code, stdout, stderr) = matrix(&[
        matrix_file.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
        "--retries",
        "1",
        "--jobs",
        "2",
        "--night",
        "n1",
        "--known",
        known.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
        "--tap",
    ]);
    // A cell failed: exit 1.
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.contains("ok 1 - xterm/second # flaky"), "{stdout}");
    assert!(stdout.contains("not ok 2 - xterm/stuck"), "{stdout}");
    assert!(stdout.contains("bug 7"), "{stdout}");

    let flaky_dir = results.join("n1/xterm/second");
    let flaky = cell_json(&flaky_dir);
    assert_eq!(flaky["status"], "flaky", "{flaky}");
    let attempts = flaky["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{flaky}");
    assert_eq!(attempts[0]["status"], "fail");
    assert_eq!(attempts[1]["status"], "pass");
    // Every attempt's evidence is kept, each a complete results folder.
    for (k, a) in attempts.iter().enumerate() {
        assert_eq!(a["results"], format!("attempt-{}", k + 1));
        assert!(
            flaky_dir
                .join(format!("attempt-{}/result.json", k + 1))
                .is_file()
        );
        assert!(
            flaky_dir
                .join(format!("attempt-{}/events.jsonl", k + 1))
                .is_file()
        );
    }
    // The failed first attempt kept its video (a passed one deletes it).
    assert!(flaky_dir.join("attempt-1/video.json").is_file());
    // The signature is limited to */stuck: the flaky cell is not labelled.
    assert!(flaky["label"].is_null(), "{flaky}");
    let answered = std::fs::read_to_string(guests[0].dir().join("out")).unwrap();
    assert_eq!(answered.trim(), "unset");

    let stuck = cell_json(&results.join("n1/xterm/stuck"));
    assert_eq!(stuck["status"], "fail", "{stuck}");
    assert_eq!(stuck["attempts"].as_array().unwrap().len(), 2);
    assert_eq!(
        stuck["label"]["label"],
        "bug 7: the stuck guest never answers"
    );
    assert_eq!(stuck["label"]["link"], "https://bugs.example.org/7");
    assert!(
        stuck["reason"].as_str().unwrap().contains("did not change"),
        "{stuck}"
    );
    let junit = std::fs::read_to_string(&junit).unwrap();
    assert!(
        junit.contains("tests=\"2\" failures=\"1\" errors=\"0\""),
        "{junit}"
    );
}

#[test]
fn password_file_and_time_scale_reach_the_cells() {
    const PASSWORD: &str = "night-pw-7";
    let dir = tempfile::tempdir().unwrap();
    let harness = xterm_harness(dir.path());
    let g = {
        let mut x = Xvnc::start(800, 600, XvncAuth::Password(PASSWORD));
        let out = x.dir().join("out");
        let script = format!("OUT={}; {ANSWER_ONCE}", out.display());
        x.spawn_client(
            "xterm",
            &["-geometry", "80x24+100+100", "-e", "/bin/sh", "-c", &script],
        );
        x
    };
    wait_ready(std::slice::from_ref(&g));
    let matrix_file = dir.path().join("locked.toml");
    std::fs::write(
        &matrix_file,
        format!(
            "[harness.xterm]\npath = {:?}\n[harness.xterm.variant.locked]\nvnc = {:?}\n\
             time_scale = 1.5\nvariables = {{ token = \"opened\", wait_s = \"4\" }}\n",
            harness.display().to_string(),
            g.addr()
        ),
    )
    .unwrap();
    let password_file = dir.path().join("vnc-password");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    let results = dir.path().join("results");
    let (code, _, stderr) = matrix(&[
        matrix_file.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
        "--night",
        "n1",
        "--time-scale",
        "2",
        "--password-file",
        password_file.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        std::fs::read_to_string(g.dir().join("out")).unwrap().trim(),
        "opened"
    );
    let attempt = results.join("n1/xterm/locked/attempt-1");
    let result: Value =
        serde_json::from_str(&std::fs::read_to_string(attempt.join("result.json")).unwrap())
            .unwrap();
    // The night's 2 times the variant's 1.5.
    assert_eq!(result["time_scale"], 3.0, "{result}");
    let wait = &result["waits"][0];
    assert_eq!(wait["timeout_s"], 12.0, "{result}");
    // The password reached the server and nothing the night wrote.
    for entry in walk(&results) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !bytes
                .windows(PASSWORD.len())
                .any(|w| w == PASSWORD.as_bytes()),
            "{} holds the password",
            entry.display()
        );
    }
    assert!(!stderr.contains(PASSWORD));

    // A password file that is not there is one error naming it, before any cell runs.
    let missing = dir.path().join("no-such-password");
    let (code, _, stderr) = matrix(&[
        matrix_file.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
        "--night",
        "n2",
        "--password-file",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(missing.to_str().unwrap()), "{stderr}");
    assert!(!results.join("n2").exists());
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}
