//! openQA needles: a JSON file (`tags`, `area[]` with `xpos`, `ypos`, `width`, `height`,
//! `type` match/ocr/exclude, optional `match` %, `margin`, `click_point`) beside a PNG.
//!
//! Semantics kept from openQA: every `match` area must pass on its own; `exclude` areas are
//! left out of the comparison; an area without `match` needs 96 %, without `margin` may move
//! 50 px; an area's `click_point` is relative to the area (or `"center"`). `ocr` areas are
//! not compared (vncpilot has no OCR).

use std::path::{Path, PathBuf};

use image::{GrayImage, RgbImage};
use serde::Deserialize;

use super::error::ScreenError;
use super::settings::{DEFAULT_MARGIN, DEFAULT_THRESHOLD, RegionSettings, ScreenSettings};
use crate::rfb::Rect;

#[derive(Deserialize)]
struct NeedleJson {
    #[serde(default)]
    area: Vec<AreaJson>,
    #[serde(default)]
    tags: Vec<String>,
}

#[derive(Deserialize)]
struct AreaJson {
    #[serde(deserialize_with = "number")]
    xpos: f64,
    #[serde(deserialize_with = "number")]
    ypos: f64,
    #[serde(deserialize_with = "number")]
    width: f64,
    #[serde(deserialize_with = "number")]
    height: f64,
    #[serde(rename = "type", default = "match_type")]
    kind: String,
    #[serde(rename = "match", default, deserialize_with = "opt_number")]
    match_percent: Option<f64>,
    #[serde(default, deserialize_with = "opt_number")]
    margin: Option<f64>,
    click_point: Option<serde_json::Value>,
}

/// A JSON number, or a string holding one (needles written by hand or by old tools have
/// `"match": "90"`; os-autoinst reads those as numbers too).
fn number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n
            .as_f64()
            .ok_or_else(|| serde::de::Error::custom("number out of range")),
        serde_json::Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("\"{s}\" is not a number"))),
        other => Err(serde::de::Error::custom(format!("{other} is not a number"))),
    }
}

fn opt_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    number(d).map(Some)
}

fn match_type() -> String {
    "match".into()
}

/// One area that must match.
#[derive(Clone, Debug, PartialEq)]
pub struct MatchArea {
    pub rect: Rect,
    /// In [0, 1].
    pub threshold: f64,
    pub margin: u32,
}

/// A parsed needle with its image.
#[derive(Clone, Debug)]
pub struct Needle {
    pub json: PathBuf,
    pub png: PathBuf,
    pub image: RgbImage,
    pub areas: Vec<MatchArea>,
    pub excludes: Vec<Rect>,
    pub click_point: Option<(u32, u32)>,
    pub tags: Vec<String>,
}

