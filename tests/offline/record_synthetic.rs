//! The recorder and replay with synthetic frames (in addition to the real-session test in
//! record_session.rs): exact pixels and timestamps survive the lossless track, the fps cap and
//! the bounded queue hold, a resolution change starts a new segment, the cursor is drawn into
//! the browser track only.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use image::{Rgb, RgbImage, Rgba, RgbaImage};
use vncpilot::record::encoder::Codec;
use vncpilot::record::playback::decode_file;
use vncpilot::record::{Recorder, RecorderOptions, Recording};
use vncpilot::rfb::frame::CursorShape;
use vncpilot::rfb::{Frame, Rect};

/// A screen with a pattern that depends on `n` everywhere (so every pixel is checked) and a
/// block that moves with `n`.
fn screen(width: u32, height: u32, n: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let block = x / 16 == n % (width / 16) && y < 32;
        if block {
            Rgb([255, 255, 255])
        } else {
            Rgb([(x * 7 + n) as u8, (y * 3) as u8, ((x ^ y) + n * 11) as u8])
        }
    })
}

/// Options for tests that expect every pushed frame in the video: a loaded machine may
/// deschedule the test thread and push two frames back to back, which the default 10 fps cap
/// would (correctly) merge.
fn keep_every_frame() -> RecorderOptions {
    RecorderOptions {
        fps: f64::INFINITY,
        queue: 64,
        ..RecorderOptions::default()
    }
}

fn frame(serial: u64, time: Instant, image: RgbImage) -> Arc<Frame> {
    let (w, h) = image.dimensions();
    Arc::new(Frame {
        serial,
        time,
        image: Arc::new(image),
        damage: vec![Rect::full(w, h)],
        cursor: None,
        pointer: None,
    })
}

/// Pushes frames at the given offsets (ms after origin), sleeping until each one's time, like a
/// live session would deliver them.
fn push_at(recorder: &Recorder, origin: Instant, frames: &[(u64, RgbImage)]) -> Vec<Instant> {
    let mut times = Vec::new();
    for (i, (offset, image)) in frames.iter().enumerate() {
        let at = origin + Duration::from_millis(*offset);
        if let Some(wait) = at.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait); // pacing the producer, not synchronising with the recorder
        }
        recorder.push(frame(i as u64 + 1, at, image.clone()));
        times.push(at);
    }
    times
}

