//! Reading any number of nightly results folders into one collection of cells.
//!
//! Shards of one night each write a self-contained folder; the site is their union. When the same
//! cell of the same night appears twice (a shard re-run, or the same folder given twice), the one
//! that started later wins; on equal start times the folder given later wins. Nights are ordered by
//! when their first cell started (then by name), so a `--night NAME` that does not sort by date is
//! still placed where it ran.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::SiteError;
use super::cell::{self, Cell};

/// (harness, variant)
pub type CellKey = (String, String);

/// Every cell read, merged, with its nights in order (oldest first).
#[derive(Debug, Default)]
pub struct Collection {
    nights: Vec<String>,
    cells: BTreeMap<String, BTreeMap<CellKey, Cell>>,
    /// night → the earliest `started` of its cells
    first_started: BTreeMap<String, String>,
}

impl Collection {
    /// Adds a cell; a duplicate keeps the later `started` (see the module docs).
    pub fn insert(&mut self, cell: Cell) {
        let night_name = cell.record.night.clone();
        let night = self.cells.entry(night_name.clone()).or_default();
        let key = (cell.record.harness.clone(), cell.record.variant.clone());
        match night.get(&key) {
            Some(old) if old.record.started > cell.record.started => {}
            _ => {
                night.insert(key, cell);
            }
        }
        let first = night
            .values()
            .map(|c| c.record.started.clone())
            .min()
            .unwrap_or_default();
        self.first_started.insert(night_name, first);
        let mut nights: Vec<(&String, &String)> =
            self.first_started.iter().map(|(n, s)| (s, n)).collect();
        nights.sort();
        self.nights = nights.into_iter().map(|(_, n)| n.clone()).collect();
    }

    /// Drops all but the last `n` nights.
    pub fn keep_last(&mut self, n: usize) {
        let drop = self.nights.len().saturating_sub(n);
        for night in self.nights.drain(..drop) {
            self.cells.remove(&night);
            self.first_started.remove(&night);
        }
    }

    /// Night names, oldest first.
    pub fn night_names(&self) -> Vec<String> {
        self.nights.clone()
    }

    pub fn latest_night(&self) -> Option<&str> {
        self.nights.last().map(String::as_str)
    }

    /// The night before the latest, if any.
    pub fn previous_night(&self) -> Option<&str> {
        self.nights
            .len()
            .checked_sub(2)
            .map(|i| self.nights[i].as_str())
    }

    pub fn get(&self, night: &str, key: &CellKey) -> Option<&Cell> {
        self.cells.get(night).and_then(|cells| cells.get(key))
    }

    /// Every cell, night by night (oldest first), by name within a night.
    pub fn cells(&self) -> impl Iterator<Item = &Cell> {
        self.nights
            .iter()
            .filter_map(|n| self.cells.get(n))
            .flat_map(|cells| cells.values())
    }

    pub fn cells_mut(&mut self) -> impl Iterator<Item = &mut Cell> {
        self.cells.values_mut().flat_map(|cells| cells.values_mut())
    }

    /// Every (harness, variant) seen in any night, sorted.
    pub fn keys(&self) -> BTreeSet<CellKey> {
        self.cells
            .values()
            .flat_map(|cells| cells.keys().cloned())
            .collect()
    }
}

/// Reads `DIR/<night>/<harness>/<variant>/cell.json` from every DIR (folders without a cell.json
/// — a cell still running — are passed over).
pub fn collect(dirs: &[PathBuf]) -> Result<Collection, SiteError> {
    let mut collection = Collection::default();
    for dir in dirs {
        for (night, night_dir) in subdirs(dir)? {
            for (harness, harness_dir) in subdirs(&night_dir)? {
                for (variant, variant_dir) in subdirs(&harness_dir)? {
                    if variant_dir.join(cell::FILE_NAME).is_file() {
                        collection.insert(cell::read(&variant_dir, &night, &harness, &variant)?);
                    }
                }
            }
        }
    }
    if collection.nights.is_empty() {
        let dirs: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        return Err(SiteError::NoCells {
            dirs: dirs.join(", "),
        });
    }
    Ok(collection)
}

/// The sub-folders of `dir` (not following symbolic links, names that are not UTF-8 skipped),
/// sorted by name.
fn subdirs(dir: &Path) -> Result<Vec<(String, PathBuf)>, SiteError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(SiteError::io(dir))? {
        let entry = entry.map_err(SiteError::io(dir))?;
        let is_dir = entry
            .file_type()
            .map_err(SiteError::io(entry.path()))?
            .is_dir();
        if let (true, Ok(name)) = (is_dir, entry.file_name().into_string()) {
            out.push((name, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::cell::{CellRecord, CellStatus};

    fn cell(night: &str, variant: &str, started: &str, status: CellStatus) -> Cell {
        Cell {
            record: CellRecord {
                harness: "h".into(),
                variant: variant.into(),
                night: night.into(),
                status,
                reason: String::new(),
                duration_s: 1.0,
                started: started.into(),
                shard: None,
                matrix: String::new(),
                attempts: Vec::new(),
                label: None,
            },
            dir: PathBuf::from(started),
        }
    }

    #[test]
    fn the_later_start_wins_and_nights_follow_their_start() {
        let mut c = Collection::default();
        c.insert(cell(
            "b-night",
            "v",
            "2026-12-02T01:00:00Z",
            CellStatus::Pass,
        ));
        c.insert(cell(
            "a-night",
            "v",
            "2026-12-03T01:00:00Z",
            CellStatus::Fail,
        ));
        c.insert(cell(
            "a-night",
            "v",
            "2026-12-03T00:00:00Z",
            CellStatus::Pass,
        ));
        c.insert(cell(
            "a-night",
            "w",
            "2026-12-03T02:00:00Z",
            CellStatus::Skip,
        ));
        assert_eq!(c.night_names(), ["b-night", "a-night"]);
        let key = ("h".to_string(), "v".to_string());
        assert_eq!(
            c.get("a-night", &key).unwrap().record.status,
            CellStatus::Fail
        );
        c.insert(cell(
            "a-night",
            "v",
            "2026-12-03T05:00:00Z",
            CellStatus::Flaky,
        ));
        assert_eq!(
            c.get("a-night", &key).unwrap().record.status,
            CellStatus::Flaky
        );
        assert_eq!(c.cells().count(), 3);
        c.keep_last(1);
        assert_eq!(c.night_names(), ["a-night"]);
        assert_eq!(c.cells().count(), 2);
    }
}
