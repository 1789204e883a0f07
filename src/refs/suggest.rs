//! `vncpilot refs suggest`: for a screen wait a run just missed (a font or theme changed), the
//! updated reference — the frame the run actually saw, under the reference's own mask and
//! settings — with old / new / diff pictures to look at, written into `screens/` only when
//! asked.
//!
//! The wait is the one the run's forensics recorded (`forensics/forensics.json`: the awaited
//! screen, its best similarity, the actual frame). It is a near miss when its best similarity
//! reached `min_similarity` ([`DEFAULT_MIN_SIMILARITY`]) without matching: a screen that is
//! almost the reference, rather than another screen. Other near misses in `events.jsonl` (an
//! earlier `check_screen` that returned false) kept no frame; they are listed, pointing at the
//! video.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use image::{GrayImage, RgbImage};
use serde::Serialize;

use super::RefsError;
use super::runs::find_runs;
use crate::report::EventKind;
use crate::report::forensics::{self, RegionReport};
use crate::screen::reference::mask_path_for;
use crate::screen::{Reference, ScreenSet, ScreenSettings};

/// The similarity a missed wait must have reached to be called a near miss.
pub const DEFAULT_MIN_SIMILARITY: f64 = 0.80;

/// Where suggestions go in a run's folder: `suggestions/<screen>/{old,new,diff}.png`.
pub const DIR: &str = "suggestions";

#[derive(Clone, Debug)]
pub struct SuggestOptions {
    pub min_similarity: f64,
    /// The set folder to take references from, instead of the one each run recorded.
    pub screens: Option<PathBuf>,
    /// Write the new pictures into the set.
    pub apply: bool,
}

impl Default for SuggestOptions {
    fn default() -> SuggestOptions {
        SuggestOptions {
            min_similarity: DEFAULT_MIN_SIMILARITY,
            screens: None,
            apply: false,
        }
    }
}

/// One proposed update of a reference.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Suggestion {
    pub run: PathBuf,
    pub screen: String,
    /// The reference's picture (what `--apply` rewrites).
    pub reference: PathBuf,
    /// Its mask, kept as it is.
    pub mask: Option<PathBuf>,
    /// The best similarity of the wait, as the run measured it.
    pub best_similarity: f64,
    /// The reference against the proposed frame now.
    pub similarity: f64,
    /// The lowest threshold of the reference's regions.
    pub threshold: f64,
    /// The updated reference against the proposed frame (`None` when it cannot be made: see
    /// `problem`).
    pub new_similarity: Option<f64>,
    /// The proposed frame (the run's actual screen when the wait gave up).
    pub frame: PathBuf,
    pub old_png: PathBuf,
    pub new_png: PathBuf,
    pub diff_png: PathBuf,
    /// Why it cannot be applied (the frame's size is not the mask's).
    pub problem: Option<String>,
    /// Written into the set by this call.
    pub applied: bool,
}

/// A missed wait with no suggestion, and why.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UnsuggestedWait {
    pub run: PathBuf,
    pub screen: String,
    pub best_similarity: f64,
    pub why: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SuggestReport {
    pub min_similarity: f64,
    /// Oldest run first.
    pub suggestions: Vec<Suggestion>,
    pub not_suggested: Vec<UnsuggestedWait>,
}

