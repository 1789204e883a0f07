//! `OUT/status.json`: the site for machines — the nights (oldest first) and one entry per cell
//! per night. Documented in docs/nightly.md ("Status page").

use std::path::Path;

use serde::Serialize;

use super::SiteError;
use super::cell::{CellStatus, Label};
use super::collect::Collection;

pub const FILE_NAME: &str = "status.json";

#[derive(Debug, Serialize)]
pub struct Status {
    pub nights: Vec<String>,
    pub cells: Vec<StatusCell>,
}

#[derive(Debug, Serialize)]
pub struct StatusCell {
    pub harness: String,
    pub variant: String,
    pub night: String,
    pub status: CellStatus,
    pub reason: String,
    pub duration_s: f64,
    /// The cell's folder in the site, relative to it: `<night>/<harness>/<variant>` (its
    /// index.html is the run page, its attempt folders the copied evidence).
    pub results: String,
    pub label: Option<Label>,
}

pub fn status(collection: &Collection) -> Status {
    Status {
        nights: collection.night_names(),
        cells: collection
            .cells()
            .map(|cell| {
                let r = &cell.record;
                StatusCell {
                    harness: r.harness.clone(),
                    variant: r.variant.clone(),
                    night: r.night.clone(),
                    status: r.status,
                    reason: r.reason.clone(),
                    duration_s: r.duration_s,
                    results: format!("{}/{}/{}", r.night, r.harness, r.variant),
                    label: r.label.clone(),
                }
            })
            .collect(),
    }
}

pub fn write(out: &Path, collection: &Collection) -> Result<(), SiteError> {
    let path = out.join(FILE_NAME);
    let json = serde_json::to_string_pretty(&status(collection)).expect("plain data serialises");
    std::fs::write(&path, json + "\n").map_err(SiteError::io(&path))
}
