//! Cursor pseudo-encoding: the pointer's shape, so it stays out of the framebuffer and the
//! pointer code knows what to look for.

use std::sync::Arc;

use image::{Rgba, RgbaImage};
use tokio::io::AsyncRead;

use crate::rfb::RfbError;
use crate::rfb::frame::{CursorShape, Rect};
use crate::rfb::wire::{WireReader, check_limit, limits};

/// `rect.x`/`rect.y` are the hotspot. An empty rectangle means "no cursor".
pub async fn read<R: AsyncRead + Unpin>(
    r: &mut WireReader<R>,
    rect: &Rect,
) -> Result<Option<Arc<CursorShape>>, RfbError> {
    check_limit(
        "cursor width",
        rect.w.into(),
        limits::MAX_CURSOR_SIDE.into(),
    )?;
    check_limit(
        "cursor height",
        rect.h.into(),
        limits::MAX_CURSOR_SIDE.into(),
    )?;
    if rect.is_empty() {
        return Ok(None);
    }
    let (w, h) = (rect.w as usize, rect.h as usize);
    let pixels = r.vec(w * h * 4).await?;
    let mask_row = w.div_ceil(8);
    let mask = r.vec(mask_row * h).await?;
    let mut image = RgbaImage::new(rect.w, rect.h);
    for (i, px) in pixels.chunks_exact(4).enumerate() {
        let (x, y) = (i % w, i / w);
        let visible = mask[y * mask_row + x / 8] & (0x80 >> (x % 8)) != 0;
        image.put_pixel(
            x as u32,
            y as u32,
            Rgba([px[2], px[1], px[0], if visible { 255 } else { 0 }]),
        );
    }
    Ok(Some(Arc::new(CursorShape {
        image,
        hotspot: (rect.x, rect.y),
    })))
}