impl Needle {
    /// Reads `json` and the PNG beside it.
    pub fn load(json: &Path) -> Result<Needle, ScreenError> {
        let text = std::fs::read_to_string(json).map_err(|e| ScreenError::io(json, e))?;
        let bad = |message: String| ScreenError::Needle {
            path: json.into(),
            message,
        };
        let parsed: NeedleJson = serde_json::from_str(&text).map_err(|e| {
            bad(format!(
                "{e}; expected a JSON object with \"area\" and \"tags\""
            ))
        })?;
        let png = json.with_extension("png");
        let image = image::open(&png)
            .map_err(|e| ScreenError::image(&png, e))?
            .into_rgb8();
        let (iw, ih) = image.dimensions();
        let mut areas = Vec::new();
        let mut excludes = Vec::new();
        let mut click_point = None;
        for (i, a) in parsed.area.iter().enumerate() {
            let n = i + 1;
            let (x, y, w, h) = (
                a.xpos.round(),
                a.ypos.round(),
                a.width.round(),
                a.height.round(),
            );
            if !(x >= 0.0 && y >= 0.0 && w >= 1.0 && h >= 1.0) {
                return Err(bad(format!(
                    "area {n} is {}x{} at ({}, {}); expected a non-empty rectangle at non-negative coordinates",
                    a.width, a.height, a.xpos, a.ypos
                )));
            }
            let full = Rect::new(
                x.min(1e9) as u32,
                y.min(1e9) as u32,
                w.min(1e9) as u32,
                h.min(1e9) as u32,
            );
            // An area reaching past the image is clipped (os-autoinst tolerates it too); one
            // wholly outside is an error.
            let rect = super::planes::clip(full, iw, ih);
            if rect.is_empty() {
                return Err(ScreenError::RegionOutside {
                    path: json.into(),
                    region: format!("area {n} ({}x{} at {},{})", full.w, full.h, full.x, full.y),
                    w: iw,
                    h: ih,
                });
            }
            if rect != full {
                tracing::warn!(
                    "{}: area {n} reaches past the {iw}x{ih} image; clipped",
                    json.display()
                );
            }
            match a.kind.as_str() {
                "match" => {
                    let threshold = match a.match_percent {
                        None => DEFAULT_THRESHOLD,
                        Some(p) if (0.0..=100.0).contains(&p) => p / 100.0,
                        Some(p) => {
                            return Err(bad(format!(
                                "area {n} has match {p}; expected a percentage 0..=100"
                            )));
                        }
                    };
                    let margin = match a.margin {
                        None => DEFAULT_MARGIN,
                        Some(m) if m >= 0.0 => m.round().min(10_000.0) as u32,
                        Some(m) => {
                            return Err(bad(format!(
                                "area {n} has margin {m}; expected pixels >= 0"
                            )));
                        }
                    };
                    if click_point.is_none()
                        && let Some(cp) = &a.click_point
                    {
                        click_point = Some(click_in_area(cp, rect).ok_or_else(|| {
                            bad(format!("area {n} has click_point {cp}; expected {{\"xpos\": X, \"ypos\": Y}} or \"center\""))
                        })?);
                    }
                    areas.push(MatchArea {
                        rect,
                        threshold,
                        margin,
                    });
                }
                "exclude" => excludes.push(rect),
                "ocr" => {}
                other => {
                    return Err(bad(format!(
                        "area {n} has type \"{other}\"; expected \"match\", \"exclude\" or \"ocr\""
                    )));
                }
            }
        }
        if areas.is_empty() {
            return Err(bad(
                "no area of type \"match\"; expected at least one".into()
            ));
        }
        // openQA clicks the centre of the first match area when no click point is given.
        let click_point = click_point.or_else(|| {
            let r = areas[0].rect;
            Some((r.x + r.w / 2, r.y + r.h / 2))
        });
        Ok(Needle {
            json: json.into(),
            png,
            image,
            areas,
            excludes,
            click_point,
            tags: parsed.tags,
        })
    }

    /// Compare-weights of `rect` (1 everywhere except inside exclude areas), or `None` when
    /// no exclude area touches it.
    pub fn weights(&self, rect: Rect) -> Option<Vec<f32>> {
        if !self.excludes.iter().any(|e| e.intersects(&rect)) {
            return None;
        }
        let mut w = vec![1.0f32; (rect.w * rect.h) as usize];
        for e in &self.excludes {
            for y in rect.y.max(e.y)..rect.bottom().min(e.bottom()) {
                for x in rect.x.max(e.x)..rect.right().min(e.right()) {
                    w[((y - rect.y) * rect.w + (x - rect.x)) as usize] = 0.0;
                }
            }
        }
        Some(w)
    }

