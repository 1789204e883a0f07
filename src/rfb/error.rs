//! The one error type of the `rfb` module.

use std::sync::Arc;
use std::time::Duration;

use super::keys::KeyError;

/// Everything that can go wrong talking to a VNC server.
///
/// `Clone` so that the reason a session ended can be handed to every waiting subscriber.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RfbError {
    #[error(
        "invalid VNC address {input:?}: {reason} (expected host:display, host::port or unix:/path)"
    )]
    BadAddr { input: String, reason: String },
    #[error("could not connect to {addr}: {source}")]
    Connect {
        addr: String,
        source: Arc<std::io::Error>,
    },
    #[error("timed out after {0:?} connecting to the VNC server")]
    ConnectTimeout(Duration),
    #[error("VNC connection I/O error: {0}")]
    Io(Arc<std::io::Error>),
    #[error("the VNC server closed the connection{0}")]
    Closed(String),
    #[error("the VNC server stopped sending: no data for {0:?} {1}")]
    Stalled(Duration, &'static str),
    #[error("VNC protocol error: {0}")]
    Protocol(String),
    #[error("the VNC server announced {what} = {value}, more than the allowed {max}")]
    TooLarge {
        what: &'static str,
        value: u64,
        max: u64,
    },
    #[error("the VNC server refused the connection: {0}")]
    Refused(String),
    #[error(
        "the VNC server requires a password (VNC authentication); give one with --password-file or VNCPILOT_PASSWORD"
    )]
    PasswordRequired,
    #[error("VNC authentication failed (wrong password?): {0}")]
    AuthFailed(String),
    #[error(
        "the VNC server offers no security type we support (offered: {0:?}; supported: 1 None, 2 VNC authentication)"
    )]
    NoSupportedSecurity(Vec<u8>),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("timed out after {0:?} waiting for a frame")]
    FrameTimeout(Duration),
    #[error("the VNC session has ended: {0}")]
    SessionEnded(String),
}

impl From<std::io::Error> for RfbError {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            RfbError::Closed(" in the middle of a message".into())
        } else {
            RfbError::Io(Arc::new(e))
        }
    }
}
