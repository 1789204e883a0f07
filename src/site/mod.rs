//! The status site: `vncpilot report DIR... --out OUT` turns nightly matrix results (the layout
//! in docs/nightly.md, `DIR/<night>/<harness>/<variant>/cell.json` + `attempt-<k>/`) into a static
//! site anyone can publish: the matrix of the latest night, each cell's history over the last
//! nights, a run page per cell with its evidence, and `status.json` for machines.
//!
//! The data flow: [`collect`] reads and merges every DIR (shards are a union of cells), [`known_issues`]
//! labels failures that match a known signature, [`publish`] copies each attempt's evidence into
//! OUT and renders its `report.html` with [`crate::report::html`], [`history`] computes strips,
//! streaks and the night-over-night diff, and [`index_page`], [`run_page`] and [`status_json`]
//! write the files. Nothing here runs a guest: the site is a pure function of the results.

pub mod cell;
pub mod collect;
pub mod history;
pub mod index_page;
pub mod known_issues;
pub mod markup;
pub mod publish;
pub mod run_page;
pub mod status_json;

use std::path::{Path, PathBuf};

pub use crate::matrix::known::KnownIssues;
pub use cell::{Attempt, Cell, CellRecord, CellStatus, Label};
pub use collect::Collection;

/// How many nights the site covers when not told (`--nights`).
pub const DEFAULT_NIGHTS: usize = 14;

/// Everything that can go wrong building the site.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    BadCell { path: PathBuf, message: String },
    #[error("no cell.json under {dirs} (expected DIR/<night>/<harness>/<variant>/cell.json)")]
    NoCells { dirs: String },
}

impl SiteError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> SiteError {
        let path = path.into();
        move |source| SiteError::Io { path, source }
    }
}

/// What `build` is told besides the folders.
#[derive(Debug, Default)]
pub struct SiteOptions {
    /// The site covers the last this many nights (0 means [`DEFAULT_NIGHTS`]).
    pub nights: usize,
    /// Signatures labelling failures that carry no label of their own.
    pub known: Option<KnownIssues>,
}

/// What `build` wrote.
#[derive(Debug)]
pub struct SiteSummary {
    pub index: PathBuf,
    pub nights: Vec<String>,
    pub cells: usize,
    /// Attempts whose evidence could not be read; their pages say why.
    pub warnings: Vec<String>,
}

/// Reads every DIR, merges them and writes the site into `out` (created if needed).
pub fn build(
    dirs: &[PathBuf],
    out: &Path,
    options: &SiteOptions,
) -> Result<SiteSummary, SiteError> {
    let nights = match options.nights {
        0 => DEFAULT_NIGHTS,
        n => n,
    };
    let mut collection = collect::collect(dirs)?;
    collection.keep_last(nights);
    if let Some(known) = &options.known {
        known_issues::label(known, &mut collection);
    }
    std::fs::create_dir_all(out).map_err(SiteError::io(out))?;
    let mut warnings = Vec::new();
    for cell in collection.cells() {
        let published = publish::publish_cell(cell, out)?;
        warnings.extend(published.iter().filter_map(|a| a.problem.clone()));
        run_page::write(out, cell, &published)?;
    }
    let histories = history::histories(&collection);
    let diff = history::night_diff(&collection);
    let index = out.join("index.html");
    let page = index_page::render(&collection, &histories, diff.as_ref());
    std::fs::write(&index, page).map_err(SiteError::io(&index))?;
    status_json::write(out, &collection)?;
    Ok(SiteSummary {
        index,
        nights: collection.night_names(),
        cells: collection.cells().count(),
        warnings,
    })
}
