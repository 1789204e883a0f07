//! The representation screens are compared in: smoothed luma and chroma planes.
//!
//! Pixels are turned into BT.601 luma (Y) and two colour-difference channels (Cb, Cr), because
//! what sessions do to pixels separates along those lines: JPEG/Tight keep luma detail but blur
//! chroma (4:2:0 subsampling), a brightness change moves luma only, while a colour change (a red
//! button turned green) lives in chroma. All three get a 5×5 binomial blur (σ ≈ 1 px): it
//! absorbs noise and slight font-rendering blur but keeps strokes, and of chroma only the
//! coarse layout is meaningful after lossy encoding anyway.
//! See docs/matching.md.

use image::RgbImage;

use super::simd::avx2_when_available;
use crate::rfb::Rect;

/// Luma weights of ITU-R BT.601.
const KR: f32 = 0.299;
const KG: f32 = 0.587;
const KB: f32 = 0.114;
/// Colour-difference scales of BT.601 (so Cb, Cr span about ±128 like Y spans 0..255).
const CB_SCALE: f32 = 0.564;
const CR_SCALE: f32 = 0.713;
/// Border (in pixels) the smoothing reads around a rectangle.
pub const PAD: u32 = 2;

#[inline]
pub fn luma(p: [u8; 3]) -> f32 {
    KR * p[0] as f32 + KG * p[1] as f32 + KB * p[2] as f32
}

/// Smoothed Y, Cb, Cr of one rectangle of an image, row-major, `rect.w` values a row.
#[derive(Clone, Debug, Default)]
pub struct Planes {
    pub rect: Rect,
    pub y: Vec<f32>,
    pub cb: Vec<f32>,
    pub cr: Vec<f32>,
    /// `cb` and `cr` belong to `rect` too ([`Planes::compute_luma`] leaves them stale).
    pub chroma: bool,
    scratch: Scratch,
}

#[derive(Clone, Debug, Default)]
struct Scratch {
    /// One channel of the expanded rectangle, unsmoothed, then smoothed across.
    raw: Vec<f32>,
    h: Vec<f32>,
    /// Column sums of block rows ([`Planes::compute_reduced`]; at most 4 rows of bytes).
    sums: Vec<u16>,
}

impl Planes {
    /// The planes of `rect` (clipped to the image) of `image`.
    pub fn of(image: &RgbImage, rect: Rect) -> Planes {
        let mut p = Planes::default();
        p.compute(image, rect);
        p
    }

    /// Recomputes the planes for `rect` of `image`, reusing the buffers.
    pub fn compute(&mut self, image: &RgbImage, rect: Rect) {
        self.compute_luma(image, rect);
        self.add_chroma(image);
    }

    /// Recomputes only the luma plane for `rect` (a third of the work): ranking placements
    /// looks at luma alone.
    pub fn compute_luma(&mut self, image: &RgbImage, rect: Rect) {
        let rect = clip(rect, image.width(), image.height());
        self.rect = rect;
        self.chroma = false;
        smooth(image, rect, Channel::Y, &mut self.y, &mut self.scratch);
    }

    /// Adds the chroma planes of the luma computed last ([`Planes::compute_luma`]), so a
    /// placement whose luma already rules it out never pays for its chroma.
    pub fn add_chroma(&mut self, image: &RgbImage) {
        if !self.chroma {
            smooth(
                image,
                self.rect,
                Channel::Cb,
                &mut self.cb,
                &mut self.scratch,
            );
            smooth(
                image,
                self.rect,
                Channel::Cr,
                &mut self.cr,
                &mut self.scratch,
            );
            self.chroma = true;
        }
    }

    /// The reduced-resolution planes of `rect` (used for large regions): `step`×`step` block
    /// means of Y, Cb and Cr (`step` 2 or 4), then a [1 2 1] blur both ways clamped at the
    /// rectangle's own edges (at step 2 about the same smoothing as the full-resolution 5×5
    /// binomial). `self.rect` becomes `(rect.x, rect.y, rect.w / step, rect.h / step)`.
    pub fn compute_reduced(&mut self, image: &RgbImage, rect: Rect, step: u32) {
        self.compute_reduced_planes(image, rect, step, true);
    }

