//! The evidence a failed run leaves for the person reading it in the morning.
//!
//! Everything goes into `<run>/forensics/` plus `final.png` in the run directory:
//! for the screen that was awaited, the reference, the actual screen, a diff image that paints
//! mismatching pixels red over a dimmed copy of the actual screen with the reference's regions
//! outlined, and the best similarity seen and when; the serial log's tail; and where the guest
//! is QEMU, `info registers` and a screendump. `forensics.json` ties it together for the report.

use std::path::{Path, PathBuf};

use image::{Rgb, RgbImage};

use crate::record::RecordError;
use crate::rfb::Rect;
use crate::screen::{MatchResult, Reference, RegionMatch};

pub const DIR: &str = "forensics";
pub const FILE_NAME: &str = "forensics.json";

/// A channel difference above this counts as a mismatching pixel in the diff image (small
/// differences are compression or anti-aliasing noise and would paint everything red).
pub const PIXEL_TOLERANCE: u8 = 24;

/// One region of a reference and how it compared.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RegionReport {
    /// Where the reference expects it.
    pub expected: Rect,
    /// Where the best match was found.
    pub found: Rect,
    pub similarity: f64,
    pub threshold: f64,
}

impl From<&RegionMatch> for RegionReport {
    fn from(region: &RegionMatch) -> RegionReport {
        RegionReport {
            expected: region.expected,
            found: region.found,
            similarity: region.similarity,
            threshold: region.threshold,
        }
    }
}

/// The picture of a reference: the screen's own PNG/PPM, or the PNG beside a needle's JSON.
pub fn reference_picture(reference: &Reference) -> Result<RgbImage, RecordError> {
    let path = reference.path();
    let picture_path = if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        path.with_extension("png")
    } else {
        path.to_owned()
    };
    image::open(&picture_path)
        .map(|picture| picture.to_rgb8())
        .map_err(|source| RecordError::Image {
            path: picture_path,
            source,
        })
}

/// Keeps the best result seen while waiting for a screen, and when, and that screen — what the
/// forensics report as "best similarity and when". The screen is kept by `Arc` (frames are
/// shared snapshots), so observing costs no copy.
#[derive(Default)]
pub struct BestMatch {
    best: Option<(f64, MatchResult, std::sync::Arc<RgbImage>)>,
}

impl BestMatch {
    pub fn new() -> BestMatch {
        BestMatch::default()
    }

    /// One check of the awaited screen at `t` seconds since the run started.
    pub fn observe(&mut self, t: f64, result: &MatchResult, image: &std::sync::Arc<RgbImage>) {
        let better = self
            .best
            .as_ref()
            .is_none_or(|(_, best, _)| result.similarity > best.similarity);
        if better {
            self.best = Some((t, result.clone(), image.clone()));
        }
    }

    /// (time, result, screen) of the best check so far.
    pub fn get(&self) -> Option<(f64, &MatchResult, &RgbImage)> {
        self.best
            .as_ref()
            .map(|(t, result, image)| (*t, result, image.as_ref()))
    }
}

/// The screen a failed step was waiting for.
pub struct AwaitedScreen<'a> {
    pub name: &'a str,
    /// The reference picture (full screen size, or the needle's picture).
    pub reference: &'a RgbImage,
    /// The screen when the wait gave up.
    pub actual: &'a RgbImage,
    /// Per-region results for `actual` (may be empty).
    pub regions: &'a [RegionReport],
    /// The similarity of `actual` (the lowest region's).
    pub similarity: f64,
    /// The best similarity seen during the wait, when (seconds since the run started), and the
    /// screen at that moment.
    pub best: Option<(f64, f64, &'a RgbImage)>,
}

/// What [`write`] produced, as `forensics/forensics.json` records it (paths relative to the run).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ForensicsSummary {
    pub final_png: Option<String>,
    pub awaited: Option<AwaitedSummary>,
    pub serial_tail: Option<String>,
    pub qemu_registers: Option<String>,
    pub qemu_screendump: Option<String>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AwaitedSummary {
    pub screen: String,
    pub similarity: f64,
    pub best_similarity: Option<f64>,
    pub best_at_s: Option<f64>,
    pub regions: Vec<RegionReport>,
    /// Pixels differing by more than [`PIXEL_TOLERANCE`] in some channel, over the whole screen.
    pub mismatching_pixels: u64,
    pub reference_png: String,
    pub actual_png: String,
    pub diff_png: String,
    pub best_png: Option<String>,
}

