//! The guest's pointer as the display offers it: relative or absolute motion and buttons, sent
//! on the same connection the screen comes from, and the screen once a move has shown.
//!
//! Why here and not in `pointer`: the events travel the display's own channel (a VNC
//! PointerEvent or QMP `input-send-event`), so the display is what can make them — the
//! `pointer` module's look-move-look loop drives whatever [`Display::pointer`] gives it and never
//! needs the connection behind it.
//!
//! [`Display::pointer`]: super::Display::pointer

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::rfb::Frame;

use super::DisplayError;

/// How the guest interprets pointer events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The guest has an absolute device (usb-tablet, a VNC server's own desktop): the pointer
    /// goes where it is told.
    Absolute,
    /// The guest has a relative mouse (PS/2): only motion deltas, accelerated by the guest.
    Relative,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Absolute => "absolute",
            Mode::Relative => "relative",
        }
    }
}

/// Button bits as in the RFB PointerEvent message.
pub mod buttons {
    pub const LEFT: u8 = 1;
    pub const MIDDLE: u8 = 2;
    pub const RIGHT: u8 = 4;
}

/// How long to wait for a move to show.
#[derive(Clone, Debug)]
pub struct Settle {
    /// Wait at most this long for the first update after an event.
    pub first_update: Duration,
    /// The screen counts as settled after this long without an update.
    pub quiet: Duration,
    /// Never wait longer than this in all.
    pub max: Duration,
}

impl Default for Settle {
    fn default() -> Self {
        Settle {
            first_update: Duration::from_millis(1500),
            quiet: Duration::from_millis(120),
            max: Duration::from_secs(4),
        }
    }
}

/// What a pointer call returns: a boxed future, so that a display can hand out its pointer as a
/// trait object.
pub type PointerFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, DisplayError>> + Send + 'a>>;

/// The guest's mouse through a display.
pub trait GuestPointer: Send {
    /// Whether motion is absolute or relative (may be learnt from the server at connection).
    fn mode(&self) -> Mode;
    /// Move by (dx, dy) mickeys with the current buttons held.
    fn move_rel(&mut self, dx: i32, dy: i32) -> PointerFuture<'_, ()>;
    /// Move to (x, y) with the current buttons held.
    fn move_abs(&mut self, x: u32, y: u32) -> PointerFuture<'_, ()>;
    /// Set the held buttons (bit mask, see [`buttons`]) without moving.
    fn set_buttons(&mut self, mask: u8) -> PointerFuture<'_, ()>;
    /// The newest frame once the effect of the last event has shown: wait for the screen to
    /// update and then to go quiet (or for a short deadline when nothing changes, which is what
    /// happens when a move does nothing). Its damage covers every frame since the last look.
    fn settled_frame(&mut self) -> PointerFuture<'_, Arc<Frame>>;
}

impl<'p> GuestPointer for Box<dyn GuestPointer + 'p> {
    fn mode(&self) -> Mode {
        (**self).mode()
    }
    fn move_rel(&mut self, dx: i32, dy: i32) -> PointerFuture<'_, ()> {
        (**self).move_rel(dx, dy)
    }
    fn move_abs(&mut self, x: u32, y: u32) -> PointerFuture<'_, ()> {
        (**self).move_abs(x, y)
    }
    fn set_buttons(&mut self, mask: u8) -> PointerFuture<'_, ()> {
        (**self).set_buttons(mask)
    }
    fn settled_frame(&mut self) -> PointerFuture<'_, Arc<Frame>> {
        (**self).settled_frame()
    }
}
