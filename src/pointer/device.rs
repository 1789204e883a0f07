//! The pointer device as the convergence loop sees it: something that takes relative or absolute
//! motion and button changes, and shows the screen once the motion has shown.
//!
//! A trait rather than the rfb session itself so that one loop drives both the real guest and the
//! simulated one of the property tests — the simulation is only useful if it exercises the very
//! code that runs against QEMU.

use std::future::Future;
use std::sync::Arc;

use crate::rfb::Frame;

use super::PointerError;

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

/// A mouse the loop can move and a screen it can look at.
pub trait PointerDevice: Send {
    /// Whether motion is absolute or relative (may be learnt from the server at connection).
    fn mode(&self) -> Mode;

    /// Move by (dx, dy) mickeys with the current buttons held.
    fn move_rel(
        &mut self,
        dx: i32,
        dy: i32,
    ) -> impl Future<Output = Result<(), PointerError>> + Send;

    /// Move to (x, y) with the current buttons held.
    fn move_abs(&mut self, x: u32, y: u32)
    -> impl Future<Output = Result<(), PointerError>> + Send;

    /// Set the held buttons (bit mask, see [`buttons`]) without moving.
    fn set_buttons(&mut self, mask: u8) -> impl Future<Output = Result<(), PointerError>> + Send;

    /// The newest frame once the effect of the last event has shown: the device waits for the
    /// screen to update and then to go quiet (or for a short deadline when nothing changes,
    /// which is what happens when a move does nothing).
    fn settled_frame(&mut self) -> impl Future<Output = Result<Arc<Frame>, PointerError>> + Send;
}
