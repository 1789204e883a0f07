//! The pointer as a script uses it: move to a pixel (look, move, look again until there),
//! click, drag, hide. Each move is reported with its distance, rounds and final error so that a
//! run's events show how the mouse behaved.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::rfb::{Frame, Rect};

use super::detect::detect_by_motion;
use super::device::{Mode, buttons};
use super::error::Screenshot;
use super::locate::{Found, Locator};
use super::plan::Planner;
use super::{PointerDevice, PointerError};

/// Limits and tolerance of one move.
#[derive(Clone, Debug)]
pub struct MoveOptions {
    /// Done when the hotspot is within this many pixels of the target on both axes.
    pub tolerance: u32,
    /// At most this many rounds (move + look); `None`: ⌈log2 d⌉ + 16 for a distance of d px.
    pub max_rounds: Option<u32>,
    /// At most this long for the whole move.
    pub timeout: Duration,
    /// This many moves in a row that changed nothing means the pointer does not move.
    pub stuck_moves: u32,
    /// Mickeys per axis of each probe move when the cursor must be detected by motion.
    pub probe: i32,
}

impl Default for MoveOptions {
    fn default() -> Self {
        MoveOptions {
            tolerance: 0,
            max_rounds: None,
            timeout: Duration::from_secs(60),
            stuck_moves: 10,
            probe: 40,
        }
    }
}

/// What a move did; a run reports it as a `mouse_move` event (`report::EventKind::MouseMove`).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct MoveReport {
    pub from: (u32, u32),
    pub target: (u32, u32),
    pub at: (u32, u32),
    /// Straight-line distance from `from` to `target`, px.
    pub distance: f64,
    /// Moves sent and looked at (not counting probe moves to detect the cursor).
    pub rounds: u32,
    /// max(|dx|, |dy|) between where the hotspot ended and the target; `None` when absolute
    /// mode could not see the cursor to check.
    pub error_px: Option<u32>,
    pub mode: Mode,
    /// Moves spent detecting an unknown cursor by motion.
    pub probe_moves: u32,
    pub duration_s: f64,
}

/// The pointer of one guest: a device, the cursor pictures to look for, and what was last seen.
pub struct Pointer<D> {
    dev: D,
    locator: Locator,
    last: Option<Found>,
    /// Where the last absolute move went: the start of the next one when the cursor cannot be
    /// seen (a server that draws it on the client side).
    last_abs: Option<(u32, u32)>,
    buttons: u8,
}

impl<D: PointerDevice> Pointer<D> {
    pub fn new(dev: D, locator: Locator) -> Pointer<D> {
        Pointer {
            dev,
            locator,
            last: None,
            last_abs: None,
            buttons: 0,
        }
    }

    pub fn device(&mut self) -> &mut D {
        &mut self.dev
    }

    pub fn into_device(self) -> D {
        self.dev
    }

    pub fn locator(&self) -> &Locator {
        &self.locator
    }

    pub fn locator_mut(&mut self) -> &mut Locator {
        &mut self.locator
    }

    /// Where the cursor was last seen, drawn — the rectangle a screen matcher should ignore.
    pub fn cursor_rect(&self) -> Option<Rect> {
        self.last.map(|f| f.rect)
    }

    /// Finds the cursor on the current screen: a known picture, else detect it by moving.
    pub async fn locate(&mut self, probe: i32) -> Result<(Found, u32, Arc<Frame>), PointerError> {
        let frame = self.dev.settled_frame().await?;
        let near = self.last.map(|f| (f.x, f.y));
        if let Some(found) = self.locator.find_in_frame(&frame, near) {
            self.last = Some(found);
            return Ok((found, 0, frame));
        }
        let detected = detect_by_motion(&mut self.dev, probe).await?;
        let sprite = self.locator.add(detected.sprite);
        let frame = detected.frame;
        match self
            .locator
            .find(&frame.image, &frame.damage, Some((detected.x, detected.y)))
        {
            Some(found) => {
                self.last = Some(found);
                Ok((found, detected.moves, frame))
            }
            None => {
                let rect = Rect::new(detected.x, detected.y, 1, 1);
                let found = Found {
                    x: detected.x,
                    y: detected.y,
                    rect,
                    sprite,
                };
                self.last = Some(found);
                Ok((found, detected.moves, frame))
            }
        }
    }

    /// Moves the hotspot to (x, y).
    pub async fn move_to(
        &mut self,
        x: u32,
        y: u32,
        opts: &MoveOptions,
    ) -> Result<MoveReport, PointerError> {
        let started = Instant::now();
        match self.dev.mode() {
            Mode::Absolute => self.move_absolute(x, y, opts, started).await,
            Mode::Relative => self.move_relative(x, y, opts, started).await,
        }
    }

