//! The pointer of a VNC session: PointerEvents (absolute, or relative through QEMU's pointer type
//! change extension) on the session the screen comes from.
//!
//! "The frame after the move has shown" is the subtle part: the guest handles the event, redraws
//! its cursor, and the VNC server notices the change at its next refresh (QEMU polls its dirty
//! bitmap at 30 ms intervals, stretched up to 3 s while the screen is idle). So after a move we
//! wait for the first update (bounded: a move that does nothing sends none), then until the
//! screen has been quiet for a short while, and return the newest frame with the damage of
//! everything that arrived since the previous look — so the locator searches every place the
//! cursor could have gone.

use std::sync::Arc;

use tokio::time::Instant;

use crate::rfb::{Frame, FrameStream, PointerMode, Rect, RfbError, Session};

use super::DisplayError;
use super::pointer::{GuestPointer, Mode, PointerFuture, Settle};

/// The pointer of a VNC session.
pub struct VncPointer {
    session: Session,
    stream: FrameStream,
    buttons: u8,
    mode: Option<Mode>,
    settle: Settle,
    /// Damage of frames seen since the last look.
    damage: Vec<Rect>,
    /// Whether an event was sent since the last look (else there is nothing to wait for).
    sent: bool,
    last_abs: Option<(u32, u32)>,
}

impl VncPointer {
    pub fn new(session: Session) -> VncPointer {
        let stream = session.subscribe();
        VncPointer {
            session,
            stream,
            buttons: 0,
            mode: None,
            settle: Settle::default(),
            damage: Vec::new(),
            sent: true,
            last_abs: None,
        }
    }

    /// Overrides what the server says about the pointer (absolute or relative).
    pub fn with_mode(mut self, mode: Mode) -> VncPointer {
        self.mode = Some(mode);
        self
    }

    pub fn with_settle(mut self, settle: Settle) -> VncPointer {
        self.settle = settle;
        self
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    fn note(&mut self, frame: &Frame) {
        self.damage.extend(frame.damage.iter().copied());
        if self.damage.len() > 64 {
            let all = self.damage.iter().fold(Rect::default(), |a, r| a.union(r));
            self.damage = vec![all];
        }
    }
}

impl GuestPointer for VncPointer {
    fn mode(&self) -> Mode {
        self.current_mode()
    }
    fn move_rel(&mut self, dx: i32, dy: i32) -> PointerFuture<'_, ()> {
        Box::pin(self.send_rel(dx, dy))
    }
    fn move_abs(&mut self, x: u32, y: u32) -> PointerFuture<'_, ()> {
        Box::pin(self.send_abs(x, y))
    }
    fn set_buttons(&mut self, mask: u8) -> PointerFuture<'_, ()> {
        Box::pin(self.send_buttons(mask))
    }
    fn settled_frame(&mut self) -> PointerFuture<'_, Arc<Frame>> {
        Box::pin(self.settle_frame())
    }
}

impl VncPointer {
    fn current_mode(&self) -> Mode {
        if let Some(m) = self.mode {
            return m;
        }
        match self.session.pointer_mode() {
            PointerMode::Relative => Mode::Relative,
            // A plain VNC server's pointer is absolute by nature.
            PointerMode::Absolute | PointerMode::Unknown => Mode::Absolute,
        }
    }

    async fn send_rel(&mut self, dx: i32, dy: i32) -> Result<(), DisplayError> {
        self.sent = true;
        self.session.pointer_rel(dx, dy, self.buttons).await?;
        Ok(())
    }

    async fn send_abs(&mut self, x: u32, y: u32) -> Result<(), DisplayError> {
        self.sent = true;
        self.last_abs = Some((x, y));
        self.session.pointer_abs(x, y, self.buttons).await?;
        Ok(())
    }

    async fn send_buttons(&mut self, mask: u8) -> Result<(), DisplayError> {
        self.buttons = mask;
        self.sent = true;
        match self.current_mode() {
            Mode::Relative if self.session.pointer_mode() == PointerMode::Relative => {
                self.session.pointer_rel(0, 0, mask).await?;
                Ok(())
            }
            _ => {
                let latest = self.session.latest();
                let (x, y) = self
                    .last_abs
                    .or(latest.pointer)
                    .unwrap_or((latest.width() / 2, latest.height() / 2));
                self.session.pointer_abs(x, y, mask).await?;
                Ok(())
            }
        }
    }

    async fn settle_frame(&mut self) -> Result<Arc<Frame>, DisplayError> {
        let start = Instant::now();
        let deadline = start + self.settle.max;
        let mut waited_for_first = !self.sent;
        self.sent = false;
        loop {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            let wait = if waited_for_first {
                self.settle.quiet
            } else {
                self.settle.first_update
            };
            match self.stream.next(wait.min(deadline - now)).await {
                Ok(frame) => {
                    self.note(&frame);
                    waited_for_first = true;
                }
                Err(RfbError::FrameTimeout(_)) => break,
                Err(e) => return Err(e.into()),
            }
        }
        // The newest frame (possibly one the stream has not handed out yet: its damage too).
        let latest = self.session.latest();
        let mut frame = (*latest).clone();
        let mut damage = std::mem::take(&mut self.damage);
        damage.extend(latest.damage.iter().copied());
        frame.damage = damage;
        Ok(Arc::new(frame))
    }
}
