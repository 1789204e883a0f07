//! Masks: white = compare, black = ignore. A mask's white pixels fall apart into regions, each
//! searched for on its own (a screen that moved, moves every region; a dialog that moved moves
//! only its own).

use image::GrayImage;

use crate::rfb::Rect;

/// White parts closer than this (px) belong to the same region, so a hand-drawn mask with a
/// few stray gaps does not become dozens of tiny regions that each could match anywhere.
pub const JOIN_GAP: u32 = 8;

/// Whether a mask pixel means "compare".
#[inline]
pub fn is_compared(v: u8) -> bool {
    v >= 128
}

/// The regions of a mask: bounding boxes of its white parts, parts nearer than [`JOIN_GAP`]
/// joined. Sorted top-to-bottom, left-to-right.
pub fn regions(mask: &GrayImage) -> Vec<Rect> {
    let (w, h) = mask.dimensions();
    let mut seen = vec![false; (w * h) as usize];
    let mut boxes: Vec<Rect> = Vec::new();
    let mut stack = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let i = (y * w + x) as usize;
            if seen[i] || !is_compared(mask.as_raw()[i]) {
                continue;
            }
            // Flood fill one 8-connected part.
            let (mut x0, mut y0, mut x1, mut y1) = (x, y, x, y);
            seen[i] = true;
            stack.push((x, y));
            while let Some((px, py)) = stack.pop() {
                x0 = x0.min(px);
                y0 = y0.min(py);
                x1 = x1.max(px);
                y1 = y1.max(py);
                for ny in py.saturating_sub(1)..=(py + 1).min(h - 1) {
                    for nx in px.saturating_sub(1)..=(px + 1).min(w - 1) {
                        let j = (ny * w + nx) as usize;
                        if !seen[j] && is_compared(mask.as_raw()[j]) {
                            seen[j] = true;
                            stack.push((nx, ny));
                        }
                    }
                }
            }
            boxes.push(Rect::new(x0, y0, x1 - x0 + 1, y1 - y0 + 1));
        }
    }
    // Join boxes that come within JOIN_GAP of each other, until nothing changes.
    let near = |a: &Rect, b: &Rect| {
        let grown = Rect::new(
            a.x.saturating_sub(JOIN_GAP),
            a.y.saturating_sub(JOIN_GAP),
            a.w + 2 * JOIN_GAP,
            a.h + 2 * JOIN_GAP,
        );
        grown.intersects(b)
    };
    loop {
        let mut merged = false;
        'outer: for i in 0..boxes.len() {
            for j in i + 1..boxes.len() {
                if near(&boxes[i], &boxes[j]) {
                    let u = boxes[i].union(&boxes[j]);
                    boxes[i] = u;
                    boxes.swap_remove(j);
                    merged = true;
                    break 'outer;
                }
            }
        }
        if !merged {
            break;
        }
    }
    boxes.sort_by_key(|r| (r.y, r.x));
    boxes
}

/// The weights (1 = compare, 0 = ignore) of `rect` of `mask`, row-major.
pub fn weights(mask: &GrayImage, rect: Rect) -> Vec<f32> {
    let mut out = Vec::with_capacity((rect.w * rect.h) as usize);
    for y in rect.y..rect.bottom() {
        for x in rect.x..rect.right() {
            out.push(if is_compared(mask.get_pixel(x, y).0[0]) {
                1.0
            } else {
                0.0
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask_with(rects: &[Rect]) -> GrayImage {
        let mut m = GrayImage::new(200, 100);
        for r in rects {
            for y in r.y..r.bottom() {
                for x in r.x..r.right() {
                    m.put_pixel(x, y, image::Luma([255]));
                }
            }
        }
        m
    }

    #[test]
    fn separate_parts_are_separate_regions() {
        let m = mask_with(&[Rect::new(10, 10, 20, 5), Rect::new(100, 50, 30, 30)]);
        assert_eq!(
            regions(&m),
            vec![Rect::new(10, 10, 20, 5), Rect::new(100, 50, 30, 30)]
        );
    }

    #[test]
    fn close_parts_join() {
        let m = mask_with(&[Rect::new(10, 10, 20, 5), Rect::new(33, 10, 10, 5)]);
        assert_eq!(regions(&m), vec![Rect::new(10, 10, 33, 5)]);
    }

    #[test]
    fn weights_follow_the_mask() {
        let m = mask_with(&[Rect::new(10, 10, 2, 1)]);
        assert_eq!(
            weights(&m, Rect::new(9, 10, 4, 1)),
            vec![0.0, 1.0, 1.0, 0.0]
        );
    }
}
