//! `events.jsonl` (one JSON object per step) and `log.txt` (the same, for people), with every
//! registered secret redacted before anything is written.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::ReportError;
use super::observer::{Event, RunObserver, redact};

/// Writes the run's event files; also a [`RunObserver`].
pub struct EventLog {
    inner: Mutex<Inner>,
}

struct Inner {
    events: BufWriter<File>,
    log: BufWriter<File>,
    secrets: Vec<String>,
    dir: PathBuf,
    /// The first write that failed (a full or broken results disk): the run must not pass.
    failed: Option<ReportError>,
}

impl Inner {
    /// Keeps the first failure of writing `name`.
    fn check(&mut self, name: &str, written: std::io::Result<()>) {
        if let Err(e) = written
            && self.failed.is_none()
        {
            self.failed = Some(ReportError::io(&self.dir.join(name), e));
        }
    }
}

impl EventLog {
    /// Creates `events.jsonl` and `log.txt` in `dir`.
    pub fn create(dir: &Path) -> Result<EventLog, ReportError> {
        let open = |name: &str| {
            let path = dir.join(name);
            File::create(&path)
                .map(BufWriter::new)
                .map_err(|e| ReportError::io(&path, e))
        };
        Ok(EventLog {
            inner: Mutex::new(Inner {
                events: open("events.jsonl")?,
                log: open("log.txt")?,
                secrets: Vec::new(),
                dir: dir.to_path_buf(),
                failed: None,
            }),
        })
    }

    /// The first write to events.jsonl or log.txt that failed, naming the file; once taken,
    /// `None` until another fails.
    pub fn take_write_error(&self) -> Option<ReportError> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.failed.take()
    }

    /// `text` with every registered secret replaced by `<secret>` (for result.json's reason,
    /// which a macro's `fail(...)` message or an error can fill).
    pub fn redact(&self, text: &str) -> String {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        redact(text, &inner.secrets)
    }

    /// A free-form line in log.txt only (QEMU's stderr, the final verdict).
    pub fn note(&self, line: &str) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let line = redact(line, &inner.secrets);
        let written = writeln!(inner.log, "{line}").and_then(|()| inner.log.flush());
        inner.check("log.txt", written);
    }
}

impl RunObserver for EventLog {
    fn event(&self, event: &Event) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let json =
            serde_json::to_string(event).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
        let json = redact(&json, &inner.secrets);
        let human = redact(&event.human(), &inner.secrets);
        // Flushed per step: the files are read while a run is under way, and must survive a kill.
        let written = writeln!(inner.events, "{json}").and_then(|()| inner.events.flush());
        inner.check("events.jsonl", written);
        let written = writeln!(inner.log, "{human}").and_then(|()| inner.log.flush());
        inner.check("log.txt", written);
    }

    fn secret(&self, secret: &str) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if !secret.is_empty() && !inner.secrets.iter().any(|s| s == secret) {
            inner.secrets.push(secret.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::EventKind;

    #[test]
    fn events_are_json_lines_and_secrets_are_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventLog::create(dir.path()).unwrap();
        log.secret("hunter2");
        let wait = EventKind::WaitScreen(crate::report::ScreenWait {
            step: 1,
            screens: vec!["language".into()],
            matched: Some("language".into()),
            similarity: 0.99,
            best: None,
            duration_s: 1.0,
        });
        log.event(&wait.at(1.25));
        let message = EventKind::Log {
            step: 2,
            message: "password is hunter2".into(),
        };
        log.event(&message.at(2.0));
        log.note("done hunter2");
        let events = std::fs::read_to_string(dir.path().join("events.jsonl")).unwrap();
        let lines: Vec<serde_json::Value> = events
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["action"], "wait_screen");
        assert_eq!(lines[0]["t"], 1.25);
        assert_eq!(lines[0]["matched"], "language");
        let text = std::fs::read_to_string(dir.path().join("log.txt")).unwrap();
        assert!(
            !events.contains("hunter2") && !text.contains("hunter2"),
            "{events}\n{text}"
        );
        assert!(text.contains("<secret>"), "{text}");
        assert!(log.take_write_error().is_none());
    }

    #[test]
    fn a_write_that_fails_is_kept_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventLog::create(dir.path()).unwrap();
        {
            // /dev/full: every write fails with ENOSPC, like a full results disk.
            let mut inner = log.inner.lock().unwrap();
            inner.events = BufWriter::new(File::options().write(true).open("/dev/full").unwrap());
        }
        log.event(
            &EventKind::Key {
                step: 1,
                key: "ret".into(),
            }
            .at(1.0),
        );
        let err = log
            .take_write_error()
            .expect("the failed write")
            .to_string();
        assert!(
            err.contains("events.jsonl") && err.contains("space"),
            "{err}"
        );
    }
}
