//! A reference: what a screen should look like (a screenshot with a mask, or an openQA needle),
//! ready to be checked against live images.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use image::{GrayImage, RgbImage};
use serde::Serialize;

use super::error::ScreenError;
use super::mask;
use super::needle::Needle;
use super::search::{self, Found, Report, Scratch};
use super::settings::{DEFAULT_MARGIN, DEFAULT_THRESHOLD, ScreenSettings};
use super::similarity::Components;
use super::template::Template;
use crate::rfb::Rect;

/// How one region fared.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RegionMatch {
    /// Where the region is in the reference.
    pub expected: Rect,
    /// Where it was found best in the image (same size).
    pub found: Rect,
    /// Similarity there, in [0, 1].
    pub similarity: f64,
    /// What it had to reach.
    pub threshold: f64,
    /// What the similarity is made of (luma/chroma error and variance), for tuning and reports.
    pub detail: Components,
    /// `similarity` and `detail` are the full score at `found`. False only in a
    /// [`Watcher`](super::Watcher)'s result before [`Watcher::complete`](super::Watcher::complete):
    /// the region failed on luma alone wherever it was tried, `similarity` is its best luma
    /// bound (at least the full score, up to rounding: < 0.001) and `detail` holds only the
    /// luma terms.
    pub exact: bool,
}

impl RegionMatch {
    pub fn passed(&self) -> bool {
        self.similarity >= self.threshold
    }
}

/// The outcome of checking one reference against one image.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MatchResult {
    /// Every region passed.
    pub matched: bool,
    /// The lowest region similarity (0 when the image could not be compared).
    pub similarity: f64,
    pub regions: Vec<RegionMatch>,
}

impl MatchResult {
    fn from_regions(regions: Vec<RegionMatch>) -> MatchResult {
        let matched = !regions.is_empty() && regions.iter().all(RegionMatch::passed);
        let similarity = regions
            .iter()
            .map(|r| r.similarity)
            .fold(f64::INFINITY, f64::min);
        MatchResult {
            matched,
            similarity: if similarity.is_finite() {
                similarity
            } else {
                0.0
            },
            regions,
        }
    }

