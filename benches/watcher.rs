//! Watcher latency: from a framebuffer update to a decision for 50 references at 1024×768.
//! Run: `cargo bench --bench watcher`. Prints median and worst latency per scenario: synthetic
//! UI-like screens, then — when the AlmaLinux needle corpus is there (`../shared/corpus/
//! almalinux-anaconda`, or the directory in `VNCPILOT_NEEDLES`) — 50 real openQA needles
//! watching whole-screen changes between real installer screenshots. For whole-screen changes
//! it also prints the time of the update and [`Watcher::complete`] together: what a frame costs
//! when nothing matched and every failing region's similarity is wanted too.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use image::{GrayImage, Luma, Rgb, RgbImage};
use vncpilot::rfb::{Frame, Rect};
use vncpilot::screen::{Needle, Reference, ScreenSettings, Watcher};

const W: u32 = 1024;
const H: u32 = 768;

struct Lcg(u64);
impl Lcg {
    fn next(&mut self, m: u32) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % m as u64) as u32
    }
}

/// A UI-like 1024×768 screen: text-like bars on a light background and a few coloured boxes.
fn screen(seed: u64) -> RgbImage {
    let mut rng = Lcg(seed);
    let bg = Rgb([230 + rng.next(20) as u8, 235, 240]);
    let mut img = RgbImage::from_pixel(W, H, bg);
    for row in 0..(H / 14) {
        let mut x = 8 + rng.next(40);
        let end = W - rng.next(400);
        while x + 10 < end {
            let len = 2 + rng.next(6);
            let top = row * 14 + 3 + rng.next(3);
            for y in top..(top + 4 + rng.next(5)).min(H) {
                for xx in x..(x + len).min(W) {
                    img.put_pixel(xx, y, Rgb([30, 30, 40]));
                }
            }
            x += len + 1 + rng.next(5);
        }
    }
    for _ in 0..4 {
        let (bx, by) = (rng.next(W - 200), rng.next(H - 60));
        let c = Rgb([
            rng.next(255) as u8,
            rng.next(255) as u8,
            rng.next(255) as u8,
        ]);
        for y in by..by + 40 {
            for x in bx..bx + 160 {
                img.put_pixel(x, y, c);
            }
        }
    }
    img
}

fn reference(seed: u64) -> Reference {
    let img = screen(seed);
    let mut rng = Lcg(seed ^ 0xabcdef);
    let mut mask = GrayImage::new(W, H);
    for _ in 0..2 {
        let (w, h) = (60 + rng.next(200), 14 + rng.next(40));
        let (x, y) = (rng.next(W - w), rng.next(H - h));
        for yy in y..y + h {
            for xx in x..x + w {
                mask.put_pixel(xx, yy, Luma([255]));
            }
        }
    }
    Reference::from_image(
        &format!("ref{seed}"),
        &img,
        Some(&mask),
        &ScreenSettings::default(),
    )
    .unwrap()
}

fn frame(serial: u64, image: &Arc<RgbImage>, damage: Vec<Rect>) -> Frame {
    Frame {
        serial,
        time: Instant::now(),
        image: image.clone(),
        damage,
        cursor: None,
        pointer: None,
    }
}

/// Times `watcher.update(frame)` (the decision) into `decided`; with `reported`, also the
/// update followed by `complete` (the full report), as on a frame where nothing matched.
fn timed_update(
    watcher: &mut Watcher,
    frame: &Frame,
    decided: &mut Vec<Duration>,
    reported: Option<&mut Vec<Duration>>,
) -> Vec<(String, vncpilot::screen::MatchResult)> {
    let t = Instant::now();
    let res = watcher.update(frame);
    decided.push(t.elapsed());
    if let Some(reported) = reported {
        watcher.complete(&frame.image);
        reported.push(t.elapsed());
    }
    res
}

fn report(name: &str, mut t: Vec<Duration>, recomputed: usize) {
    t.sort();
    println!(
        "{name:<48} median {:>8.3} ms  max {:>8.3} ms  ({} updates, {recomputed} regions recomputed per update)",
        t[t.len() / 2].as_secs_f64() * 1e3,
        t[t.len() - 1].as_secs_f64() * 1e3,
        t.len()
    );
}