    /// One event to the target; where the cursor can be seen and is off (a tablet's coordinate
    /// scaling rounds: QEMU's usb-tablet lands one pixel short on a 1280x800 screen), up to two
    /// more aimed by the error.
    async fn move_absolute(
        &mut self,
        x: u32,
        y: u32,
        opts: &MoveOptions,
        started: Instant,
    ) -> Result<MoveReport, PointerError> {
        let before = self.dev.settled_frame().await?;
        check_inside(&before, x, y)?;
        let near = self.last.map(|f| (f.x, f.y));
        let seen = self.locator.find_in_frame(&before, near);
        // Unknown (no cursor seen, nothing sent yet): counted from the target, distance 0.
        let from = seen
            .map(|f| (f.x, f.y))
            .or(self.last_abs)
            .or(before.pointer)
            .unwrap_or((x, y));
        // A server that sends its cursor separately (Cursor pseudo-encoding) never shows it in
        // the pixels: there is nothing to look at after the move, so do not wait for it.
        let blind = seen.is_none() && before.cursor.is_some();
        let (w, h) = (before.width() as i64, before.height() as i64);
        let mut aim = (x, y);
        let mut rounds = 0;
        let found = loop {
            self.dev.move_abs(aim.0, aim.1).await?;
            self.last_abs = Some(aim);
            rounds += 1;
            if blind {
                break None;
            }
            let after = self.dev.settled_frame().await?;
            let found = self.locator.find_in_frame(&after, Some((x, y)));
            let Some(f) = found else { break None };
            let (ex, ey) = (x as i64 - f.x as i64, y as i64 - f.y as i64);
            if ex.unsigned_abs().max(ey.unsigned_abs()) <= opts.tolerance as u64 || rounds >= 3 {
                break found;
            }
            aim = (
                (aim.0 as i64 + ex).clamp(0, w - 1) as u32,
                (aim.1 as i64 + ey).clamp(0, h - 1) as u32,
            );
        };
        self.last = found;
        Ok(MoveReport {
            from,
            target: (x, y),
            at: found.map_or((x, y), |f| (f.x, f.y)),
            distance: dist(from, (x, y)),
            rounds,
            error_px: found.map(|f| f.x.abs_diff(x).max(f.y.abs_diff(y))),
            mode: Mode::Absolute,
            probe_moves: 0,
            duration_s: started.elapsed().as_secs_f64(),
        })
    }

    async fn move_relative(
        &mut self,
        x: u32,
        y: u32,
        opts: &MoveOptions,
        started: Instant,
    ) -> Result<MoveReport, PointerError> {
        let (mut pos, probe_moves, mut frame) = self.locate(opts.probe).await?;
        check_inside(&frame, x, y)?;
        let from = (pos.x, pos.y);
        let distance = dist(from, (x, y));
        let max_rounds = opts.max_rounds.unwrap_or_else(|| log2_ceil(distance) + 16);
        let mut planner = Planner::new();
        let mut rounds = 0;
        let mut still = 0;
        let mut largest_still: (i32, i32) = (0, 0);
        loop {
            let remaining = (x as i32 - pos.x as i32, y as i32 - pos.y as i32);
            let error = remaining.0.unsigned_abs().max(remaining.1.unsigned_abs());
            if error <= opts.tolerance {
                return Ok(MoveReport {
                    from,
                    target: (x, y),
                    at: (pos.x, pos.y),
                    distance,
                    rounds,
                    error_px: Some(error),
                    mode: Mode::Relative,
                    probe_moves,
                    duration_s: started.elapsed().as_secs_f64(),
                });
            }
            if rounds >= max_rounds || started.elapsed() > opts.timeout {
                return Err(PointerError::NotConverged {
                    target_x: x,
                    target_y: y,
                    x: pos.x,
                    y: pos.y,
                    error_px: error,
                    tolerance: opts.tolerance,
                    rounds,
                    elapsed_s: started.elapsed().as_secs_f64(),
                    screenshot: Screenshot(frame.image.clone()),
                });
            }
            let send = cap(planner.next(remaining), &frame);
            self.dev.move_rel(send.0, send.1).await?;
            rounds += 1;
            frame = self.dev.settled_frame().await?;
            let (found, recovered) = match self.locator.find_in_frame(&frame, Some((pos.x, pos.y)))
            {
                Some(found) => (found, false),
                None => (self.recover(send, &mut frame, &mut rounds).await?, true),
            };
            let moved = (found.x as i32 - pos.x as i32, found.y as i32 - pos.y as i32);
            let (w, h) = (frame.width(), frame.height());
            let clamped = (
                recovered || (send.0 > 0 && found.x + 1 >= w) || (send.0 < 0 && found.x == 0),
                recovered || (send.1 > 0 && found.y + 1 >= h) || (send.1 < 0 && found.y == 0),
            );
            tracing::debug!(?send, ?moved, at = ?(found.x, found.y), ?clamped, "pointer round {rounds}");
            planner.observe(moved, clamped);
            if moved == (0, 0) {
                still += 1;
                if send.0.abs() + send.1.abs() > largest_still.0.abs() + largest_still.1.abs() {
                    largest_still = send;
                }
                if still >= opts.stuck_moves {
                    return Err(PointerError::DidNotMove {
                        attempts: still,
                        dx: largest_still.0,
                        dy: largest_still.1,
                        x: pos.x,
                        y: pos.y,
                        screenshot: Screenshot(frame.image.clone()),
                    });
                }
            } else {
                still = 0;
            }
            pos = found;
            self.last = Some(found);
        }
    }

