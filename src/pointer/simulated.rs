//! A simulated guest for the property tests: a screen with a software cursor drawn into it, moved
//! by an accelerated relative mouse (or an absolute tablet), clamped at the screen's edges.
//!
//! It exists IN ADDITION to the real-guest tests: it lets the convergence loop be checked on
//! thousands of start/target pairs and acceleration curves that one QEMU guest cannot show. The
//! curves follow the real ones: X.org's classic threshold/acceleration (`xset m`), libinput's
//! adaptive profile (velocity-dependent, decelerating slow motion, keeping sub-pixel remainders),
//! and a curve measured on the Debian 12 graphical installer under QEMU.

use std::sync::Arc;
use std::time::Instant;

use image::{Rgb, RgbImage};

use crate::rfb::{Frame, Rect};

use super::device::{Mode, PointerDevice};
use super::{CursorSprite, PointerError};

/// How the simulated guest turns a relative move into pixels.
#[derive(Clone, Debug, PartialEq)]
pub enum Acceleration {
    /// Pixels = round(gain × mickeys), no remainder (linear ×1, ×2).
    Linear { gain: f64 },
    /// X.org's classic scheme: an event longer than `threshold` mickeys is multiplied by
    /// `accel`; fractions are kept for the next event.
    XorgClassic { accel: f64, threshold: f64 },
    /// libinput's adaptive profile: the factor depends on the speed (mickeys per ms, with
    /// `interval_ms` between events): 0.3..1 below 0.07, 1 up to `threshold`, then rising by
    /// `incline` to at most `max_accel`; fractions are kept.
    LibinputAdaptive {
        max_accel: f64,
        threshold: f64,
        incline: f64,
        interval_ms: f64,
    },
    /// Pixels as a piecewise-linear function of the move's length (points (mickeys, pixels),
    /// increasing); fractions are kept.
    Curve { points: Vec<(f64, f64)> },
}

impl Acceleration {
    /// The curve measured on the Debian 12 graphical installer under QEMU (PS/2): +1/+2/+4/+10
    /// moved 0/1/2/4 px, +50 → 36, +100 → 99, +200 → 366, +300 → 557.
    pub fn debian12_installer() -> Acceleration {
        Acceleration::Curve {
            points: vec![
                (0.0, 0.0),
                (1.0, 0.4),
                (2.0, 1.0),
                (4.0, 2.0),
                (10.0, 4.0),
                (50.0, 36.0),
                (100.0, 99.0),
                (200.0, 366.0),
                (300.0, 557.0),
            ],
        }
    }

    /// The factor applied to a move of length `len` mickeys.
    fn factor(&self, len: f64) -> f64 {
        match self {
            Acceleration::Linear { gain } => *gain,
            Acceleration::XorgClassic { accel, threshold } => {
                if len > *threshold {
                    *accel
                } else {
                    1.0
                }
            }
            Acceleration::LibinputAdaptive {
                max_accel,
                threshold,
                incline,
                interval_ms,
            } => {
                let speed = len / interval_ms.max(1.0);
                let f = if speed < 0.07 {
                    10.0 * speed + 0.3
                } else if speed < *threshold {
                    1.0
                } else {
                    incline * (speed - threshold) + 1.0
                };
                f.min(*max_accel)
            }
            Acceleration::Curve { points } => {
                if len <= 0.0 {
                    return 0.0;
                }
                let mut prev = points[0];
                for &p in points.iter().skip(1) {
                    if len <= p.0 {
                        let out = prev.1 + (len - prev.0) * (p.1 - prev.1) / (p.0 - prev.0);
                        return out / len;
                    }
                    prev = p;
                }
                prev.1 / prev.0
            }
        }
    }

    fn keeps_remainder(&self) -> bool {
        !matches!(self, Acceleration::Linear { .. })
    }
}

/// A guest with a screen and a mouse, all in memory.
pub struct SimulatedGuest {
    background: RgbImage,
    sprite: CursorSprite,
    accel: Acceleration,
    absolute: bool,
    pos: (u32, u32),
    remainder: (f64, f64),
    buttons: u8,
    serial: u64,
    damage: Vec<Rect>,
    image: Arc<RgbImage>,
    /// Every event the guest received: (x, y, buttons) after it.
    pub events: Vec<(u32, u32, u8)>,
}

impl SimulatedGuest {
    /// A `width`×`height` guest with a busy background (so the locator is exercised), the
    /// pointer at `start`.
    pub fn new(width: u32, height: u32, start: (u32, u32), accel: Acceleration) -> SimulatedGuest {
        let background = RgbImage::from_fn(width, height, |x, y| {
            // Panels, stripes and text-like speckle, never pure black or white.
            let panel = ((x / 97) + (y / 61)) % 3;
            let speckle = ((x.wrapping_mul(2654435761) ^ y.wrapping_mul(40503)) >> 7) % 5 == 0;
            let base = [
                40 + 60 * panel as u8,
                90 + 30 * panel as u8,
                160 - 40 * panel as u8,
            ];
            if speckle {
                Rgb([base[0] / 2 + 10, base[1] / 2 + 10, base[2] / 2 + 10])
            } else {
                Rgb(base)
            }
        });
        let sprite = CursorSprite::arrow();
        let start = (start.0.min(width - 1), start.1.min(height - 1));
        let mut image = background.clone();
        sprite.draw(&mut image, start.0, start.1);
        SimulatedGuest {
            background,
            sprite,
            accel,
            absolute: false,
            pos: start,
            remainder: (0.0, 0.0),
            buttons: 0,
            serial: 1,
            damage: vec![Rect::full(width, height)],
            image: Arc::new(image),
            events: Vec::new(),
        }
    }

