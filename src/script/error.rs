use std::path::PathBuf;

/// Errors of the harness format and the macro engine.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error("cannot read harness {path}: {source}")]
    HarnessRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    HarnessInvalid { path: PathBuf, message: String },
    #[error("cannot read macro {path}: {source}")]
    MacroRead {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A syntax or runtime error of the macro, `file:line:col: message`.
    #[error("{0}")]
    Macro(String),
    #[error("display: {0}")]
    Display(String),
}

impl From<crate::display::DisplayError> for ScriptError {
    fn from(e: crate::display::DisplayError) -> ScriptError {
        ScriptError::Display(e.to_string())
    }
}
