//! Ruling a region out of a whole search window from mean luma alone.
//!
//! A region's luma error is a mean of squares, so it is at least the square of the mean
//! residual: `E_y ≥ (mean s − a·mean t − b)²` for whatever brightness change `(a, b)` the
//! similarity allows. A placement whose screenshot luma mean lies farther than a `reach`
//! from every mean the reference can be brightened to therefore cannot pass — however the
//! pixels are arranged. When that holds at *every* placement of the search window, the region
//! fails without a search: the decision is the one any search would come to, at the cost of
//! one box sum per placement.
//!
//! This is what a whole-screen change mostly looks like to a watched region: a dark side bar
//! watched where the new screen is light, a light dialog where it is dark. Regions whose
//! surroundings are as bright as they are (text on the same background) are not ruled out
//! this way; the test gives up at the first placement it cannot rule out, which is usually
//! the first one.
//!
//! The screenshot's planes are smoothed, and their mean over a placement is not the raw
//! pixels' mean: at full resolution the 5×5 binomial moves a little luma across the region's
//! edges (at most [`leak`] of it), at reduced resolution block means are blurred inside the
//! region with clamped edges, which keeps their mean. The raw box sums are integers, so no
//! rounding stands between them and the bound.

use image::RgbImage;

use super::simd::avx2_when_available;
use super::similarity::{FLOOR_Y, GAIN_MAX, GAIN_MIN, NOISE_Y, OFFSET_MAX};
use crate::rfb::Rect;

/// Luma as integers: BT.601 weights × 1000 (the planes use 0.299, 0.587, 0.114).
const LUMA_INT: [u32; 3] = [299, 587, 114];
const LUMA_SCALE: f64 = 1000.0;
/// Luma (0..255) the float planes and the integer sums may disagree by (float rounding).
const ROUNDING: f64 = 0.01;

/// The mean-luma test of one region ([`MeanBound::rules_out`]).
#[derive(Clone, Debug, PartialEq)]
pub struct MeanBound {
    /// The box of pixels (from the placement's top-left corner) whose raw luma mean the
    /// region's smoothed samples average to, within the leak.
    box_w: u32,
    box_h: u32,
    /// A placement whose raw box mean lies in `lo..=hi` might pass; outside it cannot.
    lo: f64,
    hi: f64,
    /// How far the smoothed samples' mean may be from the raw box mean ([`leak`]).
    leak: f64,
}

impl MeanBound {
    /// The bound of an unmasked region whose smoothed reference luma has `n` samples summing
    /// to `sum` (squares `sum_sq`), compared over a `box_w` × `box_h` box of pixels (at
    /// `step` px a sample) with `threshold`, less `slack` for rounding. `None` when nothing
    /// can be ruled out (a threshold of 0).
    pub fn new(
        (sum, sum_sq, n): (f64, f64, f64),
        (box_w, box_h): (u32, u32),
        step: u32,
        threshold: f64,
        slack: f64,
    ) -> Option<MeanBound> {
        let floor = threshold - slack;
        if n <= 0.0 || box_w == 0 || box_h == 0 || floor <= 0.0 {
            return None;
        }
        let mean = sum / n;
        let variance = (sum_sq / n - mean * mean).max(0.0);
        // The relative luma error r at which 1 − r − r² falls below the threshold.
        let r = (-1.0 + (1.0 + 4.0 * (1.0 - floor)).sqrt()) / 2.0;
        // r_y = (E_y − NOISE_Y) / (V + FLOOR_Y) > r once the mean residual exceeds this.
        let reach = (NOISE_Y + r * (variance + FLOOR_Y)).sqrt();
        let leak = if step == 1 { leak(box_w, box_h) } else { 0.0 };
        let slack = reach + leak + ROUNDING;
        Some(MeanBound {
            box_w,
            box_h,
            lo: GAIN_MIN * mean - OFFSET_MAX - slack,
            hi: GAIN_MAX * mean + OFFSET_MAX + slack,
            leak,
        })
    }

    /// Whether a placement whose smoothed samples average `mean` is one [`rules_out`] keeps:
    /// then so is the window that holds it, and testing the window is wasted.
    ///
    /// [`rules_out`]: MeanBound::rules_out
    pub fn admits(&self, mean: f64) -> bool {
        let margin = self.leak + ROUNDING;
        (self.lo + margin..=self.hi - margin).contains(&mean)
    }

