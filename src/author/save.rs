//! Saving a frozen frame with the rectangles drawn on the page as a reference:
//! `screens/<set>/<name>.png`, `masks/<set>/<name>.png` and `screens/<set>/<name>.toml`, in the
//! formats [`Reference::load`] reads (docs/matching.md).
//!
//! The page sends rectangles, not a mask image: the mask is built here (match rectangles white,
//! exclude rectangles black over them), each match rectangle becomes an explicit `[[region]]`
//! (so two rectangles drawn close together stay two regions, as drawn), and the whole is checked
//! by building the reference in memory before anything is written, then loaded back from disk.

use std::path::{Path, PathBuf};

use image::{GrayImage, Luma, RgbImage};
use serde::{Deserialize, Serialize};

use super::error::AuthorError;
use crate::rfb::Rect;
use crate::screen::reference::mask_path_for;
use crate::screen::{Reference, RegionSettings, ScreenSettings};

/// What the author drew on a frozen frame.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Drawing {
    /// The reference's name: letters, digits, `.`, `_`, `-` (it becomes a file name).
    pub name: String,
    /// Rectangles to compare, each its own region. None: the whole screen is one region.
    #[serde(default)]
    pub matches: Vec<Rect>,
    /// Rectangles left out of the comparison (clocks, spinners, varying text).
    #[serde(default)]
    pub excludes: Vec<Rect>,
    /// Where `click_screen` clicks on this screen.
    #[serde(default)]
    pub click: Option<[u32; 2]>,
    /// Similarity every region must reach (default 0.96).
    #[serde(default)]
    pub threshold: Option<f64>,
    /// How far (px) a region may have moved (default 50).
    #[serde(default)]
    pub margin: Option<u32>,
}

/// The files a save wrote.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Saved {
    pub name: String,
    pub screen: PathBuf,
    pub mask: PathBuf,
    pub settings: PathBuf,
    pub regions: usize,
}

/// Whether `name` is usable as a reference name (and so as a file name).
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() <= 100
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// The folder of set `set` under `screens_root` (the `screens` folder, or a project root
/// holding one), as [`crate::screen::ScreenSet::load`] finds it.
pub fn set_dir(screens_root: &Path, set: &str) -> PathBuf {
    let direct = screens_root.join(set);
    let nested = screens_root.join("screens").join(set);
    if !direct.is_dir() && (nested.is_dir() || screens_root.join("screens").is_dir()) {
        nested
    } else {
        direct
    }
}

/// The mask for `drawing` on a `w`×`h` screen (white = compare).
pub fn mask(w: u32, h: u32, drawing: &Drawing) -> GrayImage {
    let base = if drawing.matches.is_empty() { 255 } else { 0 };
    let mut mask = GrayImage::from_pixel(w, h, Luma([base]));
    let mut fill = |r: &Rect, v: u8| {
        for y in r.y..r.bottom().min(h) {
            for x in r.x..r.right().min(w) {
                mask.put_pixel(x, y, Luma([v]));
            }
        }
    };
    for r in &drawing.matches {
        fill(r, 255);
    }
    for r in &drawing.excludes {
        fill(r, 0);
    }
    mask
}

/// The `.toml` settings for `drawing`.
pub fn settings(drawing: &Drawing) -> ScreenSettings {
    ScreenSettings {
        threshold: drawing.threshold,
        margin: drawing.margin,
        click_point: drawing.click,
        tags: Vec::new(),
        regions: drawing
            .matches
            .iter()
            .map(|r| RegionSettings {
                x: r.x,
                y: r.y,
                w: r.w,
                h: r.h,
                threshold: None,
                margin: None,
            })
            .collect(),
    }
}

fn check_drawing(w: u32, h: u32, d: &Drawing) -> Result<(), AuthorError> {
    let bad = |m: String| Err(AuthorError::Invalid(m));
    if !valid_name(&d.name) {
        return bad(format!(
            "name {:?}: use letters, digits, '.', '_' and '-' (starting with a letter or digit)",
            d.name
        ));
    }
    for (kind, rects) in [("match", &d.matches), ("exclude", &d.excludes)] {
        for r in rects.iter() {
            if r.is_empty() || r.right() > w || r.bottom() > h {
                return bad(format!(
                    "{kind} rectangle {}x{} at {},{} is empty or outside the {w}x{h} screen",
                    r.w, r.h, r.x, r.y
                ));
            }
        }
    }
    if let Some([x, y]) = d.click
        && (x >= w || y >= h)
    {
        return bad(format!("click point {x},{y} is outside the {w}x{h} screen"));
    }
    Ok(())
}

