//! A cursor's picture and hotspot, as the locator searches for it.
//!
//! Sprites come from three places: the server's Cursor pseudo-encoding ([`CursorSprite::from_shape`]),
//! files under `screens/cursors/` ([`CursorSprite::load_dir`]: `<name>.png` with transparency
//! where the cursor is not, and an optional `<name>.toml` saying `hotspot = [x, y]`), and the
//! change a small move makes ([`super::detect`]).

use std::path::{Path, PathBuf};

use image::{Rgba, RgbaImage};

use crate::rfb::frame::CursorShape;

use super::PointerError;

/// A cursor picture: which pixels are the cursor (alpha ≥ 128) and which pixel is the hotspot.
#[derive(Clone, Debug)]
pub struct CursorSprite {
    name: String,
    image: RgbaImage,
    hotspot: (u32, u32),
    /// The opaque pixels (x, y, colour), in an order that spreads consecutive probes over the
    /// sprite, so that a wrong position is usually rejected after one or two comparisons.
    probes: Vec<(u32, u32, [u8; 3])>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CursorToml {
    hotspot: [u32; 2],
}

impl CursorSprite {
    /// A sprite from its picture; `hotspot` defaults to the top-most, then left-most cursor
    /// pixel (the tip of an arrow).
    pub fn new(
        name: &str,
        image: RgbaImage,
        hotspot: Option<(u32, u32)>,
    ) -> Result<CursorSprite, String> {
        let mut opaque = Vec::new();
        for (x, y, p) in image.enumerate_pixels() {
            if p[3] >= 128 {
                opaque.push((x, y, [p[0], p[1], p[2]]));
            }
        }
        if opaque.is_empty() {
            return Err("the picture has no opaque pixel (alpha >= 128)".into());
        }
        let hotspot = match hotspot {
            Some((x, y)) if x < image.width() && y < image.height() => (x, y),
            Some((x, y)) => {
                return Err(format!(
                    "hotspot ({x}, {y}) is outside the {}x{} picture",
                    image.width(),
                    image.height()
                ));
            }
            None => (opaque[0].0, opaque[0].1),
        };
        let n = opaque.len();
        let mut order: Vec<usize> = (0..n).collect();
        // A stride permutation: 0, k, 2k, ... modulo n spreads probes over the picture.
        let stride = (1..=n)
            .rev()
            .find(|s| *s <= 37 && gcd(*s, n) == 1)
            .unwrap_or(1);
        order.sort_by_key(|i| (i * stride) % n);
        let probes = order.into_iter().map(|i| opaque[i]).collect();
        Ok(CursorSprite {
            name: name.to_string(),
            image,
            hotspot,
            probes,
        })
    }

    /// The shape the server sent with the Cursor pseudo-encoding.
    pub fn from_shape(shape: &CursorShape) -> Option<CursorSprite> {
        CursorSprite::new("server-cursor", shape.image.clone(), Some(shape.hotspot)).ok()
    }

    /// `<name>.png` and its optional `<name>.toml` (`hotspot = [x, y]`).
    pub fn load(path: &Path) -> Result<CursorSprite, PointerError> {
        let bad = |reason: String| PointerError::BadCursorImage {
            path: path.to_path_buf(),
            reason,
        };
        let image = image::open(path)
            .map_err(|e| bad(format!("cannot read the picture: {e}")))?
            .to_rgba8();
        let toml_path = path.with_extension("toml");
        let hotspot = if toml_path.exists() {
            let text =
                std::fs::read_to_string(&toml_path).map_err(|e| PointerError::BadCursorImage {
                    path: toml_path.clone(),
                    reason: format!("cannot read: {e}"),
                })?;
            let parsed: CursorToml =
                toml::from_str(&text).map_err(|e| PointerError::BadCursorImage {
                    path: toml_path.clone(),
                    reason: format!("expected `hotspot = [x, y]`: {e}"),
                })?;
            Some((parsed.hotspot[0], parsed.hotspot[1]))
        } else {
            None
        };
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        CursorSprite::new(&name, image, hotspot).map_err(bad)
    }

