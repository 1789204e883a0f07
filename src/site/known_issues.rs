//! Known-issue signatures (`vncpilot report --known FILE`): a night's failure that matches one is
//! shown with its label and link instead of as something new.
//!
//! The file is the one `vncpilot matrix --known` reads (docs/nightly.md, "Known issues"), with the
//! same meaning, so a signature filed after a night also labels the nights before it:
//!
//! ```toml
//! [[issue]]
//! label = "bug 123: the mirror question times out"
//! link = "https://bugs.example.org/123"
//! reason = "waiting for screen mirror"   # regex on the attempt's reason
//! cells = "debian-12/uefi-*"             # glob: only these cells (default: all)
//! serial = "Kernel panic"                # regex on the attempt's serial.log
//! screen = "network-*"                   # glob on the screen the attempt was waiting for
//! ```
//!
//! Every pattern an issue gives must match (at least one of `reason`, `serial`, `screen`),
//! checked against the cell's last attempt that did not pass; the first matching issue in the file
//! wins. Only `fail`, `error` and `flaky` cells are labelled, and a label already in cell.json (the
//! matrix labels at run time) is kept.

use std::path::Path;

use regex::Regex;
use serde::Deserialize;

use super::SiteError;
use super::cell::{Cell, CellStatus, Label};
use super::collect::Collection;
use crate::report::forensics;

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
    cells: Option<String>,
}

#[derive(Debug)]
struct Issue {
    label: Label,
    reason: Option<Regex>,
    serial: Option<Regex>,
    screen: Option<Regex>,
    cells: Option<Regex>,
}

/// The signatures of one file.
#[derive(Debug, Default)]
pub struct KnownIssues {
    issues: Vec<Issue>,
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
            let screen = regex("screen", issue.screen.as_deref().map(glob_regex))?;
            let cells = regex("cells", issue.cells.as_deref().map(glob_regex))?;
            if reason.is_none() && serial.is_none() && screen.is_none() {
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
                screen,
                cells,
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

    /// The first issue `cell`'s last attempt that did not pass matches.
    pub fn matching(&self, cell: &Cell) -> Option<&Label> {
        let attempt = cell
            .record
            .attempts
            .iter()
            .rev()
            .find(|a| a.status != crate::report::Status::Pass)?;
        let results = cell.dir.join(&attempt.results);
        let name = cell.name();
        let serial = std::fs::read(results.join("serial.log"))
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .ok();
        let screen = forensics::load(&results)
            .ok()
            .flatten()
            .and_then(|f| f.awaited)
            .map(|a| a.screen);
        let matches = |pattern: &Option<Regex>, text: Option<&str>| {
            pattern
                .as_ref()
                .is_none_or(|p| text.is_some_and(|t| p.is_match(t)))
        };
        self.issues
            .iter()
            .find(|issue| {
                matches(&issue.cells, Some(&name))
                    && matches(&issue.reason, Some(&attempt.reason))
                    && matches(&issue.serial, serial.as_deref())
                    && matches(&issue.screen, screen.as_deref())
            })
            .map(|issue| &issue.label)
    }
}

/// A shell-style glob (`*` any run, `/` included; `?`; `[abc]`, `[a-z]`, `[!x]`) as an anchored
/// regex, as `vncpilot matrix` reads them.
fn glob_regex(glob: &str) -> String {
    let mut out = String::from("^");
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '[' => {
                out.push('[');
                if chars.peek() == Some(&'!') {
                    chars.next();
                    out.push('^');
                }
                for c in chars.by_ref() {
                    if c == ']' {
                        break;
                    }
                    if c == '\\' || c == '[' || c == '^' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push(']');
            }
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out.push('$');
    out
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
            "[[issue]]\nlabel = \"panic but other screen\"\nserial = \"Kernel panic\"\nscreen = \"partition*\"\n\
             [[issue]]\nlabel = \"other cells\"\ncells = \"debian-12/*\"\nscreen = \"lang*\"\n\
             [[issue]]\nlabel = \"bug 7\"\nlink = \"https://bugs.example.org/7\"\nserial = \"Kernel panic\"\nreason = \"language\"\nscreen = \"l?ngu[a-c]ge\"\ncells = \"h/*\"\n",
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
