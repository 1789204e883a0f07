//! The luma of every `step` × `step` box of a rectangle, at every pixel offset.
//!
//! Large regions are compared at reduced resolution: the luma of the mean colour of each
//! `step` × `step` block ([`Planes::compute_reduced`](super::planes::Planes::compute_reduced)).
//! A hill-climb moves such a region one pixel at a time, and each pixel offset puts the blocks
//! on another grid. Holding every box of the search area once lets any placement's block
//! means be read off instead of summed again (a climb visits up to `step`² grids).
//!
//! The colour sums are integers and the luma is derived from them by the same function as
//! `compute_reduced`'s ([`block_mean`]), so a placement's samples are bit-identical whichever
//! rectangle the boxes were computed for.

use image::RgbImage;

use super::planes::{add_bytes, block_mean, clip};
use super::simd::avx2_when_available;
use crate::rfb::Rect;

/// Luma of the boxes of a rectangle: `y[j * w + i]` is the box whose top-left pixel is
/// `(rect.x + i, rect.y + j)`.
#[derive(Clone, Debug, Default)]
pub struct BoxLuma {
    /// The pixels the boxes lie in.
    pub rect: Rect,
    pub step: u32,
    /// Box positions each way (`rect.w - step + 1`, `rect.h - step + 1`).
    pub w: usize,
    pub h: usize,
    pub y: Vec<f32>,
    /// Column sums (per byte) of the `step` rows of the current box row.
    sums: Vec<u16>,
    /// Colour sums of the boxes of the current row.
    hsum: Vec<u16>,
}

impl BoxLuma {
    /// The boxes of `rect` (clipped to `image`) that lie wholly inside it.
    pub fn compute(&mut self, image: &RgbImage, rect: Rect, step: u32) {
        let rect = clip(rect, image.width(), image.height());
        let st = step.max(1) as usize;
        self.rect = rect;
        self.step = st as u32;
        if (rect.w as usize) < st || (rect.h as usize) < st {
            (self.w, self.h) = (0, 0);
            self.y.clear();
            return;
        }
        let (w, h) = (rect.w as usize + 1 - st, rect.h as usize + 1 - st);
        (self.w, self.h) = (w, h);
        self.y.resize(w * h, 0.0);
        let stride = image.width() as usize * 3;
        let bw = rect.w as usize * 3;
        let row = |y: usize| &image.as_raw()[y * stride + rect.x as usize * 3..][..bw];
        self.sums.clear();
        self.sums.resize(bw, 0);
        for k in 0..st - 1 {
            add_bytes(&mut self.sums, row(rect.y as usize + k));
        }
        let norm = 1.0 / (st * st) as f32;
        for j in 0..h {
            let y0 = rect.y as usize + j;
            add_bytes(&mut self.sums, row(y0 + st - 1));
            let out = &mut self.y[j * w..][..w];
            box_row(&self.sums, st, &mut self.hsum, out, norm);
            sub_row(&mut self.sums, row(y0));
        }
    }

    /// Whether the boxes of a `pw` × `ph`-sample placement at `(x, y)` are all held.
    pub fn covers(&self, x: u32, y: u32, pw: usize, ph: usize) -> bool {
        let st = self.step as usize;
        x >= self.rect.x
            && y >= self.rect.y
            && pw > 0
            && ph > 0
            && (x - self.rect.x) as usize + st * (pw - 1) < self.w
            && (y - self.rect.y) as usize + st * (ph - 1) < self.h
    }

    /// The block-mean luma of the `pw` × `ph`-sample placement at `(x, y)` into `out`, row
    /// by row (the placement must be covered, see [`BoxLuma::covers`]).
    pub fn gather(&self, x: u32, y: u32, pw: usize, ph: usize, out: &mut Vec<f32>) {
        let st = self.step as usize;
        let (ox, oy) = ((x - self.rect.x) as usize, (y - self.rect.y) as usize);
        out.resize(pw * ph, 0.0);
        for (j, o) in out.chunks_exact_mut(pw).enumerate() {
            let r = &self.y[(oy + st * j) * self.w + ox..][..st * (pw - 1) + 1];
            for (d, &v) in o.iter_mut().zip(r.iter().step_by(st)) {
                *d = v;
            }
        }
    }
}

avx2_when_available! {
fn sub_row(sums: &mut [u16], row: &[u8]) -> () {
    for (s, &v) in sums.iter_mut().zip(row) {
        *s = s.wrapping_sub(v as u16);
    }
}
}

avx2_when_available! {
/// The luma of each box of a row from the column sums (`st` columns a box): the boxes'
/// colour sums first, for every byte at once (`hsum`), then their luma.
fn box_row(sums: &[u16], st: usize, hsum: &mut Vec<u16>, out: &mut [f32], norm: f32) -> () {
    let n = 3 * out.len();
    hsum.clear();
    hsum.extend_from_slice(&sums[..n]);
    for k in 1..st {
        for (h, &v) in hsum.iter_mut().zip(&sums[3 * k..3 * k + n]) {
            *h += v;
        }
    }
    for (o, c) in out.iter_mut().zip(hsum.chunks_exact(3)) {
        *o = block_mean(c[0] as u32, c[1] as u32, c[2] as u32, norm).1;
    }
}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screen::planes::Planes;

    /// Any placement's block means read off the boxes, blurred, equal its own reduced luma
    /// plane bit for bit, whichever rectangle the boxes were computed for (a placement scores
    /// the same however it was reached).
    #[test]
    fn gathered_boxes_equal_the_placements_own_block_means() {
        let img = RgbImage::from_fn(97, 83, |x, y| {
            let v = (x * 37 + y * 101 + x * y) % 251;
            image::Rgb([v as u8, (v * 3 % 256) as u8, (255 - v) as u8])
        });
        for step in [2u32, 3, 4] {
            let mut whole = BoxLuma::default();
            whole.compute(&img, Rect::new(0, 0, 97, 83), step);
            let mut part = BoxLuma::default();
            part.compute(&img, Rect::new(5, 7, 60, 50), step);
            let (pw, ph) = (9usize, 7usize);
            for (x, y) in [(5u32, 7u32), (6, 9), (8, 8), (5 + 60 - 9 * step, 7)] {
                for boxes in [&whole, &part] {
                    assert!(boxes.covers(x, y, pw, ph), "step {step} at ({x}, {y})");
                    let mut got = Vec::new();
                    boxes.gather(x, y, pw, ph, &mut got);
                    let mut cut = Planes::default();
                    cut.y = got;
                    cut.blur_reduced_luma(pw, ph);
                    let mut planes = Planes::default();
                    planes.compute_reduced_luma(
                        &img,
                        Rect::new(x, y, pw as u32 * step, ph as u32 * step),
                        step,
                    );
                    assert_eq!(cut.y, planes.y, "step {step} at ({x}, {y})");
                }
            }
            assert!(!part.covers(4, 7, pw, ph));
            assert!(!part.covers(5 + 60 - 9 * step + 1, 7, pw, ph));
        }
    }
}
