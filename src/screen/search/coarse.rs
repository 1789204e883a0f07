//! Ranking every placement of a search window on the luma pyramid, and refining the best
//! few level by level: the cheap part of a search that decides where the exact score is
//! worth computing.

use super::super::simd::avx2_when_available;
use super::super::similarity::{self, LumaSums};
use super::super::template::CoarseLevel;
use super::exact::{LANES, luma_lanes_weighted};

/// Coarse candidates refined per search.
pub(super) const CANDIDATES: usize = 8;
/// Coarse candidates are at least this many coarse samples apart (either way), so that a
/// row of near-equal placements along a line or a text row does not fill every candidate.
pub(super) const SPREAD: usize = 2;

/// [`coarse_cost`] of an unmasked coarse level, with the screenshot's sums taken from the
/// integral image `ii` of the plane.
pub(super) fn integral_cost(
    t: &CoarseLevel,
    pw: usize,
    pv: &[f32],
    ii: &[Pair],
    cx: usize,
    cy: usize,
) -> f64 {
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
pub(super) fn rank_all(
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
pub(super) fn correlate_lanes(t: &[f32], s: &[f32], lanes: &mut [f32; LANES]) -> () {
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
pub(super) fn integral(w: usize, h: usize, v: &[f32], out: &mut Vec<Pair>) {
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

/// Cost (lower is better) of a coarse template level at `(cx, cy)` of a coarse shot plane.
pub(super) fn coarse_cost(t: &CoarseLevel, pw: usize, pv: &[f32], cx: usize, cy: usize) -> f64 {
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

/// The lowest cost within `radius` of `start` on one pyramid level, descending: the 3 × 3
/// around `start`, then, while the best moves, the 3 × 3 around it (still within the radius,
/// each cell scored once). `fits` says whether a cell is a placement on the level.
pub(super) fn descend(
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

/// The best [`CANDIDATES`] placements of `ranked` ((cost, cx, cy) in row-major order), at
/// least [`SPREAD`] apart, best first; equal costs in row-major order. Only the best few
/// hundred placements are sorted (the picks almost always come from them), the rest only
/// when they do not suffice.
pub(super) fn pick_candidates(ranked: &mut [(f64, usize, usize)]) -> Vec<(usize, usize, f64)> {
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