    /// [`Planes::compute_reduced`] for the luma plane only (ranking placements).
    pub fn compute_reduced_luma(&mut self, image: &RgbImage, rect: Rect, step: u32) {
        self.compute_reduced_planes(image, rect, step, false);
    }

    /// Blurs the `w` × `h` block means of luma in `self.y` as [`Planes::compute_reduced_luma`]
    /// does: with block means from elsewhere (a [`BoxLuma`]), the same values as computing
    /// the placement's planes.
    ///
    /// [`BoxLuma`]: super::box_luma::BoxLuma
    pub fn blur_reduced_luma(&mut self, w: usize, h: usize) {
        debug_assert_eq!(self.y.len(), w * h);
        self.rect = Rect::new(0, 0, w as u32, h as u32);
        self.chroma = false;
        let mut level = (w, h, std::mem::take(&mut self.y));
        blur_121(&mut level, &mut self.scratch.h);
        self.y = level.2;
    }

    fn compute_reduced_planes(&mut self, image: &RgbImage, rect: Rect, step: u32, chroma: bool) {
        let (iw, ih) = image.dimensions();
        let rect = clip(rect, iw, ih);
        let st = step.max(1) as usize;
        let (w, h) = (rect.w as usize / st, rect.h as usize / st);
        self.rect = Rect::new(rect.x, rect.y, w as u32, h as u32);
        self.chroma = chroma;
        let n = w * h;
        for v in [&mut self.y, &mut self.cb, &mut self.cr] {
            v.resize(n, 0.0);
        }
        if n == 0 {
            return;
        }
        let raw = image.as_raw();
        let stride = iw as usize * 3;
        let sc = &mut self.scratch;
        // Column sums of the block rows (bytes added as integers: vectorised), then the
        // blocks' sums of r, g, b from those.
        let bw = w * st * 3;
        sc.sums.clear();
        sc.sums.resize(bw, 0);
        let norm = 1.0 / (st * st) as f32;
        for j in 0..h {
            sc.sums.fill(0);
            for k in 0..st {
                let row =
                    &raw[(rect.y as usize + st * j + k) * stride + rect.x as usize * 3..][..bw];
                add_bytes(&mut sc.sums, row);
            }
            let out = (j * w)..(j * w + w);
            for (((blk, oy), ocb), ocr) in sc
                .sums
                .chunks_exact(st * 3)
                .zip(&mut self.y[out.clone()])
                .zip(&mut self.cb[out.clone()])
                .zip(&mut self.cr[out])
            {
                let (mut r, mut g, mut b) = (0u32, 0u32, 0u32);
                for px in blk.chunks_exact(3) {
                    r += px[0] as u32;
                    g += px[1] as u32;
                    b += px[2] as u32;
                }
                let ([r, _, b], y) = block_mean(r, g, b, norm);
                *oy = y;
                *ocb = CB_SCALE * (b - y);
                *ocr = CR_SCALE * (r - y);
            }
        }
        let tmp = &mut self.scratch.h;
        let planes = if chroma { 3 } else { 1 };
        for plane in [&mut self.y, &mut self.cb, &mut self.cr]
            .into_iter()
            .take(planes)
        {
            let mut level = (w, h, std::mem::take(plane));
            blur_121(&mut level, tmp);
            *plane = level.2;
        }
    }

    /// True when `r` lies wholly inside these planes.
    pub fn covers(&self, r: Rect) -> bool {
        r.x >= self.rect.x
            && r.y >= self.rect.y
            && r.right() <= self.rect.right()
            && r.bottom() <= self.rect.bottom()
    }
}

/// A plane [`Planes`] holds.
#[derive(Clone, Copy)]
enum Channel {
    Y,
    Cb,
    Cr,
}

