//! The guest's screen, keyboard and mouse as one seam: what macros look at and type into, what
//! the pointer loop moves and what the recorder films.
//!
//! Why a trait: a guest vncpilot launches can be watched over VNC ([`VncDisplay`]) or through
//! QEMU's own monitor ([`QmpDisplay`]: QMP screendump + send-key, the same pixels), and `--vnc`
//! attaches to any VNC server; the macro functions, the pointer and the recorder do not care
//! which. Methods block: they are called from the macro's thread or a blocking task (off the
//! async runtime).
//!
//! Layering: `display` builds on [`crate::rfb`] and [`crate::guest`]'s QMP client; `screen`,
//! `pointer`, `script` and `record` build on it.

pub mod error;
pub mod pointer;
pub mod qmp;
pub mod qmp_keys;
pub mod qmp_pointer;
pub mod vnc;
pub mod vnc_pointer;

pub use error::DisplayError;
pub use pointer::{GuestPointer, Mode, PointerFuture, Settle, buttons};
pub use qmp::QmpDisplay;
pub use qmp_pointer::{LatestFrame, QmpPointer};
pub use vnc::VncDisplay;
pub use vnc_pointer::VncPointer;

use std::sync::Arc;
use std::time::Duration;

use crate::rfb::Frame;

/// A guest screen and keyboard.
pub trait Display: Send + Sync {
    /// The newest frame.
    fn latest(&self) -> Result<Arc<Frame>, DisplayError>;
    /// A stream of frames from now on.
    fn subscribe(&self) -> Box<dyn FrameSource>;
    /// Presses a key combination ("ret", "ctrl-alt-delete", "shift-tab").
    fn key(&self, combo: &str) -> Result<(), DisplayError>;
    /// Types text, one key press per character.
    fn type_text(&self, text: &str) -> Result<(), DisplayError>;
    /// The guest's mouse, on the same connection as the screen (a VNC PointerEvent, QMP
    /// `input-send-event`). A display without one says so.
    fn pointer(&self) -> Result<Box<dyn GuestPointer>, DisplayError> {
        Err(DisplayError::Pointer(
            "this display has no way to move the mouse (neither a VNC connection nor QEMU's \
             monitor)"
                .into(),
        ))
    }
}

/// Frames in order; a frame after a gap carries the union of the missed damage.
pub trait FrameSource: Send {
    /// The next frame, or `None` when `timeout` passes without one.
    fn next(&mut self, timeout: Duration) -> Result<Option<Arc<Frame>>, DisplayError>;
}
