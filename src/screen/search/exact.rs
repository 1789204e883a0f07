//! The exact similarity of a template at one placement, and its vector kernels.
//!
//! A score is either the full similarity (luma, chroma and the worst tile) or, for ranking
//! placements cheaply, the luma alone ([`Score::LumaBound`]): an upper bound of the full one.
//! Kept apart from the search so the arithmetic every placement pays is in one place.

use super::super::planes::{PAD, Planes};
use super::super::simd::avx2_when_available;
use super::super::similarity::{self, ChromaSums, Components, LumaSums};
use super::super::template::Template;
use crate::rfb::Rect;

/// How much of the similarity a score computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Score {
    /// The full similarity: luma, chroma and the worst tile.
    Full,
    /// Luma sums only (no tiles, no chroma), for ordering placements cheaply: at least the
    /// full similarity, up to rounding ([`BOUND_SLACK`](super::BOUND_SLACK)).
    LumaBound,
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
    (x, y): (u32, u32),
    ignore: &[Rect],
    mode: Score,
    es: &mut ExactScratch,
) -> (f64, Components) {
    let luma_only = mode == Score::LumaBound;
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
    if luma_only && t.weights.is_none() && !ignore.iter().any(|r| r.intersects(&placement)) {
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
                let (end, acc) = if luma_only {
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
            if j % 2 == 0 && !luma_only {
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
        if tile_row_done || luma_only {
            let tiles: &mut [[[f32; LANES]; 6]] = if luma_only { &mut [] } else { &mut es.tiles };
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
pub(super) fn luma_rank(t: &Template, shot: &Planes, ox: usize, oy: usize) -> (f64, Components) {
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
pub(super) fn shot_lanes(t: &[f32], s: &[f32], acc: &mut [[f32; LANES]; 3]) -> () {
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
pub(super) fn luma_lanes_weighted(t: &[f32], s: &[f32], w: &[f32], acc: &mut [[f32; LANES]; 6]) {
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
pub(super) const LANES: usize = 8;

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
pub(super) fn row_spans(
    w: usize,
    x: u32,
    y: u32,
    ignore: &[Rect],
    spans: &mut Vec<(usize, usize)>,
) {
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
