//! Finding a template in a screenshot within its search margin.
//!
//! Order of work, cheapest first, because most checks are of a screen that either is exactly
//! where it was recorded or is not there at all:
//! 1. score the expected position (and the offset an earlier region of the same reference was
//!    found at: a moved screen moves as a whole); stop if it passes;
//! 2. otherwise, if no position of the margin has a mean luma that leaves the region a chance
//!    ([`MeanBound`](super::mean_bound::MeanBound)), stop: it fails;
//! 3. otherwise rank every position of the margin on the coarsest luma pyramid level, keep the
//!    best few distinct candidates, and refine each level by level down to full resolution,
//!    finishing with a hill-climb on the exact similarity.

use image::RgbImage;

use super::box_luma::BoxLuma;
use super::planes::{LumaPyramid, PAD, Planes};
use super::simd::avx2_when_available;
use super::similarity::{self, ChromaSums, Components, LumaSums};
use super::template::{CoarseLevel, Template};
use crate::rfb::Rect;

/// Coarse candidates refined per search.
const CANDIDATES: usize = 8;
/// Coarse candidates are at least this many coarse samples apart (either way), so that a
/// row of near-equal placements along a line or a text row does not fill every candidate.
const SPREAD: usize = 2;
/// Candidates refined on the exact similarity at full resolution.
const EXACT_CANDIDATES: usize = 3;
/// Hill-climb steps allowed per candidate.
const CLIMB_STEPS: usize = 12;
/// Radius (px) of the exact grid around a candidate coming from pyramid level 1.
const REFINE: i64 = 1;
/// Border (px) of screenshot planes computed around a placement during the hill-climb: most
/// climbs stay within a few pixels, and a wider border smooths pixels no climb reads (4 px made
/// whole-screen checks ~5 % faster than 6; the planes, and so the results, are the same).
const PLANE_PAD: u32 = 4;

/// Where a template was found and how similar it is there.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Found {
    pub x: u32,
    pub y: u32,
    pub similarity: f64,
    pub components: Components,
    /// `similarity` is the full score. False for a placement ruled out by its luma alone and
    /// not scored in full ([`Report::Decision`]): `similarity` is then its luma bound (at
    /// least the full score up to rounding, [`BOUND_SLACK`]) and `components` hold only the
    /// luma terms.
    pub exact: bool,
}

impl Found {
    fn new(x: u32, y: u32, (similarity, components): (f64, Components)) -> Found {
        Found {
            x,
            y,
            similarity,
            components,
            exact: true,
        }
    }

    /// A placement's luma-only bound ([`luma_rank`]), not its full score.
    fn bound(x: u32, y: u32, (similarity, components): (f64, Components)) -> Found {
        Found {
            exact: false,
            ..Found::new(x, y, (similarity, components))
        }
    }
}

/// What the result of a search that fails must say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Report {
    /// The full score of its best placement (what `check` reports).
    Full,
    /// Only what the decision needs: when every placement tried was ruled out by its luma
    /// alone, the best of them with its luma bound, not scored in full ([`score_full`] can do
    /// that later). A [`Watcher`](super::Watcher) decides this way, so the update that shows a
    /// watched screen does not wait for the report of every other one.
    Decision,
}

/// Buffers reused between searches, so a check in place allocates nothing once warm.
#[derive(Default, Debug)]
pub struct Scratch {
    planes: Planes,
    pyramid: LumaPyramid,
    exact: ExactScratch,
    coarse: Vec<(f64, usize, usize)>,
    /// Correlations of one row of placements ([`rank_all`]).
    corr: Vec<f64>,
    integrals: Vec<Vec<Pair>>,
    half_ignore: Vec<Rect>,
    /// Exact scores of the placements tried by the current search: (cost, similarity,
    /// components, x, y).
    seen: Vec<(f64, f64, Components, u32, u32)>,
    /// The luma of every box of the search window ([`climb_rank_reduced`]), once the current
    /// search has computed it (`boxes_live`).
    boxes: BoxLuma,
    boxes_live: bool,
    /// Column sums of [`MeanBound::rules_out`](super::mean_bound::MeanBound::rules_out).
    mean_cols: Vec<u32>,
    /// `planes` may not be reused as a full-resolution window: they hold reduced-resolution
    /// samples, or belong to an earlier search (another image).
    planes_stale: bool,
}

/// Side (in plane samples) of the tiles the local error is measured on: 16 px, or 32 / 64 px
/// for a region compared at reduced resolution (step 2 / 4).
pub const TILE: usize = 16;

/// Buffers of [`exact`].
#[derive(Default, Debug)]
pub struct ExactScratch {
    spans: Vec<(usize, usize)>,
    /// Per tile of the current tile row: Σw, Σwt, Σws, Σwt², Σws², Σwts in lanes.
    tiles: Vec<[[f32; LANES]; 6]>,
    /// The same for the region's outer [`EDGE`] samples (in the region's sums, in no tile).
    border: [[f32; LANES]; 6],
    /// Rank mode: luma sums only (no tiles, no chroma), for ordering placements cheaply.
    luma_only: bool,
}

/// Width (samples) of the region's edge left out of the tiles: the smoothing border.
const EDGE: usize = PAD as usize;

