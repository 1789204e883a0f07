//! Known-issue labels on the site (`vncpilot report --known FILE`): a night's failure that
//! matches a signature is shown with its label and link instead of as something new.
//!
//! The file and its matching are the matrix's own ([`crate::matrix::known`], docs/nightly.md
//! "Known issues"), so a signature filed after a night also labels the nights before it. Here it
//! is checked against each cell's last attempt that did not pass; only `fail`, `error` and `flaky`
//! cells are labelled, and a label already in cell.json (the matrix labels at run time) is kept.

use super::cell::{Cell, CellStatus, Label};
use super::collect::Collection;
use crate::matrix::known::{Evidence, KnownIssues};

/// Labels every cell of the collection that needs one and matches.
pub fn label(known: &KnownIssues, collection: &mut Collection) {
    for cell in collection.cells_mut() {
        let eligible = matches!(
            cell.record.status,
            CellStatus::Fail | CellStatus::Error | CellStatus::Flaky
        );
        if eligible && cell.record.label.is_none() {
            cell.record.label = matching(known, cell);
        }
    }
}

/// The first issue `cell`'s last attempt that did not pass matches.
pub fn matching(known: &KnownIssues, cell: &Cell) -> Option<Label> {
    let attempt = cell
        .record
        .attempts
        .iter()
        .rev()
        .find(|a| a.status != crate::report::Status::Pass)?;
    known.label(&Evidence {
        cell: &cell.name(),
        reason: &attempt.reason,
        results: &cell.dir.join(&attempt.results),
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::report::Status;
    use crate::site::cell::{Attempt, CellRecord};

    #[test]
    fn every_given_part_must_match_the_last_failed_attempt() {
        let tmp = tempfile::tempdir().unwrap();
        let attempt = tmp.path().join("attempt-1/forensics");
        std::fs::create_dir_all(&attempt).unwrap();
        std::fs::write(
            attempt.parent().unwrap().join("serial.log"),
            "boot\nKernel panic - not syncing\n",
        )
        .unwrap();
        std::fs::write(
            attempt.join("forensics.json"),
            r#"{"final_png":null,"awaited":{"screen":"language","similarity":0.1,"best_similarity":null,"best_at_s":null,"regions":[],"mismatching_pixels":1,"reference_png":"a","actual_png":"b","diff_png":"c","best_png":null},"serial_tail":null,"qemu_registers":null,"qemu_screendump":null}"#,
        )
        .unwrap();
        let cell = Cell {
            record: CellRecord {
                harness: "h".into(),
                variant: "v".into(),
                night: "n".into(),
                status: CellStatus::Fail,
                reason: "install.rhai:3:1: screen language did not appear".into(),
                duration_s: 1.0,
                started: "2026-12-03T00:00:00Z".into(),
                shard: None,
                matrix: String::new(),
                attempts: vec![Attempt {
                    status: Status::Fail,
                    reason: "install.rhai:3:1: screen language did not appear".into(),
                    duration_s: 1.0,
                    results: "attempt-1".into(),
                }],
                label: None,
            },
            dir: tmp.path().to_owned(),
        };
        let known = KnownIssues::parse(
            "[[issue]]\nlabel = \"panic but other screen\"\nserial = \"Kernel panic\"\nscreen = \"partition*\"\n\
             [[issue]]\nlabel = \"other cells\"\ncells = \"debian-12/*\"\nscreen = \"lang*\"\n\
             [[issue]]\nlabel = \"bug 7\"\nlink = \"https://bugs.example.org/7\"\nserial = \"Kernel panic\"\nreason = \"language\"\nscreen = \"l?ngu[a-c]ge\"\ncells = \"h/*\"\n",
            Path::new("k"),
        )
        .unwrap();
        let label = matching(&known, &cell).expect("a match");
        assert_eq!(label.label, "bug 7");
        let none = KnownIssues::parse(
            "[[issue]]\nlabel = \"x\"\nreason = \"mirror\"\n",
            Path::new("k"),
        )
        .unwrap();
        assert_eq!(matching(&none, &cell), None);
    }
}
