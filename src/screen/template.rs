//! One compared region of a reference, with everything the matcher needs precomputed at load:
//! the smoothed planes, the mask weights and the coarse luma pyramid used for searching.

use image::RgbImage;

use super::mean_bound::MeanBound;
use super::planes::{LumaPyramid, Planes, halve, halve_across};
use super::search::BOUND_SLACK;
use crate::rfb::Rect;

/// The coarsest pyramid level used for searching (blocks of 2^3 = 8 px).
const MAX_LEVEL: usize = 3;
/// Samples each way a template must keep at level 1, 2, 3 (2×2, 4×4, 8×8 blocks) for that
/// level to be used. A template placed half a block off the block grid looks different at a
/// coarse level, and a small one then loses against look-alike rows elsewhere (the true place
/// must stay among the candidates): level 3 needs 8 (a 140 × 60 region, 7 samples tall there,
/// missed a move of 7 px), level 2 makes do with 6 (regions 24–31 px tall rank ~700
/// placements there instead of ~2,600 at level 1; the benchmarks' answers are the same).
const MIN_SIDE: [usize; MAX_LEVEL] = [5, 6, 8];

/// One coarse pyramid level of a template.
#[derive(Clone, Debug)]
pub struct CoarseLevel {
    pub w: usize,
    pub h: usize,
    pub luma: Vec<f32>,
    /// Fraction of each block that is compared (1 where no mask).
    pub weight: Vec<f32>,
    /// Every weight is 1 (the fast unweighted sums apply).
    pub full: bool,
    /// `luma` minus its mean: correlating with it needs no large cancelling sums.
    pub centred: Vec<f32>,
    /// Pixel count, Σt and Σt² of the level (unweighted).
    pub n: f64,
    pub sum: f64,
    pub sum_sq: f64,
}

/// Samples across a region must keep at its wide level for that level to be used (its
/// blocks are twice as wide as tall, so a line of text keeps many samples across while its
/// placements and samples to rank halve).
const WIDE_MIN_ACROSS: usize = 16;

impl CoarseLevel {
    fn new(w: usize, h: usize, luma: Vec<f32>, weight: Vec<f32>) -> CoarseLevel {
        let n = luma.len() as f64;
        let sum = luma.iter().map(|&v| v as f64).sum();
        let sum_sq = luma.iter().map(|&v| (v as f64) * (v as f64)).sum();
        let mean = (sum / n) as f32;
        CoarseLevel {
            w,
            h,
            centred: luma.iter().map(|&v| v - mean).collect(),
            luma,
            full: weight.iter().all(|&v| v == 1.0),
            n,
            sum,
            sum_sq,
            weight,
        }
    }
}

/// A region of a reference: where it is expected, how similar it must be and how far it may
/// have moved.
#[derive(Clone, Debug)]
pub struct Template {
    /// Where the region is in the reference.
    pub rect: Rect,
    /// Similarity the region must reach, in [0, 1].
    pub threshold: f64,
    /// How far (px) from `rect` the region may be found.
    pub margin: u32,
    /// Smoothed Y/Cb/Cr of the region (computed with the reference's surroundings), at full
    /// resolution, or at 1/`step` resolution.
    pub planes: Planes,
    /// 1, or 2 or 4 for regions of more than [`MAX_SAMPLES`] pixels (see [`step_for`]): those are
    /// compared at reduced resolution ([`Planes::compute_reduced`]).
    pub step: u32,
    /// Width and height of `planes` (and of `weights`).
    pub plane_w: usize,
    pub plane_h: usize,
    /// Per-sample weight of `planes` (0 = ignored, 1 = compared; fractions at reduced
    /// resolution), `None` when every pixel is compared.
    pub weights: Option<Vec<f32>>,
    /// Σt and Σt² of the smoothed luma `planes.y` (every sample), so that ranking a placement
    /// of an unmasked region only sums the screenshot's side ([`crate::screen::search`]).
    pub luma_sum: f64,
    pub luma_sum_sq: f64,
    /// Levels 1..=k of the luma pyramid (`coarse[k-1]` is level k).
    pub coarse: Vec<CoarseLevel>,
    /// For a wide region, the level above level k with blocks twice as wide
    /// ([`LumaPyramid::compute_wide`]): placements are ranked there.
    pub wide: Option<CoarseLevel>,
    /// For an unmasked region: the mean luma a placement needs to have a chance
    /// ([`MeanBound`]), so a search window where none has it is ruled out at once.
    pub mean_bound: Option<MeanBound>,
    /// Luma of the reference just outside the region (x, y, luma), for telling a moved
    /// screen from content that changed in place (see `search::surroundings_stayed`).
    pub ring: Vec<(u32, u32, f32)>,
}

/// A region is compared with at most this many samples: every pixel up to this size, then
/// 2×2 or (above four times this) 4×4 block means.
pub const MAX_SAMPLES: u32 = 20_000;

