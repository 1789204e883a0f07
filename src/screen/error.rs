//! Everything that can go wrong while loading references or checking a screen.

use std::path::PathBuf;

/// Errors of the `screen` module. Every variant names the file involved and what was expected,
/// so a broken reference can be fixed without reading code.
#[derive(Debug, thiserror::Error)]
pub enum ScreenError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a readable image (expected PNG or PPM): {source}")]
    Image {
        path: PathBuf,
        #[source]
        source: image::ImageError,
    },
    #[error("{path}: mask is {mask_w}x{mask_h}, expected the screen's size {screen_w}x{screen_h}")]
    MaskSize {
        path: PathBuf,
        mask_w: u32,
        mask_h: u32,
        screen_w: u32,
        screen_h: u32,
    },
    #[error("{path}: mask has no white (compared) pixel; expected at least one white area")]
    EmptyMask { path: PathBuf },
    #[error("{path}: invalid settings: {message}")]
    Settings { path: PathBuf, message: String },
    #[error("{path}: invalid needle: {message}")]
    Needle { path: PathBuf, message: String },
    #[error(
        "{path}: unsupported reference type; expected a screen (.png, .ppm) or an openQA needle (.json)"
    )]
    UnknownKind { path: PathBuf },
    #[error("{path}: {region} lies outside the {w}x{h} image")]
    RegionOutside {
        path: PathBuf,
        region: String,
        w: u32,
        h: u32,
    },
    #[error(
        "image is {image_w}x{image_h} but reference {name} is {ref_w}x{ref_h}; expected equal sizes"
    )]
    SizeMismatch {
        name: String,
        image_w: u32,
        image_h: u32,
        ref_w: u32,
        ref_h: u32,
    },
    #[error("{path}: no reference named {name} in this set")]
    NotFound { path: PathBuf, name: String },
}

impl ScreenError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> ScreenError {
        ScreenError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn image(path: impl Into<PathBuf>, source: image::ImageError) -> ScreenError {
        match source {
            image::ImageError::IoError(e) => ScreenError::Io {
                path: path.into(),
                source: e,
            },
            other => ScreenError::Image {
                path: path.into(),
                source: other,
            },
        }
    }
}
