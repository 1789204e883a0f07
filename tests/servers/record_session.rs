//! A real recorded session: a TigerVNC `Xvnc` with an xterm, recorded while a word is typed into
//! it. The video is decoded again and its frames and timestamps are checked against the typing
//! events; `replay --at` must give back exactly the screen the session saw, `replay --find` must
//! find a screen at the moment it appeared, and report.html must play the real video in Chromium.

use crate::common;

use std::ops::ControlFlow;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use image::RgbImage;
use serde_json::json;
use vncpilot::display::VncDisplay;
use vncpilot::record::playback::decode_file;
use vncpilot::record::{Keep, RecorderOptions, Recording, RunRecording};
use vncpilot::report::forensics::{self, AwaitedScreen, Evidence, RegionReport};
use vncpilot::rfb::{Addr, ConnectOptions, Frame, RfbError, Session};
use vncpilot::screen::Reference;

use common::report_page::ReportPage;
use common::xvnc::{Xvnc, XvncAuth};

const TEXT: &str = "vncpilot";
/// One key every 400 ms, like a person typing: well above the recorder's 100 ms frame slot, so
/// every echo must show up in the video as its own frame.
const KEY_INTERVAL: Duration = Duration::from_millis(400);

fn uniform(image: &RgbImage) -> bool {
    let first = image.get_pixel(0, 0);
    image.pixels().all(|p| p == first)
}

/// Waits until the session sends nothing for `quiet` (the screen settled), at most `limit`.
async fn settle(session: &Session, quiet: Duration, limit: Duration) -> Arc<Frame> {
    let mut stream = session.subscribe();
    let deadline = Instant::now() + limit;
    loop {
        match stream.next(quiet).await {
            Ok(_) => assert!(Instant::now() < deadline, "the screen never settled"),
            Err(RfbError::FrameTimeout(_)) => return session.latest(),
            Err(e) => panic!("session ended: {e}"),
        }
    }
}

/// The smallest rectangle holding every pixel that differs, padded by `pad`.
fn changed_box(a: &RgbImage, b: &RgbImage, pad: u32) -> (u32, u32, u32, u32) {
    let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
    for (x, y, p) in a.enumerate_pixels() {
        if b.get_pixel(x, y) != p {
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
        }
    }
    assert!(x0 <= x1, "the two screens are identical");
    let (x0, y0) = (x0.saturating_sub(pad), y0.saturating_sub(pad));
    let (x1, y1) = (
        (x1 + pad).min(a.width() - 1),
        (y1 + pad).min(a.height() - 1),
    );
    (x0, y0, x1 - x0 + 1, y1 - y0 + 1)
}

