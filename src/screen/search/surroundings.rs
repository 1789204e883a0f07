//! Whether a region found away from its place moved, or its content changed in place.

use image::RgbImage;

use super::super::template::Template;
use crate::rfb::Rect;

/// Whether a region found `(dx, dy)` away from where it was expected is really content that
/// changed in place: its surroundings in the screenshot are still where the reference has
/// them (mean squared luma error below `RING_STILL`) and do not fit at the found offset
/// (`RING_MOVED` times worse). A moved screen or window takes its surroundings along; a
/// mirrored symmetric icon (the same icon a few pixels over) does not. Flat surroundings are
/// no evidence either way, and the move is believed.
pub fn surroundings_stayed(
    t: &Template,
    image: &RgbImage,
    dx: i64,
    dy: i64,
    ignore: &[Rect],
) -> bool {
    let (iw, ih) = (image.width() as i64, image.height() as i64);
    let (mut e0, mut ed, mut n) = (0f64, 0f64, 0usize);
    for &(x, y, v) in &t.ring {
        let (xd, yd) = (x as i64 + dx, y as i64 + dy);
        if xd < 0 || yd < 0 || xd >= iw || yd >= ih {
            continue;
        }
        let hit = |px: u32, py: u32| {
            ignore
                .iter()
                .any(|r| px >= r.x && px < r.right() && py >= r.y && py < r.bottom())
        };
        if hit(x, y) || hit(xd as u32, yd as u32) {
            continue;
        }
        let s0 = super::super::planes::luma(image.get_pixel(x, y).0) - v;
        let sd = super::super::planes::luma(image.get_pixel(xd as u32, yd as u32).0) - v;
        e0 += (s0 * s0) as f64;
        ed += (sd * sd) as f64;
        n += 1;
    }
    if n < 16 {
        return false;
    }
    let (m0, md) = (e0 / n as f64, ed / n as f64);
    m0 < RING_STILL && md > RING_MOVED * m0.max(RING_STILL / 4.0)
}

/// Mean squared luma error of surroundings that count as unchanged (RMS 8: JPEG, noise).
const RING_STILL: f64 = 64.0;
/// How much worse the surroundings must fit at the found offset to count as not moved.
const RING_MOVED: f64 = 4.0;
