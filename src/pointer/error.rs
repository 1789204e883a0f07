//! What can go wrong while moving the pointer. Failures that happen while looking at the screen
//! carry that screen, so the caller can save it next to the results.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use image::RgbImage;

/// The screen the pointer loop last looked at, kept with an error so that the caller can write
/// it out (its `Debug` does not print the pixels).
#[derive(Clone)]
pub struct Screenshot(pub Arc<RgbImage>);

impl fmt::Debug for Screenshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Screenshot({}x{})", self.0.width(), self.0.height())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PointerError {
    #[error(
        "the mouse cursor was not found on the {width}x{height} screen ({what}); \
         known cursor images: {known}"
    )]
    CursorNotFound {
        width: u32,
        height: u32,
        what: String,
        known: String,
        screenshot: Screenshot,
    },

    #[error(
        "the pointer did not move: {attempts} moves (the largest by ({dx}, {dy})) left the \
         cursor at ({x}, {y}); is the guest's mouse driver running?"
    )]
    DidNotMove {
        attempts: u32,
        dx: i32,
        dy: i32,
        x: u32,
        y: u32,
        screenshot: Screenshot,
    },

    #[error(
        "the pointer did not reach ({target_x}, {target_y}) within {rounds} rounds and {elapsed_s:.1} s: \
         it is at ({x}, {y}), {error_px} px off (tolerance {tolerance} px)"
    )]
    NotConverged {
        target_x: u32,
        target_y: u32,
        x: u32,
        y: u32,
        error_px: u32,
        tolerance: u32,
        rounds: u32,
        elapsed_s: f64,
        screenshot: Screenshot,
    },

    #[error(
        "target ({x}, {y}) is outside the {width}x{height} screen (expected 0 <= x < {width}, 0 <= y < {height})"
    )]
    OutsideScreen {
        x: u32,
        y: u32,
        width: u32,
        height: u32,
    },

    #[error("cannot click screen {name}: it is not showing (similarity {similarity:.4})")]
    ScreenNotShown {
        name: String,
        similarity: f64,
        screenshot: Screenshot,
    },

    #[error("cursor image {path}: {reason}")]
    BadCursorImage { path: PathBuf, reason: String },

    #[error("pointer device: {0}")]
    Device(String),
}

impl PointerError {
    /// The screen at the time of the failure, where there was one.
    pub fn screenshot(&self) -> Option<&RgbImage> {
        match self {
            PointerError::CursorNotFound { screenshot, .. }
            | PointerError::DidNotMove { screenshot, .. }
            | PointerError::NotConverged { screenshot, .. }
            | PointerError::ScreenNotShown { screenshot, .. } => Some(&screenshot.0),
            _ => None,
        }
    }
}
