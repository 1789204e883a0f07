//! Finding the cursor in a framebuffer: a linear search for a known sprite.
//!
//! The search looks first where the screen changed (a moved cursor is always in the damage), and
//! only then over the whole frame; among several places that fit it takes the one nearest to
//! where the cursor was last seen, so an arrow-shaped icon elsewhere does not fool it. A sprite
//! may hang over the screen's edge (the pointer can sit on the last column), so pixels outside
//! the frame are skipped, but enough of the sprite must be visible to be sure.

use image::RgbImage;

use crate::rfb::{Frame, Rect};

use super::CursorSprite;

/// Where the cursor is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Found {
    /// The hotspot, in framebuffer pixels.
    pub x: u32,
    pub y: u32,
    /// The sprite's visible rectangle (what a matcher should ignore).
    pub rect: Rect,
    /// Index of the sprite in the locator.
    pub sprite: usize,
}

/// Searches frames for any of its sprites.
#[derive(Clone, Debug)]
pub struct Locator {
    sprites: Vec<CursorSprite>,
    /// Largest sum of absolute channel differences per pixel still counted equal (absorbs
    /// colour-depth conversions between where a sprite was captured and the live screen).
    tolerance: u32,
}

impl Default for Locator {
    fn default() -> Self {
        Locator::new(Vec::new())
    }
}

impl Locator {
    pub fn new(sprites: Vec<CursorSprite>) -> Locator {
        Locator {
            sprites,
            tolerance: 24,
        }
    }

    pub fn with_tolerance(mut self, tolerance: u32) -> Locator {
        self.tolerance = tolerance;
        self
    }

    pub fn sprites(&self) -> &[CursorSprite] {
        &self.sprites
    }

    /// Adds a sprite unless one with the same pixels is there; returns its index.
    pub fn add(&mut self, sprite: CursorSprite) -> usize {
        if let Some(i) = self
            .sprites
            .iter()
            .position(|s| s.image() == sprite.image() && s.hotspot() == sprite.hotspot())
        {
            return i;
        }
        self.sprites.push(sprite);
        self.sprites.len() - 1
    }