    /// The guest has an absolute device (usb-tablet).
    pub fn absolute(mut self) -> SimulatedGuest {
        self.absolute = true;
        self
    }

    /// Draws a copy of the cursor's picture at (x, y) into the background, like an arrow icon.
    pub fn with_decoy(mut self, x: u32, y: u32) -> SimulatedGuest {
        self.sprite.draw(&mut self.background, x, y);
        self.sprite.draw(Arc::make_mut(&mut self.image), x, y);
        self.sprite
            .draw(Arc::make_mut(&mut self.image), self.pos.0, self.pos.1);
        self
    }

    /// Where the pointer's hotspot really is.
    pub fn position(&self) -> (u32, u32) {
        self.pos
    }

    pub fn sprite(&self) -> &CursorSprite {
        &self.sprite
    }

    fn sprite_rect(&self, pos: (u32, u32)) -> Rect {
        let (hx, hy) = self.sprite.hotspot();
        let x = pos.0.saturating_sub(hx);
        let y = pos.1.saturating_sub(hy);
        Rect::new(x, y, self.sprite.width() + hx, self.sprite.height() + hy)
    }

    fn place(&mut self, to: (u32, u32)) {
        let (w, h) = (self.background.width(), self.background.height());
        let to = (to.0.min(w - 1), to.1.min(h - 1));
        if to != self.pos {
            let old = self.sprite_rect(self.pos);
            let image = Arc::make_mut(&mut self.image);
            for y in old.y..old.bottom().min(h) {
                for x in old.x..old.right().min(w) {
                    image.put_pixel(x, y, *self.background.get_pixel(x, y));
                }
            }
            self.sprite.draw(image, to.0, to.1);
            self.damage.push(old);
            self.damage.push(self.sprite_rect(to));
            self.pos = to;
        }
        self.events.push((self.pos.0, self.pos.1, self.buttons));
    }

    fn relative(&mut self, dx: i32, dy: i32) {
        let len = ((dx as f64).powi(2) + (dy as f64).powi(2)).sqrt();
        let f = self.accel.factor(len);
        let mut fx = dx as f64 * f;
        let mut fy = dy as f64 * f;
        if self.accel.keeps_remainder() {
            fx += self.remainder.0;
            fy += self.remainder.1;
        }
        let (mx, my) = if self.accel.keeps_remainder() {
            (fx.trunc(), fy.trunc())
        } else {
            (fx.round(), fy.round())
        };
        self.remainder = if self.accel.keeps_remainder() {
            (fx - mx, fy - my)
        } else {
            (0.0, 0.0)
        };
        let (w, h) = (
            self.background.width() as f64,
            self.background.height() as f64,
        );
        let x = (self.pos.0 as f64 + mx).clamp(0.0, w - 1.0);
        let y = (self.pos.1 as f64 + my).clamp(0.0, h - 1.0);
        if x != self.pos.0 as f64 + mx {
            self.remainder.0 = 0.0;
        }
        if y != self.pos.1 as f64 + my {
            self.remainder.1 = 0.0;
        }
        self.place((x as u32, y as u32));
    }
}

impl PointerDevice for SimulatedGuest {
    fn mode(&self) -> Mode {
        if self.absolute {
            Mode::Absolute
        } else {
            Mode::Relative
        }
    }

    async fn move_rel(&mut self, dx: i32, dy: i32) -> Result<(), PointerError> {
        if self.absolute {
            let x = (self.pos.0 as i64 + dx as i64).max(0) as u32;
            let y = (self.pos.1 as i64 + dy as i64).max(0) as u32;
            self.place((x, y));
        } else {
            self.relative(dx, dy);
        }
        Ok(())
    }

    async fn move_abs(&mut self, x: u32, y: u32) -> Result<(), PointerError> {
        if self.absolute {
            self.place((x, y));
        } else {
            // A relative mouse cannot be told where to go; the event is still an event.
            self.events.push((self.pos.0, self.pos.1, self.buttons));
        }
        Ok(())
    }

    async fn set_buttons(&mut self, mask: u8) -> Result<(), PointerError> {
        self.buttons = mask;
        self.events.push((self.pos.0, self.pos.1, self.buttons));
        Ok(())
    }

    async fn settled_frame(&mut self) -> Result<Arc<Frame>, PointerError> {
        if !self.damage.is_empty() {
            self.serial += 1;
        }
        Ok(Arc::new(Frame {
            serial: self.serial,
            time: Instant::now(),
            image: self.image.clone(),
            damage: std::mem::take(&mut self.damage),
            cursor: None,
            pointer: None,
        }))
    }
}
