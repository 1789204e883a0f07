//! Raw encoding: the pixels, row by row.

use tokio::io::AsyncRead;

use crate::rfb::RfbError;
use crate::rfb::frame::Rect;
use crate::rfb::framebuffer::Framebuffer;
use crate::rfb::wire::WireReader;

/// Reads in bands of rows so the buffer stays small however large the rectangle.
pub async fn read<R: AsyncRead + Unpin>(
    r: &mut WireReader<R>,
    fb: &mut Framebuffer,
    rect: &Rect,
) -> Result<(), RfbError> {
    if rect.is_empty() {
        return Ok(());
    }
    let row_bytes = rect.w as usize * 4;
    let band = (256 * 1024 / row_bytes).max(1) as u32;
    let mut buf = Vec::new();
    let mut y = 0;
    while y < rect.h {
        let rows = band.min(rect.h - y);
        buf.resize(rows as usize * row_bytes, 0);
        r.exact(&mut buf).await?;
        fb.put_bgrx_rows(rect, y, &buf);
        y += rows;
    }
    Ok(())
}
