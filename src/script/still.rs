//! What `wait_still` counts as a change of a quiet screen: its options (rectangles to ignore,
//! a minimum number of changed pixels) and the test of one frame against the quiet picture.

use image::RgbImage;

use super::convert::{RhaiResult, error, rect};
use crate::rfb::{Frame, Rect};

/// What `wait_still` does not count as change: rectangles to ignore (a blinking text cursor,
/// a clock) and frames that changed fewer than `min_change` pixels (compared with the screen
/// as it was when it went quiet).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StillOptions {
    pub ignore: Vec<Rect>,
    pub min_change: u64,
}

impl StillOptions {
    /// `#{ignore: [[x, y, w, h], ...], min_change: pixels}`; unknown keys are an error.
    pub fn parse(map: &rhai::Map) -> RhaiResult<StillOptions> {
        let mut out = StillOptions::default();
        for (key, value) in map {
            match key.as_str() {
                "ignore" => {
                    let list = value.clone().into_array().map_err(|t| {
                        error(format!(
                            "wait_still: ignore must be an array of [x, y, w, h], not {t}"
                        ))
                    })?;
                    for (i, item) in list.into_iter().enumerate() {
                        out.ignore.push(
                            rect(item)
                                .map_err(|m| error(format!("wait_still: ignore[{i}]: {m}")))?,
                        );
                    }
                }
                "min_change" => {
                    let n = value.as_int().map_err(|t| {
                        error(format!(
                            "wait_still: min_change must be a number of pixels, not {t}"
                        ))
                    })?;
                    out.min_change = u64::try_from(n).map_err(|_| {
                        error(format!(
                            "wait_still: min_change = {n}: expected 0 or more pixels"
                        ))
                    })?;
                }
                other => {
                    return Err(error(format!(
                        "wait_still: unknown option {other:?} (expected ignore, min_change)"
                    )));
                }
            }
        }
        Ok(out)
    }

    /// Whether `frame` counts as a change of the screen that was `quiet` (same size).
    pub fn counts(&self, frame: &Frame, quiet: &RgbImage) -> bool {
        let outside: Vec<Rect> = frame
            .damage
            .iter()
            .filter(|d| !d.is_empty())
            .flat_map(|d| subtract(*d, &self.ignore))
            .collect();
        if outside.is_empty() {
            return false;
        }
        if (self.min_change == 0 && self.ignore.is_empty())
            || frame.image.dimensions() != quiet.dimensions()
        {
            return true;
        }
        // Damage is coarse (QEMU reports 16-pixel-wide blocks), so a blink inside an ignored
        // rectangle can be reported as damage beside it: compare the pixels themselves.
        let threshold = self.min_change.max(1);
        let mut changed = 0u64;
        for r in &outside {
            for y in r.y..r.bottom().min(quiet.height()) {
                for x in r.x..r.right().min(quiet.width()) {
                    if frame.image.get_pixel(x, y) != quiet.get_pixel(x, y) {
                        changed += 1;
                        if changed >= threshold {
                            return true;
                        }
                    }
                }
            }
        }
        false
    }
}

