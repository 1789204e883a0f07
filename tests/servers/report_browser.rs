//! report.html in a real headless Chromium: the page loads, the timeline renders one entry per
//! event, the video plays to a given time, clicking an event seeks the video there, and the
//! failure's diff images load. A screenshot is kept in target/tmp/report-browser.png.

use crate::common;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use image::{Rgb, RgbImage};
use serde_json::json;
use vncpilot::record::{Recorder, RecorderOptions};
use vncpilot::report::forensics::{self, AwaitedScreen, Evidence, RegionReport};
use vncpilot::rfb::{Frame, Rect};

use common::report_page::ReportPage;

fn screen(n: u32) -> RgbImage {
    RgbImage::from_fn(640, 480, |x, y| {
        if (x / 64) == n % 10 && y > 200 {
            Rgb([250, 250, 250])
        } else {
            Rgb([(n * 40) as u8, (x / 3) as u8, (y / 2) as u8])
        }
    })
}

/// A failed run as the harness leaves it: a recording, events, result, forensics.
fn failed_run(dir: &std::path::Path) -> Vec<f64> {
    let origin = Instant::now();
    let recorder = Recorder::start(dir, origin, RecorderOptions::default()).expect("recorder");
    let mut events = Vec::new();
    let mut event_times = Vec::new();
    for n in 0..8u32 {
        let at = origin + Duration::from_millis(u64::from(n) * 500);
        if let Some(wait) = at.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait); // a live session's pace
        }
        let t = at.duration_since(origin).as_secs_f64();
        recorder
            .step_at(t, &format!("await screen 'page-{n}'"))
            .expect("caption");
        recorder.push(Arc::new(Frame {
            serial: u64::from(n) + 1,
            time: at,
            image: Arc::new(screen(n)),
            damage: vec![Rect::full(640, 480)],
            cursor: None,
            pointer: None,
        }));
        let matched = n < 7;
        events.push(
            json!({"t": t, "action": "await", "screen": format!("page-{n}"), "matched": matched,
                           "similarity": if matched { 0.99 } else { 0.61 }, "duration_s": 0.4}),
        );
        event_times.push(t);
    }
    let manifest = recorder.finish().expect("finish");
    assert!(manifest.browser.is_some());
    let lines: String = events.iter().map(|e| format!("{e}\n")).collect();
    std::fs::write(dir.join("events.jsonl"), lines).expect("events");
    std::fs::write(
        dir.join("result.json"),
        json!({"status": "fail", "reason": "screen 'page-7' did not appear within 30 s", "duration_s": 4.0,
               "harness": "browser-test", "variables": {}, "version": "test", "started": "20261122T031500Z"})
        .to_string(),
    )
    .expect("result");
    let reference = screen(7);
    let actual = screen(6);
    forensics::write(
        dir,
        &Evidence {
            final_screen: Some(&actual),
            awaited: Some(AwaitedScreen {
                name: "page-7",
                reference: &reference,
                actual: &actual,
                regions: &[RegionReport {
                    expected: Rect::new(448, 200, 64, 280),
                    found: Rect::new(384, 200, 64, 280),
                    similarity: 0.61,
                    threshold: 0.95,
                }],
                similarity: 0.61,
                best: Some((0.61, 3.5, &actual)),
            }),
            ..Evidence::default()
        },
    )
    .expect("forensics");
    event_times
}

#[test]
fn report_html_plays_seeks_and_renders_in_chromium() {
    let dir = tempfile::tempdir().expect("run dir");
    let event_times = failed_run(dir.path());

    let status = Command::new(env!("CARGO_BIN_EXE_vncpilot"))
        .args(["replay", "--html"])
        .arg(dir.path())
        .status()
        .expect("run vncpilot replay");
    assert!(status.success());
    let page_path = dir.path().join("report.html");
    assert!(page_path.is_file());

    let mut report = ReportPage::open(&page_path);

    // The timeline: one entry and one mark per event; the failed one marked.
    let timeline = report.page.eval(
        "({items: document.querySelectorAll('#timeline li').length,
           marks: document.querySelectorAll('#bar .mark').length,
           bad: document.querySelectorAll('#timeline li.bad').length,
           status: document.getElementById('status').textContent,
           last: document.querySelector('#timeline li:last-child .what').textContent})",
    );
    assert_eq!(timeline["items"], 8, "{timeline}");
    assert_eq!(timeline["marks"], 8, "{timeline}");
    assert_eq!(timeline["bad"], 1, "{timeline}");
    assert_eq!(timeline["status"], "fail", "{timeline}");
    assert_eq!(timeline["last"], "await page-7", "{timeline}");

    // The video plays to 2.0 s.
    let played = report.play_to(2.0);
    assert!(
        played["duration"].as_f64().unwrap() >= 3.5,
        "the video lasts the whole run: {played}"
    );
    assert_eq!(
        (played["width"].as_u64(), played["height"].as_u64()),
        (Some(1024), Some(768)),
        "{played}"
    );
    assert!(
        played["caption"]
            .as_str()
            .unwrap()
            .starts_with("await screen 'page-"),
        "{played}"
    );

    // Clicking an event seeks the video to it.
    let target = event_times[5];
    let seeked = report.page.eval(
        "new Promise((resolve, reject) => {
           const v = document.getElementById('video');
           v.addEventListener('seeked', () => resolve({t: v.currentTime,
               current: document.querySelector('#timeline li.current .what').textContent}), {once: true});
           document.querySelectorAll('#timeline li')[5].click();
           setTimeout(() => reject('no seek'), 15000);
         })",
    );
    assert!(
        (seeked["t"].as_f64().unwrap() - target).abs() < 0.05,
        "seeked to {seeked} for {target}"
    );
    assert_eq!(seeked["current"], "await page-5", "{seeked}");

    // The failure section shows the diff images (decoded, not broken).
    let images = report.failure_images();
    assert!(
        images
            .iter()
            .any(|i| i[0] == "forensics/page-7-diff.png" && i[1] == 640),
        "{images:?}"
    );

    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-browser.png");
    report.screenshot(&shot);
}
