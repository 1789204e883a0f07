//! Copies each attempt's evidence into the site and renders its `report.html` — the page
//! `vncpilot replay --html` makes — so the site is self-contained and can be published anywhere.
//!
//! Copied: everything in the attempt's results folder except the lossless video segments (they
//! exist for `replay --find`, not for people, and are the largest files) and symbolic links (a
//! results folder from another host must not pull other files into the site). Unchanged files (same
//! size) are not copied again, so re-running the report over a growing archive is cheap.

use std::path::{Path, PathBuf};

use super::SiteError;
use super::cell::{Attempt, Cell};
use crate::report::html::{self, ReportData};

/// One attempt as the site holds it.
#[derive(Debug)]
pub struct PublishedAttempt {
    pub attempt: Attempt,
    /// What its page and evidence show; None when the folder is missing or unreadable.
    pub data: Option<ReportData>,
    /// Why there is no evidence, for the page and the summary.
    pub problem: Option<String>,
}

/// The cell's folder in the site: `OUT/<night>/<harness>/<variant>`.
pub fn cell_dir(out: &Path, cell: &Cell) -> PathBuf {
    out.join(&cell.record.night)
        .join(&cell.record.harness)
        .join(&cell.record.variant)
}

/// Copies and renders every attempt of `cell`.
pub fn publish_cell(cell: &Cell, out: &Path) -> Result<Vec<PublishedAttempt>, SiteError> {
    let target = cell_dir(out, cell);
    std::fs::create_dir_all(&target).map_err(SiteError::io(&target))?;
    let mut published = Vec::new();
    for attempt in &cell.record.attempts {
        let source = cell.dir.join(&attempt.results);
        let dest = target.join(&attempt.results);
        let mut entry = PublishedAttempt {
            attempt: attempt.clone(),
            data: None,
            problem: None,
        };
        if !source.is_dir() {
            entry.problem = Some(format!(
                "{}: the attempt's results folder is missing",
                source.display()
            ));
        } else {
            copy_tree(&source, &dest)?;
            match ReportData::read(&dest) {
                Ok(mut data) => {
                    // The page names the run by its place in the site, not by a local path.
                    data.run = format!("{}/{}", cell.name(), attempt.results);
                    let page = dest.join(html::FILE_NAME);
                    std::fs::write(&page, html::render(&data)).map_err(SiteError::io(&page))?;
                    entry.data = Some(data);
                }
                Err(e) => entry.problem = Some(format!("evidence unreadable: {e}")),
            }
        }
        if let Some(problem) = &entry.problem {
            tracing::warn!("{}: {problem}", cell.name());
        }
        published.push(entry);
    }
    Ok(published)
}

/// Is this file left out of the site?
fn left_out(name: &str) -> bool {
    name == html::FILE_NAME || (name.starts_with("video-lossless-") && name.ends_with(".mkv"))
}

fn copy_tree(source: &Path, dest: &Path) -> Result<(), SiteError> {
    std::fs::create_dir_all(dest).map_err(SiteError::io(dest))?;
    for entry in std::fs::read_dir(source).map_err(SiteError::io(source))? {
        let entry = entry.map_err(SiteError::io(source))?;
        let kind = entry.file_type().map_err(SiteError::io(entry.path()))?;
        let name = entry.file_name();
        let to = dest.join(&name);
        if kind.is_dir() {
            copy_tree(&entry.path(), &to)?;
        } else if kind.is_file() && !left_out(&name.to_string_lossy()) {
            let from = entry.path();
            if !already_copied(&from, &to) {
                std::fs::copy(&from, &to).map_err(SiteError::io(&to))?;
            }
        }
    }
    Ok(())
}

/// Same size and copied after the source last changed.
fn already_copied(from: &Path, to: &Path) -> bool {
    let (Ok(a), Ok(b)) = (std::fs::metadata(from), std::fs::metadata(to)) else {
        return false;
    };
    a.len() == b.len()
        && matches!((a.modified(), b.modified()), (Ok(source), Ok(copy)) if copy >= source)
}