    /// The cursor vanished after a move: look once more (the guest may still be drawing), then
    /// move half-way back (it may hang over an edge, too little of it showing), then give up.
    async fn recover(
        &mut self,
        send: (i32, i32),
        frame: &mut Arc<Frame>,
        rounds: &mut u32,
    ) -> Result<Found, PointerError> {
        let near = self.last.map(|f| (f.x, f.y));
        *frame = self.dev.settled_frame().await?;
        if let Some(found) = self.locator.find_in_frame(frame, near) {
            return Ok(found);
        }
        self.dev.move_rel(-send.0 / 2, -send.1 / 2).await?;
        *rounds += 1;
        *frame = self.dev.settled_frame().await?;
        if let Some(found) = self.locator.find_in_frame(frame, near) {
            return Ok(found);
        }
        Err(PointerError::CursorNotFound {
            width: frame.width(),
            height: frame.height(),
            what: format!("it vanished after a move by ({}, {})", send.0, send.1),
            known: self.locator.describe(),
            screenshot: Screenshot(frame.image.clone()),
        })
    }

    /// Presses and releases `button` (a [`buttons`] bit) `count` times at (x, y).
    pub async fn click(
        &mut self,
        x: u32,
        y: u32,
        button: u8,
        count: u32,
        opts: &MoveOptions,
    ) -> Result<MoveReport, PointerError> {
        let report = self.move_to(x, y, opts).await?;
        for _ in 0..count {
            self.set_buttons(self.buttons | button).await?;
            self.set_buttons(self.buttons & !button).await?;
        }
        Ok(report)
    }

    /// Left-drags from (x1, y1) to (x2, y2).
    pub async fn drag(
        &mut self,
        from: (u32, u32),
        to: (u32, u32),
        opts: &MoveOptions,
    ) -> Result<[MoveReport; 2], PointerError> {
        let first = self.move_to(from.0, from.1, opts).await?;
        self.set_buttons(self.buttons | buttons::LEFT).await?;
        let second = self.move_to(to.0, to.1, opts).await;
        self.set_buttons(self.buttons & !buttons::LEFT).await?;
        Ok([first, second?])
    }

    /// Moves the pointer out of the way: into the bottom-right corner, where at most a few
    /// pixels of an arrow still show.
    pub async fn hide(&mut self) -> Result<(), PointerError> {
        let frame = self.dev.settled_frame().await?;
        let (w, h) = (frame.width(), frame.height());
        match self.dev.mode() {
            Mode::Absolute => {
                self.dev.move_abs(w - 1, h - 1).await?;
                self.last_abs = Some((w - 1, h - 1));
            }
            Mode::Relative => {
                // Large moves hit the edge whatever the acceleration; two in case one is clipped.
                for _ in 0..2 {
                    self.dev.move_rel(w as i32, h as i32).await?;
                }
            }
        }
        let frame = self.dev.settled_frame().await?;
        self.last = self.locator.find_in_frame(&frame, Some((w - 1, h - 1)));
        Ok(())
    }

    async fn set_buttons(&mut self, mask: u8) -> Result<(), PointerError> {
        self.buttons = mask;
        self.dev.set_buttons(mask).await
    }
}

/// Moves longer than twice the screen only ever hit the edge; keeps a stuck loop's growing
/// moves finite.
fn cap(send: (i32, i32), frame: &Frame) -> (i32, i32) {
    let limit = 2 * frame.width().max(frame.height()) as i32;
    (send.0.clamp(-limit, limit), send.1.clamp(-limit, limit))
}

fn check_inside(frame: &Frame, x: u32, y: u32) -> Result<(), PointerError> {
    if x >= frame.width() || y >= frame.height() {
        return Err(PointerError::OutsideScreen {
            x,
            y,
            width: frame.width(),
            height: frame.height(),
        });
    }
    Ok(())
}

fn dist(a: (u32, u32), b: (u32, u32)) -> f64 {
    ((a.0 as f64 - b.0 as f64).powi(2) + (a.1 as f64 - b.1 as f64).powi(2)).sqrt()
}

/// ⌈log2 d⌉ for d ≥ 1, else 0.
pub fn log2_ceil(d: f64) -> u32 {
    if d <= 1.0 { 0 } else { d.log2().ceil() as u32 }
}