fn vncpilot(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vncpilot"))
        .args(args)
        .output()
        .expect("run vncpilot");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

struct Key {
    /// When the key was sent, seconds since the run started.
    t: f64,
    /// When the first frame showing its echo arrived.
    echo_t: f64,
    /// The screen once the echo settled (just before the next key).
    settled: Arc<RgbImage>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_xterm_session_replays_at_the_right_times() {
    let mut desktop = Xvnc::start(1024, 768, XvncAuth::None);
    desktop.spawn_centred_xterm();
    let addr = Addr::parse(&desktop.unix_addr()).expect("address");
    let session = Session::connect(&addr, ConnectOptions::default())
        .await
        .expect("connect to Xvnc");
    // The xterm is up when the screen is no longer one colour and has stopped changing.
    let deadline = Instant::now() + Duration::from_secs(30);
    while uniform(&session.latest().image) {
        assert!(Instant::now() < deadline, "no xterm appeared within 30 s");
        let _ = session
            .wait_serial(session.latest().serial, Duration::from_secs(1))
            .await;
    }
    settle(
        &session,
        Duration::from_millis(700),
        Duration::from_secs(30),
    )
    .await;

    // Kept after the test (target/tmp/record-session/): docs/cli.md's replay examples run on it.
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("record-session");
    let _ = std::fs::remove_dir_all(&root);
    let run_dir = root.join("run");
    std::fs::create_dir_all(&run_dir).expect("run dir");
    let run = run_dir.as_path();
    let origin = Instant::now();
    let display = Arc::new(VncDisplay::new(session.clone()));
    let recording_run =
        RunRecording::start(run, origin, display, RecorderOptions::default()).expect("recorder");
    let recorder = recording_run.recorder();
    let since = |at: Instant| at.saturating_duration_since(origin).as_secs_f64();

    let mut events = Vec::new();
    let mut keys: Vec<Key> = Vec::new();
    let mut before = session.latest();
    let start_screen = before.image.clone();
    for (i, c) in TEXT.chars().enumerate() {
        tokio::time::sleep_until(
            (origin + Duration::from_millis(500) + KEY_INTERVAL * i as u32).into(),
        )
        .await;
        if let Some(last) = keys.last_mut() {
            last.settled = session.latest().image.clone();
            before = session.latest();
        }
        let t = since(Instant::now());
        recorder
            .step_at(t, &format!("type '{c}'"))
            .expect("caption");
        session
            .type_text(&c.to_string(), Duration::ZERO)
            .await
            .expect("type");
        // The echo: the first frame whose pixels differ from the screen before the key.
        let mut serial = before.serial;
        let echo = loop {
            let frame = session
                .wait_serial(serial, Duration::from_secs(5))
                .await
                .expect("echo within 5 s");
            if frame.image != before.image {
                break frame;
            }
            serial = frame.serial;
        };
        let echo_t = since(echo.time);
        events.push(
            json!({"t": t, "action": "type", "text": c.to_string(), "duration_s": echo_t - t}),
        );
        keys.push(Key {
            t,
            echo_t,
            settled: echo.image.clone(),
        });
    }
    let last = settle(
        &session,
        Duration::from_millis(500),
        Duration::from_secs(10),
    )
    .await;
    keys.last_mut().expect("keys").settled = last.image.clone();
    // The run then waits for a screen that never comes: the typed word, inverted. Its
    // forensics are written as a failing harness would.
    let screens = root.join("screens/xterm");
    std::fs::create_dir_all(&screens).expect("screens dir");
    let (x, y, w, h) = changed_box(&start_screen, &last.image, 2);
    let mut never = (*last.image).clone();
    for py in y..y + h {
        for px in x..x + w {
            let p = never.get_pixel_mut(px, py);
            p.0 = [255 - p.0[0], 255 - p.0[1], 255 - p.0[2]];
        }
    }
    never
        .save(screens.join("never.png"))
        .expect("save reference");
    std::fs::write(
        screens.join("never.toml"),
        format!("threshold = 0.99\nmargin = 0\n[[region]]\nx = {x}\ny = {y}\nw = {w}\nh = {h}\n"),
    )
    .expect("settings");
    let reference = Reference::load(screens.join("never.png")).expect("load reference");
    let t_await = since(Instant::now());
    recorder
        .step_at(t_await, "await screen 'xterm/never'")
        .expect("caption");
    let mut best = forensics::BestMatch::new();
    let result = reference.check(&last.image);
    assert!(!result.matched, "the inverted word must not match");
    best.observe(t_await, &result, &last.image);
    let (best_t, best_result, best_screen) = best.get().expect("observed");
    let regions: Vec<RegionReport> = result.regions.iter().map(RegionReport::from).collect();
    let reference_picture = forensics::reference_picture(&reference).expect("reference picture");
    forensics::write(
        run,
        &Evidence {
            final_screen: Some(&last.image),
            awaited: Some(AwaitedScreen {
                name: "xterm/never",
                reference: &reference_picture,
                actual: &last.image,
                regions: &regions,
                similarity: result.similarity,
                best: Some((best_result.similarity, best_t, best_screen)),
            }),
            ..Evidence::default()
        },
    )
    .expect("forensics");
    events.push(
        json!({"t": t_await, "action": "await", "screen": "xterm/never", "matched": false,
                       "similarity": result.similarity}),
    );
    let manifest = recording_run
        .finish(Keep::for_outcome(false, false))
        .await
        .expect("finish recording")
        .expect("a failed run keeps its video");
    let duration = manifest.duration_s;
    eprintln!(
        "recording stats: {:?} ({:.1} % of one core over {duration:.1} s)",
        manifest.stats,
        100.0 * manifest.stats.encoder_cpu_s / duration
    );

    std::fs::write(
        run.join("events.jsonl"),
        events.iter().map(|e| format!("{e}\n")).collect::<String>(),
    )
    .expect("events");
    std::fs::write(
        run.join("result.json"),
        json!({"status": "fail", "reason": "screen 'xterm/never' did not appear", "duration_s": duration,
               "harness": "record-session-test", "variables": {}, "version": env!("CARGO_PKG_VERSION"),
               "started": "20261122T000000Z"})
        .to_string(),
    )
    .expect("result");

    // --- The lossless track: frames and timestamps against the events.
    let recording = Recording::open(run).expect("open recording");
    let mut frames: Vec<(f64, RgbImage)> = Vec::new();
    recording
        .for_each_frame(|f| {
            frames.push((f.t, f.image));
            ControlFlow::Continue(())
        })
        .expect("decode");
    let n = frames.len();
    assert!(
        n > TEXT.len(),
        "at least the first screen and one frame per key: {n} frames"
    );
    assert!(
        n as f64 <= duration * 10.0 + 2.0,
        "never more than 10 fps: {n} frames in {duration:.1} s"
    );
    assert_eq!(n as u64, manifest.stats.frames_encoded);
    assert!(
        frames.windows(2).all(|w| w[0].0 < w[1].0),
        "timestamps increase"
    );
    assert!(
        frames.iter().all(|(t, _)| *t >= 0.0 && *t <= duration),
        "timestamps inside the run"
    );
    for (i, key) in keys.iter().enumerate() {
        // The screen just before the key, and the first recorded change after it.
        let shown_before = &frames
            .iter()
            .rev()
            .find(|(t, _)| *t < key.t)
            .expect("a frame before the key")
            .1;
        let (changed_t, _) = frames
            .iter()
            .find(|(t, image)| *t >= key.t && image != shown_before)
            .unwrap_or_else(|| panic!("key {i} ({:.3} s) left no change in the video", key.t));
        // Within one frame slot (100 ms), plus room for a loaded machine waking the encoder
        // late; still well inside the 400 ms between keys, so a misaligned clock would fail.
        assert!(
            *changed_t >= key.echo_t - 0.002 && *changed_t - key.echo_t <= 0.3,
            "key {i}: the video shows the echo at {changed_t:.3} s, the session saw it at {:.3} s",
            key.echo_t
        );
        // Just before the next key, the video shows exactly what the session showed.
        let next_t = keys.get(i + 1).map_or(t_await, |k| k.t);
        let at = recording.frame_at(next_t - 0.01).expect("frame_at");
        assert!(
            at.image == *key.settled,
            "key {i}: the recorded screen before the next key is not the session's"
        );
    }

    // --- The browser track decodes: one picture per encoded frame (+ the end), 1024×768.
    let browser = manifest.browser.as_ref().expect("browser track");
    let mut browser_times = Vec::new();
    decode_file(&run.join(&browser.file), None, |f| {
        assert_eq!(f.image.dimensions(), (1024, 768));
        browser_times.push(f.t);
        ControlFlow::Continue(())
    })
    .expect("decode webm");
    assert!(
        browser_times.len() == n || browser_times.len() == n + 1,
        "{} vs {n}",
        browser_times.len()
    );
    for (b, (t, _)) in browser_times.iter().zip(&frames).skip(1) {
        assert!(
            (b - t).abs() < 0.002,
            "browser and lossless timestamps agree: {b} vs {t}"
        );
    }

    // --- replay --at gives back the session's own screen.
    let out = root.join("at.png");
    let at = format!("{:.3}", keys[3].t - 0.01);
    let (code, stdout, stderr) = vncpilot(&[
        "replay",
        run.to_str().unwrap(),
        "--at",
        &at,
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        image::open(&out).expect("png").to_rgb8() == *keys[2].settled,
        "replay --at {at}: {stdout}"
    );

    // --- replay --find: the screen after the 5th key, compared where that key changed it.
    let (x, y, w, h) = changed_box(&keys[3].settled, &keys[4].settled, 2);
    keys[4]
        .settled
        .save(screens.join("after-5.png"))
        .expect("save reference");
    std::fs::write(
        screens.join("after-5.toml"),
        format!("threshold = 0.99\nmargin = 0\n[[region]]\nx = {x}\ny = {y}\nw = {w}\nh = {h}\n"),
    )
    .expect("settings");
    let reference = screens.join("after-5.png");
    let (code, stdout, stderr) = vncpilot(&[
        "replay",
        run.to_str().unwrap(),
        "--find",
        reference.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let found_at = stdout
        .split(" at ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|t| vncpilot::record::timecode::parse(t).ok())
        .unwrap_or_else(|| panic!("no time in {stdout:?}"));
    assert!(
        (found_at - keys[4].echo_t).abs() <= 0.3,
        "found at {found_at}, echo at {:.3}: {stdout}",
        keys[4].echo_t
    );

    // --- report.html plays the real video in Chromium.
    let (code, stdout, stderr) = vncpilot(&["replay", run.to_str().unwrap(), "--html"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    check_report_in_chromium(&run.join("report.html"), events.len(), keys[4].t);
}

fn check_report_in_chromium(page_path: &Path, events: usize, play_to: f64) {
    let mut report = ReportPage::open(page_path);
    assert_eq!(report.timeline_items(), events as u64);
    let played = report.play_to(play_to);
    assert!(
        played["caption"].as_str().unwrap().starts_with("type '"),
        "{played}"
    );
    let images = report.failure_images();
    assert!(
        images
            .iter()
            .any(|i| i[0] == "forensics/xterm_never-diff.png" && i[1] == 1024),
        "{images:?}"
    );
    report.screenshot(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("record-session-report.png"));
}
