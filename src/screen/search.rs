//! Finding a template in a screenshot within its search margin.
//!
//! Order of work, cheapest first, because most checks are of a screen that either is exactly
//! where it was recorded or is not there at all:
//! 1. score the expected position (and the offset an earlier region of the same reference was
//!    found at: a moved screen moves as a whole); stop if it passes;
//! 2. otherwise rank every position of the margin on the coarsest luma pyramid level, keep the
//!    best few distinct candidates, and refine each level by level down to full resolution,
//!    finishing with a hill-climb on the exact similarity.

use image::RgbImage;

use super::planes::{LumaPyramid, Planes};
use super::similarity::{self, ChromaSums, Components, LumaSums};
use super::template::{CoarseLevel, Template};
use crate::rfb::Rect;

/// Coarse candidates refined per search.
const CANDIDATES: usize = 3;
/// Exact evaluations allowed in one hill-climb.
const CLIMB_STEPS: usize = 12;

/// Where a template was found and how similar it is there.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Found {
    pub x: u32,
    pub y: u32,
    pub similarity: f64,
    pub components: Components,
}

/// Buffers reused between searches, so a check allocates nothing once warm.
#[derive(Default, Debug)]
pub struct Scratch {
    planes: Planes,
    pyramid: LumaPyramid,
    spans: Vec<(usize, usize)>,
    coarse: Vec<(f64, usize, usize)>,
}

/// The exact similarity of `t` placed with its top-left corner at `(x, y)` of the image whose
/// planes (covering that placement) are `shot`. Pixels inside `ignore` (image coordinates)
/// are left out.
pub fn exact(
    t: &Template,
    shot: &Planes,
    x: u32,
    y: u32,
    ignore: &[Rect],
    spans: &mut Vec<(usize, usize)>,
) -> (f64, Components) {
    let (w, h) = (t.rect.w as usize, t.rect.h as usize);
    debug_assert!(shot.covers(Rect::new(x, y, t.rect.w, t.rect.h)));
    let sw = shot.rect.w as usize;
    let ox = (x - shot.rect.x) as usize;
    let oy = (y - shot.rect.y) as usize;
    let mut luma = LumaSums::default();
    let mut chroma = ChromaSums::default();
    for j in 0..h {
        spans.clear();
        row_spans(w, x, y + j as u32, ignore, spans);
        let trow = j * w;
        let srow = (oy + j) * sw + ox;
        for &(a, b) in spans.iter() {
            let ty = &t.planes.y[trow + a..trow + b];
            let sy = &shot.y[srow + a..srow + b];
            let (mut n, mut st, mut ss, mut stt, mut sss, mut sst) =
                (0f32, 0f32, 0f32, 0f32, 0f32, 0f32);
            match &t.weights {
                None => {
                    n = (b - a) as f32;
                    for (&tv, &sv) in ty.iter().zip(sy) {
                        st += tv;
                        ss += sv;
                        stt += tv * tv;
                        sss += sv * sv;
                        sst += tv * sv;
                    }
                }
                Some(wt) => {
                    for ((&tv, &sv), &wv) in ty.iter().zip(sy).zip(&wt[trow + a..trow + b]) {
                        n += wv;
                        st += wv * tv;
                        ss += wv * sv;
                        stt += wv * tv * tv;
                        sss += wv * sv * sv;
                        sst += wv * tv * sv;
                    }
                }
            }
            luma.n += n as f64;
            luma.t += st as f64;
            luma.s += ss as f64;
            luma.tt += stt as f64;
            luma.ss += sss as f64;
            luma.st += sst as f64;
            if j % 2 == 0 {
                let (mut n, mut d2, mut cb, mut cbb, mut cr, mut crr) =
                    (0f32, 0f32, 0f32, 0f32, 0f32, 0f32);
                let mut i = a + (a & 1);
                while i < b {
                    let wv = t.weights.as_ref().map_or(1.0, |w| w[trow + i]);
                    let (tb, tr) = (t.planes.cb[trow + i], t.planes.cr[trow + i]);
                    let db = shot.cb[srow + i] - tb;
                    let dr = shot.cr[srow + i] - tr;
                    n += wv;
                    d2 += wv * (db * db + dr * dr);
                    cb += wv * tb;
                    cbb += wv * tb * tb;
                    cr += wv * tr;
                    crr += wv * tr * tr;
                    i += 2;
                }
                chroma.n += n as f64;
                chroma.diff2 += d2 as f64;
                chroma.cb += cb as f64;
                chroma.cbb += cbb as f64;
                chroma.cr += cr as f64;
                chroma.crr += crr as f64;
            }
        }
    }
    similarity::similarity(&luma, &chroma)
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
        let (mut n, mut st, mut ss, mut stt, mut sss, mut sst) =
            (0f32, 0f32, 0f32, 0f32, 0f32, 0f32);
        for ((&tv, &sv), &wv) in tr.iter().zip(sr).zip(wr) {
            n += wv;
            st += wv * tv;
            ss += wv * sv;
            stt += wv * tv * tv;
            sss += wv * sv * sv;
            sst += wv * tv * sv;
        }
        l.n += n as f64;
        l.t += st as f64;
        l.s += ss as f64;
        l.tt += stt as f64;
        l.ss += sss as f64;
        l.st += sst as f64;
    }
    similarity::coarse_cost(&l)
}