/// Proposes updated references for the near misses of every run in or below `results`, and
/// with `options.apply` writes them (the latest run's proposal, when several runs missed the
/// same reference). Applying refuses, before writing anything, if a frame's size is not its
/// mask's (or its reference's).
pub fn suggest(results: &Path, options: &SuggestOptions) -> Result<SuggestReport, RefsError> {
    let mut report = SuggestReport {
        min_similarity: options.min_similarity,
        suggestions: Vec::new(),
        not_suggested: Vec::new(),
    };
    let mut sets: BTreeMap<PathBuf, ScreenSet> = BTreeMap::new();
    for run in find_runs(results)? {
        let awaited = forensics::load(&run.dir)?.and_then(|f| f.awaited);
        report.not_suggested.extend(other_misses(
            &run,
            awaited.as_ref(),
            options.min_similarity,
        )?);
        let Some(awaited) = awaited else {
            continue;
        };
        let best = awaited.best_similarity.unwrap_or(awaited.similarity);
        let skip = |why: String| UnsuggestedWait {
            run: run.dir.clone(),
            screen: awaited.screen.clone(),
            best_similarity: best,
            why,
        };
        if best < options.min_similarity {
            report.not_suggested.push(skip(format!(
                "its best similarity {best:.4} is below {:.2}: another screen, not a changed one",
                options.min_similarity
            )));
            continue;
        }
        let set_dir = match (&options.screens, run.screens()) {
            (Some(dir), _) => dir.clone(),
            (None, Some(dir)) => dir.to_path_buf(),
            (None, None) => return Err(RefsError::NoScreenSet { run: run.dir }),
        };
        if !sets.contains_key(&set_dir) {
            let set = ScreenSet::load_dir(&set_dir).map_err(|source| RefsError::Screens {
                dir: set_dir.clone(),
                source: Box::new(source),
            })?;
            sets.insert(set_dir.clone(), set);
        }
        let Some(reference) = sets[&set_dir].get(&awaited.screen).cloned() else {
            report.not_suggested.push(skip(format!(
                "{} has no reference {:?} any more",
                set_dir.display(),
                awaited.screen
            )));
            continue;
        };
        if is_needle(reference.path()) {
            report.not_suggested.push(skip(format!(
                "{} is an openQA needle: update its picture and import it again",
                reference.path().display()
            )));
            continue;
        }
        let frame_path = run.dir.join(&awaited.actual_png);
        let frame = open(&frame_path)?;
        let result = reference.check(&frame);
        if result.matched {
            report.not_suggested.push(skip(format!(
                "{} already matches the run's frame (similarity {:.4}): updated already?",
                reference.path().display(),
                result.similarity
            )));
            continue;
        }
        report.suggestions.push(propose(
            &run.dir,
            &awaited.screen,
            &reference,
            &frame,
            frame_path,
            best,
            &result,
        )?);
    }
    if options.apply {
        apply(&mut report.suggestions)?;
    }
    Ok(report)
}

/// The near misses of a run's events other than the one its forensics kept: no frame was kept
/// for them, so they are only pointed at (the video has the frame).
fn other_misses(
    run: &super::RunFolder,
    awaited: Option<&forensics::AwaitedSummary>,
    min_similarity: f64,
) -> Result<Vec<UnsuggestedWait>, RefsError> {
    let mut misses = Vec::new();
    for (t, kind) in run.events()? {
        let (action, step, best) = match &kind {
            EventKind::WaitScreen(w) if w.matched.is_none() => ("wait_screen", w.step, &w.best),
            EventKind::CheckScreen(w) if w.matched.is_none() => ("check_screen", w.step, &w.best),
            EventKind::ClickScreen {
                step,
                matched: None,
                best,
                ..
            } => ("click_screen", *step, best),
            _ => continue,
        };
        for (screen, &similarity) in best.iter().flatten() {
            if similarity >= min_similarity {
                misses.push(UnsuggestedWait {
                    run: run.dir.clone(),
                    screen: screen.clone(),
                    best_similarity: similarity,
                    why: format!(
                        "a missed {action} (step {step}, ended at {t:.1} s) whose frame was not kept \
                         (only the wait that failed the run has forensics); the video has it: \
                         vncpilot replay {} --at {t:.1} -o frame.png",
                        run.dir.display()
                    ),
                });
            }
        }
    }
    // The wait the forensics kept is the run's last miss of that screen: it gets a suggestion.
    if let Some(awaited) = awaited
        && let Some(i) = misses.iter().rposition(|m| m.screen == awaited.screen)
    {
        misses.remove(i);
    }
    Ok(misses)
}

fn propose(
    run: &Path,
    screen: &str,
    reference: &Reference,
    frame: &RgbImage,
    frame_path: PathBuf,
    best_similarity: f64,
    result: &crate::screen::MatchResult,
) -> Result<Suggestion, RefsError> {
    let old = forensics::reference_picture(reference)?;
    let (mask_path, mask) = mask_of(reference.path())?;
    let against = match (&mask_path, &mask) {
        (Some(path), Some(mask)) => (path.clone(), mask.dimensions()),
        _ => (reference.path().to_path_buf(), reference.size()),
    };
    let problem = (frame.dimensions() != against.1).then(|| {
        format!(
            "the frame is {}x{} but {} is {}x{}",
            frame.width(),
            frame.height(),
            against.0.display(),
            against.1.0,
            against.1.1
        )
    });
    let new_similarity = match problem {
        Some(_) => None,
        None => {
            let settings = settings_of(reference.path())?;
            let updated = Reference::from_image(reference.name(), frame, mask.as_ref(), &settings)?;
            Some(updated.check(frame).similarity)
        }
    };
    let regions: Vec<RegionReport> = result.regions.iter().map(RegionReport::from).collect();
    let threshold = result
        .regions
        .iter()
        .map(|r| r.threshold)
        .fold(f64::INFINITY, f64::min);
    let dir = run.join(DIR).join(forensics::file_stem(screen));
    std::fs::create_dir_all(&dir).map_err(RefsError::io(&dir))?;
    let (diff, _) = forensics::diff_image(&old, frame, &regions);
    let old_png = save(&dir.join("old.png"), &old)?;
    let new_png = save(&dir.join("new.png"), frame)?;
    let diff_png = save(&dir.join("diff.png"), &diff)?;
    Ok(Suggestion {
        run: run.to_path_buf(),
        screen: screen.to_string(),
        reference: reference.path().to_path_buf(),
        mask: mask_path,
        best_similarity,
        similarity: result.similarity,
        threshold: if threshold.is_finite() {
            threshold
        } else {
            crate::screen::DEFAULT_THRESHOLD
        },
        new_similarity,
        frame: frame_path,
        old_png,
        new_png,
        diff_png,
        problem,
        applied: false,
    })
}

