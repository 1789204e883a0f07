//! The cursor locator on real screens of the Debian 12 graphical installer (QEMU screendumps),
//! with the cursor picture from screens/cursors/.

use std::path::Path;

use vncpilot::pointer::{CursorSprite, Locator};
use vncpilot::rfb::Rect;

fn locator() -> Locator {
    let sprites =
        CursorSprite::load_dir(Path::new("screens/cursors")).expect("load screens/cursors");
    assert!(
        sprites.iter().any(|s| s.name() == "debian-installer"),
        "the installer's cursor is shipped"
    );
    Locator::new(sprites)
}

fn load(path: &str) -> image::RgbImage {
    image::open(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .to_rgb8()
}

#[test]
fn finds_the_installer_cursor_on_the_language_screen() {
    // The pointer sits where QEMU put it at boot: the screen centre of 1280x800.
    let image = load("tests/data/pointer/screens/debian12-gtk/language.png");
    let found = locator().find(&image, &[], None).expect("cursor found");
    assert_eq!((found.x, found.y), (640, 400));
    assert_eq!(found.rect, Rect::new(639, 399, 10, 16));
}

#[test]
fn finds_the_cursor_pushed_against_the_top_edge() {
    // A 200x60 cut of the screen with the tip on row 0 (the sprite's top row off screen), over
    // the dark banner; the tip is at x = 690 of the full screen, 90 in the cut.
    let image = load("tests/data/pointer/cursor-at-top-edge.png");
    let found = locator().find(&image, &[], None).expect("cursor found");
    assert_eq!((found.x, found.y), (90, 0));
}

#[test]
fn no_cursor_no_match() {
    // The keyboard screen has its cursor in the banner at the top; cut it away.
    let image = load("tests/data/pointer/screens/debian12-gtk/keyboard.png");
    let below = image::imageops::crop_imm(&image, 0, 100, 1280, 700).to_image();
    assert_eq!(locator().find(&below, &[], None), None);
}

#[test]
fn the_cursor_rectangle_keeps_a_match_from_being_spoiled() {
    use vncpilot::screen::Reference;
    // The location screen's reference compares its title; a cursor drawn over the title spoils
    // the comparison unless its rectangle is ignored.
    let reference =
        Reference::load("tests/data/pointer/screens/debian12-gtk/location.png").unwrap();
    let mut image = load("tests/data/pointer/screens/debian12-gtk/location.png");
    let sprites = CursorSprite::load_dir(Path::new("screens/cursors")).unwrap();
    // (The screenshot also shows where the cursor was when it was taken: in the banner, tip at
    // (690, 0). The update that drew the new one is the damage.)
    let arrow = sprites
        .iter()
        .find(|s| s.name() == "debian-installer")
        .expect("the arrow sprite");
    arrow.draw(&mut image, 60, 90);
    let frame = vncpilot::rfb::Frame {
        serial: 1,
        time: std::time::Instant::now(),
        image: std::sync::Arc::new(image.clone()),
        damage: vec![Rect::new(50, 80, 30, 30)],
        cursor: None,
        pointer: None,
    };
    let ignore = locator().ignore_rects(&frame, None);
    assert_eq!(ignore, vec![Rect::new(59, 89, 10, 16)]);
    let spoiled = reference.check(&image);
    let kept = reference.check_ignoring(&image, &ignore);
    eprintln!(
        "without ignoring: {:.4}, ignoring the cursor: {:.4}",
        spoiled.similarity, kept.similarity
    );
    assert!(kept.matched);
    assert!(kept.similarity > spoiled.similarity);
}
