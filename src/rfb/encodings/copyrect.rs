//! CopyRect encoding: "this rectangle equals that one" (scrolling, moving windows).

use tokio::io::AsyncRead;

use crate::rfb::RfbError;
use crate::rfb::frame::Rect;
use crate::rfb::framebuffer::Framebuffer;
use crate::rfb::wire::WireReader;

pub async fn read<R: AsyncRead + Unpin>(
    r: &mut WireReader<R>,
    fb: &mut Framebuffer,
    rect: &Rect,
) -> Result<(), RfbError> {
    let sx = u32::from(r.u16().await?);
    let sy = u32::from(r.u16().await?);
    fb.check_rect(&Rect::new(sx, sy, rect.w, rect.h), "CopyRect source")?;
    fb.copy_within(rect, sx, sy);
    Ok(())
}