/// The exact similarity of `t` placed with its top-left corner at `(x, y)` of the image whose
/// planes (covering that placement) are `shot`. Pixels inside `ignore` (image coordinates)
/// are left out. Besides the region's luma and chroma errors this measures the worst
/// [`TILE`]-sized tile (see [`similarity::Components::local_error`]).
pub fn exact(
    t: &Template,
    shot: &Planes,
    x: u32,
    y: u32,
    ignore: &[Rect],
    es: &mut ExactScratch,
) -> (f64, Components) {
    let (w, h) = (t.plane_w, t.plane_h);
    let sw = shot.rect.w as usize;
    // Full resolution: the shot's planes cover a window around the placement. Reduced
    // resolution: they are exactly the placement's, and `x`, `y`, `ignore` are in samples
    // (pixels / step).
    let (ox, oy) = if t.step == 1 {
        debug_assert!(shot.covers(Rect::new(x, y, t.rect.w, t.rect.h)));
        ((x - shot.rect.x) as usize, (y - shot.rect.y) as usize)
    } else {
        (0, 0)
    };
    let placement = Rect::new(x, y, w as u32, h as u32);
    if es.luma_only && t.weights.is_none() && !ignore.iter().any(|r| r.intersects(&placement)) {
        return luma_rank(t, shot, ox, oy);
    }
    // Tiles: TILE × TILE, the last column and row of tiles taking the remainder.
    let (ntx, nty) = ((w / TILE).max(1), (h / TILE).max(1));
    let several = ntx * nty > 1;
    es.tiles.clear();
    es.tiles.resize(ntx, [[0f32; LANES]; 6]);
    es.border = [[0f32; LANES]; 6];
    let mut local = 0f64;
    let mut luma = LumaSums::default();
    let mut chroma = ChromaSums::default();
    for j in 0..h {
        es.spans.clear();
        row_spans(w, x, y + j as u32, ignore, &mut es.spans);
        let trow = j * w;
        let srow = (oy + j) * sw + ox;
        for &(a, b) in es.spans.iter() {
            let wt = t.weights.as_ref().map(|w| &w[trow + a..trow + b]);
            // The outer EDGE samples of the region go to `border`: the smoothing reads
            // beyond the region there, so they also show what surrounds it, which is not
            // the region's content (a moved screen has other surroundings).
            let edge_row = j < EDGE || j + EDGE >= h;
            let mut c = a;
            while c < b {
                let k = (c / TILE).min(ntx - 1);
                let (end, acc) = if es.luma_only {
                    (b, &mut es.border)
                } else if edge_row || c < EDGE {
                    (if edge_row { b } else { EDGE.min(b) }, &mut es.border)
                } else if c + EDGE >= w {
                    (b, &mut es.border)
                } else if k + 1 == ntx {
                    ((w - EDGE).min(b), &mut es.tiles[k])
                } else {
                    (((k + 1) * TILE).min(w - EDGE).min(b), &mut es.tiles[k])
                };
                let ty = &t.planes.y[trow + c..trow + end];
                let sy = &shot.y[srow + c..srow + end];
                match &t.weights {
                    None => luma_lanes(ty, sy, acc),
                    Some(wv) => luma_lanes_weighted(ty, sy, &wv[trow + c..trow + end], acc),
                }
                c = end;
            }
            if j % 2 == 0 && !es.luma_only {
                let [n, d2, cb, cbb, cr, crr] = chroma_row(
                    &t.planes.cb[trow + a..trow + b],
                    &t.planes.cr[trow + a..trow + b],
                    &shot.cb[srow + a..srow + b],
                    &shot.cr[srow + a..srow + b],
                    wt,
                );
                chroma.n += n as f64;
                chroma.diff2 += d2 as f64;
                chroma.cb += cb as f64;
                chroma.cbb += cbb as f64;
                chroma.cr += cr as f64;
                chroma.crr += crr as f64;
            }
        }
        let tile_row_done = j + 1 == h || ((j + 1) % TILE == 0 && (j + 1) / TILE < nty);
        // Lanes are f32: flushed into the f64 sums every tile row (every row in rank mode,
        // where one accumulator takes the whole region).
        if tile_row_done || es.luma_only {
            let tiles: &mut [[[f32; LANES]; 6]] =
                if es.luma_only { &mut [] } else { &mut es.tiles };
            for (acc, is_border) in tiles
                .iter_mut()
                .map(|a| (a, false))
                .chain(std::iter::once((&mut es.border, true)))
            {
                let [n, st, ss, stt, sss, sst] = acc.map(|l| l.iter().map(|&v| v as f64).sum());
                *acc = [[0f32; LANES]; 6];
                let tile = LumaSums {
                    n,
                    t: st,
                    s: ss,
                    tt: stt,
                    ss: sss,
                    st: sst,
                };
                luma.n += n;
                luma.t += st;
                luma.s += ss;
                luma.tt += stt;
                luma.ss += sss;
                luma.st += sst;
                if several && !is_border && n >= (TILE * TILE / 4) as f64 {
                    local = local.max(similarity::relative_luma_error(&tile));
                }
            }
        }
    }
    similarity::similarity(&luma, &chroma, local)
}

/// [`exact`] in rank mode for an unmasked region with nothing ignored: the region's luma error
/// alone. The reference's Σt and Σt² are precomputed, so only Σs, Σs² and Σts are summed (half
/// the work of the general sums); the result equals the general path's up to rounding.
fn luma_rank(t: &Template, shot: &Planes, ox: usize, oy: usize) -> (f64, Components) {
    let (w, h) = (t.plane_w, t.plane_h);
    let sw = shot.rect.w as usize;
    let (mut ss, mut sss, mut sst) = (0f64, 0f64, 0f64);
    // Rows are summed in f32 lanes and flushed into f64 a row at a time; narrow rows (regions
    // compared at reduced resolution) are taken a few at a time where they lie back to back,
    // so the flush does not cost more than the sums.
    let rows = if sw == w && ox == 0 {
        (FLUSH_SAMPLES / w.max(1)).max(1)
    } else {
        1
    };
    for j in (0..h).step_by(rows) {
        let n = rows.min(h - j) * w;
        let tr = &t.planes.y[j * w..][..n];
        let sr = &shot.y[(oy + j) * sw + ox..][..n];
        let mut acc = [[0f32; LANES]; 3];
        shot_lanes(tr, sr, &mut acc);
        let [a, b, c] = acc.map(|l| l.iter().map(|&v| v as f64).sum::<f64>());
        ss += a;
        sss += b;
        sst += c;
    }
    let luma = LumaSums {
        n: (w * h) as f64,
        t: t.luma_sum,
        s: ss,
        tt: t.luma_sum_sq,
        ss: sss,
        st: sst,
    };
    similarity::similarity(&luma, &ChromaSums::default(), 0.0)
}

/// Samples summed in f32 lanes before they are added to the f64 totals ([`luma_rank`]): a row
/// of a region this wide, or several narrower ones.
const FLUSH_SAMPLES: usize = 256;

avx2_when_available! {
/// Adds Σs, Σs², Σts of two equally long rows (reference `t`, screenshot `s`) to `acc`,
/// lane-wise. The lanes are summed by the caller: reduced in the same function, the compiler
/// no longer keeps each sum in one vector register.
fn shot_lanes(t: &[f32], s: &[f32], acc: &mut [[f32; LANES]; 3]) -> () {
    let n = t.len().min(s.len());
    let m = n - n % LANES;
    for (tk, sk) in t[..m].chunks_exact(LANES).zip(s[..m].chunks_exact(LANES)) {
        for i in 0..LANES {
            acc[0][i] += sk[i];
            acc[1][i] += sk[i] * sk[i];
            acc[2][i] += tk[i] * sk[i];
        }
    }
    for (i, (&a, &b)) in t[m..n].iter().zip(&s[m..n]).enumerate() {
        acc[0][i] += b;
        acc[1][i] += b * b;
        acc[2][i] += a * b;
    }
}
}

/// Adds Σ1, Σt, Σs, Σt², Σs², Σts of two equally long rows to `acc` (lane-wise).
#[inline]
fn luma_lanes(t: &[f32], s: &[f32], acc: &mut [[f32; LANES]; 6]) {
    let n = t.len().min(s.len());
    let m = n - n % LANES;
    for (tk, sk) in t[..m].chunks_exact(LANES).zip(s[..m].chunks_exact(LANES)) {
        for i in 0..LANES {
            let (a, b) = (tk[i], sk[i]);
            acc[0][i] += 1.0;
            acc[1][i] += a;
            acc[2][i] += b;
            acc[3][i] += a * a;
            acc[4][i] += b * b;
            acc[5][i] += a * b;
        }
    }
    for (i, (&a, &b)) in t[m..n].iter().zip(&s[m..n]).enumerate() {
        acc[0][i] += 1.0;
        acc[1][i] += a;
        acc[2][i] += b;
        acc[3][i] += a * a;
        acc[4][i] += b * b;
        acc[5][i] += a * b;
    }
}