fn main() {
    let refs: Vec<Arc<Reference>> = (1..=50).map(|s| Arc::new(reference(s))).collect();
    let regions: usize = refs.iter().map(|r| r.regions().count()).sum();
    println!("50 references, {regions} regions, 1024x768 frames");
    let mut watcher = Watcher::new(refs);
    let shown = Arc::new(screen(7)); // reference 7's screen is showing
    let other = Arc::new(screen(1000)); // a screen no reference shows
    let mut serial = 1;
    watcher.update(&frame(serial, &shown, vec![Rect::full(W, H)]));

    // 1. A small change (a 16x16 spinner/cursor) somewhere on the matching screen.
    let mut times = Vec::new();
    let mut rng = Lcg(42);
    let mut recomputed = 0;
    for _ in 0..200 {
        serial += 1;
        let d = Rect::new(rng.next(W - 16), rng.next(H - 16), 16, 16);
        let t = Instant::now();
        let res = watcher.update(&frame(serial, &shown, vec![d]));
        times.push(t.elapsed());
        recomputed += watcher.last_recomputed();
        assert!(res.iter().any(|(n, m)| n == "ref7" && m.matched));
    }
    report(
        "small update (16x16) on a matching screen",
        times,
        recomputed / 200,
    );

    // 2. Whole-screen updates alternating between the matching screen and another one.
    let (mut times_match, mut times_other, mut full_other) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..20 {
        serial += 1;
        let (img, list, full) = if i % 2 == 0 {
            (&other, &mut times_other, Some(&mut full_other))
        } else {
            (&shown, &mut times_match, None)
        };
        let f = frame(serial, img, vec![Rect::full(W, H)]);
        let res = timed_update(&mut watcher, &f, list, full);
        let ref7 = res.iter().find(|(n, _)| n == "ref7").unwrap().1.matched;
        assert_eq!(ref7, i % 2 == 1);
    }
    report(
        "full-screen update to the matching screen",
        times_match,
        regions,
    );
    report(
        "full-screen update to a screen nothing matches",
        times_other,
        regions,
    );
    report(
        "  the same, with the full report (+ complete)",
        full_other,
        regions,
    );
    real_needles();
}

fn needle_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            needle_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

/// 50 of the corpus's needles (every other one in name order) watch whole-screen changes to
/// screenshots of the installer: the PNG of a watched needle (it matches) or of a needle
/// left out (a real screen no watched needle is written for, mostly).
fn real_needles() {
    let dir = std::env::var_os("VNCPILOT_NEEDLES").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/almalinux-anaconda"),
        PathBuf::from,
    );
    let mut files = Vec::new();
    needle_files(&dir, &mut files);
    files.sort();
    if files.len() < 120 {
        println!(
            "(no needle corpus at {}: real-needle scenario skipped)",
            dir.display()
        );
        return;
    }
    let load = |p: &PathBuf| {
        let n = Needle::load(p).unwrap();
        let r = Reference::from_needle(&n).unwrap();
        let (img, _, _) = n.to_screen();
        (r, img)
    };
    let watched: Vec<(Reference, RgbImage)> = files.iter().step_by(2).take(50).map(load).collect();
    let others: Vec<Arc<RgbImage>> = files
        .iter()
        .skip(1)
        .step_by(2)
        .take(20)
        .map(|p| Arc::new(load(p).1))
        .collect();
    let regions: usize = watched.iter().map(|(r, _)| r.regions().count()).sum();
    println!(
        "50 real needles of {} ({regions} regions), whole-screen changes between installer screenshots",
        dir.display()
    );
    let shots: Vec<Arc<RgbImage>> = watched
        .iter()
        .take(20)
        .map(|(_, i)| Arc::new(i.clone()))
        .collect();
    let refs: Vec<Arc<Reference>> = watched.into_iter().map(|(r, _)| Arc::new(r)).collect();
    let mut watcher = Watcher::new(refs);
    let (w, h) = (shots[0].width(), shots[0].height());
    let mut serial = 1;
    watcher.update(&frame(serial, &shots[0], vec![Rect::full(w, h)]));
    let (mut to_watched, mut to_other) = (Vec::new(), Vec::new());
    let mut full_other = Vec::new();
    let mut matched_own = 0;
    for round in 0..2 {
        for i in 0..20 {
            for (img, list, full, own) in [
                (&shots[i], &mut to_watched, None, true),
                (&others[i], &mut to_other, Some(&mut full_other), false),
            ] {
                serial += 1;
                let f = frame(serial, img, vec![Rect::full(w, h)]);
                let res = timed_update(&mut watcher, &f, list, full);
                if own && round == 0 && res[i].1.matched {
                    matched_own += 1;
                }
            }
        }
    }
    assert!(
        matched_own >= 18,
        "only {matched_own} of 20 needles matched their own screenshot"
    );
    report(
        "real: to a watched needle's screenshot",
        to_watched,
        regions,
    );
    report("real: to another needle's screenshot", to_other, regions);
    report(
        "  the same, with the full report (+ complete)",
        full_other,
        regions,
    );
}