/// Writes `image` with `drawing` as reference `drawing.name` of set `set` under `screens_root`,
/// replacing a reference of that name. Nothing is written unless the reference is valid.
pub fn save(
    screens_root: &Path,
    set: &str,
    image: &RgbImage,
    drawing: &Drawing,
) -> Result<Saved, AuthorError> {
    let (w, h) = image.dimensions();
    check_drawing(w, h, drawing)?;
    let mask = mask(w, h, drawing);
    let settings = settings(drawing);
    let dir = set_dir(screens_root, set);
    let screen = dir.join(format!("{}.png", drawing.name));
    let toml_path = screen.with_extension("toml");
    let mask_path = mask_path_for(&screen).ok_or_else(|| {
        AuthorError::Invalid(format!(
            "{} is not inside a folder called `screens`, so its mask has no place",
            screen.display()
        ))
    })?;
    let text = toml::to_string(&settings)
        .map_err(|e| AuthorError::Invalid(format!("writing the settings: {e}")))?;
    // The same checks the loader makes, before anything is on disk.
    let parsed = ScreenSettings::parse(&text, &toml_path)?;
    Reference::from_image(&drawing.name, image, Some(&mask), &parsed)?;
    for d in [&dir, mask_path.parent().unwrap_or(Path::new("."))] {
        std::fs::create_dir_all(d).map_err(|e| AuthorError::io(d, e))?;
    }
    image.save(&screen).map_err(|source| AuthorError::Image {
        path: screen.clone(),
        source,
    })?;
    mask.save(&mask_path).map_err(|source| AuthorError::Image {
        path: mask_path.clone(),
        source,
    })?;
    std::fs::write(&toml_path, text).map_err(|e| AuthorError::io(&toml_path, e))?;
    let loaded = Reference::load(&screen)?;
    Ok(Saved {
        name: drawing.name.clone(),
        screen,
        mask: mask_path,
        settings: toml_path,
        regions: loaded.regions().count(),
    })
}