    /// Whether every placement with its top-left corner in `x0..=x1`, `y0..=y1` is ruled
    /// out (their boxes must lie inside `image`). Stops at the first placement that is not.
    pub fn rules_out(
        &self,
        image: &RgbImage,
        (x0, y0, x1, y1): (u32, u32, u32, u32),
        cols: &mut Vec<u32>,
    ) -> bool {
        let (bw, bh) = (self.box_w as usize, self.box_h as usize);
        let across = (x1 - x0) as usize + 1;
        let w = across - 1 + bw;
        if x1 as usize + bw > image.width() as usize || y1 as usize + bh > image.height() as usize {
            return false;
        }
        let stride = image.width() as usize * 3;
        let raw = image.as_raw();
        let row = |y: usize| &raw[y * stride + x0 as usize * 3..][..w * 3];
        // Column sums of the box's rows (luma × 1000 < 2^18 a pixel, 768 rows < 2^28),
        // slid down a row at a time.
        cols.clear();
        cols.resize(w, 0);
        for y in y0 as usize..y0 as usize + bh {
            add_luma_row(cols, row(y));
        }
        let scale = 1.0 / (LUMA_SCALE * (bw * bh) as f64);
        let (lo, hi) = (self.lo, self.hi);
        for y in y0..=y1 {
            let mut s: u64 = cols[..bw].iter().map(|&c| c as u64).sum();
            for i in 0..across {
                let mean = s as f64 * scale;
                if (lo..=hi).contains(&mean) {
                    return false;
                }
                if i + 1 < across {
                    s = s + cols[i + bw] as u64 - cols[i] as u64;
                }
            }
            if y < y1 {
                add_luma_row(cols, row(y as usize + bh));
                sub_luma_row(cols, row(y as usize));
            }
        }
        true
    }

    /// Whether an ignored rectangle takes pixels out of some placement in the window (the
    /// sums would then be over fewer pixels than the box).
    pub fn ignored_in(&self, ignore: &[Rect], (x0, y0, x1, y1): (u32, u32, u32, u32)) -> bool {
        let window = Rect::new(x0, y0, x1 - x0 + self.box_w, y1 - y0 + self.box_h);
        ignore.iter().any(|r| r.intersects(&window))
    }
}

/// How far (luma) the mean of a `w` × `h` region's smoothed luma can be from its raw pixels'
/// mean. The 5×5 binomial `[1 4 6 4 1]/16` moves `Σ d·k(d) = 0.375` px worth of each edge
/// pixel row out of the region (and as much in): `P = 2·0.375·(w + h) − 4·0.375²` pixels'
/// worth each way, each at most 255 apart. Clamping at the image's edges only keeps more in.
pub fn leak(w: u32, h: u32) -> f64 {
    const L: f64 = 0.375;
    let (w, h) = (w as f64, h as f64);
    let moved = (2.0 * L * (w + h) - 4.0 * L * L).max(0.0);
    255.0 * moved / (w * h)
}

avx2_when_available! {
/// Adds the integer luma of each pixel of `row` (RGB bytes) to its column sum.
fn add_luma_row(cols: &mut [u32], row: &[u8]) -> () {
    for (c, p) in cols.iter_mut().zip(row.chunks_exact(3)) {
        *c += LUMA_INT[0] * p[0] as u32 + LUMA_INT[1] * p[1] as u32 + LUMA_INT[2] * p[2] as u32;
    }
}
}