/// The smoothed `channel` of `rect` (already clipped) of `image` into `out` (`rect.w` values
/// a row): the 5×5 binomial, reading [`PAD`] pixels around `rect`, clamped at the image's
/// edges (so the planes of a part equal the same part of the whole image's).
fn smooth(image: &RgbImage, rect: Rect, channel: Channel, out: &mut Vec<f32>, s: &mut Scratch) {
    let (iw, ih) = image.dimensions();
    let (w, h) = (rect.w as usize, rect.h as usize);
    // Resized, not cleared: every value is written below, and zeroing them cost as much as a
    // tenth of a check.
    out.resize(w * h, 0.0);
    if w * h == 0 {
        return;
    }
    // The expanded rectangle the filter reads, clamped to the image.
    let ex0 = rect.x.saturating_sub(PAD);
    let ey0 = rect.y.saturating_sub(PAD);
    let ex1 = (rect.right() + PAD).min(iw);
    let ey1 = (rect.bottom() + PAD).min(ih);
    let ew = (ex1 - ex0) as usize;
    let eh = (ey1 - ey0) as usize;
    let raw = image.as_raw();
    let stride = iw as usize * 3;
    s.raw.resize(ew * eh, 0.0);
    s.h.resize(eh * w, 0.0);
    for row in 0..eh {
        let src = &raw[(ey0 as usize + row) * stride + ex0 as usize * 3..][..ew * 3];
        let dst = &mut s.raw[row * ew..][..ew];
        match channel {
            Channel::Y => luma_row(src, dst),
            Channel::Cb => cb_row(src, dst),
            Channel::Cr => cr_row(src, dst),
        }
    }
    let off = (rect.x - ex0) as usize;
    for row in 0..eh {
        hblur5(&s.raw[row * ew..][..ew], &mut s.h[row * w..][..w], off);
    }
    for r in 0..h {
        let mut k = [0usize; 5];
        for (d, kd) in k.iter_mut().enumerate() {
            let y = (rect.y as i64 + r as i64 + d as i64 - 2).clamp(0, ih as i64 - 1);
            *kd = (y - ey0 as i64) as usize * w;
        }
        vblur5(&s.h, &k, w, &mut out[r * w..][..w]);
    }
}

avx2_when_available! {
/// BT.601 Cb of a row of RGB pixels (scaled to span about ±128).
fn cb_row(src: &[u8], out: &mut [f32]) -> () {
    for (d, px) in out.iter_mut().zip(src.chunks_exact(3)) {
        let (r, g, b) = (px[0] as f32, px[1] as f32, px[2] as f32);
        *d = CB_SCALE * (b - (KR * r + KG * g + KB * b));
    }
}
}

avx2_when_available! {
/// BT.601 Cr of a row of RGB pixels (scaled to span about ±128).
fn cr_row(src: &[u8], out: &mut [f32]) -> () {
    for (d, px) in out.iter_mut().zip(src.chunks_exact(3)) {
        let (r, g, b) = (px[0] as f32, px[1] as f32, px[2] as f32);
        *d = CR_SCALE * (r - (KR * r + KG * g + KB * b));
    }
}
}

/// The mean colour of a block from its colour sums (`norm` = 1 / its pixels) and its luma:
/// the one definition [`Planes::compute_reduced`] and [`BoxLuma`] share, so a block's luma is
/// the same value whichever of them summed it.
///
/// [`BoxLuma`]: super::box_luma::BoxLuma
#[inline(always)]
pub(crate) fn block_mean(r: u32, g: u32, b: u32, norm: f32) -> ([f32; 3], f32) {
    let (r, g, b) = (r as f32 * norm, g as f32 * norm, b as f32 * norm);
    ([r, g, b], KR * r + KG * g + KB * b)
}

avx2_when_available! {
/// Adds each byte of `row` to its column sum (sums of a few rows of bytes fit in u16; they
/// wrap harmlessly where rows are taken away again).
pub(crate) fn add_bytes(sums: &mut [u16], row: &[u8]) -> () {
    for (s, &v) in sums.iter_mut().zip(row) {
        *s = s.wrapping_add(v as u16);
    }
}
}

