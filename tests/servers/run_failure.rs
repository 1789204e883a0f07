//! `vncpilot run` against a real TigerVNC Xvnc desktop (fast: no QEMU), through the binary:
//! - a screen that never comes fails with exit 1, final.png, the best similarity, and forensics;
//! - a failing run leaves a playable video whose frames and timestamps match events.jsonl,
//!   `replay --find` finds a screen when the run saw it, `replay --html` plays in Chromium, and
//!   no secret (a secret variable, `type_secret` text) is in any file of the results folder;
//! - a passing run keeps no video unless `--keep-video`;
//! - a resolution change mid-run (as installers do) gives a new lossless segment, and the
//!   browser track stays one file;
//! - SIGTERM mid-wait exits 2 with result.json "error" and a finished, playable video;
//! - macro errors exit 2 with file:line:col.

use crate::common;
use crate::common::xvnc::{changed_box, settled_screen};

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use image::{Rgb, RgbImage};
use serde_json::Value;
use vncpilot::record::{Manifest, Recording, subtitles, timecode};

use common::report_page::ReportPage;
use common::xvnc::{Xvnc, XvncAuth};

/// Writes `<dir>/<name>/harness.toml` + `install.rhai`: a `--vnc`-only harness using the screen
/// set `set` under `screens_root`, with `extra` appended to harness.toml (e.g. variables).
fn harness(
    dir: &Path,
    name: &str,
    screens_root: &Path,
    set: &str,
    script: &str,
    extra: &str,
) -> PathBuf {
    let h = dir.join(name);
    std::fs::create_dir_all(&h).unwrap();
    std::fs::write(
        h.join("harness.toml"),
        format!(
            "screens = {set:?}\nscreens_root = {:?}\n{extra}\n[timeouts]\nrun_s = 60\n",
            screens_root.display().to_string()
        ),
    )
    .unwrap();
    std::fs::write(h.join("install.rhai"), script).unwrap();
    h
}

/// The Debian screens shipped with the repository.
fn debian_screens() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("screens")
}

/// `vncpilot run HARNESS --vnc ADDR --results RESULTS ARGS...`, not yet started.
fn run_command(harness: &Path, desktop: &Xvnc, results: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vncpilot"));
    cmd.arg("run")
        .arg(harness)
        .arg("--vnc")
        .arg(desktop.unix_addr())
        .arg("--results")
        .arg(results)
        .args(args)
        .stdout(Stdio::null());
    cmd
}

/// A finished run as its results folder shows it.
struct Run {
    code: Option<i32>,
    dir: PathBuf,
    result: Value,
    events: Vec<Value>,
}

impl Run {
    fn read(status: ExitStatus, results: &Path) -> Run {
        let dir = std::fs::canonicalize(results.join("latest")).expect("results/latest");
        let result = std::fs::read_to_string(dir.join("result.json")).expect("result.json");
        Run {
            code: status.code(),
            result: serde_json::from_str(&result).unwrap(),
            events: events(&dir),
            dir,
        }
    }

    /// The first event with `action` whose `key` is `value` (any value when None).
    fn event(&self, action: &str, key: &str, value: Option<&Value>) -> &Value {
        self.events
            .iter()
            .find(|e| e["action"] == action && value.is_none_or(|v| e[key] == *v))
            .unwrap_or_else(|| panic!("no {action} event with {key}={value:?}: {:?}", self.events))
    }

    fn t(&self, action: &str, key: &str, value: Option<&Value>) -> f64 {
        self.event(action, key, value)["t"].as_f64().expect("t")
    }
}

fn events(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("events.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each event is JSON"))
        .collect()
}

fn run(cmd: &mut Command, results: &Path) -> Run {
    let status = cmd.status().expect("run vncpilot");
    Run::read(status, results)
}