/// Adds Σw, Σwt, Σws, Σwt², Σws², Σwts of equally long rows to `acc` (lane-wise).
#[inline]
fn luma_lanes_weighted(t: &[f32], s: &[f32], w: &[f32], acc: &mut [[f32; LANES]; 6]) {
    let n = t.len().min(s.len()).min(w.len());
    let m = n - n % LANES;
    for ((tk, sk), wk) in t[..m]
        .chunks_exact(LANES)
        .zip(s[..m].chunks_exact(LANES))
        .zip(w[..m].chunks_exact(LANES))
    {
        for i in 0..LANES {
            let (a, b, c) = (tk[i], sk[i], wk[i]);
            let (ca, cb) = (c * a, c * b);
            acc[0][i] += c;
            acc[1][i] += ca;
            acc[2][i] += cb;
            acc[3][i] += ca * a;
            acc[4][i] += cb * b;
            acc[5][i] += ca * b;
        }
    }
    for (i, ((&a, &b), &c)) in t[m..n].iter().zip(&s[m..n]).zip(&w[m..n]).enumerate() {
        acc[0][i] += c;
        acc[1][i] += c * a;
        acc[2][i] += c * b;
        acc[3][i] += c * a * a;
        acc[4][i] += c * b * b;
        acc[5][i] += c * a * b;
    }
}

/// Accumulator lanes: sums are kept in this many independent lanes so the compiler can use
/// vector instructions (a single running float sum cannot be reordered).
const LANES: usize = 8;

/// [`coarse_cost`] of an unmasked coarse level, with the screenshot's sums taken from the
/// integral image `ii` of the plane.
fn integral_cost(t: &CoarseLevel, pw: usize, pv: &[f32], ii: &[Pair], cx: usize, cy: usize) -> f64 {
    let iw = pw + 1;
    let mut st = 0f64;
    for j in 0..t.h {
        let tr = &t.luma[j * t.w..][..t.w];
        let sr = &pv[(cy + j) * pw + cx..][..t.w];
        st += dot(tr, sr) as f64;
    }
    cost_with_window_sums(t, ii, iw, (cx, cy), |_| st)
}

/// [`similarity::coarse_cost`] of `t` at `(cx, cy)`, the screenshot's Σs and Σs² taken from the
/// integral image `ii` (row length `iw`) and Σts from `st(Σs)`.
#[inline]
fn cost_with_window_sums(
    t: &CoarseLevel,
    ii: &[Pair],
    iw: usize,
    (cx, cy): (usize, usize),
    st: impl FnOnce(f64) -> f64,
) -> f64 {
    let at = |x: usize, y: usize| ii[y * iw + x];
    let (x1, y1) = (cx + t.w, cy + t.h);
    let a = at(x1, y1) - at(cx, y1) - at(x1, cy) + at(cx, cy);
    let l = LumaSums {
        n: t.n,
        t: t.sum,
        s: a.0,
        tt: t.sum_sq,
        ss: a.1,
        st: st(a.0),
    };
    similarity::coarse_cost(&l)
}

/// [`integral_cost`] of every placement of `t` on the unmasked coarse level `(pw, ph, pv)`
/// (integral image `ii`), appended to `out` as (cost, cx, cy) in row-major order. A row of
/// placements is correlated with the template at once, one template sample at a time across
/// the row, which the compiler vectorises (per placement, a row dot product of a few dozen
/// samples mostly paid its reduction).
fn rank_all(
    t: &CoarseLevel,
    level: (usize, usize, &[f32]),
    ii: &[Pair],
    acc: &mut Vec<f64>,
    out: &mut Vec<(f64, usize, usize)>,
) {
    let (pw, ph, pv) = level;
    let ncx = pw + 1 - t.w;
    let iw = pw + 1;
    let mt = t.sum / t.n;
    acc.resize(ncx, 0.0);
    for cy in 0..=(ph - t.h) {
        acc.fill(0.0);
        for j in 0..t.h {
            let tr = &t.centred[j * t.w..][..t.w];
            let sr = &pv[(cy + j) * pw..][..pw];
            // LANES placements at a time, their sums held in registers across the row.
            let mut cx = 0;
            while cx + LANES <= ncx {
                let mut lanes = [0f32; LANES];
                correlate_lanes(tr, &sr[cx..], &mut lanes);
                for (a, &l) in acc[cx..cx + LANES].iter_mut().zip(&lanes) {
                    *a += l as f64;
                }
                cx += LANES;
            }
            for (c, a) in acc.iter_mut().enumerate().skip(cx) {
                *a += dot(tr, &sr[c..c + t.w]) as f64;
            }
        }
        for (cx, &c) in acc.iter().enumerate() {
            // Σts = Σ(t − mean t)·s + mean t · Σs
            let cost = cost_with_window_sums(t, ii, iw, (cx, cy), |sum_s| c + mt * sum_s);
            out.push((cost, cx, cy));
        }
    }
}

avx2_when_available! {
/// Adds to `lanes[i]` the correlation Σ t[k]·s[i + k] of the template row `t` with the row `s`
/// placed `i` samples on (`s` must hold `t.len() + LANES - 1` samples).
fn correlate_lanes(t: &[f32], s: &[f32], lanes: &mut [f32; LANES]) -> () {
    for (k, &tv) in t.iter().enumerate() {
        if let Ok(sk) = <&[f32; LANES]>::try_from(&s[k..k + LANES]) {
            for i in 0..LANES {
                lanes[i] += tv * sk[i];
            }
        }
    }
}
}

/// Σts of two equally long rows.
#[inline]
fn dot(t: &[f32], s: &[f32]) -> f32 {
    let n = t.len().min(s.len());
    let m = n - n % LANES;
    let mut acc = [0f32; LANES];
    for (tk, sk) in t[..m].chunks_exact(LANES).zip(s[..m].chunks_exact(LANES)) {
        for i in 0..LANES {
            acc[i] += tk[i] * sk[i];
        }
    }
    let mut out: f32 = acc.iter().sum();
    for (&a, &b) in t[m..n].iter().zip(&s[m..n]) {
        out += a * b;
    }
    out
}

/// Integral images of `v` and `v²` (`(w + 1) × (h + 1)`, pairs (Σv, Σv²) above-left).
fn integral(w: usize, h: usize, v: &[f32], out: &mut Vec<Pair>) {
    let iw = w + 1;
    out.clear();
    out.resize(iw * (h + 1), Pair(0.0, 0.0));
    for y in 0..h {
        let (mut rs, mut rq) = (0f64, 0f64);
        for x in 0..w {
            let p = v[y * w + x] as f64;
            rs += p;
            rq += p * p;
            let above = out[y * iw + x + 1];
            out[(y + 1) * iw + x + 1] = Pair(above.0 + rs, above.1 + rq);
        }
    }
}