/// What the caller knows at the moment of failure.
#[derive(Default)]
pub struct Evidence<'a> {
    /// The last screen (written as `final.png`).
    pub final_screen: Option<&'a RgbImage>,
    pub awaited: Option<AwaitedScreen<'a>>,
    /// The serial log to take the tail of.
    pub serial_log: Option<&'a Path>,
    /// QEMU's `info registers` output.
    pub qemu_registers: Option<&'a str>,
    /// A screendump QEMU already wrote (PPM or PNG); converted to `forensics/screendump.png`.
    pub qemu_screendump: Option<&'a Path>,
}

/// How many lines of the serial log to keep.
pub const SERIAL_TAIL_LINES: usize = 200;

/// Writes everything `evidence` has into `run_dir`. A piece that fails is skipped with a
/// warning (evidence is best effort: one unreadable file must not hide the rest); only the
/// summary file itself failing is an error.
pub fn write(run_dir: &Path, evidence: &Evidence) -> Result<ForensicsSummary, RecordError> {
    let dir = run_dir.join(DIR);
    std::fs::create_dir_all(&dir).map_err(RecordError::io(&dir))?;
    let mut summary = ForensicsSummary::default();
    let keep = |result: Result<String, RecordError>| match result {
        Ok(name) => Some(name),
        Err(e) => {
            tracing::warn!("forensics: {e}");
            None
        }
    };
    if let Some(screen) = evidence.final_screen {
        summary.final_png = keep(save_png(run_dir, "final.png", screen));
    }
    if let Some(awaited) = &evidence.awaited {
        match write_awaited(run_dir, awaited) {
            Ok(written) => summary.awaited = Some(written),
            Err(e) => tracing::warn!("forensics: {e}"),
        }
    }
    if let Some(log) = evidence.serial_log {
        summary.serial_tail = keep(serial_tail(log, SERIAL_TAIL_LINES).and_then(|tail| {
            let name = format!("{DIR}/serial-tail.txt");
            let path = run_dir.join(&name);
            std::fs::write(&path, tail).map_err(RecordError::io(&path))?;
            Ok(name)
        }));
    }
    if let Some(registers) = evidence.qemu_registers {
        let name = format!("{DIR}/registers.txt");
        let path = run_dir.join(&name);
        summary.qemu_registers = keep(
            std::fs::write(&path, registers)
                .map(|_| name)
                .map_err(RecordError::io(&path)),
        );
    }
    if let Some(dump) = evidence.qemu_screendump {
        summary.qemu_screendump = keep(
            image::open(dump)
                .map_err(|source| RecordError::Image {
                    path: dump.to_owned(),
                    source,
                })
                .and_then(|picture| {
                    save_png(
                        run_dir,
                        &format!("{DIR}/screendump.png"),
                        &picture.to_rgb8(),
                    )
                }),
        );
    }
    let path = dir.join(FILE_NAME);
    let text = serde_json::to_string_pretty(&summary).map_err(|e| RecordError::BadFile {
        path: path.clone(),
        message: e.to_string(),
    })?;
    std::fs::write(&path, text + "\n").map_err(RecordError::io(&path))?;
    Ok(summary)
}

/// Reads `<run>/forensics/forensics.json` if there is one.
pub fn load(run_dir: &Path) -> Result<Option<ForensicsSummary>, RecordError> {
    let path = run_dir.join(DIR).join(FILE_NAME);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(RecordError::Io { path, source: e }),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| RecordError::BadFile {
            path,
            message: format!("line {} column {}: {e}", e.line(), e.column()),
        })
}

