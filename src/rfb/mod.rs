//! The VNC (RFB, RFC 6143) client: connection, framebuffer and keyboard.
//!
//! Data flow: [`handshake`] opens the connection, the session's reader task reads each
//! server message ([`update`]), decodes rectangles ([`encodings`]) into the [`framebuffer`],
//! and publishes an immutable [`Frame`] per update to subscribers ([`stream`]). Input goes the
//! other way through [`keys`] and the session's writer task. Why our own protocol engine and
//! not vnc-rs: see docs/design.md.

pub mod addr;
pub mod auth;
pub mod encodings;
mod error;
pub mod frame;
pub mod framebuffer;
pub mod handshake;
pub mod keys;
pub mod session;
pub mod stream;
pub mod update;
pub mod wire;

pub use addr::Addr;
pub use auth::Secret;
pub use error::RfbError;
pub use frame::{CursorShape, Frame, Rect};
pub use session::{ConnectOptions, Session};
pub use stream::FrameStream;
pub use update::PointerMode;
