//! ZRLE encoding (RFC 6143 §7.7.6): 64×64 tiles, each raw, solid, packed-palette or run-length,
//! all inside one zlib stream that lasts for the whole connection.
//!
//! With our pixel format a compressed pixel (CPIXEL) is 3 bytes: B, G, R.

use tokio::io::AsyncRead;

use super::ZlibStream;
use crate::rfb::RfbError;
use crate::rfb::frame::Rect;
use crate::rfb::framebuffer::Framebuffer;
use crate::rfb::wire::{WireReader, check_limit};

const TILE: u32 = 64;

pub async fn read<R: AsyncRead + Unpin>(
    r: &mut WireReader<R>,
    fb: &mut Framebuffer,
    zlib: &mut ZlibStream,
    rect: &Rect,
) -> Result<(), RfbError> {
    let len = r.u32().await? as usize;
    let tiles = (rect.w.div_ceil(TILE) * rect.h.div_ceil(TILE)) as usize;
    // Worst legal case: every pixel a run of one (CPIXEL + length byte), plus tile headers
    // and palettes. Anything beyond is not ZRLE.
    let max_plain = rect.w as usize * rect.h as usize * 4 + tiles * (1 + 127 * 3) + 1024;
    check_limit(
        "ZRLE compressed length",
        len as u64,
        (max_plain + max_plain / 8 + 1024) as u64,
    )?;
    let compressed = r.vec(len).await?;
    let data = zlib.inflate(&compressed, max_plain, "ZRLE data")?;
    decode(fb, rect, &data)
}

fn decode(fb: &mut Framebuffer, rect: &Rect, data: &[u8]) -> Result<(), RfbError> {
    let mut cur = Cursor { data, pos: 0 };
    let mut tile_rgb = Vec::with_capacity((TILE * TILE * 3) as usize);
    let mut ty = 0;
    while ty < rect.h {
        let th = TILE.min(rect.h - ty);
        let mut tx = 0;
        while tx < rect.w {
            let tw = TILE.min(rect.w - tx);
            let tile = Rect::new(rect.x + tx, rect.y + ty, tw, th);
            tile_rgb.clear();
            decode_tile(&mut cur, tw as usize, th as usize, &mut tile_rgb)?;
            fb.put_rgb(&tile, &tile_rgb);
            tx += TILE;
        }
        ty += TILE;
    }
    Ok(())
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], RfbError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| RfbError::Protocol("ZRLE tile data ends early".into()))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, RfbError> {
        Ok(self.take(1)?[0])
    }

    fn cpixel(&mut self) -> Result<[u8; 3], RfbError> {
        let b = self.take(3)?;
        Ok([b[2], b[1], b[0]])
    }

    fn run_length(&mut self) -> Result<usize, RfbError> {
        let mut len = 1usize;
        loop {
            let b = self.u8()?;
            len += usize::from(b);
            if b != 255 {
                return Ok(len);
            }
            if len > (TILE * TILE) as usize {
                return Err(RfbError::Protocol("ZRLE run longer than a tile".into()));
            }
        }
    }
}

fn decode_tile(cur: &mut Cursor, w: usize, h: usize, out: &mut Vec<u8>) -> Result<(), RfbError> {
    let n = w * h;
    let sub = cur.u8()?;
    let push_run = |out: &mut Vec<u8>, px: [u8; 3], run: usize| -> Result<(), RfbError> {
        if out.len() / 3 + run > n {
            return Err(RfbError::Protocol(
                "ZRLE run goes past the end of its tile".into(),
            ));
        }
        for _ in 0..run {
            out.extend_from_slice(&px);
        }
        Ok(())
    };
    match sub {
        0 => {
            for _ in 0..n {
                out.extend_from_slice(&cur.cpixel()?);
            }
        }
        1 => push_run(out, cur.cpixel()?, n)?,
        2..=16 => {
            let palette: Vec<[u8; 3]> = (0..sub).map(|_| cur.cpixel()).collect::<Result<_, _>>()?;
            let bits = match sub {
                2 => 1,
                3..=4 => 2,
                _ => 4,
            };
            let row_bytes = (w * bits).div_ceil(8);
            for _ in 0..h {
                let row = cur.take(row_bytes)?;
                for x in 0..w {
                    let bit = x * bits;
                    let idx = (row[bit / 8] >> (8 - bits - bit % 8)) & ((1 << bits) - 1);
                    let px = palette.get(usize::from(idx)).ok_or_else(|| {
                        RfbError::Protocol(format!("ZRLE palette index {idx} of {sub}"))
                    })?;
                    out.extend_from_slice(px);
                }
            }
        }
        128 => {
            while out.len() < n * 3 {
                let px = cur.cpixel()?;
                let run = cur.run_length()?;
                push_run(out, px, run)?;
            }
        }
        130..=255 => {
            let size = usize::from(sub - 128);
            let palette: Vec<[u8; 3]> =
                (0..size).map(|_| cur.cpixel()).collect::<Result<_, _>>()?;
            while out.len() < n * 3 {
                let b = cur.u8()?;
                let px = *palette.get(usize::from(b & 0x7f)).ok_or_else(|| {
                    RfbError::Protocol(format!("ZRLE palette index {} of {size}", b & 0x7f))
                })?;
                let run = if b & 0x80 != 0 { cur.run_length()? } else { 1 };
                push_run(out, px, run)?;
            }
        }
        other => {
            return Err(RfbError::Protocol(format!(
                "ZRLE: invalid tile subencoding {other}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_each_tile_kind() {
        let mut fb = Framebuffer::new(4, 1).unwrap();
        let r = Rect::new(0, 0, 4, 1);
        // Plain RLE: blue x3 then red x1 (CPIXELs are B, G, R).
        decode(&mut fb, &r, &[128, 255, 0, 0, 2, 0, 0, 255, 0]).unwrap();
        assert_eq!(
            fb.image().as_raw(),
            &[0, 0, 255, 0, 0, 255, 0, 0, 255, 255, 0, 0]
        );
        // Packed palette of 2: indices 0,1,1,0 -> 0b0110_0000.
        decode(&mut fb, &r, &[2, 0, 0, 0, 255, 255, 255, 0b0110_0000]).unwrap();
        assert_eq!(
            fb.image().as_raw(),
            &[0, 0, 0, 255, 255, 255, 255, 255, 255, 0, 0, 0]
        );
        // Palette RLE: 130 = 2 colours; index 1 run 4.
        decode(&mut fb, &r, &[130, 0, 0, 0, 0, 255, 0, 0x81, 3]).unwrap();
        assert_eq!(
            fb.image().as_raw(),
            &[0, 255, 0, 0, 255, 0, 0, 255, 0, 0, 255, 0]
        );
    }

    #[test]
    fn rejects_overlong_runs_and_short_data() {
        let mut fb = Framebuffer::new(4, 1).unwrap();
        let r = Rect::new(0, 0, 4, 1);
        assert!(decode(&mut fb, &r, &[128, 1, 2, 3, 9]).is_err());
        assert!(decode(&mut fb, &r, &[0, 1, 2]).is_err());
        assert!(decode(&mut fb, &r, &[129]).is_err());
    }
}
