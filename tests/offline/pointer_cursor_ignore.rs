//! A cursor drawn into the framebuffer (the Debian graphical installer's X.org software cursor)
//! must not spoil screen matching. The real location screen and the real cursor sprite: the
//! arrow over the compared title makes a plain check fail; with the cursor's rectangle found
//! by the locator left out, it passes — directly, and through a macro's `check_screen` /
//! `wait_screen`, which leave the cursor out by themselves.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use image::RgbImage;
use vncpilot::display::{Display, DisplayError, FrameSource};
use vncpilot::pointer::{CursorSprite, Locator};
use vncpilot::report::{Event, RunObserver};
use vncpilot::rfb::{Frame, Rect};
use vncpilot::screen::{Reference, ScreenSet};
use vncpilot::script::{RunContext, run_macro};

const SCREENS: &str = "screens";

fn location() -> (Reference, RgbImage) {
    let path = Path::new(SCREENS).join("debian-12-gtk/location.png");
    let reference = Reference::load(&path).unwrap();
    let image = image::open(&path).unwrap().to_rgb8();
    (reference, image)
}

fn arrow() -> CursorSprite {
    CursorSprite::load(Path::new("screens/cursors/debian-installer.png")).unwrap()
}

/// The screen with the arrow's tip at (x, y), as X.org draws it.
fn with_cursor(image: &RgbImage, x: u32, y: u32) -> RgbImage {
    let mut out = image.clone();
    arrow().draw(&mut out, x, y);
    out
}

fn frame(image: RgbImage, serial: u64) -> Frame {
    let (w, h) = image.dimensions();
    Frame {
        serial,
        time: Instant::now(),
        image: Arc::new(image),
        damage: vec![Rect::full(w, h)],
        cursor: None,
        pointer: None,
    }
}

#[test]
fn the_cursor_over_the_title_fails_a_plain_check_and_passes_when_ignored() {
    let (reference, clean) = location();
    assert!(
        reference.check(&clean).matched,
        "the capture matches itself"
    );
    // On the title "Select your location" (compared region 12,84 300x22).
    let dirty = with_cursor(&clean, 60, 88);
    let plain = reference.check(&dirty);
    assert!(
        !plain.matched,
        "a cursor over the title must spoil a plain check (similarity {})",
        plain.similarity
    );

    let mut locator = Locator::new(CursorSprite::load_dir(Path::new("screens/cursors")).unwrap());
    let ignore = locator.ignore_rects(&frame(dirty.clone(), 1), None);
    assert_eq!(ignore.len(), 1, "the locator finds the one cursor");
    assert!(
        ignore[0].x <= 60 && ignore[0].right() > 60 && ignore[0].y <= 88,
        "{:?}",
        ignore[0]
    );
    let ignored = reference.check_ignoring(&dirty, &ignore);
    assert!(ignored.matched, "similarity {}", ignored.similarity);

    // Leaving the cursor out must not make a different screen pass: the keyboard screen with
    // the cursor on its title is still not the location screen.
    let keyboard = image::open(Path::new(SCREENS).join("debian-12-gtk/keyboard.png"))
        .unwrap()
        .to_rgb8();
    let other = with_cursor(&keyboard, 60, 88);
    let ignore = locator.ignore_rects(&frame(other.clone(), 1), None);
    assert!(!reference.check_ignoring(&other, &ignore).matched);
}

/// A display that shows one fixed frame.
struct Still(Arc<Frame>);

struct NoFrames;

impl FrameSource for NoFrames {
    fn next(&mut self, timeout: Duration) -> Result<Option<Arc<Frame>>, DisplayError> {
        std::thread::sleep(timeout.min(Duration::from_millis(50)));
        Ok(None)
    }
}

impl Display for Still {
    fn latest(&self) -> Result<Arc<Frame>, DisplayError> {
        Ok(self.0.clone())
    }
    fn subscribe(&self) -> Box<dyn FrameSource> {
        Box::new(NoFrames)
    }
    fn key(&self, _combo: &str) -> Result<(), DisplayError> {
        Ok(())
    }
    fn type_text(&self, _text: &str) -> Result<(), DisplayError> {
        Ok(())
    }
}

#[derive(Default)]
struct Events(Mutex<Vec<Event>>);

impl RunObserver for Events {
    fn event(&self, event: &Event) {
        self.0.lock().unwrap().push(event.clone());
    }
}

fn run(image: RgbImage, cursors: Option<&Path>, source: &str) -> (String, Vec<Event>) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _guard = rt.enter();
    let screens = ScreenSet::load(Path::new(SCREENS), "debian-12-gtk").unwrap();
    let events = Arc::new(Events::default());
    let shots = tempfile::tempdir().unwrap();
    let mut builder = RunContext::builder(
        Arc::new(Still(Arc::new(frame(image, 1)))),
        screens,
        events.clone(),
        shots.path().to_path_buf(),
    );
    if let Some(dir) = cursors {
        builder = builder.cursors_dir(dir.to_path_buf());
    }
    let ctx = Arc::new(builder.build());
    let outcome = run_macro(source, Path::new("test.rhai"), &ctx, 100_000);
    let events = events.0.lock().unwrap().clone();
    (format!("{:?}: {}", outcome.status, outcome.reason), events)
}

#[test]
fn macros_leave_the_software_cursor_out_of_matching() {
    let (_, clean) = location();
    let dirty = with_cursor(&clean, 60, 88);
    let source = r#"
        let seen = check_screen("location");
        if seen != "location" { fail("check_screen saw " + seen); }
        wait_screen("location", 1);
    "#;
    // The cursor pictures of the screens root (screens/cursors) are used by default.
    let (outcome, events) = run(dirty.clone(), None, source);
    assert!(outcome.starts_with("Pass"), "{outcome}");
    let waits: Vec<&Event> = events
        .iter()
        .filter(|e| e.action == "wait_screen")
        .collect();
    assert_eq!(waits.len(), 1);
    assert_eq!(waits[0].detail["matched"], "location");

    // Without cursor pictures nothing is known to leave out, and the same frame fails.
    let empty = tempfile::tempdir().unwrap();
    let (outcome, _) = run(dirty, Some(empty.path()), source);
    assert!(outcome.starts_with("Fail"), "{outcome}");
    assert!(outcome.contains("check_screen saw"), "{outcome}");
}

#[test]
fn mouse_functions_without_a_vnc_session_say_why() {
    let (_, clean) = location();
    let (outcome, _) = run(clean, None, "click(10, 10);");
    assert!(outcome.starts_with("Error"), "{outcome}");
    assert!(outcome.contains("test.rhai:1:1"), "{outcome}");
    assert!(outcome.contains("no way to move the mouse"), "{outcome}");
    let (outcome, _) = run(location().1, None, r#"click(10, 10, "sideways");"#);
    assert!(
        outcome.contains("expected \"left\", \"middle\" or \"right\""),
        "{outcome}"
    );
    let (outcome, _) = run(location().1, None, "mouse_move(-1, 10);");
    assert!(outcome.contains("x = -1"), "{outcome}");
    let (outcome, _) = run(location().1, None, r#"click_screen("nonesuch");"#);
    assert!(outcome.contains("no screen \"nonesuch\""), "{outcome}");
}
