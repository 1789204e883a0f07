//! The similarity of one region of a reference and the same-sized part of a screenshot.
//!
//! Definition (docs/matching.md has the reasoning and measurements):
//!
//! * Luma: the screenshot's smoothed luma `s` is explained by the reference's `t` through the
//!   best *small* brightness/contrast change `s ≈ a·t + b` with `a ∈ [GAIN_MIN, GAIN_MAX]`,
//!   `|b| ≤ OFFSET_MAX`; `E_y` is the mean squared residual. A bigger change (a button turned
//!   grey, a highlighted row) cannot be explained away and counts as an error.
//! * Chroma: `E_c` is the mean squared difference of the smoothed Cb and Cr, with no offset
//!   allowed: colour is part of what a screen says.
//! * Both errors are taken relative to how much structure the reference region has (its luma
//!   and chroma variance plus a floor for flat regions), after subtracting the noise floor that
//!   lossy encodings leave even on a perfect match:
//!   `r_y = max(0, E_y − NOISE_Y)/(V_y + FLOOR_Y)`, `r_c = max(0, E_c − NOISE_C)/(V_c + FLOOR_C)`.
//! * Local: the same relative luma error per tile of about 16 × 16 px (each tile allowed its
//!   own small brightness change); `r_l` is the worst tile's.
//! * `e = max(r_y + CHROMA_SQUARED·r_c², LOCAL_WEIGHT·r_l)`, `sim = 1 − e − e²`, clamped to
//!   [0, 1]. Identical pixels give exactly 1.

/// Smallest and largest luma gain a "small brightness change" may have.
pub const GAIN_MIN: f64 = 0.9;
pub const GAIN_MAX: f64 = 1.1;
/// Largest luma offset (in 0..255 units) a "small brightness change" may have.
pub const OFFSET_MAX: f64 = 12.0;
/// Mean squared luma error that is noise, not a difference (lossy encoding, 16-bit colour).
pub const NOISE_Y: f64 = 4.0;
/// The same for chroma (Cb and Cr errors summed).
pub const NOISE_C: f64 = 16.0;
/// Structure floor added to the reference's luma variance, so flat regions are judged on an
/// absolute scale (a mean squared error of FLOOR_Y is a full mismatch there).
pub const FLOOR_Y: f64 = 400.0;
/// The same for chroma.
pub const FLOOR_C: f64 = 200.0;
/// In the rank of placements ([`cost`]), chroma errors count this much relative to luma
/// errors (the similarity itself uses [`CHROMA_SQUARED`]). Lossy encodings keep luma and
/// throw chroma away (JPEG/Tight at quality 60 with 4:2:0 subsampling leaves relative chroma
/// errors of up to ~0.3 on coloured text, while swapped colours give 3.5 and more), so chroma
/// is judged 4× more coarsely in standard-deviation terms.
pub const CHROMA_WEIGHT: f64 = 1.0 / 16.0;
/// The similarity counts the relative chroma error `r` as `CHROMA_SQUARED · r²`: below
/// r = 0.5 (what lossy encodings leave) that is gentler than `CHROMA_WEIGHT · r`, above it
/// (a colour changed: r of 3 and more) it grows fast, so a changed colour fails even a
/// needle's lenient threshold.
pub const CHROMA_SQUARED: f64 = 1.0 / 8.0;
/// The worst tile's relative luma error counts this much (it is judged on far fewer pixels
/// than the region's mean, so more coarsely).
pub const LOCAL_WEIGHT: f64 = 1.0;

/// Weighted sums over the compared pixels of reference luma `t` and screenshot luma `s`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LumaSums {
    pub n: f64,
    pub t: f64,
    pub s: f64,
    pub tt: f64,
    pub ss: f64,
    pub st: f64,
}

/// Weighted sums over the chroma samples: squared differences and the reference's moments.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ChromaSums {
    pub n: f64,
    pub diff2: f64,
    pub cb: f64,
    pub cbb: f64,
    pub cr: f64,
    pub crr: f64,
}