#[test]
fn lossless_track_keeps_exact_pixels_and_real_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let origin = Instant::now();
    let recorder = Recorder::start(dir.path(), origin, keep_every_frame()).unwrap();
    // 250 ms apart, each with its own timestamp.
    let frames: Vec<(u64, RgbImage)> = (0..8)
        .map(|n| (n as u64 * 250, screen(320, 240, n)))
        .collect();
    push_at(&recorder, origin, &frames);
    let manifest = recorder.finish().unwrap();
    assert_eq!(manifest.stats.frames_received, 8);
    assert_eq!(manifest.stats.frames_encoded, 8);
    assert!(manifest.complete);

    let recording = Recording::open(dir.path()).unwrap();
    let mut decoded = Vec::new();
    recording
        .for_each_frame(|f| {
            decoded.push(f);
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(decoded.len(), 8);
    for (got, (offset, image)) in decoded.iter().zip(&frames) {
        assert!(
            (got.t - *offset as f64 / 1000.0).abs() < 0.002,
            "t {} vs {offset} ms",
            got.t
        );
        assert!(
            got.image == *image,
            "frame at {offset} ms differs from what was pushed"
        );
    }
    // The frame at a time is the last one shown at or before it.
    let at = recording.frame_at(0.9).unwrap();
    assert!(
        at.image == frames[3].1 && (at.t - 0.75).abs() < 0.002,
        "t {}",
        at.t
    );
    let first = recording.frame_at(0.0).unwrap();
    assert!(first.image == frames[0].1);
    let late = recording.frame_at(1e6).unwrap();
    assert!(late.image == frames[7].1);

    // The browser track decodes too, starts at 0 and lasts until the end of the recording.
    let browser = manifest.browser.as_ref().unwrap();
    assert_eq!((browser.width, browser.height), (1024, 768));
    let mut times = Vec::new();
    decode_file(&dir.path().join(&browser.file), None, |f| {
        assert_eq!(f.image.dimensions(), (1024, 768));
        times.push(f.t);
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(
        times.len(),
        9,
        "8 frames and the last one repeated at the end: {times:?}"
    );
    assert_eq!(times[0], 0.0);
    assert!(*times.last().unwrap() >= 1.75);
}

#[test]
fn fps_cap_merges_a_burst_and_an_idle_screen_costs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let origin = Instant::now();
    let options = RecorderOptions {
        browser: None,
        ..RecorderOptions::default()
    };
    let recorder = Recorder::start(dir.path(), origin, options).unwrap();
    // 40 frames in one second (40 fps), then nothing for a second.
    let frames: Vec<(u64, RgbImage)> = (0..40)
        .map(|n| (n as u64 * 25, screen(160, 120, n)))
        .collect();
    push_at(&recorder, origin, &frames);
    let idle_start = recorder.stats().frames_encoded;
    std::thread::sleep(Duration::from_millis(1000));
    let stats = recorder.stats();
    let manifest = recorder.finish().unwrap();
    let s = &manifest.stats;
    assert_eq!(s.frames_received, 40);
    assert!(
        s.frames_encoded <= 12,
        "at most 10 fps over ~1 s (+ first and last): {s:?}"
    );
    assert!(
        s.frames_encoded >= 5,
        "the cap still lets ~10 fps through: {s:?}"
    );
    assert_eq!(
        s.frames_encoded + s.merged_by_fps_cap + s.merged_encoder_behind,
        40,
        "{s:?}"
    );
    assert!(
        stats.frames_encoded <= idle_start + 1,
        "nothing encoded while idle: {stats:?}"
    );
    // The last frame pushed is always in the video.
    let recording = Recording::open(dir.path()).unwrap();
    assert!(recording.frame_at(10.0).unwrap().image == frames[39].1);
}

#[test]
fn a_resolution_change_starts_a_new_lossless_segment() {
    let dir = tempfile::tempdir().unwrap();
    let origin = Instant::now();
    let recorder = Recorder::start(dir.path(), origin, keep_every_frame()).unwrap();
    let frames = vec![
        (0, screen(720, 400, 0)),
        (200, screen(720, 400, 1)),
        (400, screen(800, 600, 2)),
        (600, screen(800, 600, 3)),
    ];
    push_at(&recorder, origin, &frames);
    let manifest = recorder.finish().unwrap();
    assert_eq!(manifest.lossless.len(), 2);
    assert_eq!(
        (
            manifest.lossless[0].width,
            manifest.lossless[0].height,
            manifest.lossless[0].frames
        ),
        (720, 400, 2)
    );
    assert_eq!(
        (
            manifest.lossless[1].width,
            manifest.lossless[1].height,
            manifest.lossless[1].frames
        ),
        (800, 600, 2)
    );
    let recording = Recording::open(dir.path()).unwrap();
    assert!(recording.frame_at(0.3).unwrap().image == frames[1].1);
    assert!(recording.frame_at(0.5).unwrap().image == frames[2].1);
    let mut sizes = Vec::new();
    recording
        .for_each_frame(|f| {
            sizes.push(f.image.dimensions());
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(sizes, vec![(720, 400), (720, 400), (800, 600), (800, 600)]);
    // The browser track stays one size: the 720×400 text mode is letterboxed onto the canvas.
    let browser = manifest.browser.unwrap();
    let mut first = None;
    decode_file(&dir.path().join(&browser.file), None, |f| {
        first = Some(f.image);
        ControlFlow::Break(())
    })
    .unwrap();
    let first = first.unwrap();
    assert_eq!(first.dimensions(), (1024, 768));
    let bar = first.get_pixel(512, 20);
    assert!(
        bar[0] < 20 && bar[1] < 20 && bar[2] < 20,
        "black bar above the text-mode picture: {bar:?}"
    );
}

#[test]
fn the_cursor_is_drawn_into_the_browser_track_only() {
    let dir = tempfile::tempdir().unwrap();
    let origin = Instant::now();
    let recorder = Recorder::start(dir.path(), origin, RecorderOptions::default()).unwrap();
    let cursor = CursorShape {
        image: RgbaImage::from_pixel(24, 24, Rgba([255, 0, 0, 255])),
        hotspot: (0, 0),
    };
    let base = RgbImage::from_pixel(1024, 768, Rgb([0, 0, 255]));
    recorder.push(Arc::new(Frame {
        serial: 1,
        time: origin,
        image: Arc::new(base.clone()),
        damage: vec![Rect::full(1024, 768)],
        cursor: Some(Arc::new(cursor)),
        pointer: Some((500, 300)),
    }));
    let manifest = recorder.finish().unwrap();
    let recording = Recording::open(dir.path()).unwrap();
    assert!(
        recording.frame_at(0.0).unwrap().image == base,
        "lossless: the framebuffer as the matcher saw it"
    );
    let mut picture = None;
    decode_file(
        &dir.path().join(&manifest.browser.unwrap().file),
        None,
        |f| {
            picture = Some(f.image);
            ControlFlow::Break(())
        },
    )
    .unwrap();
    let picture = picture.unwrap();
    let under = picture.get_pixel(512, 312);
    assert!(
        under[0] > 180 && under[2] < 80,
        "cursor (red) drawn at the pointer: {under:?}"
    );
    let away = picture.get_pixel(100, 100);
    assert!(away[2] > 180 && away[0] < 80, "blue elsewhere: {away:?}");
}

#[test]
fn a_slow_encoder_never_queues_more_than_the_bound() {
    // x264rgb on a big screen, 200 frames pushed as fast as possible: the queue must merge.
    let dir = tempfile::tempdir().unwrap();
    let origin = Instant::now();
    let options = RecorderOptions {
        fps: 1000.0,
        queue: 2,
        lossless: Some(Codec::Ffv1),
        ..RecorderOptions::default()
    };
    let recorder = Recorder::start(dir.path(), origin, options).unwrap();
    let images: Vec<Arc<RgbImage>> = (0..4).map(|n| Arc::new(screen(1024, 768, n))).collect();
    for n in 0..200u64 {
        let image = images[n as usize % 4].clone();
        recorder.push(Arc::new(Frame {
            serial: n + 1,
            time: Instant::now(),
            image,
            damage: vec![Rect::full(1024, 768)],
            cursor: None,
            pointer: None,
        }));
    }
    let manifest = recorder.finish().unwrap();
    let s = &manifest.stats;
    assert_eq!(s.frames_received, 200);
    assert!(
        s.merged_encoder_behind > 0,
        "the encoder cannot keep up with 200 frames at once: {s:?}"
    );
    assert_eq!(
        s.frames_encoded + s.merged_by_fps_cap + s.merged_encoder_behind,
        200,
        "{s:?}"
    );
}

#[test]
fn passed_runs_can_discard_everything_recorded() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("result.json"), "{}").unwrap();
    let origin = Instant::now();
    let recorder = Recorder::start(dir.path(), origin, RecorderOptions::default()).unwrap();
    recorder.step("await screen 'x'").unwrap();
    recorder.push(frame(1, origin, screen(64, 48, 0)));
    recorder.finish().unwrap();
    assert!(dir.path().join("video.webm").is_file());
    vncpilot::record::recorder::discard(dir.path()).unwrap();
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, vec!["result.json".to_owned()]);
}

#[test]
fn replay_cli_extracts_a_frame_and_finds_a_screen() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    std::fs::create_dir(&run).unwrap();
    let origin = Instant::now();
    let recorder = Recorder::start(&run, origin, keep_every_frame()).unwrap();
    let frames: Vec<(u64, RgbImage)> = (0..6)
        .map(|n| (n as u64 * 300, screen(320, 240, n * 3)))
        .collect();
    push_at(&recorder, origin, &frames);
    recorder.finish().unwrap();
    let exe = env!("CARGO_BIN_EXE_vncpilot");

    let out = dir.path().join("at.png");
    let output = std::process::Command::new(exe)
        .args([
            "replay",
            run.to_str().unwrap(),
            "--at",
            "00:00.7",
            "-o",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        image::open(&out).unwrap().to_rgb8() == frames[2].1,
        "the frame shown at 0.7 s is the one from 0.6 s"
    );

    // A reference made from the frame at 0.9 s is found there, and only there.
    let screens = dir.path().join("screens/test");
    std::fs::create_dir_all(&screens).unwrap();
    let reference = screens.join("page-3.png");
    frames[3].1.save(&reference).unwrap();
    let output = std::process::Command::new(exe)
        .args([
            "replay",
            run.to_str().unwrap(),
            "--find",
            reference.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("at 00:00.9"), "{stdout}");
    assert!(
        stdout.contains("matching during 00:00.9–00:00.9"),
        "{stdout}"
    );

    // A screen never shown: exit 1, best similarity and when.
    let never = screens.join("never.png");
    RgbImage::from_pixel(320, 240, Rgb([255, 0, 255]))
        .save(&never)
        .unwrap();
    let output = std::process::Command::new(exe)
        .args([
            "replay",
            run.to_str().unwrap(),
            "--find",
            never.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("never matched in 6 frames; best similarity"),
        "{stdout}"
    );
    assert!(run.join("find-never-best.png").is_file(), "{stdout}");

    // Bad input is named.
    let output = std::process::Command::new(exe)
        .args([
            "replay",
            run.to_str().unwrap(),
            "--at",
            "3:99",
            "-o",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid time \"3:99\""));
}

/// The frame a run saw last goes into the video even when the task following the screen has
/// not passed it on yet (it runs on its own task; under load a `wait_screen` can match a
/// resized screen and the run end before it does): `RunRecording::finish` pushes the newest
/// frame once more. Pushed twice, a frame is encoded once.
#[test]
fn the_runs_last_frame_is_recorded_even_if_the_follower_missed_it() {
    use vncpilot::record::run_recording::{Keep, RunRecording};
    let rt = tokio::runtime::Runtime::new().unwrap();
    for (last_is_new, want) in [(true, vec![(64, 48), (32, 24)]), (false, vec![(64, 48)])] {
        let dir = tempfile::tempdir().unwrap();
        let origin = Instant::now();
        let first = frame(1, origin, screen(64, 48, 1));
        let last = if last_is_new {
            frame(2, origin + Duration::from_millis(5), screen(32, 24, 2))
        } else {
            first.clone()
        };
        let manifest = rt.block_on(async {
            let fed = first.clone();
            // A follower that has passed on the first frame only, and stops.
            let recording =
                RunRecording::start_fed(dir.path(), origin, keep_every_frame(), |sink| {
                    sink.push(fed);
                    tokio::spawn(async {})
                })
                .unwrap()
                .with_last_frame(move || Some(last));
            recording.finish(Keep::Video).await.unwrap().unwrap()
        });
        let sizes: Vec<(u32, u32)> = manifest
            .lossless
            .iter()
            .map(|s| (s.width, s.height))
            .collect();
        assert_eq!(sizes, want, "last frame new: {last_is_new}");
        assert_eq!(manifest.stats.frames_encoded, want.len() as u64);
    }
}
