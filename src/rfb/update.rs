//! Reading one server-to-client message and applying it to the framebuffer.

use tokio::io::AsyncRead;

use super::RfbError;
use super::encodings::{self, Decoders, code};
use super::frame::Rect;
use super::framebuffer::Framebuffer;
use super::wire::WireReader;

/// The absolute/relative pointer mode QEMU reports with the pointer-type-change
/// pseudo-encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PointerMode {
    Absolute,
    Relative,
    /// The server did not say (not QEMU, or not yet).
    Unknown,
}

/// What a message told us besides pixels.
#[derive(Debug, Default)]
pub struct Outcome {
    /// A FramebufferUpdate was applied (publish a frame).
    pub update: bool,
    /// The framebuffer changed size (ask for all of it again).
    pub resized: bool,
    /// The server acknowledged QEMU extended key events.
    pub qemu_keys: bool,
    pub pointer_mode: Option<PointerMode>,
}

/// Reads the rest of the message whose type byte was `kind`.
pub async fn read_message<R: AsyncRead + Unpin>(
    kind: u8,
    r: &mut WireReader<R>,
    fb: &mut Framebuffer,
    dec: &mut Decoders,
) -> Result<Outcome, RfbError> {
    let mut out = Outcome::default();
    match kind {
        0 => {
            r.u8().await?;
            let count = r.u16().await?;
            out.update = true;
            for _ in 0..count {
                let rect = Rect::new(
                    r.u16().await?.into(),
                    r.u16().await?.into(),
                    r.u16().await?.into(),
                    r.u16().await?.into(),
                );
                let encoding = r.i32().await?;
                if encoding == code::LAST_RECT {
                    break;
                }
                read_rect(encoding, rect, r, fb, dec, &mut out).await?;
            }
        }
        1 => {
            // SetColourMapEntries: we asked for true colour, but read it to stay in sync.
            r.u8().await?;
            r.u16().await?;
            let n = r.u16().await?;
            r.skip(usize::from(n) * 6).await?;
        }
        2 => {} // Bell
        3 => {
            r.skip(3).await?;
            r.text("clipboard text length").await?;
        }
        other => {
            return Err(RfbError::Protocol(format!(
                "unknown server message type {other}"
            )));
        }
    }
    Ok(out)
}

async fn read_rect<R: AsyncRead + Unpin>(
    encoding: i32,
    rect: Rect,
    r: &mut WireReader<R>,
    fb: &mut Framebuffer,
    dec: &mut Decoders,
    out: &mut Outcome,
) -> Result<(), RfbError> {
    let pixels = |fb: &Framebuffer, name: &str| fb.check_rect(&rect, name);
    match encoding {
        code::RAW => {
            pixels(fb, "Raw")?;
            encodings::raw::read(r, fb, &rect).await?;
        }
        code::COPY_RECT => {
            pixels(fb, "CopyRect")?;
            encodings::copyrect::read(r, fb, &rect).await?;
        }
        code::ZRLE => {
            pixels(fb, "ZRLE")?;
            encodings::zrle::read(r, fb, &mut dec.zrle, &rect).await?;
        }
        code::TIGHT => {
            pixels(fb, "Tight")?;
            encodings::tight::read(r, fb, dec, &rect).await?;
        }
        code::CURSOR => {
            fb.cursor = encodings::cursor::read(r, &rect).await?;
            return Ok(());
        }
        code::DESKTOP_SIZE => {
            fb.resize(rect.w, rect.h)?;
            out.resized = true;
            return Ok(());
        }
        code::EXTENDED_DESKTOP_SIZE => {
            let screens = r.u8().await?;
            r.skip(3 + usize::from(screens) * 16).await?;
            // x = reason, y = status; a non-zero status answers a resize request of ours
            // and leaves the size alone, but w/h still carry the current size.
            if (rect.w, rect.h) != (fb.width(), fb.height()) {
                fb.resize(rect.w, rect.h)?;
                out.resized = true;
            }
            return Ok(());
        }
        code::QEMU_EXTENDED_KEY_EVENT => {
            out.qemu_keys = true;
            return Ok(());
        }
        code::QEMU_POINTER_TYPE_CHANGE => {
            out.pointer_mode = Some(if rect.x != 0 {
                PointerMode::Absolute
            } else {
                PointerMode::Relative
            });
            return Ok(());
        }
        other => {
            return Err(RfbError::Protocol(format!(
                "rectangle with encoding {other}, which we did not announce"
            )));
        }
    }
    fb.mark(rect);
    Ok(())
}
