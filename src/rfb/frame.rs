//! The framebuffer as the rest of the program sees it.
//!
//! Every applied FramebufferUpdate produces a new [`Frame`]: an immutable snapshot shared by
//! `Arc`, so the matcher, the recorder and the pointer all look at the same pixels without each
//! taking a copy. The session keeps the pixels in an `Arc<RgbImage>` and uses `Arc::make_mut`
//! for the next update, so at most one copy is made per update, and none when no subscriber
//! still holds the previous frame.

use std::sync::Arc;
use std::time::Instant;

use image::RgbImage;

/// A rectangle in framebuffer pixels.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

impl Rect {
    pub fn new(x: u32, y: u32, w: u32, h: u32) -> Rect {
        Rect { x, y, w, h }
    }

    /// The whole of a `width` × `height` image.
    pub fn full(width: u32, height: u32) -> Rect {
        Rect::new(0, 0, width, height)
    }

    pub fn right(&self) -> u32 {
        self.x + self.w
    }

    pub fn bottom(&self) -> u32 {
        self.y + self.h
    }

    pub fn is_empty(&self) -> bool {
        self.w == 0 || self.h == 0
    }

    pub fn intersects(&self, other: &Rect) -> bool {
        !self.is_empty()
            && !other.is_empty()
            && self.x < other.right()
            && other.x < self.right()
            && self.y < other.bottom()
            && other.y < self.bottom()
    }

    /// The smallest rectangle holding both.
    pub fn union(&self, other: &Rect) -> Rect {
        if self.is_empty() {
            return *other;
        }
        if other.is_empty() {
            return *self;
        }
        let x = self.x.min(other.x);
        let y = self.y.min(other.y);
        Rect::new(
            x,
            y,
            self.right().max(other.right()) - x,
            self.bottom().max(other.bottom()) - y,
        )
    }
}

/// The cursor shape the server sent with the Cursor pseudo-encoding: RGBA pixels and the hotspot.
#[derive(Clone, Debug, PartialEq)]
pub struct CursorShape {
    pub image: image::RgbaImage,
    pub hotspot: (u32, u32),
}

/// One consistent framebuffer state, after a whole FramebufferUpdate was applied.
#[derive(Clone, Debug)]
pub struct Frame {
    /// Increases by one with every applied update; a new session starts at 1.
    pub serial: u64,
    /// When the update finished arriving.
    pub time: Instant,
    /// The pixels. The cursor is not in them where the server honours the Cursor
    /// pseudo-encoding (it is in [`Frame::cursor`]).
    pub image: Arc<RgbImage>,
    /// What changed since the frame before (serial − 1). After a resize, the whole frame.
    pub damage: Vec<Rect>,
    /// The cursor shape, if the server sent one.
    pub cursor: Option<Arc<CursorShape>>,
    /// Where the pointer is, as far as this client knows (the last position it sent, or the
    /// server's report).
    pub pointer: Option<(u32, u32)>,
}

impl Frame {
    pub fn width(&self) -> u32 {
        self.image.width()
    }

    pub fn height(&self) -> u32 {
        self.image.height()
    }
}
