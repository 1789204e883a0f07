//! One screen update for the page: the part of the screen that changed since the last picture
//! the page got, as a PNG (lossless, so the page shows the guest's exact pixels) behind a small
//! header saying where it goes.
//!
//! Why diff pictures instead of forwarding the session's damage: the page is rate-limited and
//! may skip frames, and a comparison against what it was last sent is exact whatever was
//! skipped (and costs about a millisecond per megapixel).

use image::RgbImage;

use crate::rfb::Rect;

/// Bytes before the PNG: screen width, height, then x, y, w, h of the rectangle, each a
/// big-endian u32.
pub const HEADER_LEN: usize = 24;

/// The smallest rectangle holding every pixel that differs between `old` and `new` (same
/// size), or `None` when they are equal.
pub fn changed_rect(old: &RgbImage, new: &RgbImage) -> Option<Rect> {
    if old.dimensions() != new.dimensions() {
        return Some(Rect::full(new.width(), new.height()));
    }
    let (w, h) = new.dimensions();
    let row = w as usize * 3;
    let (a, b) = (old.as_raw(), new.as_raw());
    let differs = |y: u32| {
        let s = y as usize * row;
        a[s..s + row] != b[s..s + row]
    };
    let top = (0..h).find(|&y| differs(y))?;
    let bottom = (top..h).rev().find(|&y| differs(y)).unwrap_or(top);
    let (mut left, mut right) = (w, 0);
    for y in top..=bottom {
        let s = y as usize * row;
        let (ra, rb) = (&a[s..s + row], &b[s..s + row]);
        if ra == rb {
            continue;
        }
        if let Some(x) = (0..left).find(|&x| px(ra, x) != px(rb, x)) {
            left = x;
        }
        if let Some(x) = (right..w).rev().find(|&x| px(ra, x) != px(rb, x)) {
            right = right.max(x);
        }
    }
    Some(Rect::new(left, top, right + 1 - left, bottom + 1 - top))
}

fn px(row: &[u8], x: u32) -> &[u8] {
    let i = x as usize * 3;
    &row[i..i + 3]
}

/// The message for `rect` of `image`: [`HEADER_LEN`] bytes of header, then the PNG.
pub fn encode(image: &RgbImage, rect: Rect) -> Vec<u8> {
    let part = image::imageops::crop_imm(image, rect.x, rect.y, rect.w, rect.h).to_image();
    let mut out = Vec::with_capacity(HEADER_LEN + part.len() / 4);
    for v in [
        image.width(),
        image.height(),
        rect.x,
        rect.y,
        rect.w,
        rect.h,
    ] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    let encoder = image::codecs::png::PngEncoder::new_with_quality(
        &mut out,
        image::codecs::png::CompressionType::Fast,
        image::codecs::png::FilterType::Sub,
    );
    // Writing into a Vec cannot fail, and the sizes come from the image itself.
    if let Err(e) = image::ImageEncoder::write_image(
        encoder,
        part.as_raw(),
        rect.w,
        rect.h,
        image::ExtendedColorType::Rgb8,
    ) {
        tracing::warn!("encoding a screen update: {e}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    #[test]
    fn equal_pictures_have_no_change() {
        let a = RgbImage::new(40, 30);
        assert_eq!(changed_rect(&a, &a.clone()), None);
    }

    #[test]
    fn the_change_is_bounded_tightly() {
        let a = RgbImage::new(40, 30);
        let mut b = a.clone();
        b.put_pixel(5, 7, Rgb([1, 0, 0]));
        b.put_pixel(20, 9, Rgb([0, 0, 1]));
        b.put_pixel(3, 8, Rgb([0, 1, 0]));
        assert_eq!(changed_rect(&a, &b), Some(Rect::new(3, 7, 18, 3)));
        let other = RgbImage::new(20, 10);
        assert_eq!(changed_rect(&a, &other), Some(Rect::full(20, 10)));
    }

    #[test]
    fn an_update_decodes_to_the_rectangle() {
        let img = RgbImage::from_fn(50, 40, |x, y| Rgb([x as u8, y as u8, 7]));
        let msg = encode(&img, Rect::new(10, 5, 20, 8));
        let field = |i: usize| u32::from_be_bytes(msg[i * 4..i * 4 + 4].try_into().unwrap());
        assert_eq!(
            (0..6).map(field).collect::<Vec<_>>(),
            vec![50, 40, 10, 5, 20, 8]
        );
        let part = image::load_from_memory(&msg[HEADER_LEN..])
            .unwrap()
            .into_rgb8();
        assert_eq!(part.dimensions(), (20, 8));
        assert_eq!(part.get_pixel(0, 0), &Rgb([10, 5, 7]));
    }
}