/// (Σv, Σv²) of an integral image cell.
#[derive(Clone, Copy, Debug, Default)]
pub struct Pair(f64, f64);

impl std::ops::Sub for Pair {
    type Output = Pair;
    fn sub(self, o: Pair) -> Pair {
        Pair(self.0 - o.0, self.1 - o.1)
    }
}

impl std::ops::Add for Pair {
    type Output = Pair;
    fn add(self, o: Pair) -> Pair {
        Pair(self.0 + o.0, self.1 + o.1)
    }
}

/// Σt, Σs, Σt², Σs², Σts of two equally long rows.
#[inline]
fn luma_row(t: &[f32], s: &[f32]) -> [f32; 5] {
    let n = t.len().min(s.len());
    let m = n - n % LANES;
    let mut acc = [[0f32; LANES]; 5];
    for (tk, sk) in t[..m].chunks_exact(LANES).zip(s[..m].chunks_exact(LANES)) {
        for i in 0..LANES {
            let (a, b) = (tk[i], sk[i]);
            acc[0][i] += a;
            acc[1][i] += b;
            acc[2][i] += a * a;
            acc[3][i] += b * b;
            acc[4][i] += a * b;
        }
    }
    let mut out = acc.map(|l| l.iter().sum::<f32>());
    for (&a, &b) in t[m..n].iter().zip(&s[m..n]) {
        out[0] += a;
        out[1] += b;
        out[2] += a * a;
        out[3] += b * b;
        out[4] += a * b;
    }
    out
}

/// Σw, Σwt, Σws, Σwt², Σws², Σwts of equally long rows.
#[inline]
fn luma_row_weighted(t: &[f32], s: &[f32], w: &[f32]) -> [f32; 6] {
    let mut acc = [[0f32; LANES]; 6];
    luma_lanes_weighted(t, s, w, &mut acc);
    acc.map(|l| l.iter().sum::<f32>())
}

/// Σw, Σw(Δcb² + Δcr²), Σw·cb, Σw·cb², Σw·cr, Σw·cr² of a row (reference `tb`, `tr`).
#[inline]
fn chroma_row(tb: &[f32], tr: &[f32], sb: &[f32], sr: &[f32], w: Option<&[f32]>) -> [f32; 6] {
    let n = tb.len();
    let m = n - n % LANES;
    let ones = [1f32; LANES];
    let mut acc = [[0f32; LANES]; 6];
    let mut k = 0;
    while k < m {
        let wk = w.map_or(&ones[..], |w| &w[k..k + LANES]);
        for i in 0..LANES {
            let (a, r, c) = (tb[k + i], tr[k + i], wk[i]);
            let db = sb[k + i] - a;
            let dr = sr[k + i] - r;
            acc[0][i] += c;
            acc[1][i] += c * (db * db + dr * dr);
            acc[2][i] += c * a;
            acc[3][i] += c * a * a;
            acc[4][i] += c * r;
            acc[5][i] += c * r * r;
        }
        k += LANES;
    }
    let mut out = acc.map(|l| l.iter().sum::<f32>());
    for i in m..n {
        let c = w.map_or(1.0, |w| w[i]);
        let (a, r) = (tb[i], tr[i]);
        let db = sb[i] - a;
        let dr = sr[i] - r;
        out[0] += c;
        out[1] += c * (db * db + dr * dr);
        out[2] += c * a;
        out[3] += c * a * a;
        out[4] += c * r;
        out[5] += c * r * r;
    }
    out
}

/// The column spans `[a, b)` of a template row (placed at image column `x`, image row `y`)
/// that are not covered by `ignore`.
fn row_spans(w: usize, x: u32, y: u32, ignore: &[Rect], spans: &mut Vec<(usize, usize)>) {
    spans.push((0, w));
    for r in ignore {
        if y < r.y || y >= r.bottom() || r.is_empty() {
            continue;
        }
        let a = r.x.saturating_sub(x) as usize;
        let b = (r.right().saturating_sub(x) as usize).min(w);
        if r.right() <= x || a >= w || a >= b {
            continue;
        }
        let mut k = 0;
        while k < spans.len() {
            let (s0, s1) = spans[k];
            if b <= s0 || a >= s1 {
                k += 1;
                continue;
            }
            spans.remove(k);
            if s0 < a {
                spans.insert(k, (s0, a));
                k += 1;
            }
            if b < s1 {
                spans.insert(k, (b, s1));
                k += 1;
            }
        }
    }
}

/// Cost (lower is better) of a coarse template level at `(cx, cy)` of a coarse shot plane.
fn coarse_cost(t: &CoarseLevel, pw: usize, pv: &[f32], cx: usize, cy: usize) -> f64 {
    let mut l = LumaSums::default();
    for j in 0..t.h {
        let tr = &t.luma[j * t.w..][..t.w];
        let wr = &t.weight[j * t.w..][..t.w];
        let sr = &pv[(cy + j) * pw + cx..][..t.w];
        let [n, st, ss, stt, sss, sst] = if t.full {
            let [st, ss, stt, sss, sst] = luma_row(tr, sr);
            [t.w as f32, st, ss, stt, sss, sst]
        } else {
            luma_row_weighted(tr, sr, wr)
        };
        l.n += n as f64;
        l.t += st as f64;
        l.s += ss as f64;
        l.tt += stt as f64;
        l.ss += sss as f64;
        l.st += sst as f64;
    }
    similarity::coarse_cost(&l)
}

/// The exact similarity of `t` placed at `(x, y)` of `image`, computing the screenshot's planes
/// as needed: at full resolution over the placement grown by `pad` (clipped to `bounds`, the
/// last placement allowed, so a hill-climb reuses them), at reduced resolution (large
/// regions) for the placement only.
fn score_at(
    t: &Template,
    image: &RgbImage,
    (x, y): (u32, u32),
    ignore: &[Rect],
    pad: u32,
    bounds: (u32, u32, u32, u32),
    s: &mut Scratch,
) -> (f64, Components) {
    let (w, h) = (t.rect.w, t.rect.h);
    if t.step > 1 && pad > 0 && s.exact.luma_only && t.weights.is_none() {
        let placement = Rect::new(x, y, w, h);
        if !ignore.iter().any(|r| r.intersects(&placement))
            && let Some(r) = climb_rank_reduced(t, image, (x, y), bounds, s)
        {
            return r;
        }
    }
    if t.step > 1 {
        let st = t.step;
        if s.exact.luma_only {
            s.planes
                .compute_reduced_luma(image, Rect::new(x, y, w, h), st);
        } else {
            s.planes.compute_reduced(image, Rect::new(x, y, w, h), st);
        }
        s.planes_stale = true;
        s.half_ignore.clear();
        s.half_ignore.extend(ignore.iter().map(|r| {
            let (x0, y0) = (r.x / st, r.y / st);
            Rect::new(
                x0,
                y0,
                r.right().div_ceil(st) - x0,
                r.bottom().div_ceil(st) - y0,
            )
        }));
        return exact(t, &s.planes, x / st, y / st, &s.half_ignore, &mut s.exact);
    }
    let luma_only = s.exact.luma_only;
    if !s.planes.covers(Rect::new(x, y, w, h)) || s.planes_stale {
        let rx0 = x.saturating_sub(pad).max(bounds.0.min(x));
        let ry0 = y.saturating_sub(pad).max(bounds.1.min(y));
        let ry1 = (y + pad).min(bounds.3.max(y)) + h;
        let rx1 = (x + pad).min(bounds.2.max(x)) + w;
        let r = Rect::new(rx0, ry0, rx1 - rx0, ry1 - ry0);
        // Ranking (rank mode) reads luma only.
        if luma_only {
            s.planes.compute_luma(image, r);
        } else {
            s.planes.compute(image, r);
        }
        s.planes_stale = false;
    } else if !luma_only {
        s.planes.add_chroma(image);
    }
    exact(t, &s.planes, x, y, ignore, &mut s.exact)
}

