//! The results folder of one run: `results/<harness>/<UTC timestamp>/` with `result.json`,
//! `events.jsonl`, `log.txt`, `serial.log`, `final.png`, and `results/latest` pointing at it.
//! The layout is shared with the recorder and `replay` (see HELPERS.md / docs/harnesses.md).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::ReportError;

/// How a run ended (its exit code: `crate::run::exit_code`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The macro ran to its end.
    Pass,
    /// The guest did not do what the macro expected (a screen or serial text never came, `fail()`).
    Fail,
    /// The tool, the harness or the configuration failed (bad macro, QEMU would not start, ...).
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Error => "error",
        }
    }
}

/// `result.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunResult {
    pub status: Status,
    pub reason: String,
    pub duration_s: f64,
    pub harness: String,
    /// The run's variables, secrets replaced by "<secret>".
    pub variables: BTreeMap<String, String>,
    /// vncpilot's version.
    pub version: String,
    /// UTC start time, RFC 3339.
    pub started: String,
    /// The folder of the screen set the run used (`screens/<set>/`, absolute when it could be
    /// resolved), so `vncpilot refs` can find the references a run matched or missed. Absent in
    /// results written before it existed, and when the set was never loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screens: Option<PathBuf>,
    /// What every timeout was multiplied by (`--time-scale`, `[timeouts] time_scale`).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub time_scale: f64,
    /// Each wait's time against its timeout, in step order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waits: Vec<super::WaitTiming>,
}

fn one() -> f64 {
    1.0
}

fn is_one(x: &f64) -> bool {
    *x == 1.0
}

/// One run's folder.
#[derive(Clone, Debug)]
pub struct ResultsDir {
    dir: PathBuf,
    started: SystemTime,
}

