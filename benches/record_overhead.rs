//! What recording costs: encoder CPU as a share of one core, frames merged, peak memory.
//!
//! `cargo bench --bench record_overhead` (add `-- --seconds 60` for a longer typical run).
//! Scenarios at 1024×768, pushed in real time like a live session would:
//! - typical: an installer page — a progress bar creeping at 5 updates/s, a new page every 10 s,
//!   a burst of typing (20 updates/s for 3 s) every 20 s;
//! - worst: the whole screen changing 30 times a second for the whole run (the cap holds it to 10).
//!
//! Then each codec alone: milliseconds to encode one changed 1024×768 frame.
//! The numbers go in docs/performance.md ("Recording").

use std::sync::Arc;
use std::time::{Duration, Instant};

use image::{Rgb, RgbImage};
use vncpilot::record::encoder::{Codec, VideoEncoder, rgb_frame};
use vncpilot::record::{Recorder, RecorderOptions};
use vncpilot::rfb::{Frame, Rect};

const W: u32 = 1024;
const H: u32 = 768;

/// An installer-like page: light background, a title bar, rows of "text" (dark glyph-sized
/// blocks that differ per page), a progress bar filled to `progress` (0..=1).
fn page(seed: u32, progress: f64, typed: u32) -> RgbImage {
    let mut image = RgbImage::from_pixel(W, H, Rgb([236, 236, 236]));
    for y in 0..48 {
        for x in 0..W {
            image.put_pixel(x, y, Rgb([40, 60, 120]));
        }
    }
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    for row in 0..20 {
        let y0 = 80 + row * 22;
        let mut x = 40;
        while x < W - 80 {
            let glyph = 4 + next() % 6;
            if next() % 7 != 0 {
                for y in y0..y0 + 12 {
                    for dx in 0..glyph {
                        image.put_pixel(x + dx, y, Rgb([30, 30, 30]));
                    }
                }
            }
            x += glyph + 2;
        }
    }
    let filled = (progress.clamp(0.0, 1.0) * 800.0) as u32;
    for y in 600..624 {
        for x in 112..912 {
            let colour = if x - 112 < filled {
                Rgb([60, 140, 60])
            } else {
                Rgb([200, 200, 200])
            };
            image.put_pixel(x, y, colour);
        }
    }
    for i in 0..typed.min(60) {
        for y in 660..676 {
            for x in 112 + i * 12..112 + i * 12 + 8 {
                image.put_pixel(x, y, Rgb([0, 0, 0]));
            }
        }
    }
    image
}

fn frame(serial: u64, image: Arc<RgbImage>) -> Arc<Frame> {
    Arc::new(Frame {
        serial,
        time: Instant::now(),
        image,
        damage: vec![Rect::full(W, H)],
        cursor: None,
        pointer: None,
    })
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// Runs one scenario for `seconds`; `update(t)` says what the screen is at t (None: unchanged),
/// and `rate` how often the source offers updates.
fn scenario(name: &str, seconds: f64, rate: f64, mut update: impl FnMut(f64) -> Option<RgbImage>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let origin = Instant::now();
    let before = rss_kib();
    let recorder =
        Recorder::start(dir.path(), origin, RecorderOptions::default()).expect("start recorder");
    let mut serial = 0;
    let tick = Duration::from_secs_f64(1.0 / rate);
    let mut next = origin;
    // RSS sampled through the run: bounded memory means the second half is no higher than the first.
    let (mut max_first_half, mut max_second_half) = (0u64, 0u64);
    while origin.elapsed().as_secs_f64() < seconds {
        let rss = rss_kib();
        if origin.elapsed().as_secs_f64() < seconds / 2.0 {
            max_first_half = max_first_half.max(rss);
        } else {
            max_second_half = max_second_half.max(rss);
        }
        let t = origin.elapsed().as_secs_f64();
        if let Some(image) = update(t) {
            serial += 1;
            recorder.push(frame(serial, Arc::new(image)));
        }
        next += tick;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    let wall = origin.elapsed().as_secs_f64();
    let manifest = recorder.finish().expect("finish recorder");
    let s = &manifest.stats;
    let bytes: u64 = std::fs::read_dir(dir.path())
        .expect("read dir")
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    println!(
        "{name:<8} {wall:6.1} s  received {:5}  encoded {:4}  merged(fps cap) {:5}  merged(encoder behind) {:3}  \
         encoder CPU {:6.2} s = {:5.1} % of one core  max encode {:5.1} ms  files {:6.1} MiB  RSS max {}/{} MiB (1st/2nd half; {} MiB before start)",
        s.frames_received,
        s.frames_encoded,
        s.merged_by_fps_cap,
        s.merged_encoder_behind,
        s.encoder_cpu_s,
        100.0 * s.encoder_cpu_s / wall,
        s.max_encode_s * 1000.0,
        bytes as f64 / (1 << 20) as f64,
        max_first_half / 1024,
        max_second_half / 1024,
        before / 1024,
    );
}

fn per_codec() {
    let pages: Vec<RgbImage> = (0..8).map(|i| page(i, f64::from(i) / 8.0, i * 5)).collect();
    for codec in [Codec::Ffv1, Codec::X264Rgb, Codec::Vp9, Codec::H264] {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(format!("bench.{}", codec.extension()));
        let mut encoder = VideoEncoder::create(&path, codec, W, H).expect("create encoder");
        let frames = 40;
        let started = Instant::now();
        for i in 0..frames {
            // Alternate small changes (progress) and whole new pages, as an install does.
            let picture = rgb_frame(&pages[(i / 5) % pages.len()]);
            encoder.push(&picture, i as i64 * 100).expect("encode");
        }
        encoder.finish().expect("finish");
        let ms = started.elapsed().as_secs_f64() * 1000.0 / frames as f64;
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        println!(
            "{:<10} {ms:6.1} ms/frame (incl. RGB copy + pixel conversion)  {:7.1} KiB per frame  lossless: {}",
            codec.encoder_name(),
            size as f64 / 1024.0 / frames as f64,
            codec.is_lossless()
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds = args
        .iter()
        .position(|a| a == "--seconds")
        .and_then(|i| args.get(i + 1)?.parse::<f64>().ok())
        .unwrap_or(30.0);
    println!("recording overhead at {W}x{H}, default options (lossless x264rgb + VP9, 10 fps cap)");
    // A typical install page: progress 5×/s, new page every 10 s, typing bursts.
    let mut last_key = (u32::MAX, u32::MAX, u32::MAX);
    scenario("typical", seconds, 20.0, |t| {
        let page_no = (t / 10.0) as u32;
        let progress = (t % 10.0) / 10.0;
        let step = (t * 5.0) as u32; // progress moves 5 times a second
        let in_burst = t % 20.0 >= 15.0 && t % 20.0 < 18.0;
        let typed = if in_burst {
            ((t % 20.0 - 15.0) * 20.0) as u32
        } else {
            0
        };
        let key = (page_no, step, typed);
        if key == last_key {
            return None;
        }
        last_key = key;
        Some(page(page_no, progress, typed))
    });
    let mut n = 0;
    scenario("worst", seconds.min(20.0), 30.0, |_| {
        n += 1;
        Some(page(n, f64::from(n % 100) / 100.0, n % 60))
    });
    per_codec();
}