/// The luma rank of a reduced-resolution region at `(x, y)` during a climb. Every placement
/// puts the blocks on its own grid (a climb visits up to `step`² of them), so the luma of
/// every box of the search window is computed once per search ([`BoxLuma`]) and each
/// placement's block means are read off it, then blurred on their own: the same values as
/// computing the placement's planes, without reading its pixels again.
fn climb_rank_reduced(
    t: &Template,
    image: &RgbImage,
    (x, y): (u32, u32),
    bounds: (u32, u32, u32, u32),
    s: &mut Scratch,
) -> Option<(f64, Components)> {
    let (pw, ph) = (t.plane_w, t.plane_h);
    if !s.boxes_live {
        let (x0, y0, x1, y1) = bounds;
        let win = Rect::new(x0, y0, x1 - x0 + t.rect.w, y1 - y0 + t.rect.h);
        s.boxes.compute(image, win, t.step);
        s.boxes_live = true;
    }
    if s.boxes.step != t.step || !s.boxes.covers(x, y, pw, ph) {
        return None;
    }
    s.boxes.gather(x, y, pw, ph, &mut s.planes.y);
    s.planes.blur_reduced_luma(pw, ph);
    s.planes_stale = true;
    Some(luma_rank(t, &s.planes, 0, 0))
}

/// Whether a region found `(dx, dy)` away from where it was expected is really content that
/// changed in place: its surroundings in the screenshot are still where the reference has
/// them (mean squared luma error below `RING_STILL`) and do not fit at the found offset
/// (`RING_MOVED` times worse). A moved screen or window takes its surroundings along; a
/// mirrored symmetric icon (the same icon a few pixels over) does not. Flat surroundings are
/// no evidence either way, and the move is believed.
pub fn surroundings_stayed(
    t: &Template,
    image: &RgbImage,
    dx: i64,
    dy: i64,
    ignore: &[Rect],
) -> bool {
    let (iw, ih) = (image.width() as i64, image.height() as i64);
    let (mut e0, mut ed, mut n) = (0f64, 0f64, 0usize);
    for &(x, y, v) in &t.ring {
        let (xd, yd) = (x as i64 + dx, y as i64 + dy);
        if xd < 0 || yd < 0 || xd >= iw || yd >= ih {
            continue;
        }
        let hit = |px: u32, py: u32| {
            ignore
                .iter()
                .any(|r| px >= r.x && px < r.right() && py >= r.y && py < r.bottom())
        };
        if hit(x, y) || hit(xd as u32, yd as u32) {
            continue;
        }
        let s0 = super::planes::luma(image.get_pixel(x, y).0) - v;
        let sd = super::planes::luma(image.get_pixel(xd as u32, yd as u32).0) - v;
        e0 += (s0 * s0) as f64;
        ed += (sd * sd) as f64;
        n += 1;
    }
    if n < 16 {
        return false;
    }
    let (m0, md) = (e0 / n as f64, ed / n as f64);
    m0 < RING_STILL && md > RING_MOVED * m0.max(RING_STILL / 4.0)
}

/// Mean squared luma error of surroundings that count as unchanged (RMS 8: JPEG, noise).
const RING_STILL: f64 = 64.0;
/// How much worse the surroundings must fit at the found offset to count as not moved.
const RING_MOVED: f64 = 4.0;

/// Finds `t` in `image` within its margin (and, with `within`, only at placements that
/// overlap that rectangle), believing a move only when the surroundings
/// moved too (see [`surroundings_stayed`]). `hint` is an offset (dx, dy) another region of the
/// same reference was found at; a region found at that same offset is believed. `report`
/// says whether a failing result must be scored in full.
pub fn find(
    t: &Template,
    image: &RgbImage,
    ignore: &[Rect],
    hint: Option<(i64, i64)>,
    within: Option<Rect>,
    report: Report,
    s: &mut Scratch,
) -> Found {
    s.planes_stale = true;
    s.boxes_live = false;
    let f = find_anywhere(t, image, ignore, hint, within, report, s);
    let (dx, dy) = (f.x as i64 - t.rect.x as i64, f.y as i64 - t.rect.y as i64);
    if (dx, dy) == (0, 0) || f.similarity < t.threshold || hint == Some((dx, dy)) {
        return f;
    }
    if surroundings_stayed(t, image, dx, dy, ignore) {
        // The content changed in place: report it where it was expected.
        return score_full(t, image, ignore, (t.rect.x, t.rect.y), s);
    }
    f
}

/// The full score of `t` placed at `(x, y)` of `image` (no search).
pub fn score_full(
    t: &Template,
    image: &RgbImage,
    ignore: &[Rect],
    (x, y): (u32, u32),
    s: &mut Scratch,
) -> Found {
    s.exact.luma_only = false;
    s.planes_stale = true;
    Found::new(x, y, score_at(t, image, (x, y), ignore, 0, (0, 0, 0, 0), s))
}

