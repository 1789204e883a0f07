//! A cell over the nights: its strip of statuses, how long it has been failing, when it last
//! passed, how often it was flaky, whether installs get slower; and what changed from the previous
//! night to the latest.
//!
//! Definitions (docs/nightly.md, "Status page"): a night *passed* when the cell is `pass` or
//! `flaky`, *failed* when `fail` or `error`; `skip` and nights the cell did not run count as
//! neither and are stepped over. "Failing since" is the first night of the current run of failed
//! nights. The flake rate is flaky nights over nights that ran. The duration trend compares the
//! latest passed night's duration with the median of the earlier passed nights (failed nights'
//! durations are mostly timeouts, not install times).

use super::cell::CellStatus;
use super::collect::{CellKey, Collection};

/// One night of one cell.
#[derive(Clone, Debug, PartialEq)]
pub struct NightRun {
    pub night: String,
    /// None: the cell was not in that night.
    pub status: Option<CellStatus>,
    pub duration_s: f64,
}

/// The latest passed duration against the earlier ones.
#[derive(Clone, Debug, PartialEq)]
pub struct Trend {
    pub latest_s: f64,
    pub median_before_s: f64,
    /// (latest − median) / median
    pub change: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CellHistory {
    pub key: CellKey,
    /// Every night of the site, oldest first.
    pub strip: Vec<NightRun>,
    pub failing_since: Option<String>,
    pub last_pass: Option<String>,
    /// Nights that ran (not skipped, not absent).
    pub ran: usize,
    pub flaky: usize,
    pub trend: Option<Trend>,
}

impl CellHistory {
    /// `flaky / ran`, when it ran at all.
    pub fn flake_rate(&self) -> Option<f64> {
        (self.ran > 0).then(|| self.flaky as f64 / self.ran as f64)
    }

    /// Durations of the nights that passed, oldest first: the sparkline.
    pub fn passed_durations(&self) -> Vec<f64> {
        self.strip
            .iter()
            .filter(|r| r.status.is_some_and(CellStatus::passed))
            .map(|r| r.duration_s)
            .collect()
    }
}

/// The history of one cell from its nights, oldest first.
pub fn history(key: CellKey, strip: Vec<NightRun>) -> CellHistory {
    let ran: Vec<&NightRun> = strip
        .iter()
        .filter(|r| r.status.is_some_and(|s| s != CellStatus::Skip))
        .collect();
    let mut failing_since = None;
    for run in ran.iter().rev() {
        if run.status.is_some_and(CellStatus::failed) {
            failing_since = Some(run.night.clone());
        } else {
            break;
        }
    }
    let last_pass = ran
        .iter()
        .rev()
        .find(|r| r.status.is_some_and(CellStatus::passed))
        .map(|r| r.night.clone());
    let flaky = ran
        .iter()
        .filter(|r| r.status == Some(CellStatus::Flaky))
        .count();
    let mut history = CellHistory {
        key,
        failing_since,
        last_pass,
        ran: ran.len(),
        flaky,
        trend: None,
        strip,
    };
    let durations = history.passed_durations();
    if let Some((&latest, before)) = durations.split_last()
        && !before.is_empty()
    {
        let median_before = median(before);
        history.trend = Some(Trend {
            latest_s: latest,
            median_before_s: median_before,
            change: if median_before > 0.0 {
                (latest - median_before) / median_before
            } else {
                0.0
            },
        });
    }
    history
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}

/// Every cell's history, by name.
pub fn histories(collection: &Collection) -> Vec<CellHistory> {
    let nights = collection.night_names();
    collection
        .keys()
        .into_iter()
        .map(|key| {
            let strip = nights
                .iter()
                .map(|night| {
                    let cell = collection.get(night, &key);
                    NightRun {
                        night: night.clone(),
                        status: cell.map(|c| c.record.status),
                        duration_s: cell.map_or(0.0, |c| c.record.duration_s),
                    }
                })
                .collect();
            history(key, strip)
        })
        .collect()
}

/// What changed from the previous night to the latest.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NightDiff {
    pub previous: String,
    pub latest: String,
    /// Failed in the latest night and did not fail in the previous one (passed, skipped or absent).
    pub newly_failing: Vec<CellKey>,
    /// Passed in the latest night, failed in the previous one.
    pub fixed: Vec<CellKey>,
    /// Failed in both.
    pub still_failing: Vec<CellKey>,
}

/// None when there is only one night.
pub fn night_diff(collection: &Collection) -> Option<NightDiff> {
    let latest = collection.latest_night()?;
    let previous = collection.previous_night()?;
    let status = |night: &str, key: &CellKey| collection.get(night, key).map(|c| c.record.status);
    let mut diff = NightDiff {
        previous: previous.to_owned(),
        latest: latest.to_owned(),
        ..NightDiff::default()
    };
    for key in collection.keys() {
        let now = status(latest, &key);
        let before = status(previous, &key);
        let failed_before = before.is_some_and(CellStatus::failed);
        if now.is_some_and(CellStatus::failed) {
            if failed_before {
                diff.still_failing.push(key);
            } else {
                diff.newly_failing.push(key);
            }
        } else if now.is_some_and(CellStatus::passed) && failed_before {
            diff.fixed.push(key);
        }
    }
    Some(diff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use CellStatus::*;

    fn strip(runs: &[(Option<CellStatus>, f64)]) -> Vec<NightRun> {
        runs.iter()
            .enumerate()
            .map(|(i, &(status, duration_s))| NightRun {
                night: format!("n{i}"),
                status,
                duration_s,
            })
            .collect()
    }

    #[test]
    fn failing_since_steps_over_skips_and_absent_nights() {
        let key = ("h".to_string(), "v".to_string());
        let h = history(
            key.clone(),
            strip(&[
                (Some(Pass), 100.0),
                (Some(Flaky), 120.0),
                (Some(Fail), 30.0),
                (None, 0.0),
                (Some(Skip), 0.0),
                (Some(Error), 5.0),
            ]),
        );
        assert_eq!(h.failing_since.as_deref(), Some("n2"));
        assert_eq!(h.last_pass.as_deref(), Some("n1"));
        assert_eq!((h.ran, h.flaky), (4, 1));
        assert_eq!(h.flake_rate(), Some(0.25));
        assert_eq!(h.passed_durations(), [100.0, 120.0]);
        let trend = h.trend.unwrap();
        assert_eq!((trend.latest_s, trend.median_before_s), (120.0, 100.0));
        assert!((trend.change - 0.2).abs() < 1e-9);

        let passing = history(key.clone(), strip(&[(Some(Fail), 1.0), (Some(Pass), 90.0)]));
        assert_eq!(passing.failing_since, None);
        assert_eq!(passing.trend, None, "one passed night is no trend");
        let never = history(key, strip(&[(Some(Skip), 0.0), (None, 0.0)]));
        assert_eq!(
            (never.ran, never.flake_rate(), never.last_pass),
            (0, None, None)
        );
    }
}
