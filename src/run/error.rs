//! What can keep a run from reaching a verdict. Only [`RunError::Results`] is returned by
//! [`super::run`]; the others end the run as `error` with their message as the reason.

use std::path::PathBuf;

use crate::display::DisplayError;
use crate::guest::GuestError;
use crate::report::ReportError;
use crate::rfb::RfbError;
use crate::screen::ScreenError;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The results folder (or its result.json, events.jsonl, log.txt) could not be written.
    #[error("results folder: {0}")]
    Results(#[from] ReportError),
    #[error("loading the screen set {set:?} of {harness}: {source}")]
    Screens {
        set: String,
        harness: PathBuf,
        #[source]
        source: Box<ScreenError>,
    },
    #[error("reading the macro {path}: {source}")]
    Macro {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("reading the VNC password file {path}: {source}")]
    Password {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{harness} has no [guest] section: run it with --vnc ADDR")]
    NoGuest { harness: PathBuf },
    #[error("{0}")]
    Guest(#[from] GuestError),
    #[error("connecting to VNC server {addr}: {source}")]
    Connect {
        addr: String,
        #[source]
        source: Box<RfbError>,
    },
    #[error("watching the screen over QMP: {0}")]
    QmpDisplay(#[source] DisplayError),
    #[error("interrupted while starting the guest: {why}")]
    Interrupted { why: String },
}