/// Finds `t` in `image` within its margin. `hint` is an offset (dx, dy) from the expected
/// position to try first. The image must be at least as large as the template's placement.
fn find_anywhere(
    t: &Template,
    image: &RgbImage,
    ignore: &[Rect],
    hint: Option<(i64, i64)>,
    within: Option<Rect>,
    report: Report,
    s: &mut Scratch,
) -> Found {
    let (iw, ih) = image.dimensions();
    let (w, h) = (t.rect.w, t.rect.h);
    let (ex, ey) = (t.rect.x, t.rect.y);
    let mut best: Option<Found> = None;
    let consider = |f: Found, best: &mut Option<Found>| {
        let better = match best {
            None => true,
            Some(b) => {
                f.similarity > b.similarity
                    || (f.similarity == b.similarity
                        && dist2(f.x, f.y, ex, ey) < dist2(b.x, b.y, ex, ey))
            }
        };
        if better {
            *best = Some(f);
        }
    };
    // Of the placements whose luma alone rules them out (their similarity is at most the
    // bound), the best. Only it is scored in full, and only for a full report.
    let mut bounded: Option<Found> = None;
    // 1. Expected position, then the hinted one.
    let hinted = hint
        .filter(|&d| d != (0, 0))
        .map(|(dx, dy)| (ex as i64 + dx, ey as i64 + dy));
    // The mean of the screenshot's luma at the expected place: where it leaves the region a
    // chance, the search window cannot be ruled out by its means (below).
    let mut expected_mean = None;
    for (x, y) in std::iter::once((ex as i64, ey as i64)).chain(hinted) {
        if x < 0
            || y < 0
            || x as u32 + w > iw
            || y as u32 + h > ih
            || (x - ex as i64).unsigned_abs() > t.margin as u64
            || (y - ey as i64).unsigned_abs() > t.margin as u64
        {
            continue;
        }
        let (x, y) = (x as u32, y as u32);
        // At full resolution: the luma bound first, chroma only if it passes. At reduced
        // resolution the planes are computed per score, and a bound first would compute them
        // twice where the screen shows.
        if t.step == 1 {
            s.planes.compute_luma(image, Rect::new(x, y, w, h));
            s.planes_stale = false;
            s.exact.luma_only = true;
            let bound = score_at(t, image, (x, y), ignore, 0, (0, 0, 0, 0), s);
            if bound.0 < t.threshold - BOUND_SLACK {
                if (x, y) == (ex, ey) {
                    expected_mean = Some(mean(&s.planes.y));
                }
                keep_best_bounded(&mut bounded, Found::bound(x, y, bound), (ex, ey));
                continue;
            }
        }
        s.exact.luma_only = false;
        let (sim, c) = score_at(t, image, (x, y), ignore, 0, (0, 0, 0, 0), s);
        consider(Found::new(x, y, (sim, c)), &mut best);
        if sim >= t.threshold {
            return best.unwrap_or(Found::new(x, y, (sim, c)));
        }
        if (x, y) == (ex, ey) {
            expected_mean = Some(mean(&s.planes.y));
        }
    }
    // 2. Search window: every placement within the margin that keeps the region on screen.
    let mut x0 = ex.saturating_sub(t.margin);
    let mut y0 = ey.saturating_sub(t.margin);
    let mut x1 = (ex + t.margin).min(iw.saturating_sub(w));
    let mut y1 = (ey + t.margin).min(ih.saturating_sub(h));
    if let Some(r) = within {
        // Only placements whose pixels (with the smoothing border) overlap `r`.
        x0 = x0.max((r.x + 1).saturating_sub(w + PAD));
        y0 = y0.max((r.y + 1).saturating_sub(h + PAD));
        x1 = x1.min((r.right() + PAD).saturating_sub(1));
        y1 = y1.min((r.bottom() + PAD).saturating_sub(1));
        if x1 < x0 || y1 < y0 {
            return finish(t, image, ignore, best, bounded, report, s);
        }
    } else if x1 < x0 || y1 < y0 || (x1 == x0 && y1 == y0) {
        return finish(t, image, ignore, best, bounded, report, s);
    }
    // A window where no placement's mean luma leaves it a chance fails without a search.
    if let Some(mb) = &t.mean_bound
        && !expected_mean.is_some_and(|m| mb.admits(m))
        && !mb.ignored_in(ignore, (x0, y0, x1, y1))
        && mb.rules_out(image, (x0, y0, x1, y1), &mut s.mean_cols)
    {
        return finish(t, image, ignore, best, bounded, report, s);
    }
    let levels = t.coarse.len();
    let mut candidates: Vec<(f64, u32, u32)> = Vec::new();
    if levels == 0 {
        // Tiny template: every placement, exactly.
        s.planes
            .compute(image, Rect::new(x0, y0, x1 - x0 + w, y1 - y0 + h));
        s.planes_stale = false;
        s.exact.luma_only = false;
        for y in y0..=y1 {
            for x in x0..=x1 {
                let (sim, c) = exact(t, &s.planes, x, y, ignore, &mut s.exact);
                consider(Found::new(x, y, (sim, c)), &mut best);
            }
        }
        return finish(t, image, ignore, best, bounded, report, s);
    }
    let win = Rect::new(x0, y0, x1 - x0 + w, y1 - y0 + h);
    s.pyramid.compute(image, win, levels);
    // Placements are ranked on the wide level where the region has one, else on the
    // coarsest square level.
    if t.wide.is_some() {
        s.pyramid.compute_wide();
    }
    let (top, (pw, ph, pv)) = match &t.wide {
        Some(wide) => (wide, &s.pyramid.wide),
        None => (&t.coarse[levels - 1], &s.pyramid.levels[levels - 1]),
    };
    s.coarse.clear();
    if *pw >= top.w && *ph >= top.h {
        if top.full {
            // Window sums of s and s² from integral images; only Σts is computed per
            // placement (one multiply-add a pixel instead of five). The wide level's come
            // after the square levels'.
            for (k, (lw, lh, lv)) in s
                .pyramid
                .levels
                .iter()
                .chain(t.wide.as_ref().map(|_| &s.pyramid.wide))
                .enumerate()
            {
                if s.integrals.len() <= k {
                    s.integrals.push(Vec::new());
                }
                integral(*lw, *lh, lv, &mut s.integrals[k]);
            }
            let top_integral = if t.wide.is_some() { levels } else { levels - 1 };
            rank_all(
                top,
                (*pw, *ph, pv),
                &s.integrals[top_integral],
                &mut s.corr,
                &mut s.coarse,
            );
        } else {
            for cy in 0..=(ph - top.h) {
                for cx in 0..=(pw - top.w) {
                    s.coarse.push((coarse_cost(top, *pw, pv, cx, cy), cx, cy));
                }
            }
        }
    }
    let picked = pick_candidates(&mut s.coarse);
    for (cx, cy, coarse) in picked {
        let mut cost = coarse;
        // Refine down the pyramid: within ±2 on the first finer level, ±1 after. From the
        // wide level, the first finer one is the coarsest square level, with blocks half as
        // wide and as tall.
        let (mut px, mut py) = (cx, cy);
        let first = if t.wide.is_some() { levels } else { levels - 1 };
        for level in (1..=first).rev() {
            let tl = &t.coarse[level - 1];
            let (lw, lh, lv) = &s.pyramid.levels[level - 1];
            let radius: i64 = if level == first { 2 } else { 1 };
            let (bx, by) = if level == levels {
                (2 * px as i64, py as i64)
            } else {
                (2 * px as i64, 2 * py as i64)
            };
            let cost_at = |qx: usize, qy: usize| {
                if tl.full {
                    integral_cost(tl, *lw, lv, &s.integrals[level - 1], qx, qy)
                } else {
                    coarse_cost(tl, *lw, lv, qx, qy)
                }
            };
            let fits = |qx: i64, qy: i64| {
                qx >= 0 && qy >= 0 && qx as usize + tl.w <= *lw && qy as usize + tl.h <= *lh
            };
            (cost, px, py) = descend((bx, by), radius, fits, cost_at);
        }
        // Level 1 position → full resolution.
        let fx = (x0 as usize + 2 * px).min(x1 as usize) as u32;
        let fy = (y0 as usize + 2 * py).min(y1 as usize) as u32;
        candidates.push((cost, fx, fy));
    }
    // Only the best few (by their level-1 cost) are worth the exact refinement.
    candidates.sort_by(|a, b| a.0.total_cmp(&b.0));
    candidates.truncate(EXACT_CANDIDATES);
    // 3. Each candidate: hill-climb over the 4 neighbours (±REFINE) while it improves.
    let bounds = (x0, y0, x1, y1);
    // Placements already scored (climbs revisit their neighbours, candidates overlap).
    s.seen.clear();
    for (_, cx, cy) in candidates {
        let eval = |x: u32, y: u32, s: &mut Scratch| -> (f64, f64, Components) {
            let (sim, c) = {
                s.exact.luma_only = true;
                score_at(t, image, (x, y), ignore, PLANE_PAD, bounds, s)
            };
            (similarity::cost(&c), sim, c)
        };
        let mut cur: Option<(f64, f64, Components, u32, u32)> = None;
        let mut centre = (cx, cy);
        let mut radius = REFINE;
        for _ in 0..CLIMB_STEPS {
            let before = cur.map(|c| (c.3, c.4));
            for dy in -radius..=radius {
                for dx in -radius..=radius {
                    // A diagonal move takes two steps: a cross costs 5 scores a step, not 9.
                    if dx != 0 && dy != 0 {
                        continue;
                    }
                    let (qx, qy) = (centre.0 as i64 + dx, centre.1 as i64 + dy);
                    if qx < x0 as i64 || qy < y0 as i64 || qx > x1 as i64 || qy > y1 as i64 {
                        continue;
                    }
                    let (qx, qy) = (qx as u32, qy as u32);
                    if before == Some((qx, qy)) {
                        continue;
                    }
                    let (cost, sim, c) = match s.seen.iter().find(|e| (e.3, e.4) == (qx, qy)) {
                        Some(e) => (e.0, e.1, e.2),
                        None => {
                            let (cost, sim, c) = eval(qx, qy, s);
                            s.seen.push((cost, sim, c, qx, qy));
                            (cost, sim, c)
                        }
                    };
                    if cur.is_none_or(|b| cost < b.0) {
                        cur = Some((cost, sim, c, qx, qy));
                    }
                }
            }
            let Some(b) = cur else { break };
            if Some((b.3, b.4)) == before || b.1 >= 1.0 {
                break;
            }
            centre = (b.3, b.4);
            radius = 1;
        }
        if let Some(b) = cur {
            // The climb ranked by luma alone, which bounds the full similarity from above:
            // a candidate that cannot pass is not scored in full.
            if b.1 < t.threshold - BOUND_SLACK {
                keep_best_bounded(&mut bounded, Found::bound(b.3, b.4, (b.1, b.2)), (ex, ey));
                continue;
            }
            s.exact.luma_only = false;
            let full = score_at(t, image, (b.3, b.4), ignore, PLANE_PAD, bounds, s);
            consider(Found::new(b.3, b.4, full), &mut best);
            if full.0 >= t.threshold && full.0 >= 1.0 {
                break;
            }
        }
    }
    finish(t, image, ignore, best, bounded, report, s)
}