    /// Names of the known sprites, for error messages.
    pub fn describe(&self) -> String {
        if self.sprites.is_empty() {
            return "none".into();
        }
        self.sprites
            .iter()
            .map(|s| s.name().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Finds the cursor in a frame: the server's cursor shape (when it sent one) is added to the
    /// known sprites first. `near` is where the cursor was last seen.
    pub fn find_in_frame(&mut self, frame: &Frame, near: Option<(u32, u32)>) -> Option<Found> {
        if let Some(shape) = &frame.cursor
            && let Some(sprite) = CursorSprite::from_shape(shape)
        {
            self.add(sprite);
        }
        self.find(&frame.image, &frame.damage, near)
    }

    /// What a screen matcher should leave out of `frame` so that the cursor drawn into it
    /// cannot spoil a match: the cursor's rectangle where one of the known pictures is seen
    /// (nothing where the server draws the cursor itself, which never reaches the pixels).
    /// Use with `screen::Reference::check_ignoring(&frame.image, &locator.ignore_rects(&frame, near))`.
    pub fn ignore_rects(&mut self, frame: &Frame, near: Option<(u32, u32)>) -> Vec<Rect> {
        self.find_in_frame(frame, near)
            .map(|f| f.rect)
            .into_iter()
            .collect()
    }

    /// Finds the cursor only where `frame` changed (and the server's cursor shape, when it sent
    /// one): enough to notice a cursor that appears or moves while watching a screen, without a
    /// search of the whole frame for every update when there is no cursor to see.
    pub fn find_in_damage(&mut self, frame: &Frame, near: Option<(u32, u32)>) -> Option<Found> {
        if let Some(shape) = &frame.cursor
            && let Some(sprite) = CursorSprite::from_shape(shape)
        {
            self.add(sprite);
        }
        let partial: Vec<Rect> = frame
            .damage
            .iter()
            .filter(|d| !d.is_empty())
            .copied()
            .collect();
        if partial.is_empty() {
            return None;
        }
        self.best(&frame.image, &partial, near, false)
    }

    /// Finds the cursor in `image`, searching the `damage` and the spot `near` first, then
    /// everywhere.
    pub fn find(
        &self,
        image: &RgbImage,
        damage: &[Rect],
        near: Option<(u32, u32)>,
    ) -> Option<Found> {
        let full = Rect::full(image.width(), image.height());
        let partial: Vec<Rect> = damage.iter().filter(|d| !d.is_empty()).copied().collect();
        if !partial.is_empty() && !partial.contains(&full) {
            let found = self.best(image, &partial, near, false);
            if found.is_some() {
                return found;
            }
        }
        // Where it was last seen: a move that did nothing changes no pixel.
        if let Some((x, y)) = near {
            let found = self.best(image, &[Rect::new(x, y, 1, 1)], near, false);
            if found.is_some_and(|f| (f.x, f.y) == (x, y)) {
                return found;
            }
        }
        self.best(image, &[full], near, true)
    }

    /// The best match among sprite positions touching `regions`: over the whole frame the one
    /// nearest to `near` (else the first), and a third of the sprite must show, or any dark line
    /// would do. In the damage a cursor pushed against an edge may show only a few pixels (the
    /// tip alone on the last row), so every on-screen pixel must match and the match showing the
    /// most pixels wins, then the nearest.
    fn best(
        &self,
        image: &RgbImage,
        regions: &[Rect],
        near: Option<(u32, u32)>,
        strict: bool,
    ) -> Option<Found> {
        let (w, h) = (image.width() as i64, image.height() as i64);
        let mut best: Option<((i64, i64), Found)> = None;
        for (index, sprite) in self.sprites.iter().enumerate() {
            let (hx, hy) = (sprite.hotspot().0 as i64, sprite.hotspot().1 as i64);
            let (sw, sh) = (sprite.width() as i64, sprite.height() as i64);
            let n = sprite.probes().len();
            for region in regions {
                // Sprite origins whose sprite rectangle touches the region, with the hotspot on screen.
                let x0 = (region.x as i64 - sw + 1).max(-hx);
                let x1 = (region.right() as i64 - 1).min(w - 1 - hx);
                let y0 = (region.y as i64 - sh + 1).max(-hy);
                let y1 = (region.bottom() as i64 - 1).min(h - 1 - hy);
                for oy in y0..=y1 {
                    for ox in x0..=x1 {
                        let needed = if strict {
                            (n / 6).max(4).min(n)
                        } else {
                            on_screen(sprite, ox, oy, w, h).min(3)
                        };
                        let Some(visible) = self.fits(image, sprite, ox, oy, needed.max(1)) else {
                            continue;
                        };
                        let (x, y) = ((ox + hx) as u32, (oy + hy) as u32);
                        let dist = match near {
                            Some((nx, ny)) => {
                                (x as i64 - nx as i64).pow(2) + (y as i64 - ny as i64).pow(2)
                            }
                            None => 0,
                        };
                        let key = if strict {
                            (0, dist)
                        } else {
                            (-(visible as i64), dist)
                        };
                        if best.as_ref().is_none_or(|(k, _)| key < *k) {
                            let left = ox.max(0);
                            let top = oy.max(0);
                            let rect = Rect::new(
                                left as u32,
                                top as u32,
                                ((ox + sw).min(w) - left) as u32,
                                ((oy + sh).min(h) - top) as u32,
                            );
                            best = Some((
                                key,
                                Found {
                                    x,
                                    y,
                                    rect,
                                    sprite: index,
                                },
                            ));
                            if dist == 0 && near.is_some() && visible == n {
                                return best.map(|(_, f)| f);
                            }
                        }
                    }
                }
            }
            if best.is_some() && near.is_none() {
                break;
            }
        }
        best.map(|(_, f)| f)
    }

    #[inline]
    /// How many sprite pixels show at this origin, if all that show match and enough show.
    fn fits(
        &self,
        image: &RgbImage,
        sprite: &CursorSprite,
        ox: i64,
        oy: i64,
        min_visible: usize,
    ) -> Option<usize> {
        let (w, h) = (image.width() as i64, image.height() as i64);
        let mut visible = 0;
        for &(sx, sy, c) in sprite.probes() {
            let (px, py) = (ox + sx as i64, oy + sy as i64);
            if px < 0 || py < 0 || px >= w || py >= h {
                continue;
            }
            let p = image.get_pixel(px as u32, py as u32);
            let diff = (p[0] as i32 - c[0] as i32).unsigned_abs()
                + (p[1] as i32 - c[1] as i32).unsigned_abs()
                + (p[2] as i32 - c[2] as i32).unsigned_abs();
            if diff > self.tolerance {
                return None;
            }
            visible += 1;
        }
        (visible >= min_visible).then_some(visible)
    }
}

/// How many of the sprite's opaque pixels fall on the screen with its origin at (ox, oy).
fn on_screen(sprite: &CursorSprite, ox: i64, oy: i64, w: i64, h: i64) -> usize {
    if ox >= 0 && oy >= 0 && ox + sprite.width() as i64 <= w && oy + sprite.height() as i64 <= h {
        return sprite.probes().len();
    }
    sprite
        .probes()
        .iter()
        .filter(|(sx, sy, _)| {
            let (px, py) = (ox + *sx as i64, oy + *sy as i64);
            px >= 0 && py >= 0 && px < w && py < h
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    fn background(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            Rgb([
                (x * 7 % 251) as u8,
                (y * 13 % 241) as u8,
                ((x ^ y) % 200) as u8,
            ])
        })
    }

    #[test]
    fn finds_the_hotspot_anywhere_including_over_the_edges() {
        let arrow = CursorSprite::arrow();
        let locator = Locator::new(vec![arrow.clone()]);
        for &(x, y) in &[(0, 0), (5, 7), (600, 470), (320, 475), (634, 3), (100, 200)] {
            let mut img = background(640, 480);
            arrow.draw(&mut img, x, y);
            let f = locator
                .find(&img, &[], None)
                .unwrap_or_else(|| panic!("not found at {x},{y}"));
            assert_eq!((f.x, f.y), (x, y));
        }
        // Pushed into the bottom-right corner only a 2x2 corner of the sprite shows: found in the damage.
        let mut img = background(640, 480);
        arrow.draw(&mut img, 638, 478);
        let f = locator
            .find(&img, &[Rect::new(600, 440, 40, 40)], None)
            .unwrap();
        assert_eq!((f.x, f.y, f.rect), (638, 478, Rect::new(637, 477, 3, 3)));
        // On the last row only the tip shows.
        let mut img = background(640, 480);
        arrow.draw(&mut img, 300, 479);
        let f = locator
            .find(&img, &[Rect::new(290, 470, 20, 10)], None)
            .unwrap();
        assert_eq!((f.x, f.y), (300, 479));
    }

    #[test]
    fn prefers_the_damage_and_the_nearest_match() {
        let arrow = CursorSprite::arrow();
        let locator = Locator::new(vec![arrow.clone()]);
        let mut img = background(300, 200);
        arrow.draw(&mut img, 20, 20); // a decoy icon
        arrow.draw(&mut img, 250, 150);
        let dmg = [Rect::new(245, 145, 12, 20)];
        assert_eq!(
            locator.find(&img, &dmg, Some((40, 40))).map(|f| (f.x, f.y)),
            Some((250, 150))
        );
        assert_eq!(
            locator
                .find(&img, &[], Some((240, 140)))
                .map(|f| (f.x, f.y)),
            Some((250, 150))
        );
        assert_eq!(
            locator.find(&img, &[], Some((30, 30))).map(|f| (f.x, f.y)),
            Some((20, 20))
        );
    }

    #[test]
    fn absent_cursor_is_not_found() {
        let locator = Locator::new(vec![CursorSprite::arrow()]);
        assert_eq!(locator.find(&background(320, 240), &[], None), None);
        assert_eq!(
            Locator::default().find(&background(32, 24), &[], None),
            None
        );
    }
}
