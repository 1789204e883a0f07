//! What can go wrong with the guest's screen and keyboard: the connection behind it failed or
//! ended, or a key or character cannot be sent.

use crate::guest::GuestError;
use crate::rfb::RfbError;
use crate::rfb::keys::KeyError;

#[derive(Debug, thiserror::Error)]
pub enum DisplayError {
    /// The VNC session failed or ended.
    #[error("{0}")]
    Rfb(#[from] RfbError),
    /// QEMU's monitor failed (screendump, send-key, input-send-event).
    #[error("QMP: {0}")]
    Qmp(#[from] GuestError),
    /// A key name or a character that has no key.
    #[error("{0}")]
    Key(#[from] KeyError),
    /// QEMU's monitor answered something unexpected.
    #[error("QMP: {0}")]
    QmpReply(String),
    /// No picture of the screen could be had.
    #[error("{0}")]
    Screen(String),
    /// The guest's pointer cannot be driven this way.
    #[error("pointer: {0}")]
    Pointer(String),
}
