//! Moving the guest's mouse pointer to a pixel, the way a person does: look where the cursor is,
//! move, look again.
//!
//! Installers in QEMU usually get a relative (PS/2) mouse: we can only say "move by dx, dy", and
//! the guest accelerates the motion non-linearly, so sending the pixel difference misses. The
//! loop in [`converge`] therefore finds the cursor on screen ([`locate`], from the server's cursor
//! shape, from known cursor images under `screens/cursors/`, or — when neither is there — by the
//! change a small move makes, [`detect`]), sends about half the remaining distance (scaled by what
//! the guest did so far), looks again, and repeats; that converges in O(log d) rounds whatever
//! the acceleration. The last pixels are fudged with small moves that grow while a move does
//! nothing. Where the guest has an absolute device (usb-tablet) one step suffices.
//!
//! The loop talks to a [`PointerDevice`], so the same code drives the guest's pointer as a
//! [`crate::display::Display`] hands it out (VNC or QMP) and the [`simulated`] guest used by the
//! property tests.

pub mod converge;
pub mod cursor;
pub mod detect;
pub mod device;
pub mod error;
pub mod locate;
pub mod mouse_state;
pub mod plan;
pub mod screen_click;
pub mod simulated;

pub use converge::{MoveOptions, MoveReport, Pointer};
pub use cursor::CursorSprite;
pub use device::{Mode, PointerDevice};
pub use error::PointerError;
pub use locate::{Found, Locator};
pub use mouse_state::{GuestMouse, MouseState};
