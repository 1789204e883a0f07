//! Watching a live framebuffer for a set of references.
//!
//! Every framebuffer update is checked (so a screen shown for a single update is not missed),
//! but only the regions whose search area the update touched are recomputed: a region's result
//! depends only on the pixels within its margin (plus the smoothing border), so the previous
//! result of an untouched region is still exact. Of a touched region, only what the damage can
//! change is redone: a passing region whose found placement was not touched keeps passing there;
//! a failing one is searched only at placements that overlap the damage (the others score as
//! before, and failed). Decisions equal a full check's; a failing region's reported similarity
//! may be lower than a full search would find.

use std::sync::Arc;

use image::RgbImage;

use super::reference::{MatchResult, Reference, RegionMatch};
use super::search::Report;
use crate::rfb::{Frame, Rect};

/// Border (px) around a found placement whose change can alter its result: the smoothing
/// border and the band the move check looks at.
const GUARD: u32 = crate::screen::template::RING + crate::screen::planes::PAD;

fn grow(r: Rect, by: u32) -> Rect {
    let x = r.x.saturating_sub(by);
    let y = r.y.saturating_sub(by);
    Rect::new(x, y, r.right() + by - x, r.bottom() + by - y)
}

/// A passing region's offset is the hint for the next region of the same reference.
fn continue_with_hint(hint: &mut Option<(i64, i64)>, m: &RegionMatch) {
    if m.passed() {
        *hint = Some((
            m.found.x as i64 - m.expected.x as i64,
            m.found.y as i64 - m.expected.y as i64,
        ));
    }
}

/// Checks a fixed list of references against frame after frame.
#[derive(Debug)]
pub struct Watcher {
    refs: Vec<Arc<Reference>>,
    /// Per reference, per region: the last result (None = never computed).
    cache: Vec<Vec<Option<RegionMatch>>>,
    /// Size of the image the cache belongs to.
    size: Option<(u32, u32)>,
    /// Serial of the last frame seen, to notice frames skipped without damage information.
    serial: Option<u64>,
    /// Pixels to leave out of every comparison (image coordinates), e.g. the pointer.
    ignore: Vec<Rect>,
    /// Regions recomputed by the last update (for tests and benchmarks).
    last_recomputed: usize,
}

impl Watcher {
    pub fn new(refs: Vec<Arc<Reference>>) -> Watcher {
        let cache = refs.iter().map(|r| vec![None; r.region_count()]).collect();
        Watcher {
            refs,
            cache,
            size: None,
            serial: None,
            ignore: Vec::new(),
            last_recomputed: 0,
        }
    }

    pub fn references(&self) -> &[Arc<Reference>] {
        &self.refs
    }

    /// Leaves `ignore` out of every comparison from now on (forgets cached results).
    pub fn set_ignore(&mut self, ignore: Vec<Rect>) {
        if ignore != self.ignore {
            self.ignore = ignore;
            self.invalidate();
        }
    }

    fn invalidate(&mut self) {
        for c in &mut self.cache {
            c.iter_mut().for_each(|r| *r = None);
        }
    }

    /// Results for every reference after `frame`, recomputing only what its damage touched.
    /// A frame that does not follow the previous one (serial gap) or changed size is checked
    /// in full; the `rfb` stream merges missed damage into the next frame, so a gap only
    /// happens when frames come from elsewhere.
    pub fn update(&mut self, frame: &Frame) -> Vec<(String, MatchResult)> {
        let contiguous = self.serial.is_some_and(|s| frame.serial == s + 1);
        self.serial = Some(frame.serial);
        if !contiguous || self.size != Some(frame.image.dimensions()) {
            return self.check_image(&frame.image);
        }
        self.run(&frame.image, Some(&frame.damage))
    }

    /// Results for every reference against a still image (nothing reused).
    pub fn check_image(&mut self, image: &RgbImage) -> Vec<(String, MatchResult)> {
        self.invalidate();
        self.size = Some(image.dimensions());
        self.run(image, None)
    }

    /// How many regions the last update or check recomputed.
    pub fn last_recomputed(&self) -> usize {
        self.last_recomputed
    }