/// Finds `t` in `image` within its margin. `hint` is an offset (dx, dy) from the expected
/// position to try first. The image must be at least as large as the template's placement.
pub fn find(
    t: &Template,
    image: &RgbImage,
    ignore: &[Rect],
    hint: Option<(i64, i64)>,
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
    // 1. Expected position, then the hinted one.
    let mut first = vec![(ex as i64, ey as i64)];
    if let Some((dx, dy)) = hint
        && (dx, dy) != (0, 0)
    {
        first.push((ex as i64 + dx, ey as i64 + dy));
    }
    for (x, y) in first {
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
        s.planes.compute(image, Rect::new(x, y, w, h));
        let (sim, c) = exact(t, &s.planes, x, y, ignore, &mut s.spans);
        consider(
            Found {
                x,
                y,
                similarity: sim,
                components: c,
            },
            &mut best,
        );
        if sim >= t.threshold {
            return best.unwrap_or(Found {
                x,
                y,
                similarity: sim,
                components: c,
            });
        }
    }
    // 2. Search window: every placement within the margin that keeps the region on screen.
    let x0 = ex.saturating_sub(t.margin);
    let y0 = ey.saturating_sub(t.margin);
    let x1 = (ex + t.margin).min(iw.saturating_sub(w));
    let y1 = (ey + t.margin).min(ih.saturating_sub(h));
    if x1 < x0 || y1 < y0 || (x1 == x0 && y1 == y0) {
        return best.unwrap_or_default_at(ex, ey);
    }
    let levels = t.coarse.len();
    let mut candidates: Vec<(u32, u32)> = Vec::new();
    if levels == 0 {
        // Tiny template: every placement, exactly.
        s.planes
            .compute(image, Rect::new(x0, y0, x1 - x0 + w, y1 - y0 + h));
        for y in y0..=y1 {
            for x in x0..=x1 {
                let (sim, c) = exact(t, &s.planes, x, y, ignore, &mut s.spans);
                consider(
                    Found {
                        x,
                        y,
                        similarity: sim,
                        components: c,
                    },
                    &mut best,
                );
            }
        }
        return best.unwrap_or_default_at(ex, ey);
    }
    let win = Rect::new(x0, y0, x1 - x0 + w, y1 - y0 + h);
    s.pyramid.compute(image, win, levels);
    let top = &t.coarse[levels - 1];
    let (pw, ph, pv) = &s.pyramid.levels[levels - 1];
    s.coarse.clear();
    if *pw >= top.w && *ph >= top.h {
        for cy in 0..=(ph - top.h) {
            for cx in 0..=(pw - top.w) {
                s.coarse.push((coarse_cost(top, *pw, pv, cx, cy), cx, cy));
            }
        }
    }
    s.coarse.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut picked: Vec<(usize, usize)> = Vec::new();
    for &(_, cx, cy) in s.coarse.iter() {
        if picked.len() >= CANDIDATES {
            break;
        }
        if picked
            .iter()
            .any(|&(px, py)| px.abs_diff(cx) <= 1 && py.abs_diff(cy) <= 1)
        {
            continue;
        }
        picked.push((cx, cy));
    }
    for (cx, cy) in picked {
        // Refine down the pyramid: ±2 on the first finer level, ±1 after.
        let (mut px, mut py) = (cx, cy);
        for level in (1..levels).rev() {
            let tl = &t.coarse[level - 1];
            let (lw, lh, lv) = &s.pyramid.levels[level - 1];
            let radius: i64 = if level == levels - 1 { 2 } else { 1 };
            let (bx, by) = (2 * px as i64, 2 * py as i64);
            let mut bestc = (f64::INFINITY, bx.max(0) as usize, by.max(0) as usize);
            for dy in -radius..=radius {
                for dx in -radius..=radius {
                    let (qx, qy) = (bx + dx, by + dy);
                    if qx < 0 || qy < 0 || qx as usize + tl.w > *lw || qy as usize + tl.h > *lh {
                        continue;
                    }
                    let c = coarse_cost(tl, *lw, lv, qx as usize, qy as usize);
                    if c < bestc.0 {
                        bestc = (c, qx as usize, qy as usize);
                    }
                }
            }
            px = bestc.1;
            py = bestc.2;
        }
        // Level 1 position → full resolution.
        let fx = (x0 as usize + 2 * px).min(x1 as usize) as u32;
        let fy = (y0 as usize + 2 * py).min(y1 as usize) as u32;
        candidates.push((fx, fy));
    }
    // 3. Hill-climb each candidate on the exact similarity.
    for (mut x, mut y) in candidates {
        let pad = 4u32;
        let mut cache: Option<(u32, u32, f64, Components)> = None;
        for _ in 0..CLIMB_STEPS {
            let region = Rect::new(
                x.saturating_sub(pad).max(x0),
                y.saturating_sub(pad).max(y0),
                0,
                0,
            );
            let rx1 = (x + pad).min(x1) + w;
            let ry1 = (y + pad).min(y1) + h;
            s.planes.compute(
                image,
                Rect::new(region.x, region.y, rx1 - region.x, ry1 - region.y),
            );
            let mut local = match cache {
                Some(c) if (c.0, c.1) == (x, y) => (c.2, c.3, x, y),
                _ => {
                    let (sim, c) = exact(t, &s.planes, x, y, ignore, &mut s.spans);
                    (sim, c, x, y)
                }
            };
            let center = (local.2, local.3);
            for dy in -1i64..=1 {
                for dx in -1i64..=1 {
                    let (qx, qy) = (center.0 as i64 + dx, center.1 as i64 + dy);
                    if (dx, dy) == (0, 0)
                        || qx < x0 as i64
                        || qy < y0 as i64
                        || qx > x1 as i64
                        || qy > y1 as i64
                    {
                        continue;
                    }
                    let (qx, qy) = (qx as u32, qy as u32);
                    let (sim, c) = exact(t, &s.planes, qx, qy, ignore, &mut s.spans);
                    if sim > local.0 {
                        local = (sim, c, qx, qy);
                    }
                }
            }
            consider(
                Found {
                    x: local.2,
                    y: local.3,
                    similarity: local.0,
                    components: local.1,
                },
                &mut best,
            );
            cache = Some((local.2, local.3, local.0, local.1));
            if (local.2, local.3) == center || local.0 >= 1.0 {
                break;
            }
            x = local.2;
            y = local.3;
        }
    }
    best.unwrap_or_default_at(ex, ey)
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
        self.unwrap_or(Found {
            x,
            y,
            similarity: 0.0,
            components: Components::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
