//! Tight encoding: fill, JPEG, or zlib-compressed pixels (copy, palette or gradient filter)
//! in one of four zlib streams that last for the whole connection.
//!
//! With our pixel format a Tight pixel (TPIXEL) is 3 bytes: R, G, B.

use tokio::io::AsyncRead;

use super::Decoders;
use crate::rfb::RfbError;
use crate::rfb::frame::Rect;
use crate::rfb::framebuffer::Framebuffer;
use crate::rfb::wire::{WireReader, check_limit};

/// Below this many bytes (after filtering) Tight data is sent without zlib.
const MIN_TO_COMPRESS: usize = 12;

pub async fn read<R: AsyncRead + Unpin>(
    r: &mut WireReader<R>,
    fb: &mut Framebuffer,
    dec: &mut Decoders,
    rect: &Rect,
) -> Result<(), RfbError> {
    let control = r.u8().await?;
    for (i, stream) in dec.tight.iter_mut().enumerate() {
        if control & (1 << i) != 0 {
            stream.reset();
        }
    }
    let kind = control >> 4;
    match kind {
        0x08 => {
            let mut px = [0u8; 3];
            r.exact(&mut px).await?;
            fb.fill(rect, px);
        }
        0x09 => {
            let len = compact_len(r).await?;
            check_limit(
                "Tight JPEG length",
                len as u64,
                rect.w as u64 * rect.h as u64 * 3 + 4096,
            )?;
            let data = r.vec(len).await?;
            let img = image::load_from_memory_with_format(&data, image::ImageFormat::Jpeg)
                .map_err(|e| RfbError::Protocol(format!("Tight JPEG: {e}")))?
                .into_rgb8();
            if (img.width(), img.height()) != (rect.w, rect.h) {
                return Err(RfbError::Protocol(format!(
                    "Tight JPEG is {}x{} for a {}x{} rectangle",
                    img.width(),
                    img.height(),
                    rect.w,
                    rect.h
                )));
            }
            fb.put_rgb(rect, img.as_raw());
        }
        0..=7 => {
            let stream = usize::from(kind & 0x03);
            let filter = if kind & 0x04 != 0 { r.u8().await? } else { 0 };
            let (w, h) = (rect.w as usize, rect.h as usize);
            match filter {
                0 => {
                    let rgb = data(r, dec, stream, w * h * 3).await?;
                    fb.put_rgb(rect, &rgb);
                }
                1 => {
                    let n = usize::from(r.u8().await?) + 1;
                    let pal = r.vec(n * 3).await?;
                    let row_bytes = if n == 2 { w.div_ceil(8) } else { w };
                    let idx = data(r, dec, stream, row_bytes * h).await?;
                    let mut rgb = Vec::with_capacity(w * h * 3);
                    for row in idx.chunks_exact(row_bytes) {
                        for x in 0..w {
                            let i = if n == 2 {
                                (row[x / 8] >> (7 - x % 8)) & 1
                            } else {
                                row[x]
                            };
                            let i = usize::from(i);
                            if i >= n {
                                return Err(RfbError::Protocol(format!(
                                    "Tight palette index {i} of {n}"
                                )));
                            }
                            rgb.extend_from_slice(&pal[i * 3..i * 3 + 3]);
                        }
                    }
                    fb.put_rgb(rect, &rgb);
                }
                2 => {
                    let mut rgb = data(r, dec, stream, w * h * 3).await?;
                    ungradient(&mut rgb, w);
                    fb.put_rgb(rect, &rgb);
                }
                other => return Err(RfbError::Protocol(format!("Tight: unknown filter {other}"))),
            }
        }
        other => {
            return Err(RfbError::Protocol(format!(
                "Tight: unsupported compression type {other:#x} (control byte {control:#04x})"
            )));
        }
    }
    Ok(())
}

/// The 1–3 byte length Tight uses for compressed data.
async fn compact_len<R: AsyncRead + Unpin>(r: &mut WireReader<R>) -> Result<usize, RfbError> {
    let mut len = 0usize;
    for shift in [0, 7, 14] {
        let b = r.u8().await?;
        if shift == 14 {
            len |= usize::from(b) << 14;
            break;
        }
        len |= usize::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
    }
    Ok(len)
}

/// Exactly `size` bytes of filtered data: raw if small, else zlib via `stream`.
async fn data<R: AsyncRead + Unpin>(
    r: &mut WireReader<R>,
    dec: &mut Decoders,
    stream: usize,
    size: usize,
) -> Result<Vec<u8>, RfbError> {
    if size < MIN_TO_COMPRESS {
        return r.vec(size).await;
    }
    let len = compact_len(r).await?;
    check_limit(
        "Tight compressed length",
        len as u64,
        (size + size / 8 + 1024) as u64,
    )?;
    let compressed = r.vec(len).await?;
    let out = dec.tight[stream].inflate(&compressed, size, "Tight data")?;
    if out.len() != size {
        return Err(RfbError::Protocol(format!(
            "Tight data inflated to {} bytes, expected {size}",
            out.len()
        )));
    }
    Ok(out)
}

/// Undoes the gradient filter in place: each component was sent as the difference to
/// left + above − above-left (clamped).
fn ungradient(rgb: &mut [u8], w: usize) {
    let stride = w * 3;
    for i in 0..rgb.len() {
        let (y, xc) = (i / stride, i % stride);
        let left = if xc >= 3 { i32::from(rgb[i - 3]) } else { 0 };
        let up = if y > 0 { i32::from(rgb[i - stride]) } else { 0 };
        let up_left = if y > 0 && xc >= 3 {
            i32::from(rgb[i - stride - 3])
        } else {
            0
        };
        let predicted = (left + up - up_left).clamp(0, 255);
        rgb[i] = (predicted as u8).wrapping_add(rgb[i]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_roundtrip_of_a_constant_image() {
        // A 2x2 image of (10,20,30): first pixel raw, the rest predicted exactly.
        let mut d = vec![10, 20, 30, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        ungradient(&mut d, 2);
        assert_eq!(d, [10, 20, 30].repeat(4));
    }
}
