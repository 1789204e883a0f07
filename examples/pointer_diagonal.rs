//! Benchmark: crossing the screen diagonal with a relative (PS/2) mouse on a running guest, three
//! ways — the convergence loop, naive one-mickey steps (look after each), and one shot of the
//! whole pixel delta. Numbers for docs/performance.md ("Pointer").
//!
//! ```sh
//! cargo run --release --example pointer_diagonal -- unix:/tmp/vnc.sock [NAIVE_SECONDS]
//! ```
//! The guest must show a screen where the cursor can roam (the Debian installer's location
//! list); cursor pictures come from screens/cursors/.

use std::path::Path;
use std::time::{Duration, Instant};

use vncpilot::display::VncPointer;
use vncpilot::pointer::{CursorSprite, Locator, MoveOptions, Pointer, PointerDevice};
use vncpilot::rfb::{Addr, ConnectOptions, Session};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let addr = Addr::parse(
        args.get(1)
            .map(String::as_str)
            .unwrap_or("unix:/tmp/vnc.sock"),
    )?;
    let naive_limit = Duration::from_secs(args.get(2).and_then(|s| s.parse().ok()).unwrap_or(120));
    let session = Session::connect(&addr, ConnectOptions::default()).await?;
    let sprites = CursorSprite::load_dir(Path::new("screens/cursors"))?;
    let locator = Locator::new(sprites);
    let mut pointer = Pointer::new(VncPointer::new(session.clone()), locator.clone());
    let opts = MoveOptions::default();
    let (w, h) = {
        let f = session.latest();
        (f.width(), f.height())
    };
    let (a, b) = ((5, 5), (w - 6, h - 6));
    println!(
        "screen {w}x{h}, pointer mode {:?}, diagonal {a:?} -> {b:?}",
        pointer.device().mode()
    );

    // 1. The convergence loop, both ways, three times.
    for i in 0..3 {
        pointer.move_to(a.0, a.1, &opts).await?;
        for (from, to) in [(a, b), (b, a)] {
            let t = Instant::now();
            let r = pointer.move_to(to.0, to.1, &opts).await?;
            println!(
                "converge #{i} {from:?} -> {to:?}: {} rounds, error {:?} px, {:.2} s",
                r.rounds,
                r.error_px,
                t.elapsed().as_secs_f64()
            );
        }
    }

    // 2. One shot of the whole delta from a.
    pointer.move_to(a.0, a.1, &opts).await?;
    let dev = pointer.device();
    dev.move_rel(b.0 as i32 - a.0 as i32, b.1 as i32 - a.1 as i32)
        .await?;
    let f = dev.settled_frame().await?;
    match locator.find(&f.image, &f.damage, None) {
        Some(p) => println!(
            "one shot of ({}, {}): landed at ({}, {}), {} px off the target",
            b.0 - a.0,
            b.1 - a.1,
            p.x,
            p.y,
            p.x.abs_diff(b.0).max(p.y.abs_diff(b.1))
        ),
        None => println!("one shot: cursor not found afterwards"),
    }

    // 3. Naive one-mickey steps from a, looking after each, until there or out of time.
    pointer.move_to(a.0, a.1, &opts).await?;
    let t = Instant::now();
    let mut at = a;
    let mut steps = 0;
    while at != b && t.elapsed() < naive_limit {
        let dx = (b.0 as i32 - at.0 as i32).signum();
        let dy = (b.1 as i32 - at.1 as i32).signum();
        let dev = pointer.device();
        dev.move_rel(dx, dy).await?;
        steps += 1;
        let f = dev.settled_frame().await?;
        if let Some(p) = locator.find(&f.image, &f.damage, Some(at)) {
            at = (p.x, p.y);
        }
    }
    let covered = ((at.0 as f64 - a.0 as f64).powi(2) + (at.1 as f64 - a.1 as f64).powi(2)).sqrt();
    let total = ((b.0 as f64 - a.0 as f64).powi(2) + (b.1 as f64 - a.1 as f64).powi(2)).sqrt();
    println!(
        "naive 1-mickey steps: {steps} steps in {:.1} s, at {at:?}: {covered:.0} of {total:.0} px{}",
        t.elapsed().as_secs_f64(),
        if at == b { " (arrived)" } else { " (gave up)" }
    );
    session.close().await;
    Ok(())
}