/// An existing reference of the set as a [`Drawing`] on its image, to edit it: its explicit
/// `[[region]]`s (else the mask's regions) as match rectangles; the mask's black parts inside
/// them as exclude rectangles (their bounding boxes, parts closer than the mask's join gap
/// joined, as the loader joins regions); click point, threshold and margin from its `.toml`.
pub fn load_drawing(
    screens_root: &Path,
    set: &str,
    name: &str,
) -> Result<(RgbImage, Drawing), AuthorError> {
    if !valid_name(name) {
        return Err(AuthorError::Invalid(format!(
            "no reference called {name:?}"
        )));
    }
    let dir = set_dir(screens_root, set);
    let screen = ["png", "ppm"]
        .iter()
        .map(|e| dir.join(format!("{name}.{e}")))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            AuthorError::Invalid(format!(
                "{name} is not a screen of {} (openQA needles are edited after import-needles)",
                dir.display()
            ))
        })?;
    let image = image::open(&screen)
        .map_err(|source| AuthorError::Image {
            path: screen.clone(),
            source,
        })?
        .into_rgb8();
    let (w, h) = image.dimensions();
    let toml_path = screen.with_extension("toml");
    let settings = if toml_path.is_file() {
        ScreenSettings::load(&toml_path)?
    } else {
        ScreenSettings::default()
    };
    let mask = match mask_path_for(&screen).filter(|m| m.is_file()) {
        Some(m) => Some(
            image::open(&m)
                .map_err(|source| AuthorError::Image { path: m, source })?
                .into_luma8(),
        ),
        None => None,
    };
    let mut matches: Vec<Rect> = settings
        .regions
        .iter()
        .map(|r| Rect::new(r.x, r.y, r.w, r.h))
        .collect();
    if matches.is_empty()
        && let Some(m) = &mask
    {
        matches = crate::screen::mask::regions(m);
    }
    let mut excludes = Vec::new();
    if let Some(m) = mask.as_ref().filter(|m| m.dimensions() == (w, h)) {
        let within = if matches.is_empty() {
            vec![Rect::full(w, h)]
        } else {
            matches.clone()
        };
        for r in &within {
            let black = GrayImage::from_fn(r.w, r.h, |x, y| {
                let v = m.get_pixel(r.x + x, r.y + y).0[0];
                Luma([if crate::screen::mask::is_compared(v) {
                    0
                } else {
                    255
                }])
            });
            excludes.extend(
                crate::screen::mask::regions(&black)
                    .into_iter()
                    .map(|e| Rect::new(e.x + r.x, e.y + r.y, e.w, e.h)),
            );
        }
    }
    // A whole-screen region is what "no match rectangle" means.
    if matches == [Rect::full(w, h)] {
        matches.clear();
    }
    let drawing = Drawing {
        name: name.to_string(),
        matches,
        excludes,
        click: settings.click_point,
        threshold: settings.threshold,
        margin: settings.margin,
    };
    Ok((image, drawing))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    fn picture() -> RgbImage {
        RgbImage::from_fn(120, 80, |x, y| {
            Rgb([(x * 2) as u8, (y * 3) as u8, ((x ^ y) * 5) as u8])
        })
    }

    #[test]
    fn names_are_file_names() {
        assert!(valid_name("grub-menu_2.x"));
        for bad in ["", "../x", "a/b", ".hidden", "a b", "ä"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn excludes_cut_into_matches() {
        let d = Drawing {
            matches: vec![Rect::new(10, 10, 20, 10)],
            excludes: vec![Rect::new(15, 12, 2, 2)],
            ..Drawing::default()
        };
        let m = mask(40, 30, &d);
        assert_eq!(m.get_pixel(10, 10).0[0], 255);
        assert_eq!(m.get_pixel(15, 12).0[0], 0);
        assert_eq!(m.get_pixel(5, 5).0[0], 0);
        let whole = mask(
            40,
            30,
            &Drawing {
                excludes: d.excludes.clone(),
                ..Drawing::default()
            },
        );
        assert_eq!(whole.get_pixel(5, 5).0[0], 255);
        assert_eq!(whole.get_pixel(16, 13).0[0], 0);
    }

    #[test]
    fn a_saved_reference_loads_and_matches_its_picture() {
        let root = tempfile::tempdir().unwrap();
        let screens = root.path().join("screens");
        let d = Drawing {
            name: "boot".into(),
            matches: vec![Rect::new(10, 10, 30, 20), Rect::new(45, 10, 30, 20)],
            excludes: vec![Rect::new(12, 12, 4, 4)],
            click: Some([20, 20]),
            threshold: Some(0.9),
            margin: Some(10),
        };
        let saved = save(&screens, "new-set", &picture(), &d).unwrap();
        assert_eq!(saved.screen, screens.join("new-set/boot.png"));
        assert_eq!(saved.mask, root.path().join("masks/new-set/boot.png"));
        assert_eq!(saved.regions, 2, "rectangles 5 px apart stay two regions");
        let r = Reference::load(&saved.screen).unwrap();
        assert_eq!(r.click_point(), Some((20, 20)));
        assert!(r.check(&picture()).matched);
        let toml = std::fs::read_to_string(&saved.settings).unwrap();
        assert!(toml.contains("threshold = 0.9"), "{toml}");
    }

    #[test]
    fn a_saved_reference_comes_back_as_drawn() {
        let root = tempfile::tempdir().unwrap();
        let screens = root.path().join("screens");
        let d = Drawing {
            name: "edit-me".into(),
            matches: vec![Rect::new(10, 10, 30, 20), Rect::new(60, 40, 40, 30)],
            excludes: vec![Rect::new(70, 50, 5, 6)],
            click: Some([65, 45]),
            threshold: Some(0.9),
            margin: None,
        };
        save(&screens, "s", &picture(), &d).unwrap();
        let (image, back) = load_drawing(&screens, "s", "edit-me").unwrap();
        assert_eq!(image, picture());
        assert_eq!(back, d);
        assert!(load_drawing(&screens, "s", "missing").is_err());
        assert!(load_drawing(&screens, "s", "../s/edit-me").is_err());
    }

    #[test]
    fn invalid_drawings_write_nothing() {
        let root = tempfile::tempdir().unwrap();
        let screens = root.path().join("screens");
        let outside = Drawing {
            name: "x".into(),
            matches: vec![Rect::new(100, 70, 30, 20)],
            ..Drawing::default()
        };
        let e = save(&screens, "s", &picture(), &outside).unwrap_err();
        assert!(e.to_string().contains("outside"), "{e}");
        let all_excluded = Drawing {
            name: "y".into(),
            matches: vec![Rect::new(10, 10, 5, 5)],
            excludes: vec![Rect::new(0, 0, 50, 50)],
            ..Drawing::default()
        };
        assert!(save(&screens, "s", &picture(), &all_excluded).is_err());
        let bad_threshold = Drawing {
            name: "z".into(),
            threshold: Some(96.0),
            ..Drawing::default()
        };
        assert!(save(&screens, "s", &picture(), &bad_threshold).is_err());
        assert!(!screens.join("s").exists());
    }
}
