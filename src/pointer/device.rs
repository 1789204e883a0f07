//! The pointer device as the convergence loop sees it: something that takes relative or absolute
//! motion and button changes, and shows the screen once the motion has shown.
//!
//! A trait rather than the rfb session itself so that one loop drives both the real guest and the
//! simulated one of the property tests — the simulation is only useful if it exercises the very
//! code that runs against QEMU.

use std::future::Future;
use std::sync::Arc;

use crate::display::{DisplayError, GuestPointer};
use crate::rfb::Frame;

use super::PointerError;

pub use crate::display::pointer::{Mode, buttons};

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

fn device(e: DisplayError) -> PointerError {
    PointerError::Device(e.to_string())
}

/// Every pointer a display hands out is a device for the loop.
impl<P: GuestPointer> PointerDevice for P {
    fn mode(&self) -> Mode {
        GuestPointer::mode(self)
    }

    fn move_rel(
        &mut self,
        dx: i32,
        dy: i32,
    ) -> impl Future<Output = Result<(), PointerError>> + Send {
        let sent = GuestPointer::move_rel(self, dx, dy);
        async move { sent.await.map_err(device) }
    }

    fn move_abs(
        &mut self,
        x: u32,
        y: u32,
    ) -> impl Future<Output = Result<(), PointerError>> + Send {
        let sent = GuestPointer::move_abs(self, x, y);
        async move { sent.await.map_err(device) }
    }

    fn set_buttons(&mut self, mask: u8) -> impl Future<Output = Result<(), PointerError>> + Send {
        let sent = GuestPointer::set_buttons(self, mask);
        async move { sent.await.map_err(device) }
    }

    fn settled_frame(&mut self) -> impl Future<Output = Result<Arc<Frame>, PointerError>> + Send {
        let settled = GuestPointer::settled_frame(self);
        async move { settled.await.map_err(device) }
    }
}
