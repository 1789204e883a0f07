//! Known-issue signatures (`vncpilot report --known FILE`): a night's failure that matches one is
//! shown with its label and link instead of as something new.
//!
//! The file is TOML, one `[[issue]]` per known issue:
//!
//! ```toml
//! [[issue]]
//! label = "bug 123: the mirror times out"
//! link = "https://bugs.example.org/123"
//! reason = "mirror .* timed out"   # a regex on the cell's or an attempt's reason
//! serial = "Kernel panic"          # a regex on an attempt's serial log tail
//! screen = "partitioning"          # the awaited screen's name (exactly)
//! ```
//!
//! An issue needs at least one of `reason`, `serial`, `screen`; every one given must match (one
//! attempt holding them all, or the cell's reason for `reason`). Only cells that did not pass
//! first time (`fail`, `error`, `flaky`) are labelled, and a label already in cell.json (the matrix
//! labels at run time) is kept; the first matching issue in the file wins.

use std::path::Path;

use regex::Regex;
use serde::Deserialize;

use super::SiteError;
use super::cell::{Cell, CellStatus, Label};
use super::collect::Collection;
use crate::record::forensics;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    issue: Vec<IssueToml>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IssueToml {
    label: String,
    link: Option<String>,
    reason: Option<String>,
    serial: Option<String>,
    screen: Option<String>,
}

#[derive(Debug)]
struct Issue {
    label: Label,
    reason: Option<Regex>,
    serial: Option<Regex>,
    screen: Option<String>,
}

/// The signatures of one file.
#[derive(Debug, Default)]
pub struct KnownIssues {
    issues: Vec<Issue>,
}

/// What one attempt shows, for matching.
struct Evidence {
    reason: String,
    serial: Option<String>,
    screen: Option<String>,
}

impl KnownIssues {
    pub fn load(path: &Path) -> Result<KnownIssues, SiteError> {
        let text = std::fs::read_to_string(path).map_err(SiteError::io(path))?;
        KnownIssues::parse(path, &text)
    }

    /// `path` only names the file in errors.
    pub fn parse(path: &Path, text: &str) -> Result<KnownIssues, SiteError> {
        let bad = |message: String| SiteError::BadKnownIssues {
            path: path.to_owned(),
            message,
        };
        let file: File = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|span| {
                text.as_bytes()[..span.start.min(text.len())]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count()
                    + 1
            });
            let at = line.map(|l| format!("line {l}: ")).unwrap_or_default();
            bad(format!(
                "{at}{} (expected [[issue]] tables with label, link, reason, serial, screen)",
                e.message()
            ))
        })?;
        let mut issues = Vec::new();
        for (n, issue) in file.issue.into_iter().enumerate() {
            let which = format!("issue {} ({:?})", n + 1, issue.label);
            let regex = |field: &str, pattern: Option<String>| {
                pattern
                    .map(|p| {
                        Regex::new(&p)
                            .map_err(|e| bad(format!("{which}: {field} {p:?} is not a regex: {e}")))
                    })
                    .transpose()
            };
            let reason = regex("reason", issue.reason)?;
            let serial = regex("serial", issue.serial)?;
            if reason.is_none() && serial.is_none() && issue.screen.is_none() {
                return Err(bad(format!(
                    "{which}: give at least one of reason, serial, screen"
                )));
            }
            issues.push(Issue {
                label: Label {
                    label: issue.label,
                    link: issue.link,
                },
                reason,
                serial,
                screen: issue.screen,
            });
        }
        Ok(KnownIssues { issues })
    }

    /// Labels every cell of the collection that needs one and matches (see the module docs).
    pub fn label(&self, collection: &mut Collection) {
        for cell in collection.cells_mut() {
            let eligible = matches!(
                cell.record.status,
                CellStatus::Fail | CellStatus::Error | CellStatus::Flaky
            );
            if eligible && cell.record.label.is_none() {
                cell.record.label = self.matching(cell).cloned();
            }
        }
    }

    /// The first issue `cell` matches.
    pub fn matching(&self, cell: &Cell) -> Option<&Label> {
        let evidence: Vec<Evidence> = cell
            .record
            .attempts
            .iter()
            .map(|a| evidence(&cell.dir.join(&a.results), &a.reason))
            .collect();
        self.issues
            .iter()
            .find(|issue| {
                let cell_reason = issue
                    .reason
                    .as_ref()
                    .is_some_and(|r| r.is_match(&cell.record.reason));
                let attempt_matches = evidence.iter().any(|e| {
                    issue.reason.as_ref().is_none_or(|r| r.is_match(&e.reason))
                        && issue
                            .serial
                            .as_ref()
                            .is_none_or(|r| e.serial.as_deref().is_some_and(|s| r.is_match(s)))
                        && issue
                            .screen
                            .as_ref()
                            .is_none_or(|s| e.screen.as_deref() == Some(s.as_str()))
                });
                attempt_matches || (cell_reason && issue.serial.is_none() && issue.screen.is_none())
            })
            .map(|issue| &issue.label)
    }
}

/// An attempt's reason, serial tail and awaited screen (what is missing stays None: a match on
/// it then fails).
fn evidence(dir: &Path, reason: &str) -> Evidence {
    let summary = forensics::load(dir).ok().flatten().unwrap_or_default();
    let serial = summary
        .serial_tail
        .and_then(|name| std::fs::read_to_string(dir.join(name)).ok());
    Evidence {
        reason: reason.to_owned(),
        serial,
        screen: summary.awaited.map(|a| a.screen),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Status;
    use crate::site::cell::{Attempt, CellRecord};

    #[test]
    fn bad_files_name_the_line_or_the_issue() {
        let path = Path::new("known.toml");
        let e = KnownIssues::parse(path, "[[issue]]\nlabel = \"x\"\nreasn = \"y\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("known.toml: line 3") && e.contains("reasn"),
            "{e}"
        );
        let e = KnownIssues::parse(path, "[[issue]]\nlabel = \"x\"\nreason = \"(\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("issue 1 (\"x\"): reason \"(\""), "{e}");
        let e = KnownIssues::parse(path, "[[issue]]\nlabel = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("at least one"), "{e}");
    }

    #[test]
    fn every_given_part_must_match_one_attempt() {
        let tmp = tempfile::tempdir().unwrap();
        let attempt = tmp.path().join("attempt-1/forensics");
        std::fs::create_dir_all(&attempt).unwrap();
        std::fs::write(
            attempt.join("serial-tail.txt"),
            "boot\nKernel panic - not syncing\n",
        )
        .unwrap();
        std::fs::write(
            attempt.join("forensics.json"),
            r#"{"final_png":null,"awaited":null,"serial_tail":"forensics/serial-tail.txt","qemu_registers":null,"qemu_screendump":null}"#,
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
                matrix: None,
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
            Path::new("k"),
            "[[issue]]\nlabel = \"panic but other screen\"\nserial = \"Kernel panic\"\nscreen = \"partitioning\"\n\
             [[issue]]\nlabel = \"bug 7\"\nlink = \"https://bugs.example.org/7\"\nserial = \"Kernel panic\"\nreason = \"language\"\n",
        )
        .unwrap();
        let label = known.matching(&cell).expect("a match");
        assert_eq!(label.label, "bug 7");
        let none = KnownIssues::parse(
            Path::new("k"),
            "[[issue]]\nlabel = \"x\"\nreason = \"mirror\"\n",
        )
        .unwrap();
        assert_eq!(none.matching(&cell), None);
    }
}