    fn run(&mut self, image: &RgbImage, damage: Option<&[Rect]>) -> Vec<(String, MatchResult)> {
        let touched = |r: &Reference, i: usize| {
            let inf = r.region_influence(i);
            damage.is_none_or(|d| d.iter().any(|rect| rect.intersects(&inf)))
        };
        let work: usize = self
            .refs
            .iter()
            .map(|r| (0..r.region_count()).filter(|&i| touched(r, i)).count())
            .sum();
        let ignore = std::mem::take(&mut self.ignore);
        let (results, recomputed) =
            self.each_reference(work, |r, c| update_reference(r, c, image, damage, &ignore));
        self.ignore = ignore;
        self.last_recomputed = recomputed;
        results
    }

    /// The results of the last update or check (`image` is its image) with every region
    /// scored in full ([`RegionMatch::exact`]).
    ///
    /// An update decides every reference, but a region that failed on luma alone wherever it
    /// was tried reports only its best luma bound: the update that shows a watched screen does
    /// not wait for the reports of all the others. Whoever needs their similarities (the best
    /// similarity of a wait, the evidence of a failed one) completes them here, once: the
    /// completed results are kept until damage touches them again. An image of another size
    /// than the last one is checked first.
    pub fn complete(&mut self, image: &RgbImage) -> Vec<(String, MatchResult)> {
        if self.size != Some(image.dimensions()) {
            self.check_image(image);
        }
        let pending = self
            .cache
            .iter()
            .filter(|c| incomplete(c).is_some())
            .count();
        let ignore = std::mem::take(&mut self.ignore);
        let (results, _) =
            self.each_reference(pending, |r, c| complete_reference(r, c, image, &ignore));
        self.ignore = ignore;
        results
    }

    /// `job` for every reference and its cached results, on up to [`MAX_THREADS`] threads
    /// when there are at least [`PARALLEL_MIN_REGIONS`] regions of `work`; the results in the
    /// references' order and the sum of the counts the jobs return.
    fn each_reference(
        &mut self,
        work: usize,
        job: impl Fn(&Reference, &mut [Option<RegionMatch>]) -> (MatchResult, usize) + Sync,
    ) -> (Vec<(String, MatchResult)>, usize) {
        let threads = if work >= PARALLEL_MIN_REGIONS {
            std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_THREADS))
        } else {
            1
        };
        let items: Vec<Job<'_>> = self
            .refs
            .iter()
            .zip(self.cache.iter_mut())
            .enumerate()
            .map(|(i, (r, c))| (i, r, c))
            .collect();
        let run = |(i, r, c): Job<'_>| {
            let (m, n) = job(r, c);
            (i, r.name().to_string(), m, n)
        };
        let mut done: Vec<(usize, String, MatchResult, usize)> = if threads <= 1 {
            items.into_iter().map(run).collect()
        } else {
            // References are handed out one at a time, so one slow reference does not leave
            // the other thread idle. The calling thread is one of the workers: its buffers
            // are warm from earlier updates.
            let queue = std::sync::Mutex::new(items.into_iter());
            let worker = || {
                let mut out = Vec::new();
                loop {
                    let next = queue.lock().map(|mut q| q.next());
                    let Ok(Some(item)) = next else { break };
                    out.push(run(item));
                }
                out
            };
            std::thread::scope(|sc| {
                let helpers: Vec<_> = (1..threads).map(|_| sc.spawn(worker)).collect();
                let mut out = worker();
                for h in helpers {
                    out.extend(h.join().unwrap_or_default());
                }
                out
            })
        };
        done.sort_by_key(|d| d.0);
        let count = done.iter().map(|d| d.3).sum();
        let results = done.into_iter().map(|(_, n, m, _)| (n, m)).collect();
        (results, count)
    }
}

/// One reference to update: its index, itself and its cached region results.
type Job<'a> = (usize, &'a Arc<Reference>, &'a mut Vec<Option<RegionMatch>>);