/// The parts a similarity is made of, for reports and for tuning.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Components {
    pub luma_error: f64,
    pub luma_variance: f64,
    pub chroma_error: f64,
    pub chroma_variance: f64,
    /// The worst tile's relative luma error (each tile of about 16 × 16 px allowed its own
    /// small brightness change), 0 for a region of one tile. A change confined to a small
    /// part of a big region (mirrored text in a title bar of a window-sized region) is
    /// diluted in the region's mean but not here.
    pub local_error: f64,
}

impl LumaSums {
    /// Mean squared residual after the best allowed brightness change, and the reference's
    /// luma variance.
    pub fn error(&self) -> (f64, f64) {
        if self.n <= 0.0 {
            return (0.0, 0.0);
        }
        let n = self.n;
        let (mt, ms) = (self.t / n, self.s / n);
        let (mtt, mss, mst) = (self.tt / n, self.ss / n, self.st / n);
        let vt = (mtt - mt * mt).max(0.0);
        // E(a, b) = mean((s - a t - b)^2), a convex quadratic; minimise it over the box.
        let e = |a: f64, b: f64| {
            (mss - 2.0 * a * mst - 2.0 * b * ms + a * a * mtt + 2.0 * a * b * mt + b * b).max(0.0)
        };
        let clamp_a = |a: f64| a.clamp(GAIN_MIN, GAIN_MAX);
        let clamp_b = |b: f64| b.clamp(-OFFSET_MAX, OFFSET_MAX);
        let mut best = f64::INFINITY;
        if vt > 1e-9 {
            let a = (mst - mt * ms) / vt;
            let b = ms - a * mt;
            if (GAIN_MIN..=GAIN_MAX).contains(&a) && b.abs() <= OFFSET_MAX {
                best = e(a, b);
            }
        }
        // Edges a = const: best b; edges b = const: best a.
        for a in [GAIN_MIN, GAIN_MAX] {
            best = best.min(e(a, clamp_b(ms - a * mt)));
        }
        if mtt > 1e-9 {
            for b in [-OFFSET_MAX, OFFSET_MAX] {
                best = best.min(e(clamp_a((mst - b * mt) / mtt), b));
            }
        }
        // a = 1, b = 0 (no change) is inside the box; include it so rounding never loses it.
        best = best.min(e(1.0, clamp_b(ms - mt)));
        (best, vt)
    }
}

impl ChromaSums {
    /// Mean squared chroma difference and the reference's chroma variance (Cb + Cr).
    pub fn error(&self) -> (f64, f64) {
        if self.n <= 0.0 {
            return (0.0, 0.0);
        }
        let n = self.n;
        let vcb = (self.cbb / n - (self.cb / n).powi(2)).max(0.0);
        let vcr = (self.crr / n - (self.cr / n).powi(2)).max(0.0);
        (self.diff2 / n, vcb + vcr)
    }
}

/// `max(0, E − NOISE_Y) / (V + FLOOR_Y)` of a set of luma sums (after its own best small
/// brightness change).
pub fn relative_luma_error(luma: &LumaSums) -> f64 {
    let (e, v) = luma.error();
    (e - NOISE_Y).max(0.0) / (v + FLOOR_Y)
}

/// The similarity in [0, 1] and its components; `local` is the worst tile's relative luma
/// error ([`Components::local_error`]).
pub fn similarity(luma: &LumaSums, chroma: &ChromaSums, local: f64) -> (f64, Components) {
    let (ey, vy) = luma.error();
    let (ec, vc) = chroma.error();
    let c = Components {
        luma_error: ey,
        luma_variance: vy,
        chroma_error: ec,
        chroma_variance: vc,
        local_error: local,
    };
    (score(&c), c)
}