avx2_when_available! {
/// BT.601 luma of a row of RGB pixels.
fn luma_row(src: &[u8], y: &mut [f32]) -> () {
    for (d, px) in y.iter_mut().zip(src.chunks_exact(3)) {
        *d = KR * px[0] as f32 + KG * px[1] as f32 + KB * px[2] as f32;
    }
}
}

avx2_when_available! {
/// The [1 4 6 4 1]/16 binomial of `src` for output columns `off..off + dst.len()` of `src`,
/// edges clamped. Interior columns take a branch-free path the compiler vectorises.
fn hblur5(src: &[f32], dst: &mut [f32], off: usize) -> () {
    let ew = src.len();
    let w = dst.len();
    let tap = |c: usize, d: i64| src[((c + off) as i64 + d).clamp(0, ew as i64 - 1) as usize];
    let lo = 2usize.saturating_sub(off).min(w);
    let hi = (ew.saturating_sub(2 + off)).clamp(lo, w);
    for c in (0..lo).chain(hi..w) {
        dst[c] = (tap(c, -2) + 4.0 * tap(c, -1) + 6.0 * tap(c, 0) + 4.0 * tap(c, 1) + tap(c, 2))
            * (1.0 / 16.0);
    }
    if hi > lo {
        let n = hi - lo;
        let b = lo + off;
        let (s0, s1, s2, s3, s4) = (
            &src[b - 2..b - 2 + n],
            &src[b - 1..b - 1 + n],
            &src[b..b + n],
            &src[b + 1..b + 1 + n],
            &src[b + 2..b + 2 + n],
        );
        for (i, d) in dst[lo..hi].iter_mut().enumerate() {
            *d = (s0[i] + 4.0 * s1[i] + 6.0 * s2[i] + 4.0 * s3[i] + s4[i]) * (1.0 / 16.0);
        }
    }
}
}

avx2_when_available! {
/// The vertical [1 4 6 4 1]/16 binomial of rows starting at `k[0..5]` (offsets into `src`).
fn vblur5(src: &[f32], k: &[usize; 5], w: usize, dst: &mut [f32]) -> () {
    let (r0, r1, r2, r3, r4) = (
        &src[k[0]..k[0] + w],
        &src[k[1]..k[1] + w],
        &src[k[2]..k[2] + w],
        &src[k[3]..k[3] + w],
        &src[k[4]..k[4] + w],
    );
    for (i, d) in dst.iter_mut().enumerate() {
        *d = (r0[i] + 4.0 * r1[i] + 6.0 * r2[i] + 4.0 * r3[i] + r4[i]) * (1.0 / 16.0);
    }
}
}

/// `r` clipped to a `w` × `h` image.
pub fn clip(r: Rect, w: u32, h: u32) -> Rect {
    let x0 = r.x.min(w);
    let y0 = r.y.min(h);
    let x1 = r.right().min(w);
    let y1 = r.bottom().min(h);
    Rect::new(x0, y0, x1 - x0, y1 - y0)
}

/// A pyramid of block-averaged raw luma: level `k` averages 2^k × 2^k blocks, starting at the
/// rectangle's corner. Used only to find candidate positions quickly; the decision is always
/// made on [`Planes`] at full resolution.
#[derive(Clone, Debug, Default)]
pub struct LumaPyramid {
    /// `levels[k - 1]` is level k: (width, height, values).
    pub levels: Vec<(usize, usize, Vec<f32>)>,
    /// The wide level ([`LumaPyramid::compute_wide`]), when computed.
    pub wide: (usize, usize, Vec<f32>),
    tmp: Vec<f32>,
}

/// A [1 2 1]/4 blur both ways (clamped at the edges), so that a coarse level changes little
/// when the content is not aligned with its blocks.
fn blur_121(level: &mut (usize, usize, Vec<f32>), tmp: &mut Vec<f32>) {
    let (w, h) = (level.0, level.1);
    if w == 0 || h == 0 {
        return;
    }
    tmp.resize(w * h, 0.0);
    blur_121_planes(w, h, &mut level.2, tmp);
}

