//! The optional `screens/<set>/<name>.toml` beside a screen: threshold, search margin, click
//! point, tags and (from `import-needles`) explicit regions.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::ScreenError;

/// Similarity every region must reach when nothing else is said (openQA's default, 96 %).
pub const DEFAULT_THRESHOLD: f64 = 0.96;
/// How far (px) a region may have moved when nothing else is said (openQA's default).
pub const DEFAULT_MARGIN: u32 = 50;

/// Settings of one screen. Unknown keys are an error, so a typo never silently does nothing.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScreenSettings {
    /// Similarity in [0, 1] every region must reach (default 0.96).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Search margin in pixels (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin: Option<u32>,
    /// Where to click on this screen, `[x, y]` in screen pixels (moves with the found region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub click_point: Option<[u32; 2]>,
    /// Free-form tags (openQA needles' tags end up here).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Explicit regions, each matched on its own. Without them every connected white part of
    /// the mask is a region.
    #[serde(default, rename = "region", skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<RegionSettings>,
}

/// One explicit region of a screen.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionSettings {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin: Option<u32>,
}

impl ScreenSettings {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<ScreenSettings, ScreenError> {
        let text = std::fs::read_to_string(path).map_err(|e| ScreenError::io(path, e))?;
        ScreenSettings::parse(&text, path)
    }

    /// Parses and validates settings text (`path` is for messages).
    pub fn parse(text: &str, path: &Path) -> Result<ScreenSettings, ScreenError> {
        let s: ScreenSettings = toml::from_str(text).map_err(|e| ScreenError::Settings {
            path: path.into(),
            message: e.to_string(),
        })?;
        let bad = |message: String| ScreenError::Settings {
            path: path.into(),
            message,
        };
        let check_threshold = |t: Option<f64>, what: &str| match t {
            Some(t) if !(0.0..=1.0).contains(&t) => Err(bad(format!(
                "{what}threshold = {t}, expected a number in 0..=1"
            ))),
            _ => Ok(()),
        };
        check_threshold(s.threshold, "")?;
        for (i, r) in s.regions.iter().enumerate() {
            check_threshold(r.threshold, &format!("region {} ", i + 1))?;
            if r.w == 0 || r.h == 0 {
                return Err(bad(format!(
                    "region {} is {}x{}, expected a non-empty rectangle",
                    i + 1,
                    r.w,
                    r.h
                )));
            }
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_rejected_with_the_file_name() {
        let err =
            ScreenSettings::parse("treshold = 0.9\n", Path::new("screens/x/a.toml")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("screens/x/a.toml"), "{msg}");
        assert!(msg.contains("treshold"), "{msg}");
    }

    #[test]
    fn thresholds_out_of_range_are_rejected() {
        let err = ScreenSettings::parse("threshold = 96\n", Path::new("a.toml")).unwrap_err();
        assert!(err.to_string().contains("0..=1"), "{err}");
    }

    #[test]
    fn full_settings_parse() {
        let s = ScreenSettings::parse(
            "threshold = 0.9\nmargin = 10\nclick_point = [5, 6]\ntags = [\"a\"]\n[[region]]\nx = 1\ny = 2\nw = 3\nh = 4\nthreshold = 0.92\n",
            Path::new("a.toml"),
        )
        .unwrap();
        assert_eq!(s.margin, Some(10));
        assert_eq!(s.click_point, Some([5, 6]));
        assert_eq!(s.regions[0].threshold, Some(0.92));
    }
}