avx2_when_available! {
/// Takes the integer luma of each pixel of `row` away from its column sum.
fn sub_luma_row(cols: &mut [u32], row: &[u8]) -> () {
    for (c, p) in cols.iter_mut().zip(row.chunks_exact(3)) {
        *c -= LUMA_INT[0] * p[0] as u32 + LUMA_INT[1] * p[1] as u32 + LUMA_INT[2] * p[2] as u32;
    }
}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screen::planes::{Planes, luma};
    use crate::screen::search::{ExactScratch, exact};
    use crate::screen::template::Template;
    use proptest::prelude::*;

    /// A busy image: blocks of random colour with random single pixels.
    fn image(seed: u64, w: u32, h: u32, base: u8) -> RgbImage {
        let mut x = seed | 1;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let blocks: Vec<[u8; 3]> = (0..64)
            .map(|_| {
                let v = next();
                [0, 1, 2].map(|k| base.saturating_add((v >> (8 * k)) as u8 % 80))
            })
            .collect();
        RgbImage::from_fn(w, h, |px, py| {
            let v = next();
            if v % 7 == 0 {
                image::Rgb([v as u8, (v >> 8) as u8, (v >> 16) as u8])
            } else {
                image::Rgb(blocks[((px / 5 + py / 3 * 7) % 64) as usize])
            }
        })
    }

    fn raw_mean(img: &RgbImage, r: Rect) -> f64 {
        let mut s = 0f64;
        for y in r.y..r.bottom() {
            for x in r.x..r.right() {
                s += luma(img.get_pixel(x, y).0) as f64;
            }
        }
        s / (r.w * r.h) as f64
    }

    proptest! {
        #[test]
        fn smoothed_mean_is_within_the_leak_of_the_raw_mean(
            seed in 0u64..1000, x in 0u32..30, y in 0u32..20, w in 1u32..40, h in 1u32..30,
        ) {
            let img = image(seed, 60, 45, 0);
            let r = Rect::new(x, y, w.min(60 - x), h.min(45 - y));
            let p = Planes::of(&img, r);
            let smoothed = p.y.iter().map(|&v| v as f64).sum::<f64>() / p.y.len() as f64;
            let raw = raw_mean(&img, r);
            prop_assert!((smoothed - raw).abs() <= leak(r.w, r.h) + ROUNDING,
                "smoothed {smoothed} raw {raw} leak {}", leak(r.w, r.h));
        }

        #[test]
        fn reduced_planes_keep_the_raw_mean_of_their_blocks(
            seed in 0u64..1000, x in 0u32..20, y in 0u32..20, w in 8u32..60, h in 8u32..40,
            step in prop::sample::select(vec![2u32, 4]),
        ) {
            let img = image(seed, 80, 60, 0);
            let r = Rect::new(x, y, w, h);
            let mut p = Planes::default();
            p.compute_reduced_luma(&img, r, step);
            let mean = p.y.iter().map(|&v| v as f64).sum::<f64>() / p.y.len() as f64;
            let blocks = Rect::new(x, y, step * p.rect.w, step * p.rect.h);
            prop_assert!((mean - raw_mean(&img, blocks)).abs() <= ROUNDING);
        }

        /// Wherever the bound rules a window out, no placement in it passes.
        #[test]
        fn a_window_ruled_out_holds_no_passing_placement(
            seed in 0u64..300, base in 0u8..200, threshold in 0.3f64..1.0,
            w in 6u32..40, h in 6u32..30,
        ) {
            let reference = image(seed, 70, 50, 60);
            let shot = image(seed ^ 0x55, 70, 50, base);
            let rect = Rect::new(12, 9, w, h);
            let t = Template::new(&reference, rect, None, threshold, 6);
            let mb = t.mean_bound.clone().expect("an unmasked region has a bound");
            let window = (6, 3, 18, 15);
            if mb.rules_out(&shot, window, &mut Vec::new()) {
                let mut es = ExactScratch::default();
                for py in window.1..=window.3 {
                    for px in window.0..=window.2 {
                        let p = Planes::of(&shot, Rect::new(px, py, w, h));
                        let (sim, _) = exact(&t, &p, (px, py), &[], crate::screen::search::Score::Full, &mut es);
                        prop_assert!(sim < threshold, "ruled out, yet {sim} at ({px}, {py})");
                    }
                }
            }
        }
    }

    #[test]
    fn a_dark_region_is_ruled_out_of_a_light_screen_but_not_of_its_own() {
        let reference = image(7, 70, 50, 10);
        let light = image(8, 70, 50, 170);
        let t = Template::new(&reference, Rect::new(12, 9, 30, 20), None, 0.9, 6);
        let mb = t.mean_bound.clone().unwrap();
        let mut cols = Vec::new();
        assert!(mb.rules_out(&light, (6, 3, 18, 15), &mut cols));
        assert!(!mb.rules_out(&reference, (6, 3, 18, 15), &mut cols));
    }

    #[test]
    fn masked_regions_and_a_zero_threshold_have_no_bound() {
        let img = image(3, 40, 30, 0);
        let r = Rect::new(2, 2, 20, 10);
        let mut weights = vec![1.0; 200];
        weights[0] = 0.0;
        assert!(
            Template::new(&img, r, Some(weights), 0.9, 5)
                .mean_bound
                .is_none()
        );
        assert!(Template::new(&img, r, None, 0.0, 5).mean_bound.is_none());
    }
}
