//! Known-issue signatures: a TOML file of patterns — on an attempt's reason, its serial log, or
//! the screen it was waiting for — each with a label and a link, so that a night's failure that
//! is already known shows as "bug 123: mirror flaky" instead of as new.
//!
//! ```toml
//! [[issue]]
//! label = "bug 123: the offline mirror question times out"
//! link = "https://bugs.example.org/123"
//! reason = "timed out .* mirror"   # regex on the attempt's reason
//! serial = "Kernel panic"          # regex on the attempt's serial.log
//! screen = "bad-mirror"            # glob on the awaited screen's name (forensics)
//! cells = "debian-12/*"            # glob: only these cells (default: all)
//! ```
//!
//! Every pattern an issue gives must match (at least one of reason, serial, screen); the first
//! matching issue in file order labels the cell.

use std::path::{Path, PathBuf};

use regex::Regex;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::{Glob, MatrixError, line_of};

/// The label cell.json carries when a known issue matched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    pub label: String,
    #[serde(default)]
    pub link: Option<String>,
}

/// One signature.
#[derive(Clone, Debug)]
pub struct KnownIssue {
    pub label: Label,
    reason: Option<Regex>,
    serial: Option<Regex>,
    screen: Option<Glob>,
    cells: Option<Glob>,
}

/// All signatures of a known-issues file (empty when there is none).
#[derive(Clone, Debug, Default)]
pub struct KnownIssues {
    pub path: Option<PathBuf>,
    pub issues: Vec<KnownIssue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIssues {
    #[serde(default)]
    issue: Vec<Spanned<FileIssue>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIssue {
    label: String,
    link: Option<String>,
    reason: Option<String>,
    serial: Option<String>,
    screen: Option<String>,
    cells: Option<String>,
}

/// What of one attempt the signatures look at.
pub struct Evidence<'a> {
    pub cell: &'a str,
    pub reason: &'a str,
    /// The attempt's results folder (serial.log, forensics/forensics.json).
    pub results: &'a Path,
}

impl KnownIssues {
    pub fn load(path: &Path) -> Result<KnownIssues, MatrixError> {
        let text = std::fs::read_to_string(path).map_err(|source| MatrixError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        KnownIssues::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<KnownIssues, MatrixError> {
        let parsed: FileIssues =
            toml::from_str(text).map_err(|e| MatrixError::from_toml(path, text, &e))?;
        let mut issues = Vec::new();
        for spanned in parsed.issue {
            let line = line_of(text, spanned.span().start);
            let invalid = |message: String| MatrixError::Invalid {
                path: path.to_path_buf(),
                line: Some(line),
                message,
            };
            let f = spanned.into_inner();
            let regex = |key: &str, p: &Option<String>| -> Result<Option<Regex>, MatrixError> {
                p.as_deref()
                    .map(|p| Regex::new(p).map_err(|e| invalid(format!("{key} = {p:?}: {e}"))))
                    .transpose()
            };
            let glob = |key: &str, p: &Option<String>| -> Result<Option<Glob>, MatrixError> {
                p.as_deref()
                    .map(|p| p.parse().map_err(|e| invalid(format!("{key}: {e}"))))
                    .transpose()
            };
            let issue = KnownIssue {
                reason: regex("reason", &f.reason)?,
                serial: regex("serial", &f.serial)?,
                screen: glob("screen", &f.screen)?,
                cells: glob("cells", &f.cells)?,
                label: Label {
                    label: f.label,
                    link: f.link,
                },
            };
            if issue.reason.is_none() && issue.serial.is_none() && issue.screen.is_none() {
                return Err(invalid(format!(
                    "issue {:?} has no pattern: give reason, serial or screen",
                    issue.label.label
                )));
            }
            issues.push(issue);
        }
        Ok(KnownIssues {
            path: Some(path.to_path_buf()),
            issues,
        })
    }

    /// The label of the first issue whose every pattern matches the attempt.
    pub fn label(&self, evidence: &Evidence) -> Option<Label> {
        self.issues
            .iter()
            .find(|issue| issue.matches(evidence))
            .map(|issue| issue.label.clone())
    }
}

impl KnownIssue {
    fn matches(&self, e: &Evidence) -> bool {
        if let Some(cells) = &self.cells
            && !cells.matches(e.cell)
        {
            return false;
        }
        if let Some(reason) = &self.reason
            && !reason.is_match(e.reason)
        {
            return false;
        }
        if let Some(serial) = &self.serial {
            let log = std::fs::read(e.results.join("serial.log")).unwrap_or_default();
            if !serial.is_match(&String::from_utf8_lossy(&log)) {
                return false;
            }
        }
        if let Some(screen) = &self.screen {
            let awaited = crate::report::forensics::load(e.results)
                .ok()
                .flatten()
                .and_then(|f| f.awaited)
                .map(|a| a.screen);
            if !awaited.is_some_and(|name| screen.matches(&name)) {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[[issue]]
label = "bug 1: mirror"
link = "https://bugs.example.org/1"
reason = "mirror"
cells = "debian-12/*"

[[issue]]
label = "bug 2: panic"
serial = "Kernel panic"
reason = "timed out"
"#;

    #[test]
    fn all_given_patterns_must_match() {
        let known = KnownIssues::parse(FILE, Path::new("known.toml")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let e = |cell: &'static str, reason: &'static str| Evidence {
            cell,
            reason,
            results: dir.path(),
        };
        let label = known.label(&e("debian-12/bios-std", "no mirror")).unwrap();
        assert_eq!(label.label, "bug 1: mirror");
        assert!(known.label(&e("debian-12-gtk/x", "no mirror")).is_none());
        assert!(known.label(&e("a/b", "timed out")).is_none());
        std::fs::write(
            dir.path().join("serial.log"),
            "...\nKernel panic - not syncing\n",
        )
        .unwrap();
        assert_eq!(
            known.label(&e("a/b", "timed out")).unwrap().label,
            "bug 2: panic"
        );
    }

    #[test]
    fn bad_files_name_the_line() {
        let err = KnownIssues::parse(
            "[[issue]]\nlabel = \"x\"\nreason = \"(\"\n",
            Path::new("k.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("k.toml:") && err.contains("reason"),
            "{err}"
        );
        let err = KnownIssues::parse(
            "[[issue]]\nlabel = \"x\"\nscren = \"a\"\n",
            Path::new("k.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("k.toml:3:") && err.contains("scren"),
            "{err}"
        );
        let err = KnownIssues::parse("[[issue]]\nlabel = \"x\"\n", Path::new("k.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no pattern"), "{err}");
    }
}
