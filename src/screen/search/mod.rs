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

mod coarse;
mod exact;
mod surroundings;

use super::box_luma::BoxLuma;
use super::planes::{LumaPyramid, PAD, Planes};
use super::similarity::{self, Components};
use super::template::Template;
use crate::rfb::Rect;
pub use coarse::Pair;
use coarse::{coarse_cost, descend, integral, integral_cost, pick_candidates, rank_all};
use exact::luma_rank;
pub use exact::{ExactScratch, Score, TILE, exact};
pub use surroundings::surroundings_stayed;

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

/// The exact similarity of `t` placed at `(x, y)` of `image`, computing the screenshot's planes
/// as needed: at full resolution over the placement grown by `pad` (clipped to `bounds`, the
/// last placement allowed, so a hill-climb reuses them), at reduced resolution (large
/// regions) for the placement only. `mode` says whether the full score or only its luma
/// bound is wanted.
#[allow(clippy::too_many_arguments)]
fn score_at(
    t: &Template,
    image: &RgbImage,
    (x, y): (u32, u32),
    ignore: &[Rect],
    mode: Score,
    pad: u32,
    bounds: Window,
    s: &mut Scratch,
) -> (f64, Components) {
    let (w, h) = (t.rect.w, t.rect.h);
    let luma_only = mode == Score::LumaBound;
    if t.step > 1 && pad > 0 && luma_only && t.weights.is_none() {
        let placement = Rect::new(x, y, w, h);
        if !ignore.iter().any(|r| r.intersects(&placement))
            && let Some(r) = climb_rank_reduced(t, image, (x, y), bounds, s)
        {
            return r;
        }
    }
    if t.step > 1 {
        let st = t.step;
        if luma_only {
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
        return exact(
            t,
            &s.planes,
            (x / st, y / st),
            &s.half_ignore,
            mode,
            &mut s.exact,
        );
    }
    if !s.planes.covers(Rect::new(x, y, w, h)) || s.planes_stale {
        let rx0 = x.saturating_sub(pad).max(bounds.x0.min(x));
        let ry0 = y.saturating_sub(pad).max(bounds.y0.min(y));
        let ry1 = (y + pad).min(bounds.y1.max(y)) + h;
        let rx1 = (x + pad).min(bounds.x1.max(x)) + w;
        let r = Rect::new(rx0, ry0, rx1 - rx0, ry1 - ry0);
        // A luma bound reads luma only.
        if luma_only {
            s.planes.compute_luma(image, r);
        } else {
            s.planes.compute(image, r);
        }
        s.planes_stale = false;
    } else if !luma_only {
        s.planes.add_chroma(image);
    }
    exact(t, &s.planes, (x, y), ignore, mode, &mut s.exact)
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
    bounds: Window,
    s: &mut Scratch,
) -> Option<(f64, Components)> {
    let (pw, ph) = (t.plane_w, t.plane_h);
    if !s.boxes_live {
        s.boxes.compute(image, bounds.pixels(t), t.step);
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
    s.planes_stale = true;
    let at = score_at(t, image, (x, y), ignore, Score::Full, 0, Window::NONE, s);
    Found::new(x, y, at)
}

/// Finds `t` in `image` within its margin, phase by phase (the module's note): in place,
/// then, unless the window's means rule it out, every placement of a tiny template or the
/// pyramid's candidates climbed on the exact score. The image must be at least as large as
/// the template's placement.
fn find_anywhere(
    t: &Template,
    image: &RgbImage,
    ignore: &[Rect],
    hint: Option<(i64, i64)>,
    within: Option<Rect>,
    report: Report,
    s: &mut Scratch,
) -> Found {
    let mut best = Best::new(t);
    let expected_mean = match in_place(t, image, ignore, hint, &mut best, s) {
        InPlace::Passed(found) => return found,
        InPlace::Failed { expected_mean } => expected_mean,
    };
    let Some(win) = search_window(t, image.dimensions(), within) else {
        return finish(t, image, ignore, best, report, s);
    };
    // A window where no placement's mean luma leaves it a chance fails without a search.
    if let Some(mb) = &t.mean_bound
        && !expected_mean.is_some_and(|m| mb.admits(m))
        && !mb.ignored_in(ignore, (win.x0, win.y0, win.x1, win.y1))
        && mb.rules_out(image, (win.x0, win.y0, win.x1, win.y1), &mut s.mean_cols)
    {
        return finish(t, image, ignore, best, report, s);
    }
    if t.coarse.is_empty() {
        score_every_placement(t, image, ignore, win, &mut best, s);
        return finish(t, image, ignore, best, report, s);
    }
    let candidates = pyramid_candidates(t, image, win, s);
    // Placements already scored (climbs revisit their neighbours, candidates overlap).
    s.seen.clear();
    for (_, cx, cy) in candidates {
        let Some(b) = climb(t, image, ignore, win, (cx, cy), s) else {
            continue;
        };
        // The climb ranked by luma alone, which bounds the full similarity from above:
        // a candidate that cannot pass is not scored in full.
        if b.similarity < t.threshold - BOUND_SLACK {
            best.bounded(Found::bound(b.x, b.y, (b.similarity, b.components)));
            continue;
        }
        let full = score_at(t, image, (b.x, b.y), ignore, Score::Full, PLANE_PAD, win, s);
        best.consider(Found::new(b.x, b.y, full));
        if full.0 >= t.threshold && full.0 >= 1.0 {
            break;
        }
    }
    finish(t, image, ignore, best, report, s)
}

/// What phase 1 (the expected and the hinted placement) decided.
enum InPlace {
    /// A placement passed: the search's answer.
    Passed(Found),
    /// Neither passed. The mean of the screenshot's luma at the expected place, where it
    /// was computed: where it leaves the region a chance, the search window cannot be ruled
    /// out by its means.
    Failed { expected_mean: Option<f64> },
}

/// Phase 1: the expected position, then the hinted one (when within the margin and on
/// screen). At full resolution the luma bound comes first and chroma only if it passes; at
/// reduced resolution the planes are computed per score, and a bound first would compute
/// them twice where the screen shows.
fn in_place(
    t: &Template,
    image: &RgbImage,
    ignore: &[Rect],
    hint: Option<(i64, i64)>,
    best: &mut Best,
    s: &mut Scratch,
) -> InPlace {
    let (iw, ih) = image.dimensions();
    let (w, h) = (t.rect.w, t.rect.h);
    let (ex, ey) = (t.rect.x, t.rect.y);
    let hinted = hint
        .filter(|&d| d != (0, 0))
        .map(|(dx, dy)| (ex as i64 + dx, ey as i64 + dy));
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
        if t.step == 1 {
            s.planes.compute_luma(image, Rect::new(x, y, w, h));
            s.planes_stale = false;
            let bound = score_at(
                t,
                image,
                (x, y),
                ignore,
                Score::LumaBound,
                0,
                Window::NONE,
                s,
            );
            if bound.0 < t.threshold - BOUND_SLACK {
                if (x, y) == (ex, ey) {
                    expected_mean = Some(mean(&s.planes.y));
                }
                best.bounded(Found::bound(x, y, bound));
                continue;
            }
        }
        let (sim, c) = score_at(t, image, (x, y), ignore, Score::Full, 0, Window::NONE, s);
        best.consider(Found::new(x, y, (sim, c)));
        if sim >= t.threshold {
            return InPlace::Passed(best.full.unwrap_or(Found::new(x, y, (sim, c))));
        }
        if (x, y) == (ex, ey) {
            expected_mean = Some(mean(&s.planes.y));
        }
    }
    InPlace::Failed { expected_mean }
}

/// The top-left corners a search may place the region at: `(x0, y0) ..= (x1, y1)`.
#[derive(Clone, Copy, Debug)]
struct Window {
    x0: u32,
    y0: u32,
    x1: u32,
    y1: u32,
}

impl Window {
    /// No window: a score outside a search, whose planes cover the placement only.
    const NONE: Window = Window {
        x0: 0,
        y0: 0,
        x1: 0,
        y1: 0,
    };

    /// The pixels every placement of `t` in the window covers.
    fn pixels(&self, t: &Template) -> Rect {
        Rect::new(
            self.x0,
            self.y0,
            self.x1 - self.x0 + t.rect.w,
            self.y1 - self.y0 + t.rect.h,
        )
    }
}

/// Phase 2: every placement within the margin that keeps the region on screen (and, with
/// `within`, whose pixels with the smoothing border overlap it); `None` when no placement is
/// left to try beyond phase 1's.
fn search_window(t: &Template, (iw, ih): (u32, u32), within: Option<Rect>) -> Option<Window> {
    let (w, h) = (t.rect.w, t.rect.h);
    let (ex, ey) = (t.rect.x, t.rect.y);
    let mut x0 = ex.saturating_sub(t.margin);
    let mut y0 = ey.saturating_sub(t.margin);
    let mut x1 = (ex + t.margin).min(iw.saturating_sub(w));
    let mut y1 = (ey + t.margin).min(ih.saturating_sub(h));
    if let Some(r) = within {
        x0 = x0.max((r.x + 1).saturating_sub(w + PAD));
        y0 = y0.max((r.y + 1).saturating_sub(h + PAD));
        x1 = x1.min((r.right() + PAD).saturating_sub(1));
        y1 = y1.min((r.bottom() + PAD).saturating_sub(1));
        if x1 < x0 || y1 < y0 {
            return None;
        }
    } else if x1 < x0 || y1 < y0 || (x1 == x0 && y1 == y0) {
        return None;
    }
    Some(Window { x0, y0, x1, y1 })
}

/// Phase 3 for a template too small for a pyramid: every placement, exactly.
fn score_every_placement(
    t: &Template,
    image: &RgbImage,
    ignore: &[Rect],
    win: Window,
    best: &mut Best,
    s: &mut Scratch,
) {
    s.planes.compute(image, win.pixels(t));
    s.planes_stale = false;
    for y in win.y0..=win.y1 {
        for x in win.x0..=win.x1 {
            let (sim, c) = exact(t, &s.planes, (x, y), ignore, Score::Full, &mut s.exact);
            best.consider(Found::new(x, y, (sim, c)));
        }
    }
}

/// Phase 3: every placement ranked on the wide level where the region has one, else on the
/// coarsest square level; the best few distinct ones refined level by level down to level 1
/// and mapped to full resolution; the best [`EXACT_CANDIDATES`] of those by their level-1
/// cost, as (cost, x, y).
fn pyramid_candidates(
    t: &Template,
    image: &RgbImage,
    win: Window,
    s: &mut Scratch,
) -> Vec<(f64, u32, u32)> {
    let levels = t.coarse.len();
    s.pyramid.compute(image, win.pixels(t), levels);
    if t.wide.is_some() {
        s.pyramid.compute_wide();
    }
    rank_top_level(t, s);
    let picked = pick_candidates(&mut s.coarse);
    let mut candidates: Vec<(f64, u32, u32)> = picked
        .into_iter()
        .map(|(cx, cy, coarse)| {
            let (cost, px, py) = refine_down(t, s, (cx, cy), coarse);
            // Level 1 position → full resolution.
            let fx = (win.x0 as usize + 2 * px).min(win.x1 as usize) as u32;
            let fy = (win.y0 as usize + 2 * py).min(win.y1 as usize) as u32;
            (cost, fx, fy)
        })
        .collect();
    candidates.sort_by(|a, b| a.0.total_cmp(&b.0));
    candidates.truncate(EXACT_CANDIDATES);
    candidates
}

/// Fills `s.coarse` with the cost of every placement on the top level (the wide one where
/// the region has one). An unmasked level takes the window sums of s and s² from integral
/// images and computes only Σts per placement (one multiply-add a pixel instead of five);
/// the integral images of every level are kept for [`refine_down`].
fn rank_top_level(t: &Template, s: &mut Scratch) {
    let levels = t.coarse.len();
    let (top, (pw, ph, pv)) = match &t.wide {
        Some(wide) => (wide, &s.pyramid.wide),
        None => (&t.coarse[levels - 1], &s.pyramid.levels[levels - 1]),
    };
    s.coarse.clear();
    if *pw < top.w || *ph < top.h {
        return;
    }
    if !top.full {
        for cy in 0..=(ph - top.h) {
            for cx in 0..=(pw - top.w) {
                s.coarse.push((coarse_cost(top, *pw, pv, cx, cy), cx, cy));
            }
        }
        return;
    }
    // The wide level's integral image comes after the square levels'.
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
}

/// Refines a top-level candidate down the pyramid to level 1: within ±2 on the first finer
/// level, ±1 after. From the wide level, the first finer one is the coarsest square level,
/// with blocks half as wide and as tall. Returns (cost, x, y) on level 1.
fn refine_down(
    t: &Template,
    s: &Scratch,
    (cx, cy): (usize, usize),
    coarse: f64,
) -> (f64, usize, usize) {
    let levels = t.coarse.len();
    let (mut cost, mut px, mut py) = (coarse, cx, cy);
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
    (cost, px, py)
}

/// A placement the climb scored on its luma bound.
#[derive(Clone, Copy, Debug)]
struct Climbed {
    cost: f64,
    similarity: f64,
    components: Components,
    x: u32,
    y: u32,
}

/// Phase 4: hill-climbs from a candidate over its 4 neighbours (±[`REFINE`], then ±1) on
/// the luma bound while it improves; the best placement reached. Scores are remembered in
/// `s.seen` across the candidates of one search.
fn climb(
    t: &Template,
    image: &RgbImage,
    ignore: &[Rect],
    win: Window,
    start: (u32, u32),
    s: &mut Scratch,
) -> Option<Climbed> {
    let mut cur: Option<Climbed> = None;
    let mut centre = start;
    let mut radius = REFINE;
    for _ in 0..CLIMB_STEPS {
        let before = cur.map(|c| (c.x, c.y));
        for dy in -radius..=radius {
            for dx in -radius..=radius {
                // A diagonal move takes two steps: a cross costs 5 scores a step, not 9.
                if dx != 0 && dy != 0 {
                    continue;
                }
                let (qx, qy) = (centre.0 as i64 + dx, centre.1 as i64 + dy);
                if qx < win.x0 as i64
                    || qy < win.y0 as i64
                    || qx > win.x1 as i64
                    || qy > win.y1 as i64
                {
                    continue;
                }
                let (qx, qy) = (qx as u32, qy as u32);
                if before == Some((qx, qy)) {
                    continue;
                }
                let scored = match s.seen.iter().find(|e| (e.3, e.4) == (qx, qy)) {
                    Some(e) => (e.0, e.1, e.2),
                    None => {
                        let (sim, c) = score_at(
                            t,
                            image,
                            (qx, qy),
                            ignore,
                            Score::LumaBound,
                            PLANE_PAD,
                            win,
                            s,
                        );
                        let cost = similarity::cost(&c);
                        s.seen.push((cost, sim, c, qx, qy));
                        (cost, sim, c)
                    }
                };
                if cur.is_none_or(|b| scored.0 < b.cost) {
                    cur = Some(Climbed {
                        cost: scored.0,
                        similarity: scored.1,
                        components: scored.2,
                        x: qx,
                        y: qy,
                    });
                }
            }
        }
        let Some(b) = cur else { break };
        if Some((b.x, b.y)) == before || b.similarity >= 1.0 {
            break;
        }
        centre = (b.x, b.y);
        radius = 1;
    }
    cur
}

/// The mean of a plane's samples.
fn mean(v: &[f32]) -> f64 {
    v.iter().map(|&x| x as f64).sum::<f64>() / v.len().max(1) as f64
}

/// The best placements of one search so far.
struct Best {
    /// Where the region was recorded: ties go to the nearer placement.
    expected: (u32, u32),
    /// Scored in full.
    full: Option<Found>,
    /// Ruled out by their luma alone (with their bounds). Only the best is scored in full,
    /// and only for a full report.
    bounded: Option<Found>,
}

impl Best {
    fn new(t: &Template) -> Best {
        Best {
            expected: (t.rect.x, t.rect.y),
            full: None,
            bounded: None,
        }
    }

    /// Keeps the better of the best full score and `f`: the higher similarity, then the
    /// nearer to the expected place, then the earlier.
    fn consider(&mut self, f: Found) {
        let (ex, ey) = self.expected;
        let better = match self.full {
            None => true,
            Some(b) => {
                f.similarity > b.similarity
                    || (f.similarity == b.similarity
                        && dist2(f.x, f.y, ex, ey) < dist2(b.x, b.y, ex, ey))
            }
        };
        if better {
            self.full = Some(f);
        }
    }

    /// Keeps the better of the best bounded placement and `new`: the higher bound, then the
    /// nearer to the expected place, then the later.
    fn bounded(&mut self, new: Found) {
        let (ex, ey) = self.expected;
        let better = self.bounded.is_none_or(|b| {
            new.similarity
                .total_cmp(&b.similarity)
                .then(dist2(b.x, b.y, ex, ey).cmp(&dist2(new.x, new.y, ex, ey)))
                .is_ge()
        });
        if better {
            self.bounded = Some(new);
        }
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
    best: Best,
    report: Report,
    s: &mut Scratch,
) -> Found {
    let (ex, ey) = best.expected;
    match (best.full, best.bounded) {
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
    use super::coarse::{CANDIDATES, SPREAD, correlate_lanes};
    use super::exact::{LANES, row_spans, shot_lanes};
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
                let (bound, _) = exact(&t, &planes, (x, y), &[], Score::LumaBound, &mut es);
                let (full, _) = exact(&t, &planes, (x, y), &[], Score::Full, &mut es);
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