fn write_awaited(run_dir: &Path, awaited: &AwaitedScreen) -> Result<AwaitedSummary, RecordError> {
    let stem = file_stem(awaited.name);
    let (diff, mismatching_pixels) = diff_image(awaited.reference, awaited.actual, awaited.regions);
    let reference_png = save_png(
        run_dir,
        &format!("{DIR}/{stem}-reference.png"),
        awaited.reference,
    )?;
    let actual_png = save_png(run_dir, &format!("{DIR}/{stem}-actual.png"), awaited.actual)?;
    let diff_png = save_png(run_dir, &format!("{DIR}/{stem}-diff.png"), &diff)?;
    let best_png = match awaited.best {
        Some((_, _, picture)) => Some(save_png(
            run_dir,
            &format!("{DIR}/{stem}-best.png"),
            picture,
        )?),
        None => None,
    };
    Ok(AwaitedSummary {
        screen: awaited.name.to_owned(),
        similarity: awaited.similarity,
        best_similarity: awaited.best.map(|b| b.0),
        best_at_s: awaited.best.map(|b| b.1),
        regions: awaited.regions.to_vec(),
        mismatching_pixels,
        reference_png,
        actual_png,
        diff_png,
        best_png,
    })
}

/// A name usable as a file name: screen names may contain `/` (set/name) or other characters.
pub fn file_stem(name: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.is_empty() {
        "screen".into()
    } else {
        stem
    }
}

fn save_png(run_dir: &Path, name: &str, picture: &RgbImage) -> Result<String, RecordError> {
    let path: PathBuf = run_dir.join(name);
    picture
        .save(&path)
        .map_err(|source| RecordError::Image { path, source })?;
    Ok(name.to_owned())
}

/// The diff picture: the actual screen dimmed to grey, mismatching pixels red, each region's
/// expected place outlined (green when it matched, red when not) and, where the best match was
/// found elsewhere, that place outlined in yellow. Returns the picture and how many pixels
/// mismatched. When the reference is a different size (a needle), pixels are compared where both
/// exist.
pub fn diff_image(
    reference: &RgbImage,
    actual: &RgbImage,
    regions: &[RegionReport],
) -> (RgbImage, u64) {
    let (w, h) = actual.dimensions();
    let mut out = RgbImage::new(w, h);
    let mut mismatching = 0;
    for (x, y, pixel) in actual.enumerate_pixels() {
        let grey = ((u32::from(pixel[0]) * 30
            + u32::from(pixel[1]) * 59
            + u32::from(pixel[2]) * 11)
            / 100) as u8;
        let dim = 40 + grey / 3;
        let differs = reference
            .get_pixel_checked(x, y)
            .is_some_and(|r| (0..3).any(|c| r[c].abs_diff(pixel[c]) > PIXEL_TOLERANCE));
        if differs {
            mismatching += 1;
            out.put_pixel(x, y, Rgb([255, 32, 32]));
        } else {
            out.put_pixel(x, y, Rgb([dim, dim, dim]));
        }
    }
    for region in regions {
        let matched = region.similarity >= region.threshold;
        let colour = if matched {
            Rgb([40, 220, 40])
        } else {
            Rgb([255, 60, 60])
        };
        outline(&mut out, region.expected, colour, 2);
        if region.found != region.expected {
            outline(&mut out, region.found, Rgb([255, 220, 0]), 1);
        }
    }
    (out, mismatching)
}

fn outline(picture: &mut RgbImage, rect: Rect, colour: Rgb<u8>, thickness: u32) {
    let (w, h) = picture.dimensions();
    for t in 0..thickness {
        let (left, top) = (rect.x.saturating_sub(t + 1), rect.y.saturating_sub(t + 1));
        let (right, bottom) = (rect.right() + t, rect.bottom() + t);
        for x in left..=right.min(w.saturating_sub(1)) {
            for y in [top, bottom] {
                if y < h {
                    picture.put_pixel(x, y, colour);
                }
            }
        }
        for y in top..=bottom.min(h.saturating_sub(1)) {
            for x in [left, right] {
                if x < w {
                    picture.put_pixel(x, y, colour);
                }
            }
        }
    }
}