/// The mean of a plane's samples.
fn mean(v: &[f32]) -> f64 {
    v.iter().map(|&x| x as f64).sum::<f64>() / v.len().max(1) as f64
}

/// The lowest cost within `radius` of `start` on one pyramid level, descending: the 3 × 3
/// around `start`, then, while the best moves, the 3 × 3 around it (still within the radius,
/// each cell scored once). `fits` says whether a cell is a placement on the level.
fn descend(
    start: (i64, i64),
    radius: i64,
    fits: impl Fn(i64, i64) -> bool,
    cost_at: impl Fn(usize, usize) -> f64,
) -> (f64, usize, usize) {
    let (bx, by) = start;
    let mut best = (f64::INFINITY, bx.max(0) as usize, by.max(0) as usize);
    let mut centre = start;
    // At most the (2 · 2 + 1)² cells of the widest radius.
    let mut scored = [(0i64, 0i64); 25];
    let mut n_scored = 0;
    loop {
        let before = best;
        for (dx, dy) in (-1..=1).flat_map(|dy| (-1..=1).map(move |dx| (dx, dy))) {
            let (qx, qy) = (centre.0 + dx, centre.1 + dy);
            if (qx - bx).abs() > radius
                || (qy - by).abs() > radius
                || !fits(qx, qy)
                || scored[..n_scored].contains(&(qx, qy))
            {
                continue;
            }
            scored[n_scored] = (qx, qy);
            n_scored += 1;
            let c = cost_at(qx as usize, qy as usize);
            if c < best.0 {
                best = (c, qx as usize, qy as usize);
            }
        }
        if best.0 >= before.0 || (best.1 as i64, best.2 as i64) == centre {
            return best;
        }
        centre = (best.1 as i64, best.2 as i64);
    }
}

/// Keeps in `best` the better of it and `new` (placements ruled out by their luma, with
/// their bounds): the higher bound, then the nearer to `expected`, then the later.
fn keep_best_bounded(best: &mut Option<Found>, new: Found, (ex, ey): (u32, u32)) {
    let better = best.is_none_or(|b| {
        new.similarity
            .total_cmp(&b.similarity)
            .then(dist2(b.x, b.y, ex, ey).cmp(&dist2(new.x, new.y, ex, ey)))
            .is_ge()
    });
    if better {
        *best = Some(new);
    }
}

/// The search's result: the best placement scored in full, or — when a placement only
/// bounded (by its luma error) might be better — the best bounded one, scored in full (for
/// [`Report::Decision`], left bounded when no placement was scored in full: scoring it later
/// gives the same result). The decision never depends on this: a bounded placement cannot
/// pass.
fn finish(
    t: &Template,
    image: &RgbImage,
    ignore: &[Rect],
    best: Option<Found>,
    bounded: Option<Found>,
    report: Report,
    s: &mut Scratch,
) -> Found {
    let (ex, ey) = (t.rect.x, t.rect.y);
    match (best, bounded) {
        (Some(b), Some(bound)) if b.similarity >= bound.similarity => b,
        (None, Some(bound)) if report == Report::Decision => bound,
        (best, Some(bound)) => {
            let f = score_full(t, image, ignore, (bound.x, bound.y), s);
            match best {
                Some(b) if b.similarity >= f.similarity => b,
                _ => f,
            }
        }
        (best, None) => best.unwrap_or_default_at(ex, ey),
    }
}