/// Waits (≤ `limit`) for a child started by the test, killing it if it overstays.
fn wait_child(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait for vncpilot") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("vncpilot run did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Polls the newest run's events.jsonl (≤ 20 s) until an event with `action` is there.
fn wait_for_event(results: &Path, action: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if events(&results.join("latest"))
            .iter()
            .any(|e| e["action"] == action)
        {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("vncpilot exited ({status}) before a {action} event");
        }
        assert!(Instant::now() < deadline, "no {action} event within 20 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Saves `picture` as screen `<set_dir>/<name>.png`, compared in one region.
fn save_screen(set_dir: &Path, name: &str, picture: &RgbImage, region: (u32, u32, u32, u32)) {
    std::fs::create_dir_all(set_dir).unwrap();
    picture.save(set_dir.join(format!("{name}.png"))).unwrap();
    let (x, y, w, h) = region;
    std::fs::write(
        set_dir.join(format!("{name}.toml")),
        format!("threshold = 0.99\nmargin = 0\n[[region]]\nx = {x}\ny = {y}\nw = {w}\nh = {h}\n"),
    )
    .unwrap();
}

/// Decodes a video file with ffmpeg-next directly (not through vncpilot's reader): the
/// presentation time of every decoded picture, in seconds, and the picture size.
fn decode_times(path: &Path) -> (Vec<f64>, (u32, u32)) {
    use ffmpeg_next::{format, media};
    ffmpeg_next::init().unwrap();
    let mut input = format::input(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let stream = input
        .streams()
        .best(media::Type::Video)
        .expect("a video stream");
    let index = stream.index();
    let base = f64::from(stream.time_base());
    let context = ffmpeg_next::codec::context::Context::from_parameters(stream.parameters())
        .expect("codec parameters");
    let mut decoder = context.decoder().video().expect("a video decoder");
    let mut times = Vec::new();
    let mut picture = ffmpeg_next::frame::Video::empty();
    let mut drain = |decoder: &mut ffmpeg_next::decoder::Video, times: &mut Vec<f64>| {
        while decoder.receive_frame(&mut picture).is_ok() {
            let pts = picture.timestamp().or(picture.pts()).expect("a timestamp");
            times.push(pts as f64 * base);
        }
    };
    for (s, packet) in input.packets() {
        if s.index() == index {
            decoder.send_packet(&packet).expect("decode a packet");
            drain(&mut decoder, &mut times);
        }
    }
    decoder.send_eof().expect("flush");
    drain(&mut decoder, &mut times);
    (times, (decoder.width(), decoder.height()))
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn vncpilot(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vncpilot"))
        .args(args)
        .output()
        .expect("run vncpilot");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[test]
fn a_screen_that_never_comes_fails_with_evidence() {
    let desktop = Xvnc::start(1280, 800, XvncAuth::None);
    let tmp = tempfile::tempdir().unwrap();
    let h = harness(
        tmp.path(),
        "wrong-installer",
        &debian_screens(),
        "debian-12",
        "log(\"waiting\");\nwait_screen([\"language\", \"shell\"], 3);\n",
        "",
    );
    let results = tmp.path().join("results");
    let run = run(&mut run_command(&h, &desktop, &results, &[]), &results);
    assert_eq!(run.code, Some(1), "{}", run.result);
    assert_eq!(run.result["status"], "fail");
    let reason = run.result["reason"].as_str().unwrap();
    assert!(
        reason.contains("install.rhai:2:") && reason.contains("best similarity: language 0."),
        "{reason}"
    );
    let final_png = image::open(run.dir.join("final.png"))
        .expect("final.png")
        .to_rgb8();
    assert_eq!(final_png.dimensions(), (1280, 800));
    let wait = run.event("wait_screen", "matched", None);
    assert!(wait["matched"].is_null());
    let best = wait["best"]["language"].as_f64().unwrap();
    assert!((0.0..0.9).contains(&best), "{wait}");
    // The forensics name the closest of the awaited screens, with the same best similarity.
    let summary = vncpilot::report::forensics::load(&run.dir)
        .unwrap()
        .expect("forensics.json");
    let awaited = summary.awaited.expect("the awaited screen");
    let closest = if best >= wait["best"]["shell"].as_f64().unwrap() {
        "language"
    } else {
        "shell"
    };
    assert_eq!(awaited.screen, closest, "{wait} {awaited:?}");
    assert!(run.dir.join(&awaited.diff_png).is_file());
    assert_eq!(summary.final_png.as_deref(), Some("final.png"));
}

/// `click_screen` waits like `wait_screen`: when its screen never comes, the run fails with the
/// same evidence — `best` per screen in its event, and forensics/ with the reference, the
/// actual screen, the diff and the best similarity seen.
#[test]
fn a_click_screen_that_times_out_leaves_the_same_forensics_as_wait_screen() {
    let desktop = Xvnc::start(1280, 800, XvncAuth::None);
    let tmp = tempfile::tempdir().unwrap();
    let h = harness(
        tmp.path(),
        "click-nothing",
        &debian_screens(),
        "debian-12",
        "log(\"clicking\");\nclick_screen(\"language\", 2);\n",
        "",
    );
    let results = tmp.path().join("results");
    let run = run(&mut run_command(&h, &desktop, &results, &[]), &results);
    assert_eq!(run.code, Some(1), "{}", run.result);
    assert_eq!(run.result["status"], "fail");
    let reason = run.result["reason"].as_str().unwrap();
    assert!(
        reason.contains("install.rhai:2:") && reason.contains("did not appear within 2 s"),
        "{reason}"
    );
    let click = run.event("click_screen", "screen", Some(&Value::from("language")));
    assert!(click["matched"].is_null(), "{click}");
    let best = click["best"]["language"]
        .as_f64()
        .unwrap_or_else(|| panic!("no best similarity per screen: {click}"));
    assert!((0.0..0.9).contains(&best), "{click}");
    assert_eq!(click["similarity"].as_f64(), Some(best), "{click}");
    assert!(click["duration_s"].as_f64().unwrap() >= 2.0, "{click}");

    let summary = vncpilot::report::forensics::load(&run.dir)
        .unwrap()
        .expect("forensics.json");
    let awaited = summary.awaited.expect("the awaited screen");
    assert_eq!(awaited.screen, "language");
    let best_seen = awaited
        .best_similarity
        .expect("the best similarity of the wait");
    assert!(
        (best_seen - best).abs() < 1e-9,
        "forensics say {best_seen}, the event {best}"
    );
    assert!(awaited.best_at_s.is_some());
    for file in [
        &awaited.reference_png,
        &awaited.actual_png,
        &awaited.diff_png,
    ]
    .into_iter()
    .chain(awaited.best_png.as_ref())
    {
        let picture = image::open(run.dir.join(file)).expect(file).to_rgb8();
        assert!(picture.width() > 0, "{file}");
    }
    let actual = image::open(run.dir.join(&awaited.actual_png)).unwrap();
    assert_eq!((actual.width(), actual.height()), (1280, 800));
    assert_eq!(summary.final_png.as_deref(), Some("final.png"));
}

#[test]
fn a_failing_run_leaves_a_video_that_matches_its_events_and_no_secret() {
    const TYPED_SECRET: &str = "typed-Secret-4c9e1";
    const VARIABLE_SECRET: &str = "var-Secret-77d02";
    let mut desktop = Xvnc::start(1024, 768, XvncAuth::None);
    let tmp = tempfile::tempdir().unwrap();
    // The screens: "ready" is the desktop with its xterm (compared where the xterm is);
    // "never" is the same with that place inverted, so it never comes.
    let empty = settled_screen(&desktop, tmp.path());
    desktop.spawn_centred_xterm();
    let ready = settled_screen(&desktop, tmp.path());
    let region = changed_box(&empty, &ready);
    desktop.stop_clients();
    // Gone when only the pointer (drawn into the framebuffer by Xvnc once a client set a cursor)
    // differs from the empty desktop.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = settled_screen(&desktop, tmp.path());
        if now == empty || changed_box(&empty, &now).2 <= 32 {
            break;
        }
        assert!(Instant::now() < deadline, "the xterm did not go away");
    }
    let screens = tmp.path().join("screens");
    save_screen(&screens.join("xterm"), "ready", &ready, region);
    let mut never = ready.clone();
    let (x, y, w, h) = region;
    for py in y..y + h {
        for px in x..x + w {
            let p = never.get_pixel_mut(px, py);
            p.0 = [255 - p.0[0], 255 - p.0[1], 255 - p.0[2]];
        }
    }
    save_screen(&screens.join("xterm"), "never", &never, region);

    // The xterm stays "ready" for half a second before typing starts: a screen shown for less
    // than one frame interval of the 10 fps video may be merged into the next frame.
    let script = format!(
        "log(\"waiting for the xterm\");\n\
         wait_screen(\"ready\", 30);\n\
         wait_still(0.5, 10);\n\
         type_secret(\"{TYPED_SECRET}\");\n\
         key(\"ret\");\n\
         type(var(\"password\"));\n\
         key(\"ret\");\n\
         log(\"the password is \" + var(\"password\"));\n\
         type(\"while :; do date +%s%N; sleep 0.2; done\\n\");\n\
         wait_screen(\"never\", 4);\n"
    );
    let h = harness(
        tmp.path(),
        "xterm",
        &screens,
        "xterm",
        &script,
        "secrets = [\"password\"]\n[variables]\npassword = \"default\"\n",
    );
    let results = tmp.path().join("results");
    let password = format!("password={VARIABLE_SECRET}");
    let mut child = run_command(&h, &desktop, &results, &["--var", &password])
        .spawn()
        .expect("start vncpilot");
    // The xterm appears only once the run watches: "ready" comes at a known, later time.
    wait_for_event(&results, "guest_ready", &mut child);
    desktop.spawn_centred_xterm();
    let status = wait_child(&mut child, Duration::from_secs(60));
    let run = Run::read(status, &results);
    assert_eq!(run.code, Some(1), "{}", run.result);
    assert_eq!(run.result["status"], "fail");

    // --- No secret in any file of the results folder (video, subtitles, events, forensics...).
    let files = files_under(&run.dir);
    let names: Vec<String> = files
        .iter()
        .map(|f| f.strip_prefix(&run.dir).unwrap().display().to_string())
        .collect();
    for required in ["events.jsonl", "log.txt", "subtitles.vtt", "video.json"] {
        assert!(names.iter().any(|n| n == required), "{required}: {names:?}");
    }
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        for secret in [TYPED_SECRET, VARIABLE_SECRET] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{} contains the secret {secret}",
                file.display()
            );
        }
    }
    let log = run.event(
        "log",
        "message",
        Some(&Value::from("the password is <secret>")),
    );
    assert_eq!(log["action"], "log");

    // --- The events this run is checked against.
    let t_guest = run.t("guest_ready", "", None);
    let t_ready = run.t("wait_screen", "matched", Some(&Value::from("ready")));
    let never = run.event("wait_screen", "matched", Some(&Value::Null));
    let t_never_end = never["t"].as_f64().unwrap();
    let t_never_start = t_never_end - never["duration_s"].as_f64().unwrap();
    let t_end = run.t("end", "", None);
    assert!(t_guest < t_ready && t_ready < t_never_start && t_never_end <= t_end);

    // --- The lossless track, decoded: frames across the run, timestamps on the events' clock.
    let manifest = Manifest::load(&run.dir).expect("video.json");
    assert!(manifest.complete, "the recording was finished");
    let recording = Recording::open(&run.dir).expect("open the recording");
    let mut frames: Vec<(f64, RgbImage)> = Vec::new();
    recording
        .for_each_frame(|f| {
            frames.push((f.t, f.image));
            ControlFlow::Continue(())
        })
        .expect("decode the lossless track");
    let n = frames.len();
    let times: Vec<f64> = frames.iter().map(|f| f.0).collect();
    assert!(n > 0);
    assert_eq!(n as u64, manifest.stats.frames_encoded);
    assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
    let (first, last) = (times[0], times[n - 1]);
    assert!(
        first >= t_guest - 0.05 && first <= t_ready,
        "first frame at {first:.3} s: guest ready at {t_guest:.3}, 'ready' matched at {t_ready:.3}"
    );
    assert!(
        n as f64 <= (last - first) * 10.0 + 2.0,
        "at most 10 frames a second: {n} frames in {first:.3}–{last:.3} s"
    );
    // The clock printing every 0.2 s during the failed wait: frames all through it.
    let during = times
        .iter()
        .filter(|t| (t_never_start..=t_never_end).contains(*t))
        .count();
    assert!(
        during >= 5,
        "{during} frames during the {t_never_start:.3}–{t_never_end:.3} s wait: {times:?}"
    );
    assert!(
        (last - t_end).abs() < 0.5,
        "the screen changed until the end ({t_end:.3} s); last frame at {last:.3} s"
    );
    assert_eq!(frames[0].1.dimensions(), (1024, 768));

    // --- The browser track plays (decoded by ffmpeg-next itself) and lasts as long as the run.
    let browser = manifest.browser.as_ref().expect("browser track");
    let (browser_times, size) = decode_times(&run.dir.join(&browser.file));
    assert_eq!(size, (1024, 768));
    assert!(
        browser_times.len() == n || browser_times.len() == n + 1,
        "{} browser frames, {n} lossless",
        browser_times.len()
    );
    assert!(browser_times.windows(2).all(|w| w[0] < w[1]));
    let browser_last = *browser_times.last().unwrap();
    assert!(
        (browser_last - t_end).abs() < 0.5,
        "the video ends at {browser_last:.3} s, the run at {t_end:.3} s"
    );

    // --- Subtitles: the steps, on the same clock, and "type a secret" for the secret.
    let cues = subtitles::read_cues(&run.dir.join("subtitles.vtt")).expect("subtitles");
    let awaiting_never = cues
        .iter()
        .find(|c| c.2 == "await screen 'never'")
        .unwrap_or_else(|| panic!("{cues:?}"));
    assert!(
        (awaiting_never.0 - t_never_start).abs() < 0.3,
        "cue at {:.3} s, wait started at {t_never_start:.3} s",
        awaiting_never.0
    );
    assert!(cues.iter().any(|c| c.2 == "type a secret"), "{cues:?}");

    // --- Forensics: the awaited screen, its best match during the wait, and the diff.
    let summary = vncpilot::report::forensics::load(&run.dir)
        .unwrap()
        .expect("forensics.json");
    let awaited = summary.awaited.as_ref().expect("the awaited screen");
    assert_eq!(awaited.screen, "never");
    let best_at = awaited.best_at_s.expect("when the best match was");
    assert!(
        (t_never_start - 0.2..=t_never_end).contains(&best_at),
        "best at {best_at:.3} s, the wait ran {t_never_start:.3}–{t_never_end:.3} s"
    );
    assert!(awaited.best_similarity.unwrap() < 0.99);
    assert!(awaited.mismatching_pixels > 0);
    for file in [
        &awaited.reference_png,
        &awaited.actual_png,
        &awaited.diff_png,
    ]
    .into_iter()
    .chain(awaited.best_png.as_ref())
    {
        let picture = image::open(run.dir.join(file)).expect(file).to_rgb8();
        assert_eq!(picture.dimensions(), (1024, 768), "{file}");
    }
    assert_eq!(summary.final_png.as_deref(), Some("final.png"));
    assert!(summary.qemu_registers.is_none(), "no QEMU with --vnc");

    // --- replay --find: "ready" is found when the run saw it.
    let run_dir = run.dir.to_str().unwrap();
    let ready_png = screens.join("xterm/ready.png");
    let (code, out) = vncpilot(&["replay", run_dir, "--find", ready_png.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}");
    let found_at = out
        .split(" at ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|t| timecode::parse(t).ok())
        .unwrap_or_else(|| panic!("no time in {out:?}"));
    assert!(
        (found_at - t_ready).abs() <= 0.3,
        "replay found 'ready' at {found_at:.3} s, the run matched it at {t_ready:.3} s: {out}"
    );
    let never_png = screens.join("xterm/never.png");
    let (code, out) = vncpilot(&["replay", run_dir, "--find", never_png.to_str().unwrap()]);
    assert_eq!(code, Some(1), "'never' never matched: {out}");

    // --- replay --html, in Chromium: the timeline has every event, the video plays.
    let (code, out) = vncpilot(&["replay", run_dir, "--html"]);
    assert_eq!(code, Some(0), "{out}");
    let mut report = ReportPage::open(&run.dir.join("report.html"));
    assert_eq!(report.timeline_items(), run.events.len() as u64);
    let played = report.play_to(t_ready + 0.5);
    assert!(
        played["duration"].as_f64().unwrap() >= t_end - 0.5,
        "{played}"
    );
    let images = report.failure_images();
    assert!(
        images
            .iter()
            .any(|i| i[0] == "forensics/never-diff.png" && i[1] == 1024),
        "{images:?}"
    );
}

#[test]
fn a_passing_run_keeps_no_video_unless_asked() {
    let desktop = Xvnc::start(800, 600, XvncAuth::None);
    let tmp = tempfile::tempdir().unwrap();
    let screen = settled_screen(&desktop, tmp.path());
    let screens = tmp.path().join("screens");
    save_screen(&screens.join("desk"), "desktop", &screen, (0, 0, 800, 600));
    let h = harness(
        tmp.path(),
        "pass",
        &screens,
        "desk",
        "wait_screen(\"desktop\", 20);\nkey(\"shift\");\n",
        "",
    );
    let results = tmp.path().join("results");
    let recorded = |dir: &Path| -> Vec<String> {
        files_under(dir)
            .iter()
            .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("video") || n == "subtitles.vtt" || n == "forensics.json")
            .collect()
    };

    let passed = run(&mut run_command(&h, &desktop, &results, &[]), &results);
    assert_eq!(passed.code, Some(0), "{}", passed.result);
    assert_eq!(recorded(&passed.dir), Vec::<String>::new());
    assert!(passed.dir.join("final.png").is_file());

    let kept = run(
        &mut run_command(&h, &desktop, &results, &["--keep-video"]),
        &results,
    );
    assert_eq!(kept.code, Some(0), "{}", kept.result);
    assert_ne!(kept.dir, passed.dir);
    let files = recorded(&kept.dir);
    for f in [
        "video.json",
        "video.webm",
        "video-lossless-0.mkv",
        "subtitles.vtt",
    ] {
        assert!(files.iter().any(|n| n == f), "{f}: {files:?}");
    }
    let (times, size) = decode_times(&kept.dir.join("video.webm"));
    assert_eq!(size, (1024, 768));
    assert!(!times.is_empty());
    let first = Recording::open(&kept.dir)
        .unwrap()
        .frame_at(0.0)
        .expect("a frame");
    assert!(first.image == screen, "the recorded screen is the desktop");
}

#[test]
fn a_resolution_change_mid_run_opens_a_new_segment() {
    let desktop = Xvnc::start(1024, 768, XvncAuth::None);
    let tmp = tempfile::tempdir().unwrap();
    // The empty desktop is black; at 800×600 it is "small" (at 1024×768 it cannot match).
    let screens = tmp.path().join("screens");
    let small = RgbImage::new(800, 600);
    save_screen(&screens.join("sizes"), "small", &small, (0, 0, 800, 600));
    let h = harness(
        tmp.path(),
        "resize",
        &screens,
        "sizes",
        "wait_screen(\"small\", 30);\n",
        "",
    );
    let results = tmp.path().join("results");
    let mut child = run_command(&h, &desktop, &results, &["--keep-video"])
        .spawn()
        .expect("start vncpilot");
    wait_for_event(&results, "guest_ready", &mut child);
    let status = Command::new("xrandr")
        .args(["-s", "800x600"])
        .env("DISPLAY", format!(":{}", desktop.display))
        .status()
        .expect("xrandr (package x11-xserver-utils)");
    assert!(status.success());
    let run = Run::read(wait_child(&mut child, Duration::from_secs(60)), &results);
    assert_eq!(run.code, Some(0), "{}", run.result);
    let t_small = run.t("wait_screen", "matched", Some(&Value::from("small")));

    let manifest = Manifest::load(&run.dir).expect("video.json");
    let sizes: Vec<(u32, u32)> = manifest
        .lossless
        .iter()
        .map(|s| (s.width, s.height))
        .collect();
    assert_eq!(sizes, [(1024, 768), (800, 600)]);
    let second = &manifest.lossless[1];
    assert!(
        second.start_s <= t_small && t_small - second.start_s < 0.3,
        "800x600 from {:.3} s, 'small' matched at {t_small:.3} s",
        second.start_s
    );
    let recording = Recording::open(&run.dir).unwrap();
    let before = recording.frame_at(second.start_s - 0.05).unwrap();
    let after = recording.frame_at(second.start_s + 0.05).unwrap();
    assert_eq!(before.image.dimensions(), (1024, 768));
    assert!(after.image == small, "the 800x600 desktop, exactly");
    let (times, size) = decode_times(&run.dir.join("video.webm"));
    assert_eq!(size, (1024, 768), "one browser file, scaled");
    assert_eq!(
        times.len() as u64,
        manifest.browser.as_ref().unwrap().frames
    );
    let small_png = screens.join("sizes/small.png");
    let (code, out) = vncpilot(&[
        "replay",
        run.dir.to_str().unwrap(),
        "--find",
        small_png.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("matched"), "{out}");
}

#[test]
fn sigterm_mid_wait_exits_2_and_finishes_the_video() {
    let mut desktop = Xvnc::start(1024, 768, XvncAuth::None);
    desktop.spawn_centred_xterm();
    let tmp = tempfile::tempdir().unwrap();
    let screens = tmp.path().join("screens");
    let magenta = RgbImage::from_pixel(1024, 768, Rgb([255, 0, 255]));
    save_screen(&screens.join("any"), "magenta", &magenta, (0, 0, 1024, 768));
    let h = harness(
        tmp.path(),
        "interrupted",
        &screens,
        "any",
        "log(\"waiting\");\nwait_screen(\"magenta\", 50);\n",
        "",
    );
    let results = tmp.path().join("results");
    let mut child = run_command(&h, &desktop, &results, &[])
        .spawn()
        .expect("start vncpilot");
    wait_for_event(&results, "log", &mut child);
    // The macro is at (or about to start) its 50 s wait.
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let run = Run::read(wait_child(&mut child, Duration::from_secs(20)), &results);
    assert_eq!(run.code, Some(2), "{}", run.result);
    assert_eq!(run.result["status"], "error");
    let reason = run.result["reason"].as_str().unwrap();
    assert!(reason.contains("interrupted: SIGTERM"), "{reason}");
    assert!(
        run.result["duration_s"].as_f64().unwrap() < 20.0,
        "{}",
        run.result
    );
    let manifest = Manifest::load(&run.dir).expect("video.json");
    assert!(manifest.complete, "the recording was finished");
    let (times, size) = decode_times(&run.dir.join("video.webm"));
    assert_eq!(size, (1024, 768));
    assert!(!times.is_empty());
    let t_end = run.t("end", "", None);
    assert!(
        (times.last().unwrap() - t_end).abs() < 0.5,
        "{times:?} vs {t_end}"
    );
    let recording = Recording::open(&run.dir).expect("open");
    assert!(recording.frame_at(t_end).is_ok());
    assert!(run.dir.join("final.png").is_file());
}

#[test]
fn macro_errors_exit_2_with_file_line_col_and_secrets_stay_out() {
    let desktop = Xvnc::start(1280, 800, XvncAuth::None);
    let tmp = tempfile::tempdir().unwrap();
    let h = harness(
        tmp.path(),
        "broken",
        &debian_screens(),
        "debian-12",
        "type_secret(\"hunter2\");\nlet x = 1;\nwait_screen(\"no-such-screen\", 1);\n",
        "",
    );
    let results = tmp.path().join("results");
    let run = run(&mut run_command(&h, &desktop, &results, &[]), &results);
    assert_eq!(run.code, Some(2), "{}", run.result);
    assert_eq!(run.result["status"], "error");
    let reason = run.result["reason"].as_str().unwrap();
    assert!(
        reason.contains("install.rhai:3:") && reason.contains("no-such-screen"),
        "{reason}"
    );
    for f in files_under(&run.dir) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !bytes.windows(7).any(|w| w == b"hunter2"),
            "{} shows the secret",
            f.display()
        );
    }
}