    /// Every `*.png` in `dir` (sorted by name); an absent directory is no sprites.
    pub fn load_dir(dir: &Path) -> Result<Vec<CursorSprite>, PointerError> {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(PointerError::BadCursorImage {
                    path: dir.to_path_buf(),
                    reason: format!("cannot list: {e}"),
                });
            }
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("png")))
            .collect();
        paths.sort();
        paths.iter().map(|p| CursorSprite::load(p)).collect()
    }

    /// A 10×16 black-and-white arrow with its tip at (1, 1), like the one the Debian graphical
    /// installer draws; the simulated guest uses it.
    pub fn arrow() -> CursorSprite {
        const ROWS: [&str; 16] = [
            "..........",
            ".B........",
            ".BB.......",
            ".BWB......",
            ".BWWB.....",
            ".BWWWB....",
            ".BWWWWB...",
            ".BWWWWWB..",
            ".BWWWWWWB.",
            ".BWWWWWBBB",
            ".BWWBWWB..",
            ".BWB.BWWB.",
            ".BB..BWWB.",
            ".B....BWWB",
            "......BWWB",
            ".......BB.",
        ];
        let mut image = RgbaImage::new(10, 16);
        for (y, row) in ROWS.iter().enumerate() {
            for (x, c) in row.bytes().enumerate() {
                let p = match c {
                    b'B' => Rgba([0, 0, 0, 255]),
                    b'W' => Rgba([255, 255, 255, 255]),
                    _ => Rgba([0, 0, 0, 0]),
                };
                image.put_pixel(x as u32, y as u32, p);
            }
        }
        CursorSprite::new("arrow", image, Some((1, 1))).expect("the arrow has opaque pixels")
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn image(&self) -> &RgbaImage {
        &self.image
    }

    pub fn hotspot(&self) -> (u32, u32) {
        self.hotspot
    }

    pub fn width(&self) -> u32 {
        self.image.width()
    }

    pub fn height(&self) -> u32 {
        self.image.height()
    }

    /// The opaque pixels in probe order.
    pub(crate) fn probes(&self) -> &[(u32, u32, [u8; 3])] {
        &self.probes
    }

    /// Draw the sprite with its hotspot at (x, y), clipped to the image.
    pub fn draw(&self, into: &mut image::RgbImage, x: u32, y: u32) {
        let ox = x as i64 - self.hotspot.0 as i64;
        let oy = y as i64 - self.hotspot.1 as i64;
        for &(sx, sy, c) in &self.probes {
            let px = ox + sx as i64;
            let py = oy + sy as i64;
            if px >= 0 && py >= 0 && (px as u32) < into.width() && (py as u32) < into.height() {
                into.put_pixel(px as u32, py as u32, image::Rgb(c));
            }
        }
    }
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrow_hotspot_is_its_tip() {
        let a = CursorSprite::arrow();
        assert_eq!(a.hotspot(), (1, 1));
        assert_eq!(a.image().get_pixel(1, 1)[3], 255);
        assert_eq!(
            a.probes().len(),
            a.image().pixels().filter(|p| p[3] >= 128).count()
        );
    }

    #[test]
    fn default_hotspot_is_top_left_most_opaque_pixel() {
        let mut img = RgbaImage::new(4, 4);
        img.put_pixel(2, 1, Rgba([1, 2, 3, 255]));
        img.put_pixel(1, 2, Rgba([1, 2, 3, 255]));
        let s = CursorSprite::new("t", img, None).unwrap();
        assert_eq!(s.hotspot(), (2, 1));
    }

    #[test]
    fn empty_or_bad_hotspot_is_an_error() {
        assert!(CursorSprite::new("t", RgbaImage::new(3, 3), None).is_err());
        let mut img = RgbaImage::new(3, 3);
        img.put_pixel(0, 0, Rgba([0, 0, 0, 255]));
        let e = CursorSprite::new("t", img, Some((3, 0))).unwrap_err();
        assert!(e.contains("outside"), "{e}");
    }

    #[test]
    fn load_reads_the_toml_hotspot_and_names_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let png = dir.path().join("x.png");
        CursorSprite::arrow().image().save(&png).unwrap();
        std::fs::write(dir.path().join("x.toml"), "hotspot = [2, 3]\n").unwrap();
        let s = CursorSprite::load(&png).unwrap();
        assert_eq!((s.name(), s.hotspot()), ("x", (2, 3)));
        std::fs::write(dir.path().join("x.toml"), "hotspot = \"tip\"\n").unwrap();
        let e = CursorSprite::load(&png).unwrap_err().to_string();
        assert!(
            e.contains("x.toml") && e.contains("hotspot = [x, y]"),
            "{e}"
        );
        assert_eq!(
            CursorSprite::load_dir(dir.path()).map(|v| v.len()).ok(),
            None
        );
        assert!(
            CursorSprite::load_dir(&dir.path().join("none"))
                .unwrap()
                .is_empty()
        );
    }
}
