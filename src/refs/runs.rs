//! Finding the runs in results folders: a run's own folder, a harness's `results/` (many
//! timestamped runs), or a matrix night (`DIR/<night>/<harness>/<variant>/` with `cell.json`
//! and its `attempt-<k>/` folders, docs/nightly.md).
//!
//! A folder with `cell.json` is a matrix cell: its runs are the attempts the cell lists. A folder
//! with `result.json` or `events.jsonl` is a run. Any other folder is searched below, to a bounded
//! depth, without following symbolic links (`results/latest` points at a run already found).

use std::path::{Path, PathBuf};

use super::RefsError;
use crate::matrix::record::CellRecord;
use crate::report::{Event, EventKind, RunResult, read_result};

/// How deep below a given folder runs are looked for (a night is 4 levels: night, harness,
/// variant, attempt).
pub const MAX_DEPTH: usize = 6;

/// One run's folder and what its result.json says (absent while a run is going on, or after a
/// hard kill).
#[derive(Clone, Debug)]
pub struct RunFolder {
    pub dir: PathBuf,
    pub result: Option<RunResult>,
}

impl RunFolder {
    fn read(dir: PathBuf) -> Result<RunFolder, RefsError> {
        let result = if dir.join("result.json").is_file() {
            Some(read_result(&dir)?)
        } else {
            None
        };
        Ok(RunFolder { dir, result })
    }

    /// When the run started (RFC 3339 UTC; empty when unknown): runs sort by it.
    pub fn started(&self) -> &str {
        self.result.as_ref().map_or("", |r| r.started.as_str())
    }

    /// The screen set folder the run used, as its result.json records it.
    pub fn screens(&self) -> Option<&Path> {
        self.result.as_ref().and_then(|r| r.screens.as_deref())
    }

    /// The run's events, typed. An event this version does not know (a newer vncpilot wrote
    /// it) is passed over with a warning rather than hiding every other run.
    pub fn events(&self) -> Result<Vec<(f64, EventKind)>, RefsError> {
        let path = self.dir.join("events.jsonl");
        let mut kinds = Vec::new();
        for value in crate::report::html::read_events(&path)? {
            let event: Event = match serde_json::from_value(value) {
                Ok(event) => event,
                Err(e) => {
                    tracing::warn!("{}: {e}", path.display());
                    continue;
                }
            };
            match event.kind() {
                Ok(kind) => kinds.push((event.t, kind)),
                Err(e) => tracing::warn!("{}: {e}", path.display()),
            }
        }
        Ok(kinds)
    }
}

/// Every run in or below `root`, oldest first; an error names `root` when there is none.
pub fn find_runs(root: &Path) -> Result<Vec<RunFolder>, RefsError> {
    let meta = std::fs::metadata(root).map_err(RefsError::io(root))?;
    if !meta.is_dir() {
        return Err(RefsError::NotResults {
            path: root.to_path_buf(),
        });
    }
    let mut dirs = Vec::new();
    visit(root, 0, &mut dirs)?;
    if dirs.is_empty() {
        return Err(RefsError::NotResults {
            path: root.to_path_buf(),
        });
    }
    let mut runs = dirs
        .into_iter()
        .map(RunFolder::read)
        .collect::<Result<Vec<_>, _>>()?;
    runs.sort_by(|a, b| a.started().cmp(b.started()).then(a.dir.cmp(&b.dir)));
    Ok(runs)
}

fn visit(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<(), RefsError> {
    if dir.join(crate::matrix::record::FILE_NAME).is_file() {
        let cell = CellRecord::read(dir)?;
        out.extend(
            cell.attempts
                .iter()
                .map(|a| dir.join(&a.results))
                .filter(|d| d.is_dir()),
        );
        return Ok(());
    }
    if dir.join("result.json").is_file() || dir.join("events.jsonl").is_file() {
        out.push(dir.to_path_buf());
        return Ok(());
    }
    if depth >= MAX_DEPTH {
        return Ok(());
    }
    let mut subdirs = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(RefsError::io(dir))? {
        let entry = entry.map_err(RefsError::io(dir))?;
        let file_type = entry.file_type().map_err(RefsError::io(&entry.path()))?;
        if file_type.is_dir() {
            subdirs.push(entry.path());
        }
    }
    subdirs.sort();
    for sub in subdirs {
        visit(&sub, depth + 1, out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(dir: &Path, started: &str) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(
            dir.join("result.json"),
            format!(
                r#"{{"status":"pass","reason":"","duration_s":1.0,"harness":"h","variables":{{}},"version":"0","started":"{started}"}}"#
            ),
        )
        .unwrap();
    }

    #[test]
    fn finds_runs_of_a_night_through_cell_json_and_plain_runs_oldest_first() {
        let root = tempfile::tempdir().unwrap();
        let cell = root.path().join("night/h/default");
        run(&cell.join("attempt-1"), "2026-12-03T01:00:00Z");
        run(&cell.join("attempt-2"), "2026-12-03T02:00:00Z");
        // Not listed by cell.json: not one of the cell's runs.
        run(&cell.join("stray"), "2026-12-03T00:00:00Z");
        std::fs::write(
            cell.join("cell.json"),
            r#"{"harness":"h","variant":"default","night":"night","status":"flaky","started":"2026-12-03T01:00:00Z",
               "attempts":[{"status":"fail","results":"attempt-1"},{"status":"pass","results":"attempt-2"}]}"#,
        )
        .unwrap();
        run(
            &root.path().join("plain/h/20261201T000000Z"),
            "2026-12-01T00:00:00Z",
        );
        std::os::unix::fs::symlink(
            root.path().join("plain/h/20261201T000000Z"),
            root.path().join("plain/latest"),
        )
        .unwrap();
        let runs = find_runs(root.path()).unwrap();
        let names: Vec<String> = runs
            .iter()
            .map(|r| {
                r.dir
                    .strip_prefix(root.path())
                    .unwrap()
                    .display()
                    .to_string()
            })
            .collect();
        assert_eq!(
            names,
            [
                "plain/h/20261201T000000Z",
                "night/h/default/attempt-1",
                "night/h/default/attempt-2"
            ]
        );
        // A run folder given directly, and through a symbolic link.
        assert_eq!(
            find_runs(&root.path().join("plain/latest")).unwrap().len(),
            1
        );
    }

    #[test]
    fn a_folder_without_runs_is_an_error_naming_it() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("empty/deeper")).unwrap();
        let err = find_runs(&root.path().join("empty")).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("empty") && text.contains("not a results folder"),
            "{text}"
        );
        let err = find_runs(&root.path().join("missing")).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
    }
}
