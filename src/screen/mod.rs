//! Reference screens, masks and the fuzzy matcher.
//!
//! A [`Reference`] is what a screen should look like: a screenshot `screens/<set>/<name>.png`
//! (or `.ppm`) with an optional mask `masks/<set>/<name>.png` (white = compare) and settings
//! `screens/<set>/<name>.toml`, or an openQA needle (`.json` + `.png`). It is made of regions
//! (connected parts of the mask, or needle areas); a reference matches an image when every
//! region is found within its search margin with at least its threshold of similarity.
//! The similarity is defined in [`similarity`] and explained in docs/matching.md.
//!
//! A [`Watcher`] checks many references against every framebuffer update, recomputing only
//! regions the update touched.

pub mod box_luma;
pub mod error;
pub mod mask;
pub mod mean_bound;
pub mod needle;
pub mod planes;
pub mod reference;
pub mod search;
pub mod set;
pub mod settings;
mod simd;
pub mod similarity;
pub mod template;
pub mod watcher;

pub use error::ScreenError;
pub use needle::{ImportReport, Needle, import};
pub use reference::{MatchResult, Reference, RegionMatch};
pub use set::ScreenSet;
pub use settings::{DEFAULT_MARGIN, DEFAULT_THRESHOLD, RegionSettings, ScreenSettings};
pub use watcher::Watcher;
