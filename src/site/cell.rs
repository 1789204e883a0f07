//! One cell of one night: `cell.json` as the matrix writes it (its types are the matrix's own,
//! `matrix::record`), and where it was found. The site only reads it; every field that becomes a path is checked here, because a
//! results folder may come from any host.

use std::path::{Component, Path, PathBuf};

use super::SiteError;
use crate::report::Status;

pub use crate::matrix::known::Label;
pub use crate::matrix::record::{AttemptRecord as Attempt, CellRecord, CellStatus, FILE_NAME};

/// A cell as found on disk.
#[derive(Clone, Debug)]
pub struct Cell {
    pub record: CellRecord,
    /// The folder holding cell.json and the attempts.
    pub dir: PathBuf,
}

impl Cell {
    /// `<harness>/<variant>`.
    pub fn name(&self) -> String {
        self.record.name()
    }

    /// The attempt whose evidence explains the cell: the last one that did not pass, else the
    /// last one.
    pub fn telling_attempt(&self) -> Option<usize> {
        let attempts = &self.record.attempts;
        attempts
            .iter()
            .rposition(|a| a.status != Status::Pass)
            .or_else(|| attempts.len().checked_sub(1))
    }
}

/// Reads `dir/cell.json` and checks it belongs where it was found: its night, harness and
/// variant must be the folder names, and every attempt folder a plain relative name.
pub fn read(dir: &Path, night: &str, harness: &str, variant: &str) -> Result<Cell, SiteError> {
    let path = dir.join(FILE_NAME);
    let text = std::fs::read_to_string(&path).map_err(SiteError::io(&path))?;
    let bad = |message: String| SiteError::BadCell {
        path: path.clone(),
        message,
    };
    let record: CellRecord = serde_json::from_str(&text).map_err(|e| {
        bad(format!(
            "line {} column {}: {e} (expected the cell.json of docs/nightly.md)",
            e.line(),
            e.column()
        ))
    })?;
    for (field, value, folder) in [
        ("night", &record.night, night),
        ("harness", &record.harness, harness),
        ("variant", &record.variant, variant),
    ] {
        if value != folder {
            return Err(bad(format!(
                "\"{field}\" is {value:?} but the folder says {folder:?}"
            )));
        }
    }
    for attempt in &record.attempts {
        if !is_plain_relative(&attempt.results) {
            return Err(bad(format!(
                "attempt results {:?}: expected a folder name inside the cell's folder (e.g. \"attempt-1\")",
                attempt.results
            )));
        }
    }
    Ok(Cell {
        record,
        dir: dir.to_owned(),
    })
}

/// `attempt-1` or `a/b`, never absolute, never `..`.
fn is_plain_relative(path: &str) -> bool {
    !path.is_empty()
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, json: &str) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(FILE_NAME), json).unwrap();
    }

    #[test]
    fn a_cell_must_sit_in_its_own_folder_and_keep_its_attempts_inside() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("n/h/v");
        let json = |night: &str, results: &str| {
            format!(
                r#"{{"harness":"h","variant":"v","night":"{night}","status":"fail","reason":"r",
                "duration_s":1.5,"started":"2026-12-03T01:02:03Z","shard":null,"matrix":"m.toml",
                "attempts":[{{"status":"fail","reason":"r","duration_s":1.5,"results":"{results}"}}],"label":null}}"#
            )
        };
        write(&dir, &json("n", "attempt-1"));
        let cell = read(&dir, "n", "h", "v").unwrap();
        assert_eq!(cell.name(), "h/v");
        assert_eq!(cell.telling_attempt(), Some(0));

        write(&dir, &json("other", "attempt-1"));
        let e = read(&dir, "n", "h", "v").unwrap_err().to_string();
        assert!(
            e.contains("cell.json") && e.contains("\"night\" is \"other\""),
            "{e}"
        );

        write(&dir, &json("n", "../../../etc"));
        let e = read(&dir, "n", "h", "v").unwrap_err().to_string();
        assert!(e.contains("\"../../../etc\""), "{e}");

        write(&dir, "{\"harness\": \"h\",\n \"status\": \"maybe\"}");
        let e = read(&dir, "n", "h", "v").unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("maybe"), "{e}");
    }
}
