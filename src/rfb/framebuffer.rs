//! The client-side copy of the server's screen, as the decoders write into it.

use std::sync::Arc;

use image::RgbImage;

use super::RfbError;
use super::frame::{CursorShape, Rect};
use super::wire::limits;

/// The mutable framebuffer the reader task decodes into.
///
/// The pixels are an `Arc<RgbImage>` shared with published frames; `pixels_mut` copies them
/// only if a published frame still holds them (copy on write).
pub struct Framebuffer {
    image: Arc<RgbImage>,
    pub cursor: Option<Arc<CursorShape>>,
    /// Rectangles changed since the last published frame.
    pub damage: Vec<Rect>,
    /// Until the whole screen has been received after connecting or a resize, which pixels
    /// are still unknown — frames are only published once it is complete.
    coverage: Option<Coverage>,
}

impl Framebuffer {
    pub fn new(width: u32, height: u32) -> Result<Framebuffer, RfbError> {
        check_size(width, height)?;
        Ok(Framebuffer {
            image: Arc::new(RgbImage::new(width, height)),
            cursor: None,
            damage: Vec::new(),
            coverage: Coverage::start(width, height),
        })
    }

    pub fn width(&self) -> u32 {
        self.image.width()
    }

    pub fn height(&self) -> u32 {
        self.image.height()
    }

    pub fn image(&self) -> &Arc<RgbImage> {
        &self.image
    }

    pub fn pixels_mut(&mut self) -> &mut RgbImage {
        Arc::make_mut(&mut self.image)
    }

    /// A new size announced by the server: the old pixels are gone, everything must be
    /// received again.
    pub fn resize(&mut self, width: u32, height: u32) -> Result<(), RfbError> {
        check_size(width, height)?;
        self.image = Arc::new(RgbImage::new(width, height));
        self.damage.clear();
        self.damage.push(Rect::full(width, height));
        self.coverage = Coverage::start(width, height);
        Ok(())
    }

    /// Checks that a rectangle announced by the server lies inside the framebuffer.
    pub fn check_rect(&self, r: &Rect, what: &str) -> Result<(), RfbError> {
        if u64::from(r.x) + u64::from(r.w) > u64::from(self.width())
            || u64::from(r.y) + u64::from(r.h) > u64::from(self.height())
        {
            return Err(RfbError::Protocol(format!(
                "{what} rectangle {}x{} at ({},{}) lies outside the {}x{} framebuffer",
                r.w,
                r.h,
                r.x,
                r.y,
                self.width(),
                self.height()
            )));
        }
        Ok(())
    }

    /// Records that `r` now holds server pixels.
    pub fn mark(&mut self, r: Rect) {
        if r.is_empty() {
            return;
        }
        if let Some(c) = &mut self.coverage {
            c.cover(&r);
            if c.missing == 0 {
                self.coverage = None;
            }
        }
        self.damage.push(r);
    }

    /// Whether every pixel has been received since connecting or the last resize.
    pub fn is_complete(&self) -> bool {
        self.coverage.is_none()
    }

    /// Writes server pixels (B, G, R, X bytes; our pixel format) into `r`.
    pub fn put_bgrx_rows(&mut self, r: &Rect, first_row: u32, data: &[u8]) {
        let img = self.pixels_mut();
        let w = r.w as usize;
        for (i, row) in data.chunks_exact(w * 4).enumerate() {
            let y = r.y + first_row + i as u32;
            let start = ((y * img.width() + r.x) * 3) as usize;
            let dst = &mut img.as_mut()[start..start + w * 3];
            for (d, s) in dst.chunks_exact_mut(3).zip(row.chunks_exact(4)) {
                d[0] = s[2];
                d[1] = s[1];
                d[2] = s[0];
            }
        }
    }

    /// Writes RGB bytes (tightly packed, `r.w * r.h * 3`) into `r`.
    pub fn put_rgb(&mut self, r: &Rect, rgb: &[u8]) {
        let img = self.pixels_mut();
        let w = r.w as usize * 3;
        let stride = img.width() as usize * 3;
        for (i, row) in rgb.chunks_exact(w).enumerate() {
            let start = (r.y as usize + i) * stride + r.x as usize * 3;
            img.as_mut()[start..start + w].copy_from_slice(row);
        }
    }

    pub fn fill(&mut self, r: &Rect, rgb: [u8; 3]) {
        let img = self.pixels_mut();
        let stride = img.width() as usize * 3;
        for y in r.y..r.bottom() {
            let start = y as usize * stride + r.x as usize * 3;
            for px in img.as_mut()[start..start + r.w as usize * 3].chunks_exact_mut(3) {
                px.copy_from_slice(&rgb);
            }
        }
    }

    /// CopyRect: copy the `r`-sized area at (sx, sy) to `r` (areas may overlap).
    pub fn copy_within(&mut self, r: &Rect, sx: u32, sy: u32) {
        let img = self.pixels_mut();
        let stride = img.width() as usize * 3;
        let w = r.w as usize * 3;
        let rows: Vec<u32> = if sy < r.y {
            (0..r.h).rev().collect()
        } else {
            (0..r.h).collect()
        };
        let buf = img.as_mut();
        for i in rows {
            let src = (sy + i) as usize * stride + sx as usize * 3;
            let dst = (r.y + i) as usize * stride + r.x as usize * 3;
            buf.copy_within(src..src + w, dst);
        }
    }
}

fn check_size(width: u32, height: u32) -> Result<(), RfbError> {
    super::wire::check_limit("framebuffer width", width.into(), limits::MAX_SIDE.into())?;
    super::wire::check_limit("framebuffer height", height.into(), limits::MAX_SIDE.into())?;
    super::wire::check_limit(
        "framebuffer pixels (width x height)",
        u64::from(width) * u64::from(height),
        limits::MAX_PIXELS,
    )
}

/// Which pixels have not been received yet, one flag per pixel.
struct Coverage {
    width: u32,
    seen: Vec<bool>,
    missing: usize,
}

impl Coverage {
    /// `None` for an empty framebuffer: nothing to wait for.
    fn start(width: u32, height: u32) -> Option<Coverage> {
        let n = width as usize * height as usize;
        (n > 0).then(|| Coverage {
            width,
            seen: vec![false; n],
            missing: n,
        })
    }

    fn cover(&mut self, r: &Rect) {
        for y in r.y..r.bottom() {
            let start = (y * self.width + r.x) as usize;
            for s in &mut self.seen[start..start + r.w as usize] {
                if !*s {
                    *s = true;
                    self.missing -= 1;
                }
            }
        }
    }
}