    fn no_match() -> MatchResult {
        MatchResult {
            matched: false,
            similarity: 0.0,
            regions: Vec::new(),
        }
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// A reference screen: regions to find, each with its threshold and margin.
#[derive(Clone, Debug)]
pub struct Reference {
    name: String,
    path: PathBuf,
    size: (u32, u32),
    templates: Vec<Template>,
    click_point: Option<(u32, u32)>,
    tags: Vec<String>,
}

impl Reference {
    /// Loads a screen (`.png`, `.ppm`; mask and `.toml` found beside it, see the module docs)
    /// or an openQA needle (`.json`).
    pub fn load(path: impl AsRef<Path>) -> Result<Reference, ScreenError> {
        let path = path.as_ref();
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("json") => Reference::from_needle(&Needle::load(path)?),
            Some("png") | Some("ppm") => Reference::load_screen(path),
            _ => Err(ScreenError::UnknownKind { path: path.into() }),
        }
    }

    fn load_screen(path: &Path) -> Result<Reference, ScreenError> {
        let image = image::open(path)
            .map_err(|e| ScreenError::image(path, e))?
            .into_rgb8();
        let mask_path = mask_path_for(path);
        let mask = match &mask_path {
            Some(m) if m.exists() => {
                let mask = image::open(m)
                    .map_err(|e| ScreenError::image(m, e))?
                    .into_luma8();
                if mask.dimensions() != image.dimensions() {
                    return Err(ScreenError::MaskSize {
                        path: m.clone(),
                        mask_w: mask.width(),
                        mask_h: mask.height(),
                        screen_w: image.width(),
                        screen_h: image.height(),
                    });
                }
                Some(mask)
            }
            _ => None,
        };
        let toml_path = path.with_extension("toml");
        let settings = if toml_path.exists() {
            ScreenSettings::load(&toml_path)?
        } else {
            ScreenSettings::default()
        };
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("screen")
            .to_string();
        let mut r = Reference::from_image(&name, &image, mask.as_ref(), &settings).map_err(
            |e| match e {
                ScreenError::EmptyMask { .. } => ScreenError::EmptyMask {
                    path: mask_path.clone().unwrap_or_else(|| path.into()),
                },
                ScreenError::RegionOutside { region, w, h, .. } => ScreenError::RegionOutside {
                    path: toml_path.clone(),
                    region,
                    w,
                    h,
                },
                other => other,
            },
        )?;
        r.path = path.into();
        Ok(r)
    }

    /// A reference from an image in memory: `mask` (same size; white = compare) and settings
    /// as a `.toml` would give them.
    pub fn from_image(
        name: &str,
        image: &RgbImage,
        mask: Option<&GrayImage>,
        settings: &ScreenSettings,
    ) -> Result<Reference, ScreenError> {
        let (w, h) = image.dimensions();
        let path = PathBuf::from(name);
        if let Some(m) = mask
            && m.dimensions() != (w, h)
        {
            return Err(ScreenError::MaskSize {
                path,
                mask_w: m.width(),
                mask_h: m.height(),
                screen_w: w,
                screen_h: h,
            });
        }
        let threshold = settings.threshold.unwrap_or(DEFAULT_THRESHOLD);
        let margin = settings.margin.unwrap_or(DEFAULT_MARGIN);
        let mut templates = Vec::new();
        if !settings.regions.is_empty() {
            for (i, r) in settings.regions.iter().enumerate() {
                let rect = Rect::new(r.x, r.y, r.w, r.h);
                if rect.right() > w || rect.bottom() > h {
                    return Err(ScreenError::RegionOutside {
                        path,
                        region: format!("region {} ({}x{} at {},{})", i + 1, r.w, r.h, r.x, r.y),
                        w,
                        h,
                    });
                }
                let weights = mask.map(|m| mask::weights(m, rect));
                if weights
                    .as_ref()
                    .is_some_and(|w| w.iter().all(|&v| v == 0.0))
                {
                    return Err(ScreenError::EmptyMask { path });
                }
                templates.push(Template::new(
                    image,
                    rect,
                    weights,
                    r.threshold.unwrap_or(threshold),
                    r.margin.unwrap_or(margin),
                ));
            }
        } else if let Some(m) = mask {
            let rects = mask::regions(m);
            if rects.is_empty() {
                return Err(ScreenError::EmptyMask { path });
            }
            for rect in rects {
                templates.push(Template::new(
                    image,
                    rect,
                    Some(mask::weights(m, rect)),
                    threshold,
                    margin,
                ));
            }
        } else {
            templates.push(Template::new(
                image,
                Rect::full(w, h),
                None,
                threshold,
                margin,
            ));
        }
        let click_point = settings.click_point.map(|[x, y]| (x, y));
        Ok(Reference {
            name: name.to_string(),
            path,
            size: (w, h),
            templates,
            click_point,
            tags: settings.tags.clone(),
        })
    }

    /// A reference from a parsed openQA needle.
    pub fn from_needle(n: &Needle) -> Result<Reference, ScreenError> {
        let templates = n
            .areas
            .iter()
            .map(|a| Template::new(&n.image, a.rect, n.weights(a.rect), a.threshold, a.margin))
            .collect();
        let name = n
            .json
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("needle")
            .to_string();
        Ok(Reference {
            name,
            path: n.json.clone(),
            size: n.image.dimensions(),
            templates,
            click_point: n.click_point,
            tags: n.tags.clone(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// (width, height) of the reference image; checked images must have this size.
    pub fn size(&self) -> (u32, u32) {
        self.size
    }

    /// Where to click, in reference coordinates (see [`Reference::click_point_in`] for where
    /// it is on a matched image).
    pub fn click_point(&self) -> Option<(u32, u32)> {
        self.click_point
    }

    pub fn tags(&self) -> &[String] {
        &self.tags
    }

    /// The regions' expected rectangles.
    pub fn regions(&self) -> impl Iterator<Item = Rect> + '_ {
        self.templates.iter().map(|t| t.rect)
    }

    /// The part of the image a region's check depends on: its rectangle grown by its search
    /// margin, the smoothing border and the band the move check reads, clipped to the
    /// reference.
    pub fn region_influence(&self, i: usize) -> Rect {
        let t = &self.templates[i];
        let g = t.margin + super::planes::PAD + super::template::RING;
        let x = t.rect.x.saturating_sub(g);
        let y = t.rect.y.saturating_sub(g);
        let r = Rect::new(x, y, t.rect.right() + g - x, t.rect.bottom() + g - y);
        super::planes::clip(r, self.size.0, self.size.1)
    }

    pub(crate) fn region_count(&self) -> usize {
        self.templates.len()
    }

    /// The click point moved by as much as the region holding it (else the first region) was
    /// found away from where it was expected.
    pub fn click_point_in(&self, result: &MatchResult) -> Option<(u32, u32)> {
        let (cx, cy) = self.click_point?;
        let region = result
            .regions
            .iter()
            .find(|r| {
                cx >= r.expected.x
                    && cx < r.expected.right()
                    && cy >= r.expected.y
                    && cy < r.expected.bottom()
            })
            .or(result.regions.first())?;
        let dx = region.found.x as i64 - region.expected.x as i64;
        let dy = region.found.y as i64 - region.expected.y as i64;
        Some((
            (cx as i64 + dx).max(0) as u32,
            (cy as i64 + dy).max(0) as u32,
        ))
    }

    /// Checks `image`; a wrongly sized image is no match (see [`Reference::try_check`]).
    pub fn check(&self, image: &RgbImage) -> MatchResult {
        self.check_ignoring(image, &[])
    }

    /// Checks `image` leaving the pixels inside `ignore` (image coordinates, e.g. the
    /// pointer's rectangle) out of every comparison.
    pub fn check_ignoring(&self, image: &RgbImage, ignore: &[Rect]) -> MatchResult {
        self.try_check_ignoring(image, ignore).unwrap_or_else(|e| {
            tracing::warn!("{e}");
            MatchResult::no_match()
        })
    }

    /// Checks `image`; an image of another size than the reference is an error.
    pub fn try_check(&self, image: &RgbImage) -> Result<MatchResult, ScreenError> {
        self.try_check_ignoring(image, &[])
    }

    pub fn try_check_ignoring(
        &self,
        image: &RgbImage,
        ignore: &[Rect],
    ) -> Result<MatchResult, ScreenError> {
        self.ensure_size(image)?;
        let mut regions = Vec::with_capacity(self.templates.len());
        let mut hint = None;
        for i in 0..self.templates.len() {
            let r = self.check_region(i, image, ignore, hint, Report::Full);
            if r.passed() {
                hint = Some((
                    r.found.x as i64 - r.expected.x as i64,
                    r.found.y as i64 - r.expected.y as i64,
                ));
            }
            regions.push(r);
        }
        Ok(MatchResult::from_regions(regions))
    }

    pub(crate) fn ensure_size(&self, image: &RgbImage) -> Result<(), ScreenError> {
        if image.dimensions() != self.size {
            return Err(ScreenError::SizeMismatch {
                name: self.name.clone(),
                image_w: image.width(),
                image_h: image.height(),
                ref_w: self.size.0,
                ref_h: self.size.1,
            });
        }
        Ok(())
    }

    /// Checks region `i` alone (the image must have the reference's size).
    pub(crate) fn check_region(
        &self,
        i: usize,
        image: &RgbImage,
        ignore: &[Rect],
        hint: Option<(i64, i64)>,
        report: Report,
    ) -> RegionMatch {
        self.check_region_within(i, image, ignore, hint, None, report)
    }

    /// Checks region `i` at placements overlapping `within` only (all when `None`).
    pub(crate) fn check_region_within(
        &self,
        i: usize,
        image: &RgbImage,
        ignore: &[Rect],
        hint: Option<(i64, i64)>,
        within: Option<Rect>,
        report: Report,
    ) -> RegionMatch {
        let t = &self.templates[i];
        let f = SCRATCH
            .with(|s| search::find(t, image, ignore, hint, within, report, &mut s.borrow_mut()));
        Self::region_match(t, f)
    }

    /// Region `i`'s result `m` scored in full where it was found, if it is not yet
    /// ([`RegionMatch::exact`]).
    pub(crate) fn complete_region(
        &self,
        i: usize,
        image: &RgbImage,
        ignore: &[Rect],
        m: &RegionMatch,
    ) -> RegionMatch {
        if m.exact {
            return m.clone();
        }
        let t = &self.templates[i];
        let at = (m.found.x, m.found.y);
        let f = SCRATCH.with(|s| search::score_full(t, image, ignore, at, &mut s.borrow_mut()));
        Self::region_match(t, f)
    }

    fn region_match(t: &Template, f: Found) -> RegionMatch {
        RegionMatch {
            expected: t.rect,
            found: Rect::new(f.x, f.y, t.rect.w, t.rect.h),
            similarity: f.similarity,
            threshold: t.threshold,
            detail: f.components,
            exact: f.exact,
        }
    }

    pub(crate) fn result_from(regions: Vec<RegionMatch>) -> MatchResult {
        MatchResult::from_regions(regions)
    }
}

/// `X/screens/<rel>.png` → `X/masks/<rel>.png`: the mask sits at the same place under the
/// `masks` directory beside the nearest `screens` directory above the screen.
pub fn mask_path_for(screen: &Path) -> Option<PathBuf> {
    let mut dir = screen.parent();
    while let Some(d) = dir {
        if d.file_name().is_some_and(|n| n == "screens") {
            let rel = screen.strip_prefix(d).ok()?;
            return Some(d.parent()?.join("masks").join(rel).with_extension("png"));
        }
        dir = d.parent();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_lives_beside_the_screens_dir() {
        assert_eq!(
            mask_path_for(Path::new("/p/screens/debian-12/boot.ppm")),
            Some(PathBuf::from("/p/masks/debian-12/boot.png"))
        );
        assert_eq!(mask_path_for(Path::new("/p/other/boot.png")), None);
    }
}