/// The last `lines` lines of a (possibly large, possibly binary-tainted) log, reading only its
/// end.
pub fn serial_tail(path: &Path, lines: usize) -> Result<String, RecordError> {
    use std::io::{Read, Seek, SeekFrom};
    const MAX_TAIL_BYTES: u64 = 256 * 1024;
    let mut file = std::fs::File::open(path).map_err(RecordError::io(path))?;
    let len = file.metadata().map_err(RecordError::io(path))?.len();
    let start = len.saturating_sub(MAX_TAIL_BYTES);
    file.seek(SeekFrom::Start(start))
        .map_err(RecordError::io(path))?;
    let mut bytes = Vec::new();
    file.take(MAX_TAIL_BYTES)
        .read_to_end(&mut bytes)
        .map_err(RecordError::io(path))?;
    let text = String::from_utf8_lossy(&bytes);
    // Terminal control sequences from the guest's console make the text unreadable elsewhere.
    let clean: String = text
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect();
    let all: Vec<&str> = clean.lines().collect();
    // The first line may be cut in the middle when we started reading mid-file.
    let skip_partial = usize::from(start > 0);
    let from = all
        .len()
        .saturating_sub(lines)
        .max(skip_partial.min(all.len()));
    let mut tail = all[from..].join("\n");
    tail.push('\n');
    Ok(tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn screen(colour: [u8; 3]) -> RgbImage {
        RgbImage::from_pixel(40, 30, Rgb(colour))
    }

    #[test]
    fn the_diff_marks_exactly_the_changed_pixels_and_outlines_regions() {
        let reference = screen([200, 200, 200]);
        let mut actual = reference.clone();
        for x in 10..14 {
            for y in 5..7 {
                actual.put_pixel(x, y, Rgb([0, 0, 0]));
            }
        }
        actual.put_pixel(0, 0, Rgb([210, 190, 200])); // noise below the tolerance
        let regions = [RegionReport {
            expected: Rect::new(8, 3, 10, 6),
            found: Rect::new(20, 20, 10, 6),
            similarity: 0.7,
            threshold: 0.95,
        }];
        let (diff, mismatching) = diff_image(&reference, &actual, &regions);
        assert_eq!(mismatching, 8);
        assert_eq!(diff.get_pixel(11, 6), &Rgb([255, 32, 32]));
        assert_ne!(diff.get_pixel(0, 0), &Rgb([255, 32, 32]));
        assert_eq!(
            diff.get_pixel(7, 2),
            &Rgb([255, 60, 60]),
            "failed region outlined red"
        );
        assert_eq!(
            diff.get_pixel(19, 19),
            &Rgb([255, 220, 0]),
            "where it was found, yellow"
        );
    }

    #[test]
    fn writes_every_piece_and_a_summary() {
        let dir = tempfile::tempdir().unwrap();
        let serial = dir.path().join("serial.log");
        let log: String = (0..500).map(|i| format!("line {i}\x1b[0m\n")).collect();
        std::fs::write(&serial, log).unwrap();
        let reference = screen([255, 255, 255]);
        let actual = screen([0, 0, 0]);
        let evidence = Evidence {
            final_screen: Some(&actual),
            awaited: Some(AwaitedScreen {
                name: "debian/partitioning",
                reference: &reference,
                actual: &actual,
                regions: &[],
                similarity: 0.1,
                best: Some((0.4, 12.5, &actual)),
            }),
            serial_log: Some(&serial),
            qemu_registers: Some("RAX=0000000000000000"),
            qemu_screendump: None,
        };
        let summary = write(dir.path(), &evidence).unwrap();
        let awaited = summary.awaited.as_ref().unwrap();
        assert_eq!(awaited.diff_png, "forensics/debian_partitioning-diff.png");
        assert_eq!(awaited.best_at_s, Some(12.5));
        assert_eq!(awaited.mismatching_pixels, 40 * 30);
        for file in [
            &awaited.reference_png,
            &awaited.actual_png,
            &awaited.diff_png,
        ] {
            assert!(dir.path().join(file).is_file(), "{file}");
        }
        assert!(dir.path().join("final.png").is_file());
        let tail = std::fs::read_to_string(dir.path().join("forensics/serial-tail.txt")).unwrap();
        assert_eq!(tail.lines().count(), SERIAL_TAIL_LINES);
        assert!(
            tail.starts_with("line 300[0m\n") && tail.ends_with("line 499[0m\n"),
            "{tail:.40}"
        );
        assert_eq!(load(dir.path()).unwrap(), Some(summary));
    }
}