/// Updates of fewer touched regions than this are checked on the calling thread (starting
/// threads costs more than it saves).
const PARALLEL_MIN_REGIONS: usize = 8;
/// Threads a Watcher update uses at most.
const MAX_THREADS: usize = 2;

/// The result of one reference after an update, recomputing what `damage` touched (all of it
/// when `None`), and how many regions were recomputed.
fn update_reference(
    r: &Reference,
    cache: &mut [Option<RegionMatch>],
    image: &RgbImage,
    damage: Option<&[Rect]>,
    ignore: &[Rect],
) -> (MatchResult, usize) {
    let mut recomputed = 0;
    if r.ensure_size(image).is_err() {
        return (Reference::result_from(Vec::new()), 0);
    }
    let mut hint = None;
    let mut failed = false;
    for (i, slot) in cache.iter_mut().enumerate() {
        let inf = r.region_influence(i);
        let hits: Option<Rect> = match damage {
            None => Some(inf),
            Some(d) => d
                .iter()
                .filter(|rect| rect.intersects(&inf))
                .fold(None, |acc: Option<Rect>, rect| {
                    Some(acc.map_or(*rect, |a| a.union(rect)))
                }),
        };
        if failed {
            // The reference already failed on an earlier region: the decision is made, so this
            // one is not checked. A result the damage made stale is forgotten.
            if hits.is_some() {
                *slot = None;
            }
            continue;
        }
        match (hits, slot.as_ref()) {
            (None, Some(_)) => {}
            (Some(_), None) | (_, None) => {
                *slot = Some(r.check_region(i, image, ignore, hint, Report::Decision));
                recomputed += 1;
            }
            (Some(d), Some(prev)) => {
                // Placements the damage did not touch score as before. A passing
                // region whose placement (and surroundings) stayed untouched still
                // passes there; a failing one can only start passing at a touched
                // placement, so only those are searched.
                let untouched = !grow(prev.found, GUARD).intersects(&d)
                    && !grow(prev.expected, GUARD).intersects(&d);
                if prev.passed() && untouched {
                    continue_with_hint(&mut hint, prev);
                    continue;
                }
                let new = if prev.passed() {
                    r.check_region(i, image, ignore, hint, Report::Decision)
                } else {
                    let new =
                        r.check_region_within(i, image, ignore, hint, Some(d), Report::Decision);
                    if untouched && prev.similarity > new.similarity {
                        prev.clone()
                    } else {
                        new
                    }
                };
                *slot = Some(new);
                recomputed += 1;
            }
        }
        if let Some(m) = slot {
            continue_with_hint(&mut hint, m);
            failed = !m.passed();
        }
    }
    (Reference::result_from(listed(cache)), recomputed)
}

/// The cached results a reference lists: up to its first failing region (those after it were
/// not checked, or are from an earlier frame, and say nothing about this one).
fn listed(cache: &[Option<RegionMatch>]) -> Vec<RegionMatch> {
    let mut regions = Vec::with_capacity(cache.len());
    for m in cache.iter().map_while(|s| s.clone()) {
        let pass = m.passed();
        regions.push(m);
        if !pass {
            break;
        }
    }
    regions
}

/// The index of a reference's listed region that is not scored in full, if any: only its
/// first failing region can be one.
fn incomplete(cache: &[Option<RegionMatch>]) -> Option<usize> {
    let i = cache
        .iter()
        .map_while(Option::as_ref)
        .position(|m| !m.passed())?;
    cache[i].as_ref().is_some_and(|m| !m.exact).then_some(i)
}

/// A reference's listed results with its failing region scored in full (see
/// [`Watcher::complete`]); the count is 1 when that needed a score.
fn complete_reference(
    r: &Reference,
    cache: &mut [Option<RegionMatch>],
    image: &RgbImage,
    ignore: &[Rect],
) -> (MatchResult, usize) {
    let scored = incomplete(cache).and_then(|i| {
        let m = cache[i].as_ref()?;
        cache[i] = Some(r.complete_region(i, image, ignore, m));
        Some(1)
    });
    (Reference::result_from(listed(cache)), scored.unwrap_or(0))
}