/// The parts of `r` outside every rectangle of `holes` (at most 4 pieces per hole).
fn subtract(r: Rect, holes: &[Rect]) -> Vec<Rect> {
    let mut pieces = vec![r];
    for h in holes {
        let mut next = Vec::new();
        for p in pieces {
            if !p.intersects(h) {
                next.push(p);
                continue;
            }
            let (top, bottom) = (p.y.max(h.y), p.bottom().min(h.bottom()));
            if h.y > p.y {
                next.push(Rect::new(p.x, p.y, p.w, h.y - p.y));
            }
            if h.bottom() < p.bottom() {
                next.push(Rect::new(p.x, h.bottom(), p.w, p.bottom() - h.bottom()));
            }
            if h.x > p.x {
                next.push(Rect::new(p.x, top, h.x - p.x, bottom - top));
            }
            if h.right() < p.right() {
                next.push(Rect::new(
                    h.right(),
                    top,
                    p.right() - h.right(),
                    bottom - top,
                ));
            }
        }
        pieces = next;
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use rhai::Dynamic;
    use std::sync::Arc;
    use std::time::Instant;

    fn area(rs: &[Rect]) -> u32 {
        rs.iter().map(|r| r.w * r.h).sum()
    }

    #[test]
    fn subtract_leaves_exactly_the_outside() {
        let r = Rect::new(10, 10, 20, 10);
        assert_eq!(subtract(r, &[]), vec![r]);
        assert!(subtract(r, &[Rect::new(0, 0, 100, 100)]).is_empty());
        assert_eq!(subtract(r, &[Rect::new(100, 100, 5, 5)]), vec![r]);
        // A hole in the middle: 200 - 4*3.
        let rest = subtract(r, &[Rect::new(15, 12, 4, 3)]);
        assert_eq!(area(&rest), 200 - 12);
        for p in &rest {
            assert!(!p.intersects(&Rect::new(15, 12, 4, 3)));
        }
        // Two holes covering it together.
        assert!(subtract(r, &[Rect::new(0, 0, 20, 50), Rect::new(20, 0, 20, 50)]).is_empty());
    }

    fn still_image(name: &str) -> Arc<RgbImage> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/still")
            .join(name);
        Arc::new(image::open(&path).unwrap().to_rgb8())
    }

    /// The Debian graphical installer's hostname entry, its text cursor blinking (captured
    /// from the real installer under QEMU): on and off differ only in the 1x15 bar at (24, 220),
    /// and QEMU reports the change as a 16-pixel-wide block.
    #[test]
    fn a_blinking_text_cursor_counts_unless_ignored_or_small() {
        let off = still_image("hostname-blink-off.png");
        let on = still_image("hostname-blink-on.png");
        let frame = Frame {
            serial: 2,
            time: Instant::now(),
            image: on.clone(),
            damage: vec![Rect::new(16, 220, 16, 15)],
            cursor: None,
            pointer: None,
        };
        assert!(StillOptions::default().counts(&frame, &off));
        let entry = StillOptions {
            ignore: vec![Rect::new(20, 216, 1240, 24)],
            min_change: 0,
        };
        assert!(!entry.counts(&frame, &off), "the blink is inside the entry");
        let small = StillOptions {
            ignore: vec![],
            min_change: 50,
        };
        assert!(!small.counts(&frame, &off), "15 pixels < 50");
        // A real change outside the ignored entry still counts: a different screen.
        let other = Frame {
            image: still_image("../../../screens/debian-12-gtk/keyboard.png"),
            damage: vec![Rect::new(0, 0, 1280, 800)],
            ..frame.clone()
        };
        assert!(entry.counts(&other, &off));
        assert!(small.counts(&other, &off));
        // A change right beside the ignored rectangle counts.
        let mut beside = (*off).clone();
        beside.put_pixel(19, 225, image::Rgb([255, 0, 0]));
        let beside = Frame {
            image: Arc::new(beside),
            ..frame.clone()
        };
        assert!(entry.counts(&beside, &off));
    }

    #[test]
    fn options_parse_and_reject_bad_values() {
        let mut m = rhai::Map::new();
        m.insert(
            "ignore".into(),
            Dynamic::from(vec![Dynamic::from(vec![
                Dynamic::from(1_i64),
                Dynamic::from(2_i64),
                Dynamic::from(3_i64),
                Dynamic::from(4_i64),
            ])]),
        );
        m.insert("min_change".into(), Dynamic::from(50_i64));
        let o = StillOptions::parse(&m).unwrap();
        assert_eq!(o.ignore, vec![Rect::new(1, 2, 3, 4)]);
        assert_eq!(o.min_change, 50);
        m.insert("typo".into(), Dynamic::from(1_i64));
        assert!(
            StillOptions::parse(&m)
                .unwrap_err()
                .to_string()
                .contains("typo")
        );
        let mut m = rhai::Map::new();
        m.insert("min_change".into(), Dynamic::from(-1_i64));
        assert!(StillOptions::parse(&m).is_err());
    }
}
