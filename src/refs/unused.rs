//! `vncpilot refs unused`: which references of the screen sets no run in the given results
//! matched, and for the others how often and when last.
//!
//! A match is a `wait_screen`, `check_screen` or `click_screen` event naming the screen it
//! found (`matched`). The sets are those the runs recorded in result.json (`screens`), or the
//! ones given; a run's matches count for its own set, or — when it recorded none — for every
//! given set holding a reference of that name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::RefsError;
use super::runs::{RunFolder, find_runs};
use crate::report::EventKind;
use crate::screen::ScreenSet;

/// One reference and whether the runs used it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReferenceUse {
    /// The set's folder.
    pub set: PathBuf,
    pub name: String,
    /// The reference's file.
    pub path: PathBuf,
    /// How many waits matched it, over every run.
    pub matches: u64,
    /// The latest of them; `None` for an unused reference.
    pub last: Option<LastMatch>,
}

/// Where and when a reference last matched.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LastMatch {
    /// The run's results folder.
    pub run: PathBuf,
    /// When the run started (RFC 3339 UTC; empty when its result.json is missing).
    pub started: String,
    /// Seconds since the run's start (the clock of events.jsonl and the video).
    pub t: f64,
    pub step: u64,
}

/// What [`usage`] found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UsageReport {
    /// How many runs were read.
    pub runs: usize,
    pub sets: Vec<PathBuf>,
    /// Every reference of every set, by set then name.
    pub references: Vec<ReferenceUse>,
}

impl UsageReport {
    /// The references no run matched.
    pub fn unused(&self) -> impl Iterator<Item = &ReferenceUse> {
        self.references.iter().filter(|r| r.matches == 0)
    }

    /// The references some run matched.
    pub fn used(&self) -> impl Iterator<Item = &ReferenceUse> {
        self.references.iter().filter(|r| r.matches > 0)
    }
}

/// Reads every run in or below each of `results` and counts the matches of every reference of
/// the sets in `screens` (set folders, e.g. `screens/debian-12`), or of the sets the runs used
/// when `screens` is empty.
pub fn usage(results: &[PathBuf], screens: &[PathBuf]) -> Result<UsageReport, RefsError> {
    let mut runs: Vec<RunFolder> = Vec::new();
    for root in results {
        runs.extend(find_runs(root)?);
    }
    runs.sort_by(|a, b| a.started().cmp(b.started()).then(a.dir.cmp(&b.dir)));
    let explicit = !screens.is_empty();
    let mut set_dirs: Vec<PathBuf> = screens.iter().map(|d| canonical(d)).collect();
    if !explicit {
        for run in &runs {
            let dir = run.screens().ok_or_else(|| RefsError::NoScreenSet {
                run: run.dir.clone(),
            })?;
            set_dirs.push(canonical(dir));
        }
    }
    set_dirs.sort();
    set_dirs.dedup();
    let mut sets = BTreeMap::new();
    for dir in &set_dirs {
        let set = ScreenSet::load_dir(dir).map_err(|source| RefsError::Screens {
            dir: dir.clone(),
            source: Box::new(source),
        })?;
        sets.insert(dir.clone(), set);
    }
    let mut uses: BTreeMap<(PathBuf, String), ReferenceUse> = BTreeMap::new();
    for (dir, set) in &sets {
        for reference in set.references() {
            uses.insert(
                (dir.clone(), reference.name().to_string()),
                ReferenceUse {
                    set: dir.clone(),
                    name: reference.name().to_string(),
                    path: reference.path().to_path_buf(),
                    matches: 0,
                    last: None,
                },
            );
        }
    }
    // Runs are oldest first and events in time order, so the last one seen is the last match.
    for run in &runs {
        let own_set = run.screens().map(canonical);
        for (t, kind) in run.events()? {
            let Some((step, name)) = matched(&kind) else {
                continue;
            };
            let targets: Vec<&PathBuf> = match &own_set {
                Some(own) => set_dirs.iter().filter(|d| *d == own).collect(),
                None => set_dirs.iter().collect(),
            };
            for dir in targets {
                if let Some(entry) = uses.get_mut(&(dir.clone(), name.to_string())) {
                    entry.matches += 1;
                    entry.last = Some(LastMatch {
                        run: run.dir.clone(),
                        started: run.started().to_string(),
                        t,
                        step,
                    });
                }
            }
        }
    }
    Ok(UsageReport {
        runs: runs.len(),
        sets: set_dirs,
        references: uses.into_values().collect(),
    })
}