    /// The needle as a vncpilot screen: the image, a mask (white = match areas minus exclude
    /// areas) and settings with one explicit region per match area.
    pub fn to_screen(&self) -> (RgbImage, GrayImage, ScreenSettings) {
        let (w, h) = self.image.dimensions();
        let mut mask = GrayImage::new(w, h);
        for a in &self.areas {
            for y in a.rect.y..a.rect.bottom() {
                for x in a.rect.x..a.rect.right() {
                    mask.put_pixel(x, y, image::Luma([255]));
                }
            }
        }
        for e in &self.excludes {
            for y in e.y..e.bottom().min(h) {
                for x in e.x..e.right().min(w) {
                    mask.put_pixel(x, y, image::Luma([0]));
                }
            }
        }
        let settings = ScreenSettings {
            threshold: None,
            margin: None,
            click_point: self.click_point.map(|(x, y)| [x, y]),
            tags: self.tags.clone(),
            regions: self
                .areas
                .iter()
                .map(|a| RegionSettings {
                    x: a.rect.x,
                    y: a.rect.y,
                    w: a.rect.w,
                    h: a.rect.h,
                    threshold: (a.threshold != DEFAULT_THRESHOLD).then_some(a.threshold),
                    margin: (a.margin != DEFAULT_MARGIN).then_some(a.margin),
                })
                .collect(),
        };
        (self.image.clone(), mask, settings)
    }
}

fn click_in_area(v: &serde_json::Value, r: Rect) -> Option<(u32, u32)> {
    if v.as_str() == Some("center") {
        return Some((r.x + r.w / 2, r.y + r.h / 2));
    }
    let x = v.get("xpos")?.as_f64()?;
    let y = v.get("ypos")?.as_f64()?;
    if x < 0.0 || y < 0.0 {
        return None;
    }
    Some((r.x + x.round() as u32, r.y + y.round() as u32))
}

/// What `import` did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImportReport {
    /// (needle JSON, screen name) for every needle written.
    pub imported: Vec<(PathBuf, String)>,
}

/// Converts every needle (`*.json` with a PNG beside it) under `dir` into
/// `root/screens/<set>/<name>.png`, `root/masks/<set>/<name>.png` and
/// `root/screens/<set>/<name>.toml`. `<name>` is the needle's file stem; when two needles in
/// different folders share a stem, the later one is prefixed with its folder path
/// (`/` → `-`). Stops at the first needle that does not load, naming it.
pub fn import(dir: &Path, root: &Path, set: &str) -> Result<ImportReport, ScreenError> {
    if set.is_empty() || set.contains(['/', '\\']) || set == "." || set == ".." {
        return Err(ScreenError::Settings {
            path: root.join("screens"),
            message: format!("set name {set:?}; expected one plain directory name"),
        });
    }
    let mut files = Vec::new();
    collect_json(dir, &mut files)?;
    files.sort();
    let screens = root.join("screens").join(set);
    let masks = root.join("masks").join(set);
    for d in [&screens, &masks] {
        std::fs::create_dir_all(d).map_err(|e| ScreenError::io(d, e))?;
    }
    let mut used = std::collections::HashSet::new();
    let mut report = ImportReport::default();
    for json in files {
        let needle = Needle::load(&json)?;
        let stem = json
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("needle")
            .to_string();
        let mut name = stem.clone();
        if used.contains(&name) {
            let rel = json.strip_prefix(dir).unwrap_or(&json).with_extension("");
            name = rel.to_string_lossy().replace(['/', '\\'], "-");
        }
        used.insert(name.clone());
        let (img, mask, settings) = needle.to_screen();
        let png = screens.join(format!("{name}.png"));
        img.save(&png).map_err(|e| ScreenError::image(&png, e))?;
        let mpng = masks.join(format!("{name}.png"));
        mask.save(&mpng).map_err(|e| ScreenError::image(&mpng, e))?;
        let toml_path = screens.join(format!("{name}.toml"));
        let text = toml::to_string(&settings).map_err(|e| ScreenError::Settings {
            path: toml_path.clone(),
            message: e.to_string(),
        })?;
        let header = format!("# imported from openQA needle {}\n", json.display());
        std::fs::write(&toml_path, header + text.as_str())
            .map_err(|e| ScreenError::io(&toml_path, e))?;
        report.imported.push((json, name));
    }
    Ok(report)
}

fn collect_json(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), ScreenError> {
    let entries = std::fs::read_dir(dir).map_err(|e| ScreenError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| ScreenError::io(dir, e))?;
        let path = entry.path();
        let ft = entry.file_type().map_err(|e| ScreenError::io(&path, e))?;
        if ft.is_dir() {
            collect_json(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}
