//! Draws the cursor into a picture, for servers that send it separately.
//!
//! With the Cursor pseudo-encoding the server leaves the pointer out of the framebuffer and
//! sends its shape once; a person watching the video still wants to see where the pointer was,
//! so the browser track gets it drawn in at the frame's pointer position (minus the hotspot).
//! The lossless track keeps the framebuffer as the matcher saw it, without the cursor.

use crate::rfb::frame::CursorShape;

/// Alpha-blends `cursor` into an RGB24 buffer (`stride` bytes per row) so that its hotspot
/// lands on `pointer`. Parts outside the picture are clipped.
pub fn draw(
    rgb: &mut [u8],
    stride: usize,
    width: u32,
    height: u32,
    cursor: &CursorShape,
    pointer: (u32, u32),
) {
    let left = i64::from(pointer.0) - i64::from(cursor.hotspot.0);
    let top = i64::from(pointer.1) - i64::from(cursor.hotspot.1);
    for (cx, cy, pixel) in cursor.image.enumerate_pixels() {
        let alpha = u32::from(pixel[3]);
        if alpha == 0 {
            continue;
        }
        let (x, y) = (left + i64::from(cx), top + i64::from(cy));
        if x < 0 || y < 0 || x >= i64::from(width) || y >= i64::from(height) {
            continue;
        }
        let at = y as usize * stride + x as usize * 3;
        let Some(dst) = rgb.get_mut(at..at + 3) else {
            continue;
        };
        for channel in 0..3 {
            let over = u32::from(pixel[channel]);
            let under = u32::from(dst[channel]);
            dst[channel] = ((over * alpha + under * (255 - alpha) + 127) / 255) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgba, RgbaImage};

    fn arrow() -> CursorShape {
        // 3×3: opaque red centre, half-transparent white left column, transparent elsewhere.
        let mut image = RgbaImage::new(3, 3);
        image.put_pixel(1, 1, Rgba([255, 0, 0, 255]));
        for y in 0..3 {
            image.put_pixel(0, y, Rgba([255, 255, 255, 128]));
        }
        CursorShape {
            image,
            hotspot: (1, 1),
        }
    }

    #[test]
    fn hotspot_lands_on_the_pointer_and_alpha_blends() {
        let (w, h) = (8u32, 6u32);
        let stride = 8 * 3 + 4; // padded rows, as ffmpeg pictures have
        let mut buf = vec![0u8; stride * h as usize];
        draw(&mut buf, stride, w, h, &arrow(), (4, 2));
        let px = |x: usize, y: usize| &buf[y * stride + x * 3..y * stride + x * 3 + 3];
        assert_eq!(px(4, 2), &[255, 0, 0]);
        assert_eq!(px(3, 1), &[128, 128, 128]);
        assert_eq!(
            px(5, 2),
            &[0, 0, 0],
            "transparent cursor pixels leave the picture alone"
        );
        assert_eq!(px(0, 0), &[0, 0, 0]);
        // Row padding is never written.
        assert!(
            buf.chunks(stride)
                .all(|row| row[24..].iter().all(|&b| b == 0))
        );
    }

    #[test]
    fn a_cursor_at_the_edge_is_clipped() {
        let stride = 4 * 3;
        let mut buf = vec![0u8; stride * 4];
        draw(&mut buf, stride, 4, 4, &arrow(), (0, 0));
        assert_eq!(&buf[0..3], &[255, 0, 0]);
        draw(&mut buf, stride, 4, 4, &arrow(), (3, 3));
        assert_eq!(&buf[3 * stride + 9..3 * stride + 12], &[255, 0, 0]);
        draw(&mut buf, stride, 4, 4, &arrow(), (u32::MAX, u32::MAX));
    }
}
