//! The browser track's fixed picture size, and how a framebuffer of any size is placed on it.
//!
//! Installers change resolution (QEMU's 720×400 text mode, then 800×600 or 1024×768 for the
//! graphical installer). A browser video has one picture size, so every framebuffer is scaled
//! to fit the canvas with its aspect ratio kept and black bars around it. The lossless track
//! does not scale (it starts a new segment instead), so exact pixels are never lost.

use ffmpeg_next::{frame, software::scaling, util::format::Pixel};

use super::RecordError;
use crate::rfb::Rect;

/// Where a `src_w` × `src_h` picture lands on a `canvas_w` × `canvas_h` canvas: as large as fits,
/// aspect ratio kept, centred. Offsets and sizes are even (yuv420p chroma is 2×2).
pub fn fit(src_w: u32, src_h: u32, canvas_w: u32, canvas_h: u32) -> Rect {
    if src_w == 0 || src_h == 0 || canvas_w == 0 || canvas_h == 0 {
        return Rect::default();
    }
    if src_w == canvas_w && src_h == canvas_h {
        return Rect::full(canvas_w, canvas_h);
    }
    // Compare src_w/src_h with canvas_w/canvas_h without floating point.
    let (w, h) = if u64::from(src_w) * u64::from(canvas_h) >= u64::from(src_h) * u64::from(canvas_w)
    {
        let h = (u64::from(src_h) * u64::from(canvas_w) / u64::from(src_w)) as u32;
        (canvas_w, h)
    } else {
        let w = (u64::from(src_w) * u64::from(canvas_h) / u64::from(src_h)) as u32;
        (w, canvas_h)
    };
    let (w, h) = ((w & !1).max(2).min(canvas_w), (h & !1).max(2).min(canvas_h));
    let x = ((canvas_w - w) / 2) & !1;
    let y = ((canvas_h - h) / 2) & !1;
    Rect::new(x, y, w, h)
}

/// Scales RGB24 pictures onto the canvas, reusing the scaler while the source size stays.
pub struct Canvas {
    width: u32,
    height: u32,
    scaler: Option<((u32, u32), Rect, scaling::Context)>,
}

impl Canvas {
    pub fn new(width: u32, height: u32) -> Canvas {
        Canvas {
            width: width.max(2) & !1,
            height: height.max(2) & !1,
            scaler: None,
        }
    }

    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// The picture on the canvas (a copy when the sizes already agree).
    pub fn place(&mut self, picture: &frame::Video) -> Result<frame::Video, RecordError> {
        let (src_w, src_h) = (picture.width(), picture.height());
        if (src_w, src_h) == (self.width, self.height) {
            return Ok(picture.clone());
        }
        let rebuild = !matches!(&self.scaler, Some((size, _, _)) if *size == (src_w, src_h));
        if rebuild {
            let area = fit(src_w, src_h, self.width, self.height);
            let scaler = scaling::Context::get(
                Pixel::RGB24,
                src_w,
                src_h,
                Pixel::RGB24,
                area.w,
                area.h,
                scaling::Flags::BILINEAR,
            )
            .map_err(RecordError::ffmpeg(format!(
                "scaler {src_w}x{src_h} onto {}x{}",
                self.width, self.height
            )))?;
            self.scaler = Some(((src_w, src_h), area, scaler));
        }
        let Some((_, area, scaler)) = &mut self.scaler else {
            unreachable!("set just above")
        };
        let mut scaled = frame::Video::new(Pixel::RGB24, area.w, area.h);
        scaler
            .run(picture, &mut scaled)
            .map_err(RecordError::ffmpeg("scale a picture onto the canvas"))?;
        let mut canvas = frame::Video::new(Pixel::RGB24, self.width, self.height);
        let canvas_stride = canvas.stride(0);
        let scaled_stride = scaled.stride(0);
        let row_bytes = area.w as usize * 3;
        let out = canvas.data_mut(0);
        // frame::Video::new does not clear: paint the bars black.
        out.fill(0);
        let src = scaled.data(0);
        for y in 0..area.h as usize {
            let at = (area.y as usize + y) * canvas_stride + area.x as usize * 3;
            out[at..at + row_bytes]
                .copy_from_slice(&src[y * scaled_stride..y * scaled_stride + row_bytes]);
        }
        Ok(canvas)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_size_fills_the_canvas() {
        assert_eq!(fit(1024, 768, 1024, 768), Rect::new(0, 0, 1024, 768));
    }

    #[test]
    fn four_by_three_scales_up_exactly() {
        assert_eq!(fit(640, 480, 1024, 768), Rect::new(0, 0, 1024, 768));
        assert_eq!(fit(800, 600, 1024, 768), Rect::new(0, 0, 1024, 768));
    }

    #[test]
    fn wide_text_mode_gets_bars_above_and_below() {
        // 720×400 → 1024×568 (568.9 rounded down to even), centred vertically.
        assert_eq!(fit(720, 400, 1024, 768), Rect::new(0, 100, 1024, 568));
    }

    #[test]
    fn tall_picture_gets_bars_left_and_right() {
        assert_eq!(fit(1280, 1024, 1024, 768), Rect::new(32, 0, 960, 768));
    }

    #[test]
    fn placement_always_stays_inside_the_canvas() {
        for (w, h) in [
            (1, 1),
            (3, 7001),
            (7001, 3),
            (1023, 767),
            (1025, 769),
            (2, 2),
        ] {
            let r = fit(w, h, 1024, 768);
            assert!(r.right() <= 1024 && r.bottom() <= 768, "{w}x{h} → {r:?}");
            assert!(
                [r.w, r.h, r.x, r.y].iter().all(|v| v.is_multiple_of(2)),
                "{w}x{h} → {r:?}"
            );
        }
    }
}
