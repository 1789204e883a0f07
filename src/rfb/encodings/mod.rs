//! Rectangle encodings: one file per encoding, all decoding into the [`Framebuffer`].
//!
//! Decoders never trust a size from the wire: rectangles are checked against the framebuffer
//! before anything is read, compressed lengths against a bound derived from the rectangle, and
//! zlib output is capped at what the rectangle can hold.

pub mod copyrect;
pub mod cursor;
pub mod raw;
pub mod tight;
mod zlib;
pub mod zrle;

pub use zlib::ZlibStream;

/// Encoding numbers (RFC 6143 §7.7 and the community registry).
pub mod code {
    pub const RAW: i32 = 0;
    pub const COPY_RECT: i32 = 1;
    pub const TIGHT: i32 = 7;
    pub const ZRLE: i32 = 16;
    pub const CURSOR: i32 = -239;
    pub const DESKTOP_SIZE: i32 = -223;
    pub const LAST_RECT: i32 = -224;
    pub const EXTENDED_DESKTOP_SIZE: i32 = -308;
    /// QEMU: the server accepts extended key events (XT scancodes).
    pub const QEMU_EXTENDED_KEY_EVENT: i32 = -258;
    /// QEMU: the server tells whether the guest's pointer is absolute or relative.
    pub const QEMU_POINTER_TYPE_CHANGE: i32 = -257;
    /// Tight JPEG quality 0..9 is announced as -32 + level.
    pub const JPEG_QUALITY_0: i32 = -32;
    /// Compression level 0..9 is announced as -256 + level.
    pub const COMPRESS_LEVEL_0: i32 = -256;
}

/// Per-connection decoder state: the zlib streams live as long as the connection.
#[derive(Default)]
pub struct Decoders {
    pub zrle: ZlibStream,
    pub tight: [ZlibStream; 4],
}