impl ResultsDir {
    /// Creates `root/<harness>/<timestamp>/` (a suffix is added if that exists, e.g. two runs in
    /// one second) and points `root/latest` at it.
    pub fn create(root: &Path, harness: &str) -> Result<ResultsDir, ReportError> {
        let started = SystemTime::now();
        let stamp = timestamp(started, true);
        let parent = root.join(harness);
        std::fs::create_dir_all(&parent).map_err(|e| ReportError::io(&parent, e))?;
        let mut dir = parent.join(&stamp);
        let mut n = 1;
        loop {
            match std::fs::create_dir(&dir) {
                Ok(()) => break,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => {
                    n += 1;
                    dir = parent.join(format!("{stamp}-{n}"));
                }
                Err(e) => return Err(ReportError::io(&dir, e)),
            }
        }
        let link = root.join("latest");
        let name = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let target = Path::new(harness).join(&name);
        // Named after this run's own folder: several runs in one process (and one second) must
        // not share the temporary link.
        let tmp = root.join(format!(".latest-{}-{harness}-{name}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(&target, &tmp).map_err(|e| ReportError::io(&tmp, e))?;
        std::fs::rename(&tmp, &link).map_err(|e| ReportError::io(&link, e))?;
        Ok(ResultsDir { dir, started })
    }

    /// Uses exactly `dir` as the results folder (created with its parents; it must be absent or
    /// empty), with no `latest` link: for callers that lay out many runs themselves.
    pub fn create_exactly(dir: &Path) -> Result<ResultsDir, ReportError> {
        let started = SystemTime::now();
        std::fs::create_dir_all(dir).map_err(|e| ReportError::io(dir, e))?;
        let mut entries = std::fs::read_dir(dir).map_err(|e| ReportError::io(dir, e))?;
        if entries.next().is_some() {
            return Err(ReportError::NotEmpty {
                path: dir.to_path_buf(),
            });
        }
        Ok(ResultsDir {
            dir: dir.to_path_buf(),
            started,
        })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The start time as RFC 3339 UTC.
    pub fn started(&self) -> String {
        timestamp(self.started, false)
    }

    /// Writes result.json whole or not at all (through a temporary file renamed into place): a
    /// full disk must never leave half a verdict that a reader could take for one.
    pub fn write_result(&self, result: &RunResult) -> Result<(), ReportError> {
        let path = self.file("result.json");
        let partial = self.file(".result.json.partial");
        let text =
            serde_json::to_string_pretty(result).map_err(|e| ReportError::Json(e.to_string()))?;
        let written = std::fs::File::create(&partial)
            .and_then(|mut f| {
                use std::io::Write;
                f.write_all(text.as_bytes())?;
                f.write_all(b"\n")?;
                f.sync_all()
            })
            .map_err(|e| ReportError::io(&path, e))
            .and_then(|()| std::fs::rename(&partial, &path).map_err(|e| ReportError::io(&path, e)));
        if written.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        written
    }

    pub fn write_final(&self, image: &image::RgbImage) -> Result<(), ReportError> {
        let path = self.file("final.png");
        image.save(&path).map_err(|e| ReportError::Image {
            path,
            message: e.to_string(),
        })
    }
}

/// Reads a run's result.json.
pub fn read_result(dir: &Path) -> Result<RunResult, ReportError> {
    let path = dir.join("result.json");
    let text = std::fs::read_to_string(&path).map_err(|e| ReportError::io(&path, e))?;
    serde_json::from_str(&text).map_err(|e| ReportError::Json(format!("{}: {e}", path.display())))
}

/// `20261122T031500Z` (compact, for folder names) or `2026-11-22T03:15:00Z`.
pub fn timestamp(time: SystemTime, compact: bool) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    if compact {
        format!("{y:04}{mo:02}{d:02}T{h:02}{m:02}{s:02}Z")
    } else {
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}Z")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_utc_civil_dates() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_144_500);
        assert_eq!(timestamp(t, true), "20261120T031500Z");
        assert_eq!(
            timestamp(UNIX_EPOCH + Duration::from_secs(951_782_400), false),
            "2000-02-29T00:00:00Z"
        );
    }

    #[test]
    fn folder_latest_link_and_result_round_trip() {
        let root = tempfile::tempdir().unwrap();
        let a = ResultsDir::create(root.path(), "h").unwrap();
        let b = ResultsDir::create(root.path(), "h").unwrap();
        assert_ne!(a.path(), b.path());
        let latest = std::fs::canonicalize(root.path().join("latest")).unwrap();
        assert_eq!(latest, std::fs::canonicalize(b.path()).unwrap());
        let result = RunResult {
            status: Status::Fail,
            reason: "no screen".into(),
            duration_s: 1.5,
            harness: "h".into(),
            variables: BTreeMap::new(),
            version: "0".into(),
            started: b.started(),
            screens: Some(PathBuf::from("/p/screens/h")),
            time_scale: 1.0,
            waits: Vec::new(),
        };
        b.write_result(&result).unwrap();
        let back = read_result(b.path()).unwrap();
        assert_eq!(back.status, Status::Fail);
        assert_eq!(back.screens, result.screens);
        let json = std::fs::read_to_string(b.file("result.json")).unwrap();
        assert!(json.contains("\"status\": \"fail\""), "{json}");
    }

    #[test]
    fn runs_created_at_once_get_their_own_folders() {
        let root = tempfile::tempdir().unwrap();
        let dirs: Vec<PathBuf> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| ResultsDir::create(root.path(), "h").unwrap()))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap().path().to_path_buf())
                .collect()
        });
        let distinct: std::collections::BTreeSet<_> = dirs.iter().collect();
        assert_eq!(distinct.len(), 8, "{dirs:?}");
        let latest = std::fs::canonicalize(root.path().join("latest")).unwrap();
        assert!(
            dirs.iter()
                .any(|d| std::fs::canonicalize(d).unwrap() == latest)
        );
    }

    #[test]
    fn an_exact_folder_must_be_empty() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/attempt-1");
        let run = ResultsDir::create_exactly(&dir).unwrap();
        assert_eq!(run.path(), dir);
        assert!(!root.path().join("latest").exists());
        std::fs::write(dir.join("result.json"), "{}").unwrap();
        let err = ResultsDir::create_exactly(&dir).unwrap_err();
        assert!(err.to_string().contains("attempt-1"), "{err}");
        assert!(err.to_string().contains("not empty"), "{err}");
    }
}