/// How far below the threshold a luma-only bound must be to rule a placement out: the bound
/// and the full similarity sum the same pixels in another order, so they may differ by
/// rounding.
pub(crate) const BOUND_SLACK: f64 = 1e-3;

/// The best [`CANDIDATES`] placements of `ranked` ((cost, cx, cy) in row-major order), at
/// least [`SPREAD`] apart, best first; equal costs in row-major order. Only the best few
/// hundred placements are sorted (the picks almost always come from them), the rest only
/// when they do not suffice.
fn pick_candidates(ranked: &mut [(f64, usize, usize)]) -> Vec<(usize, usize, f64)> {
    let order = |a: &(f64, usize, usize), b: &(f64, usize, usize)| {
        a.0.total_cmp(&b.0).then((a.2, a.1).cmp(&(b.2, b.1)))
    };
    let mut picked: Vec<(usize, usize, f64)> = Vec::new();
    let head = (CANDIDATES * 32).min(ranked.len());
    if head < ranked.len() {
        ranked.select_nth_unstable_by(head, order);
    }
    ranked[..head].sort_unstable_by(order);
    for part in [0, head] {
        if part == head {
            if picked.len() >= CANDIDATES || head == ranked.len() {
                break;
            }
            ranked[head..].sort_unstable_by(order);
        }
        let end = if part == 0 { head } else { ranked.len() };
        for &(cost, cx, cy) in &ranked[part..end] {
            if picked.len() >= CANDIDATES {
                break;
            }
            if picked
                .iter()
                .any(|&(px, py, _)| px.abs_diff(cx) <= SPREAD && py.abs_diff(cy) <= SPREAD)
            {
                continue;
            }
            picked.push((cx, cy, cost));
        }
    }
    picked
}

fn dist2(x: u32, y: u32, ex: u32, ey: u32) -> u64 {
    let dx = x.abs_diff(ex) as u64;
    let dy = y.abs_diff(ey) as u64;
    dx * dx + dy * dy
}

trait OrDefaultAt {
    fn unwrap_or_default_at(self, x: u32, y: u32) -> Found;
}

impl OrDefaultAt for Option<Found> {
    fn unwrap_or_default_at(self, x: u32, y: u32) -> Found {
        self.unwrap_or(Found::new(x, y, (0.0, Components::default())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Rows of pseudo-random luma-like values.
    fn values(seed: u64, n: usize) -> Vec<f32> {
        let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((x >> 40) % 25600) as f32 / 100.0
            })
            .collect()
    }

    proptest! {
        /// Whichever copy runs (AVX2 here when the CPU has it), each lane does exactly the
        /// scalar operations in the scalar order: the results are bit-identical to them, so a
        /// decision never depends on the machine's vector width.
        #[test]
        fn vector_loops_equal_their_lane_by_lane_definition(seed in 0u64..1000, n in 0usize..70) {
            let (t, sv) = (values(seed, n), values(seed + 7, n + LANES));
            let mut got = [[0f32; LANES]; 3];
            shot_lanes(&t, &sv[..n], &mut got);
            let mut want = [[0f32; LANES]; 3];
            for (k, (&a, &b)) in t.iter().zip(&sv[..n]).enumerate() {
                let l = if k < n - n % LANES { k % LANES } else { k - (n - n % LANES) };
                want[0][l] += b;
                want[1][l] += b * b;
                want[2][l] += a * b;
            }
            prop_assert_eq!(got, want);
            let mut lanes = [0f32; LANES];
            correlate_lanes(&t, &sv, &mut lanes);
            let mut want = [0f32; LANES];
            for (k, &tv) in t.iter().enumerate() {
                for (l, w) in want.iter_mut().enumerate() {
                    *w += tv * sv[k + l];
                }
            }
            prop_assert_eq!(lanes, want);
        }

        /// The partial sort picks exactly what sorting everything (stably, in row-major
        /// order) picks, ties included.
        #[test]
        fn partial_sort_picks_like_a_full_sort(seed in 0u64..1000, n in 1usize..700, levels in 1u64..6) {
            let costs = values(seed, n);
            let ranked: Vec<(f64, usize, usize)> = costs
                .iter()
                .enumerate()
                .map(|(i, &c)| ((c as u64 % levels) as f64, i % 31, i / 31))
                .collect();
            let mut sorted = ranked.clone();
            sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut want: Vec<(usize, usize, f64)> = Vec::new();
            for &(cost, cx, cy) in &sorted {
                if want.len() < CANDIDATES
                    && !want
                        .iter()
                        .any(|&(px, py, _)| px.abs_diff(cx) <= SPREAD && py.abs_diff(cy) <= SPREAD)
                {
                    want.push((cx, cy, cost));
                }
            }
            let mut work = ranked;
            prop_assert_eq!(pick_candidates(&mut work), want);
        }

        /// The luma-only score of a placement is never below its full similarity, so a
        /// placement it rules out could not have passed.
        #[test]
        fn luma_bound_is_at_least_the_full_similarity(seed in 0u64..500, dx in 0u32..6, dy in 0u32..6, noise in 0u32..60) {
            let (w, h) = (64u32, 48u32);
            let base = values(seed, (w * h * 3) as usize);
            let img = image::RgbImage::from_fn(w, h, |x, y| {
                let i = ((y * w + x) * 3) as usize;
                image::Rgb([base[i] as u8, base[i + 1] as u8, (base[i + 2] / 4.0) as u8])
            });
            let t = Template::new(&img, Rect::new(8, 8, 40, 24), None, 0.9, 10);
            let shot = image::RgbImage::from_fn(w, h, |x, y| {
                let p = img.get_pixel((x + dx).min(w - 1), (y + dy).min(h - 1)).0;
                let j = ((x * 7 + y * 13) % (noise + 1)) as u8;
                image::Rgb([p[0].saturating_add(j), p[1], p[2].saturating_sub(j)])
            });
            let planes = Planes::of(&shot, Rect::new(0, 0, w, h));
            let mut es = ExactScratch::default();
            for (x, y) in [(8, 8), (5, 3), (12, 10), (0, 0)] {
                es.luma_only = true;
                let (bound, _) = exact(&t, &planes, x, y, &[], &mut es);
                es.luma_only = false;
                let (full, _) = exact(&t, &planes, x, y, &[], &mut es);
                prop_assert!(bound >= full - 1e-4, "bound {bound} < full {full} at ({x}, {y})");
            }
        }
    }

    #[test]
    fn spans_leave_out_ignored_columns() {
        let mut s = Vec::new();
        row_spans(
            10,
            100,
            50,
            &[Rect::new(103, 40, 2, 20), Rect::new(108, 50, 10, 1)],
            &mut s,
        );
        assert_eq!(s, vec![(0, 3), (5, 8)]);
        s.clear();
        row_spans(10, 100, 39, &[Rect::new(103, 40, 2, 20)], &mut s);
        assert_eq!(s, vec![(0, 10)]);
    }
}
