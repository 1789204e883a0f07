//! What can go wrong serving the authoring page or saving a reference.

use std::path::PathBuf;

use crate::display::DisplayError;
use crate::screen::ScreenError;

#[derive(Debug, thiserror::Error)]
pub enum AuthorError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Image {
        path: PathBuf,
        source: image::ImageError,
    },
    /// A request the page made that cannot be carried out (bad name, rectangle outside the
    /// screen, no frozen frame); the message is shown on the page.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Screen(#[from] ScreenError),
    #[error(transparent)]
    Display(#[from] DisplayError),
}

impl AuthorError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> AuthorError {
        AuthorError::Io {
            path: path.into(),
            source,
        }
    }
}