avx2_when_available! {
/// [`blur_121`] of the `w` × `h` plane `v`, through `tmp` (as large).
fn blur_121_planes(w: usize, h: usize, v: &mut [f32], tmp: &mut [f32]) -> () {
    for (r, o) in v.chunks_exact(w).zip(tmp.chunks_exact_mut(w)) {
        if w == 1 {
            o[0] = r[0];
            continue;
        }
        o[0] = 0.75 * r[0] + 0.25 * r[1];
        o[w - 1] = 0.75 * r[w - 1] + 0.25 * r[w - 2];
        for (((d, &l), &m), &rr) in o[1..w - 1]
            .iter_mut()
            .zip(&r[..w - 2])
            .zip(&r[1..w - 1])
            .zip(&r[2..])
        {
            *d = 0.25 * (l + rr) + 0.5 * m;
        }
    }
    for j in 0..h {
        let up = &tmp[j.saturating_sub(1) * w..][..w];
        let mid = &tmp[j * w..][..w];
        let down = &tmp[(j + 1).min(h - 1) * w..][..w];
        let o = &mut v[j * w..][..w];
        for (((d, &a), &m), &b) in o.iter_mut().zip(up).zip(mid).zip(down) {
            *d = 0.25 * (a + b) + 0.5 * m;
        }
    }
}
}

impl LumaPyramid {
    /// Levels 1..=`max_level` of `rect` of `image`, reusing buffers.
    pub fn compute(&mut self, image: &RgbImage, rect: Rect, max_level: usize) {
        self.levels.resize_with(max_level, Default::default);
        if max_level == 0 {
            return;
        }
        let iw = image.width() as usize;
        let raw = image.as_raw();
        let (w1, h1) = ((rect.w / 2) as usize, (rect.h / 2) as usize);
        {
            let (lw, lh, v) = &mut self.levels[0];
            *lw = w1;
            *lh = h1;
            v.resize(w1 * h1, 0.0);
            for j in 0..h1 {
                let y = rect.y as usize + 2 * j;
                let r0 = &raw[(y * iw + rect.x as usize) * 3..][..w1 * 6];
                let r1 = &raw[((y + 1) * iw + rect.x as usize) * 3..][..w1 * 6];
                block_luma_row(r0, r1, &mut v[j * w1..][..w1]);
            }
        }
        blur_121(&mut self.levels[0], &mut self.tmp);
        for k in 1..max_level {
            let (prev, rest) = self.levels.split_at_mut(k);
            let (pw, ph, pv) = &prev[k - 1];
            let (lw, lh, v) = &mut rest[0];
            *lw = pw / 2;
            *lh = ph / 2;
            v.resize(*lw * *lh, 0.0);
            for j in 0..*lh {
                for i in 0..*lw {
                    let a = (2 * j) * pw + 2 * i;
                    v[j * *lw + i] = 0.25 * (pv[a] + pv[a + 1] + pv[a + pw] + pv[a + pw + 1]);
                }
            }
            blur_121(&mut rest[0], &mut self.tmp);
        }
    }
}

avx2_when_available! {
/// The luma of the 2×2 blocks of two rows of RGB pixels: `out[i]` from pixels `2i`, `2i + 1`.
/// The colour sums are of small integers, so adding them as integers first is exact.
fn block_luma_row(r0: &[u8], r1: &[u8], out: &mut [f32]) -> () {
    for ((a, b), o) in r0.chunks_exact(6).zip(r1.chunks_exact(6)).zip(out) {
        let sum = |k: usize| (a[k] as u16 + a[k + 3] as u16 + b[k] as u16 + b[k + 3] as u16) as f32;
        *o = 0.25 * (KR * sum(0) + KG * sum(1) + KB * sum(2));
    }
}
}

