//! What leaving the cursor out of screen matching costs per frame: the locator's search of a
//! 1280x800 Debian installer screen for the sprites in screens/cursors, with and without a
//! cursor on it, over the whole frame (the first frame of a wait) and over a small damage
//! rectangle (every later frame). Run from the repository root:
//! `cargo run --release --example cursor_search_cost -- 200`.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use vncpilot::pointer::{CursorSprite, Locator};
use vncpilot::rfb::{Frame, Rect};

fn frame(image: image::RgbImage, damage: Vec<Rect>) -> Frame {
    Frame {
        serial: 1,
        time: Instant::now(),
        image: Arc::new(image),
        damage,
        cursor: None,
        pointer: None,
    }
}

fn main() -> anyhow::Result<()> {
    let n: u32 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(100);
    let sprites = CursorSprite::load_dir(Path::new("screens/cursors"))?;
    let clean = image::open("screens/debian-12-gtk/keyboard.png")?.to_rgb8();
    // The capture has the arrow on the Continue button; cut it away for "no cursor".
    let mut none = clean.clone();
    for y in 760..800 {
        for x in 1200..1280 {
            none.put_pixel(x, y, *clean.get_pixel(1199, y));
        }
    }
    let arrow = sprites
        .iter()
        .find(|s| s.name() == "debian-installer")
        .expect("the arrow");
    let mut with = none.clone();
    arrow.draw(&mut with, 640, 400);
    let full = Rect::full(1280, 800);
    let small = vec![Rect::new(600, 380, 64, 40)];
    let cases = [
        (
            "no cursor, whole frame",
            frame(none.clone(), vec![full]),
            true,
        ),
        ("no cursor, 64x40 damage", frame(none, small.clone()), false),
        ("cursor, whole frame", frame(with.clone(), vec![full]), true),
        ("cursor, 64x40 damage", frame(with, small), false),
    ];
    for (name, f, whole) in &cases {
        let mut locator = Locator::new(sprites.clone());
        let start = Instant::now();
        let mut found = None;
        for _ in 0..n {
            found = if *whole {
                locator.find_in_frame(f, None)
            } else {
                locator.find_in_damage(f, None)
            };
        }
        let per = start.elapsed().as_secs_f64() / n as f64;
        println!(
            "{name:26} {:8.3} ms  found {:?}",
            per * 1000.0,
            found.map(|f| (f.x, f.y))
        );
    }
    Ok(())
}