/// (step, screen) of an event that found a screen.
fn matched(kind: &EventKind) -> Option<(u64, &str)> {
    match kind {
        EventKind::WaitScreen(wait) | EventKind::CheckScreen(wait) => {
            wait.matched.as_deref().map(|m| (wait.step, m))
        }
        EventKind::ClickScreen { step, matched, .. } => matched.as_deref().map(|m| (*step, m)),
        _ => None,
    }
}

/// Set folders compare by their real place (a set named through a symbolic link or `..` is
/// the same set).
fn canonical(dir: &Path) -> PathBuf {
    std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{EventLog, RunObserver, ScreenWait};
    use image::{Rgb, RgbImage};

    fn write_run(dir: &Path, started: &str, set: &Path, matches: &[(f64, &str)]) {
        std::fs::create_dir_all(dir).unwrap();
        let log = EventLog::create(dir).unwrap();
        for (i, (t, name)) in matches.iter().enumerate() {
            let wait = ScreenWait {
                step: i as u64 + 1,
                screens: vec![name.to_string()],
                matched: Some(name.to_string()),
                similarity: 1.0,
                best: None,
                duration_s: 0.5,
            };
            log.event(&EventKind::WaitScreen(wait).at(*t));
        }
        let result = crate::report::RunResult {
            status: crate::report::Status::Pass,
            reason: String::new(),
            duration_s: 1.0,
            harness: "h".into(),
            variables: Default::default(),
            version: "0".into(),
            started: started.into(),
            screens: Some(set.to_path_buf()),
            time_scale: 1.0,
            waits: Vec::new(),
        };
        std::fs::write(
            dir.join("result.json"),
            serde_json::to_string(&result).unwrap(),
        )
        .unwrap();
    }

    #[test]
    fn counts_matches_per_reference_and_keeps_the_latest() {
        let root = tempfile::tempdir().unwrap();
        let set = root.path().join("screens/s");
        std::fs::create_dir_all(&set).unwrap();
        for name in ["a", "b", "c"] {
            RgbImage::from_pixel(8, 8, Rgb([1, 2, 3]))
                .save(set.join(format!("{name}.png")))
                .unwrap();
        }
        let results = root.path().join("results");
        write_run(
            &results.join("h/2"),
            "2026-12-02T00:00:00Z",
            &set,
            &[(1.0, "a"), (2.5, "b")],
        );
        write_run(
            &results.join("h/1"),
            "2026-12-01T00:00:00Z",
            &set,
            &[(3.0, "a"), (4.0, "a")],
        );
        let report = usage(std::slice::from_ref(&results), &[]).unwrap();
        assert_eq!(report.runs, 2);
        let unused: Vec<&str> = report.unused().map(|r| r.name.as_str()).collect();
        assert_eq!(unused, ["c"]);
        let a = report.used().find(|r| r.name == "a").unwrap();
        assert_eq!(a.matches, 3);
        let last = a.last.as_ref().unwrap();
        assert_eq!((last.run.clone(), last.t), (results.join("h/2"), 1.0));
        // Given explicitly, the same set; another set no run used is all unused.
        let other = root.path().join("screens/other");
        std::fs::create_dir_all(&other).unwrap();
        RgbImage::new(8, 8).save(other.join("a.png")).unwrap();
        let report = usage(&[results], &[set, other.clone()]).unwrap();
        let unused: Vec<(PathBuf, &str)> = report
            .unused()
            .map(|r| (r.set.clone(), r.name.as_str()))
            .collect();
        assert_eq!(unused.len(), 2, "{unused:?}");
        assert!(unused.contains(&(canonical(&other), "a")));
    }
}
