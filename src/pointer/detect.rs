//! Finding a cursor nobody told us about, by the change a small move makes.
//!
//! Two moves in the same direction: frames A → B → C. The cursor at B is what changed both
//! between A and B (it appeared) and between B and C (it left), while the cursor at A or C
//! changed only once — so the pixels that changed twice are the cursor at B. Its picture is cut
//! out of B, and its hotspot taken as the top-most, left-most pixel (an arrow's tip).

use std::sync::Arc;

use image::{Rgba, RgbaImage};

use crate::rfb::{Frame, Rect};

use super::error::Screenshot;
use super::{CursorSprite, PointerDevice, PointerError};

/// The largest cursor believed (anything bigger that changed twice is something else moving).
const MAX_CURSOR: u32 = 64;

/// What detection found: the sprite and where its hotspot is now (after the probe moves).
#[derive(Clone, Debug)]
pub struct Detected {
    pub sprite: CursorSprite,
    pub x: u32,
    pub y: u32,
    /// How many moves the probing took.
    pub moves: u32,
    pub frame: Arc<Frame>,
}

/// Probes with moves of `probe` mickeys per axis, down-right first, then up-left (for a cursor
/// already in the bottom-right corner).
pub async fn detect_by_motion<D: PointerDevice>(
    dev: &mut D,
    probe: i32,
) -> Result<Detected, PointerError> {
    let mut moves = 0;
    let mut a = dev.settled_frame().await?;
    let mut why = String::from("no move changed the screen");
    for dir in [1, -1] {
        let step = probe * dir;
        dev.move_rel(step, step).await?;
        moves += 1;
        let b = dev.settled_frame().await?;
        if changed(&a, &b).is_none() {
            a = b;
            continue;
        }
        dev.move_rel(step, step).await?;
        moves += 1;
        let c = dev.settled_frame().await?;
        match cursor_between(&a, &b, &c) {
            Ok((sprite, bx, by)) => {
                // The hotspot in B; find it again in C, where the pointer is now.
                let locator = super::Locator::new(vec![sprite.clone()]);
                let near = Some((bx, by));
                let found = locator.find(&c.image, &c.damage, near);
                let (x, y) = match found {
                    Some(f) => (f.x, f.y),
                    None => (bx, by),
                };
                return Ok(Detected {
                    sprite,
                    x,
                    y,
                    moves,
                    frame: c,
                });
            }
            Err(reason) => why = reason,
        }
        a = c;
    }
    Err(PointerError::CursorNotFound {
        width: a.width(),
        height: a.height(),
        what: format!("no known cursor image matched, and detecting it by moving failed: {why}"),
        known: "none matched".into(),
        screenshot: Screenshot(a.image.clone()),
    })
}

/// Pixels that differ between two frames of the same size, as a mask; None if none differ.
fn changed(a: &Frame, b: &Frame) -> Option<Vec<bool>> {
    if a.image.dimensions() != b.image.dimensions() {
        return None;
    }
    let mask: Vec<bool> = a
        .image
        .pixels()
        .zip(b.image.pixels())
        .map(|(p, q)| p != q)
        .collect();
    mask.iter().any(|m| *m).then_some(mask)
}

fn cursor_between(a: &Frame, b: &Frame, c: &Frame) -> Result<(CursorSprite, u32, u32), String> {
    let (w, h) = b.image.dimensions();
    let (Some(ab), Some(bc)) = (changed(a, b), changed(b, c)) else {
        return Err("the second move changed nothing (the pointer may be stuck at an edge)".into());
    };
    let mut bbox: Option<Rect> = None;
    for (i, (p, q)) in ab.iter().zip(&bc).enumerate() {
        if *p && *q {
            let r = Rect::new(i as u32 % w, i as u32 / w, 1, 1);
            bbox = Some(bbox.map_or(r, |b| b.union(&r)));
        }
    }
    let Some(bbox) = bbox else {
        return Err("nothing changed on both moves".into());
    };
    if bbox.w > MAX_CURSOR || bbox.h > MAX_CURSOR {
        return Err(format!(
            "what changed on both moves is {}x{} at ({}, {}), larger than a cursor ({MAX_CURSOR}x{MAX_CURSOR}): \
             something else on screen is moving",
            bbox.w, bbox.h, bbox.x, bbox.y
        ));
    }
    let mut picture = RgbaImage::new(bbox.w, bbox.h);
    for y in 0..bbox.h {
        for x in 0..bbox.w {
            let (fx, fy) = (bbox.x + x, bbox.y + y);
            let i = (fy * w + fx) as usize;
            if ab[i] && bc[i] && fy < h {
                let p = b.image.get_pixel(fx, fy);
                picture.put_pixel(x, y, Rgba([p[0], p[1], p[2], 255]));
            }
        }
    }
    let sprite = CursorSprite::new("detected", picture, None)?;
    let (hx, hy) = sprite.hotspot();
    Ok((sprite, bbox.x + hx, bbox.y + hy))
}
