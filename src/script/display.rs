//! What a macro sees and types into: the guest's screen and keyboard.
//!
//! Why a trait: a guest vncpilot launches can be watched over VNC or through QEMU's own monitor
//! (QMP screendump + send-key, the same pixels), and `--vnc` attaches to any VNC server; the
//! macro functions do not care which. Methods block: they are called from the macro's thread
//! (off the async runtime).

use std::sync::Arc;
use std::time::Duration;

use crate::rfb::{Frame, Session};

use super::ScriptError;

/// A guest screen and keyboard.
pub trait Display: Send + Sync {
    /// The newest frame.
    fn latest(&self) -> Result<Arc<Frame>, ScriptError>;
    /// A stream of frames from now on.
    fn subscribe(&self) -> Box<dyn FrameSource>;
    /// Presses a key combination ("ret", "ctrl-alt-delete", "shift-tab").
    fn key(&self, combo: &str) -> Result<(), ScriptError>;
    /// Types text, one key press per character.
    fn type_text(&self, text: &str) -> Result<(), ScriptError>;
    /// The VNC session behind this display, for the pointer module to drive the mouse
    /// (`None` when the screen is watched some other way).
    fn vnc_session(&self) -> Option<Session> {
        None
    }
}

/// Frames in order; a frame after a gap carries the union of the missed damage.
pub trait FrameSource: Send {
    /// The next frame, or `None` when `timeout` passes without one.
    fn next(&mut self, timeout: Duration) -> Result<Option<Arc<Frame>>, ScriptError>;
}