impl LumaPyramid {
    /// The wide level above the coarsest square one ([`LumaPyramid::levels`]'s last): its
    /// horizontal pairs averaged, then the same [1 2 1] blur. Blocks twice as wide as tall:
    /// a wide region (a line of text) keeps plenty of samples across at half the placements
    /// and half the samples to rank.
    pub fn compute_wide(&mut self) {
        let Some((pw, ph, pv)) = self.levels.last() else {
            return;
        };
        let mut v = std::mem::take(&mut self.wide.2);
        pair_means_across(*pw, pv, &mut v);
        self.wide = (pw / 2, *ph, v);
        blur_121(&mut self.wide, &mut self.tmp);
    }
}

/// Pair averages across of a `w` × `h` plane (weights of a template at its wide level).
pub fn halve_across(w: usize, h: usize, v: &[f32]) -> (usize, usize, Vec<f32>) {
    let mut out = Vec::with_capacity(w / 2 * h);
    pair_means_across(w, v, &mut out);
    (w / 2, h, out)
}

/// The means of horizontal pairs of the rows (`w` values each) of `v`, into `out`.
fn pair_means_across(w: usize, v: &[f32], out: &mut Vec<f32>) {
    out.clear();
    for row in v.chunks_exact(w) {
        out.extend((0..w / 2).map(|i| 0.5 * (row[2 * i] + row[2 * i + 1])));
    }
}

/// 2×2 block averages of a `w` × `h` plane (weights of a template at a coarser level).
pub fn halve(w: usize, h: usize, v: &[f32]) -> (usize, usize, Vec<f32>) {
    let (hw, hh) = (w / 2, h / 2);
    let mut out = vec![0.0; hw * hh];
    for j in 0..hh {
        for i in 0..hw {
            let a = 2 * j * w + 2 * i;
            out[j * hw + i] = 0.25 * (v[a] + v[a + 1] + v[a + w] + v[a + w + 1]);
        }
    }
    (hw, hh, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_image_gives_flat_planes() {
        let img = RgbImage::from_pixel(20, 10, image::Rgb([200, 100, 50]));
        let p = Planes::of(&img, Rect::new(0, 0, 20, 10));
        let y = luma([200, 100, 50]);
        assert!(p.y.iter().all(|v| (v - y).abs() < 1e-3));
        assert!(
            p.cb.iter()
                .all(|v| (v - CB_SCALE * (50.0 - y)).abs() < 1e-3)
        );
        assert!(
            p.cr.iter()
                .all(|v| (v - CR_SCALE * (200.0 - y)).abs() < 1e-3)
        );
    }

    #[test]
    fn planes_of_a_part_equal_the_same_part_of_the_whole() {
        let img = RgbImage::from_fn(40, 30, |x, y| {
            image::Rgb([(x * 7) as u8, (y * 9) as u8, ((x * y) % 255) as u8])
        });
        let whole = Planes::of(&img, Rect::new(0, 0, 40, 30));
        let part = Planes::of(&img, Rect::new(5, 3, 10, 8));
        for j in 0..8 {
            for i in 0..10 {
                let a = whole.y[(j + 3) * 40 + i + 5];
                let b = part.y[j * 10 + i];
                assert!((a - b).abs() < 1e-3);
                assert!((whole.cr[(j + 3) * 40 + i + 5] - part.cr[j * 10 + i]).abs() < 1e-3);
            }
        }
    }

    #[test]
    fn pyramid_averages_blocks() {
        let img = RgbImage::from_fn(8, 8, |x, _| {
            if x < 4 {
                image::Rgb([0, 0, 0])
            } else {
                image::Rgb([255, 255, 255])
            }
        });
        let mut p = LumaPyramid::default();
        p.compute(&img, Rect::new(0, 0, 8, 8), 2);
        assert_eq!(p.levels[0].0, 4);
        // Level 2 is 2x2; the blur mixes the two halves a little.
        assert!(p.levels[1].2[0] < 80.0);
        assert!(p.levels[1].2[1] > 175.0);
    }
}