/// Writes the latest suggestion of each reference into the set, after checking that all can be.
fn apply(suggestions: &mut [Suggestion]) -> Result<(), RefsError> {
    let mut latest: BTreeMap<PathBuf, usize> = BTreeMap::new();
    for (i, s) in suggestions.iter().enumerate() {
        latest.insert(s.reference.clone(), i);
    }
    for &i in latest.values() {
        let s = &suggestions[i];
        if s.problem.is_some() {
            let frame = open(&s.frame)?;
            let (against, (w, h)) = match &s.mask {
                Some(mask) => (mask.clone(), open_mask(mask)?.dimensions()),
                None => (
                    s.reference.clone(),
                    forensics::reference_picture(&Reference::load(&s.reference)?)?.dimensions(),
                ),
            };
            return Err(RefsError::SizeMismatch {
                reference: s.reference.clone(),
                against,
                frame_w: frame.width(),
                frame_h: frame.height(),
                w,
                h,
            });
        }
    }
    for &i in latest.values() {
        let s = &mut suggestions[i];
        let frame = open(&s.frame)?;
        write_picture(&s.reference, &frame)?;
        // The updated reference, loaded as a run loads it, must find its own frame.
        let reloaded = Reference::load(&s.reference)?;
        let check = reloaded.try_check(&frame)?;
        if !check.matched {
            return Err(RefsError::CannotUpdate {
                path: s.reference.clone(),
                why: format!(
                    "the updated reference does not match its own frame (similarity {:.4})",
                    check.similarity
                ),
            });
        }
        tracing::info!("updated {}", s.reference.display());
        s.applied = true;
    }
    Ok(())
}

/// Replaces a picture in place: written beside it under a name the set loader passes over,
/// then renamed, so a set is never seen with half a picture.
fn write_picture(path: &Path, picture: &RgbImage) -> Result<(), RefsError> {
    let format = image::ImageFormat::from_path(path).map_err(|source| RefsError::Image {
        path: path.to_path_buf(),
        source,
    })?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.refs-new"));
    picture
        .save_with_format(&tmp, format)
        .map_err(|source| RefsError::Image {
            path: tmp.clone(),
            source,
        })?;
    std::fs::rename(&tmp, path).map_err(RefsError::io(path))
}

fn is_needle(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

fn mask_of(reference: &Path) -> Result<(Option<PathBuf>, Option<GrayImage>), RefsError> {
    match mask_path_for(reference) {
        Some(path) if path.exists() => {
            let mask = open_mask(&path)?;
            Ok((Some(path), Some(mask)))
        }
        _ => Ok((None, None)),
    }
}

fn open_mask(path: &Path) -> Result<GrayImage, RefsError> {
    image::open(path)
        .map(|m| m.into_luma8())
        .map_err(|source| RefsError::Image {
            path: path.to_path_buf(),
            source,
        })
}

fn settings_of(reference: &Path) -> Result<ScreenSettings, RefsError> {
    let path = reference.with_extension("toml");
    if path.exists() {
        Ok(ScreenSettings::load(&path)?)
    } else {
        Ok(ScreenSettings::default())
    }
}

fn open(path: &Path) -> Result<RgbImage, RefsError> {
    image::open(path)
        .map(|p| p.into_rgb8())
        .map_err(|source| RefsError::Image {
            path: path.to_path_buf(),
            source,
        })
}

fn save(path: &Path, picture: &RgbImage) -> Result<PathBuf, RefsError> {
    picture.save(path).map_err(|source| RefsError::Image {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(path.to_path_buf())
}
