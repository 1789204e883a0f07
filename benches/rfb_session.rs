//! The VNC session against a real TigerVNC `Xvnc` at 1024×768: full-refresh frames per second
//! for Raw, Tight and ZRLE, and the latency from a key press to the screen change it causes.
//!
//! Run: `cargo bench --bench rfb_session` (needs Xvnc and xterm: `scripts/install-deps`).
//! Options: `-- --refreshes N --keys N`.

#[path = "../tests/common/xvnc.rs"]
#[allow(dead_code)]
mod xvnc;

use std::time::{Duration, Instant};

use vncpilot::rfb::encodings::code;
use vncpilot::rfb::{Addr, ConnectOptions, Session};
use xvnc::{Xvnc, XvncAuth};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let refreshes = arg("--refreshes", 100);
    let key_presses = arg("--keys", 100);
    let mut x = Xvnc::start(1024, 768, XvncAuth::None);
    // Realistic content: text in several colours over most of the screen.
    x.spawn_client(
        "xterm",
        &[
            "-geometry",
            "80x50+0+0",
            "-e",
            "sh -c 'ls -l /usr/bin | head -60; exec sh'",
        ],
    );
    x.spawn_client(
        "xterm",
        &[
            "-geometry",
            "60x40+500+80",
            "-bg",
            "navy",
            "-fg",
            "yellow",
            "-e",
            "sh -c 'ls -l /usr/lib | head -45; exec sh'",
        ],
    );
    let addr = Addr::parse(&x.addr()).unwrap();
    let with = |encodings: Vec<i32>| ConnectOptions {
        encodings,
        ..ConnectOptions::default()
    };

    // Let the xterms draw, then settle (no frame for 1 s, bounded by 30 s).
    let s = Session::connect(&addr, with(vec![code::RAW]))
        .await
        .unwrap();
    let mut frames = s.subscribe();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline && frames.next(Duration::from_secs(1)).await.is_ok() {}
    s.close().await;

    println!("Xvnc 1024x768, {refreshes} full refreshes per encoding");
    for (name, enc) in [
        ("Raw", code::RAW),
        ("Tight", code::TIGHT),
        ("ZRLE", code::ZRLE),
    ] {
        let s = Session::connect(&addr, with(vec![enc])).await.unwrap();
        let mut last = s.latest().serial;
        let started = Instant::now();
        for _ in 0..refreshes {
            s.refresh().await.unwrap();
            let f = s.wait_serial(last, Duration::from_secs(10)).await.unwrap();
            // Only a frame that really carried the whole screen counts.
            let covered: u64 = f
                .damage
                .iter()
                .map(|r| u64::from(r.w) * u64::from(r.h))
                .sum();
            assert!(
                covered >= 1024 * 768,
                "{name}: a refresh brought only {covered} pixels"
            );
            last = f.serial;
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{name:6} {:7.1} full frames/s  ({:.2} ms per frame)",
            refreshes as f64 / secs,
            secs * 1000.0 / refreshes as f64
        );
        s.close().await;
    }

    // Key → screen change: type a character into the focused xterm and time the frame that
    // shows it; backspace it again so the screen stays the same size.
    let s = Session::connect(&addr, ConnectOptions::default())
        .await
        .unwrap();
    s.pointer_abs(100, 100, 0).await.unwrap();
    let mut latencies = Vec::new();
    for i in 0..key_presses {
        let key = if i % 2 == 0 { "x" } else { "backspace" };
        let before = s.latest().serial;
        let started = Instant::now();
        s.key(key).await.unwrap();
        let mut frames_seen = before;
        loop {
            let f = s
                .wait_serial(frames_seen, Duration::from_secs(5))
                .await
                .unwrap();
            frames_seen = f.serial;
            if !f.damage.is_empty() {
                break;
            }
        }
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let max = latencies.iter().cloned().fold(0.0, f64::max);
    println!(
        "key -> screen change: median {:.2} ms, max {:.2} ms over {key_presses} presses",
        median(&mut latencies),
        max
    );
}