/// The similarity from its components.
pub fn score(c: &Components) -> f64 {
    let ly = (c.luma_error - NOISE_Y).max(0.0) / (c.luma_variance + FLOOR_Y);
    let rc = (c.chroma_error - NOISE_C).max(0.0) / (c.chroma_variance + FLOOR_C);
    let lc = CHROMA_SQUARED * rc * rc;
    // The quadratic term leaves small errors almost as they are (0.04 → 0.958) but takes
    // clearly different content (relative error 0.5 and more) to about 0, where needles
    // written for os-autoinst expect it: some use thresholds as low as 0.3 for "is there".
    let e = (ly + lc).max(LOCAL_WEIGHT * c.local_error);
    (1.0 - e - e * e).clamp(0.0, 1.0)
}

/// Rank of a placement (lower is better): the relative errors without the noise allowance
/// and without clamping, so it still orders placements where the similarity is 0.
pub fn cost(c: &Components) -> f64 {
    c.luma_error / (c.luma_variance + FLOOR_Y)
        + CHROMA_WEIGHT * c.chroma_error / (c.chroma_variance + FLOOR_C)
}

/// Rank of a candidate position on a coarse pyramid level (lower is better): minus the
/// zero-mean normalised correlation of the luma, plus the squared mean difference relative
/// to the template's variance. Correlation, unlike a squared error, does
/// not prefer flat parts of the screen over a slightly misaligned true position.
pub fn coarse_cost(luma: &LumaSums) -> f64 {
    if luma.n <= 0.0 {
        return 0.0;
    }
    let n = luma.n;
    let (mt, ms) = (luma.t / n, luma.s / n);
    let vt = (luma.tt / n - mt * mt).max(0.0);
    let vs = (luma.ss / n - ms * ms).max(0.0);
    let cov = luma.st / n - mt * ms;
    // A small variance floor keeps flat-on-flat from looking perfect; the mean term keeps
    // a dark-on-light row from passing for the light-on-dark (selected) one.
    1.0 - cov / ((vt + 25.0) * (vs + 25.0)).sqrt() + (ms - mt).powi(2) / (vt + FLOOR_Y)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sums(t: &[f64], s: &[f64]) -> LumaSums {
        let mut l = LumaSums::default();
        for (&a, &b) in t.iter().zip(s) {
            l.n += 1.0;
            l.t += a;
            l.s += b;
            l.tt += a * a;
            l.ss += b * b;
            l.st += a * b;
        }
        l
    }

    #[test]
    fn identical_luma_has_no_error() {
        let t: Vec<f64> = (0..100).map(|i| (i * 37 % 255) as f64).collect();
        let (e, v) = sums(&t, &t).error();
        assert!(e < 1e-6, "{e}");
        assert!(v > 100.0);
    }

    #[test]
    fn small_brightness_change_is_explained() {
        let t: Vec<f64> = (0..100).map(|i| (i * 37 % 200) as f64).collect();
        let s: Vec<f64> = t.iter().map(|v| v + 6.0).collect();
        assert!(sums(&t, &s).error().0 < 1e-6);
    }

    #[test]
    fn large_brightness_change_is_not() {
        let t: Vec<f64> = (0..100).map(|i| (i * 37 % 200) as f64).collect();
        let s: Vec<f64> = t.iter().map(|v| v * 0.5 + 100.0).collect();
        assert!(sums(&t, &s).error().0 > 100.0);
    }

    #[test]
    fn inverted_contrast_is_an_error() {
        let t: Vec<f64> = (0..100).map(|i| (i * 37 % 255) as f64).collect();
        let s: Vec<f64> = t.iter().map(|v| 255.0 - v).collect();
        let c = {
            let (ey, vy) = sums(&t, &s).error();
            Components {
                luma_error: ey,
                luma_variance: vy,
                chroma_error: 0.0,
                chroma_variance: 0.0,
                local_error: 0.0,
            }
        };
        assert_eq!(score(&c), 0.0);
    }
}