/// Sample step a region is compared at: the smallest of 1, 2, 4 that keeps it within
/// [`MAX_SAMPLES`] samples (4 at most). A region that big says what it says with its layout —
/// text lines, icons, buttons — which survives block means, while the cost of comparing it
/// stays bounded.
fn step_for(rect: Rect) -> u32 {
    let px = rect.w * rect.h;
    if px <= MAX_SAMPLES || rect.w < 16 || rect.h < 16 {
        1
    } else if px / 4 <= MAX_SAMPLES || rect.w < 32 || rect.h < 32 {
        2
    } else {
        4
    }
}

/// Width (px) of the band around a region kept in [`Template::ring`].
pub const RING: u32 = 4;

fn ring(image: &RgbImage, rect: Rect) -> Vec<(u32, u32, f32)> {
    let (iw, ih) = image.dimensions();
    let x0 = rect.x.saturating_sub(RING);
    let y0 = rect.y.saturating_sub(RING);
    let x1 = (rect.right() + RING).min(iw);
    let y1 = (rect.bottom() + RING).min(ih);
    let mut out = Vec::new();
    for y in y0..y1 {
        for x in x0..x1 {
            let inside = x >= rect.x && x < rect.right() && y >= rect.y && y < rect.bottom();
            if !inside {
                out.push((x, y, super::planes::luma(image.get_pixel(x, y).0)));
            }
        }
    }
    out
}

impl Template {
    /// Builds the template of `rect` of `image`. `weights` (rect-sized, row-major, 0 or 1)
    /// leaves pixels out; `None` compares all.
    pub fn new(
        image: &RgbImage,
        rect: Rect,
        weights: Option<Vec<f32>>,
        threshold: f64,
        margin: u32,
    ) -> Template {
        let weights = weights.filter(|w| w.iter().any(|&v| v < 1.0));
        let (w, h) = (rect.w as usize, rect.h as usize);
        let step = step_for(rect);
        let (planes, compare_weights) = if step > 1 {
            let mut p = Planes::default();
            p.compute_reduced(image, rect, step);
            let reduced = weights.as_ref().map(|wt| {
                let mut l = (w, h, wt.clone());
                for _ in 0..step.trailing_zeros() {
                    l = halve(l.0, l.1, &l.2);
                }
                l.2
            });
            (p, reduced)
        } else {
            (Planes::of(image, rect), weights.clone())
        };
        let (plane_w, plane_h) = (planes.rect.w as usize, planes.rect.h as usize);
        let mut levels = 0;
        while levels < MAX_LEVEL && {
            let min = MIN_SIDE[levels];
            (w >> (levels + 1)) >= min && (h >> (levels + 1)) >= min
        } {
            levels += 1;
        }
        let mut pyramid = LumaPyramid::default();
        pyramid.compute(image, rect, levels);
        let wide = levels > 0 && (w >> (levels + 1)) >= WIDE_MIN_ACROSS;
        if wide {
            pyramid.compute_wide();
        }
        let mut coarse = Vec::with_capacity(levels);
        let mut wl = (w, h, weights.clone().unwrap_or_else(|| vec![1.0; w * h]));
        for (lw, lh, luma) in pyramid.levels {
            wl = halve(wl.0, wl.1, &wl.2);
            debug_assert_eq!((wl.0, wl.1), (lw, lh));
            coarse.push(CoarseLevel::new(lw, lh, luma, wl.2.clone()));
        }
        let wide = wide.then(|| {
            let (lw, lh, luma) = pyramid.wide;
            let wl = halve_across(wl.0, wl.1, &wl.2);
            debug_assert_eq!((wl.0, wl.1), (lw, lh));
            CoarseLevel::new(lw, lh, luma, wl.2)
        });
        let luma_sum = planes.y.iter().map(|&v| v as f64).sum();
        let luma_sum_sq = planes.y.iter().map(|&v| v as f64 * v as f64).sum();
        let mean_bound = if compare_weights.is_none() {
            MeanBound::new(
                (luma_sum, luma_sum_sq, (plane_w * plane_h) as f64),
                (step * plane_w as u32, step * plane_h as u32),
                step,
                threshold,
                BOUND_SLACK,
            )
        } else {
            None
        };
        Template {
            mean_bound,
            luma_sum,
            luma_sum_sq,
            step,
            plane_w,
            plane_h,
            ring: ring(image, rect),
            rect,
            threshold,
            margin,
            planes,
            weights: compare_weights,
            coarse,
            wide,
        }
    }

    /// Number of compared pixels.
    pub fn compared_pixels(&self) -> usize {
        let per = (self.step * self.step) as usize;
        match &self.weights {
            Some(w) => w.iter().filter(|&&v| v > 0.0).count() * per,
            None => (self.rect.w * self.rect.h) as usize,
        }
    }
}
