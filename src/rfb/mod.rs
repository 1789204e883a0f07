//! The VNC (RFB, RFC 6143) client: connection, framebuffer and keyboard.

pub mod frame;

pub use frame::{Frame, Rect};
