//! Following the guest's serial port, which QEMU writes to a plain log file.
//!
//! Why a file and not a socket: the log is evidence in the results folder as it is, and a file
//! can never block QEMU when nobody reads it. [`SerialLog::wait_for`] polls the file's growth;
//! each match consumes the text up to its end, so a later wait looks only at newer output
//! (the same marker printed twice must be seen twice).

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use regex::Regex;
use tokio_util::sync::CancellationToken;

use super::GuestError;

/// The most serial text kept in memory for matching (older text is dropped from the front).
const MAX_WINDOW: usize = 4 << 20;

/// The serial log of one guest, and how far earlier waits have consumed it.
pub struct SerialLog {
    path: PathBuf,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Bytes of the file already read into `window`.
    read: u64,
    /// Text read but not yet consumed by a match.
    window: String,
}

impl SerialLog {
    pub fn new(path: &Path) -> SerialLog {
        SerialLog {
            path: path.to_path_buf(),
            state: Mutex::new(State::default()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Blocks until `pattern` matches the output not consumed by earlier waits, and returns the
    /// matched text. Fails with [`GuestError::Timeout`] or [`GuestError::Cancelled`].
    pub fn wait_for(
        &self,
        pattern: &str,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> Result<String, GuestError> {
        let re = Regex::new(pattern).map_err(|source| GuestError::SerialPattern {
            pattern: pattern.to_string(),
            source,
        })?;
        let deadline = Instant::now() + timeout;
        loop {
            {
                let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
                self.read_new(&mut state)?;
                if let Some(m) = re.find(&state.window) {
                    let found = m.as_str().to_string();
                    let end = m.end();
                    state.window.drain(..end);
                    return Ok(found);
                }
            }
            if cancel.is_cancelled() {
                return Err(GuestError::Cancelled);
            }
            if Instant::now() >= deadline {
                return Err(GuestError::Timeout {
                    what: format!("{pattern:?} on the serial port"),
                    seconds: timeout.as_secs_f64(),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn read_new(&self, state: &mut State) -> Result<(), GuestError> {
        let err = |source| GuestError::Serial {
            path: self.path.clone(),
            source,
        };
        let mut file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(err(e)),
        };
        file.seek(SeekFrom::Start(state.read)).map_err(err)?;
        let mut bytes = Vec::new();
        file.take(MAX_WINDOW as u64)
            .read_to_end(&mut bytes)
            .map_err(err)?;
        state.read += bytes.len() as u64;
        state.window.push_str(&String::from_utf8_lossy(&bytes));
        if state.window.len() > MAX_WINDOW {
            let mut cut = state.window.len() - MAX_WINDOW;
            while !state.window.is_char_boundary(cut) {
                cut += 1;
            }
            state.window.drain(..cut);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn each_match_consumes_output_and_timeouts_fail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("serial.log");
        let log = SerialLog::new(&path);
        let cancel = CancellationToken::new();
        let short = Duration::from_millis(200);
        assert!(matches!(
            log.wait_for("x", short, &cancel),
            Err(GuestError::Timeout { .. })
        ));
        let mut f = std::fs::File::create(&path).unwrap();
        f.write_all(b"boot\nMARK-1234\n").unwrap();
        assert_eq!(
            log.wait_for(r"MARK-\d+", short, &cancel).unwrap(),
            "MARK-1234"
        );
        assert!(matches!(
            log.wait_for("MARK", short, &cancel),
            Err(GuestError::Timeout { .. })
        ));
        f.write_all(b"MARK-5\n").unwrap();
        assert_eq!(log.wait_for(r"MARK-\d+", short, &cancel).unwrap(), "MARK-5");
        assert!(matches!(
            log.wait_for("(", short, &cancel),
            Err(GuestError::SerialPattern { .. })
        ));
        cancel.cancel();
        assert!(matches!(
            log.wait_for("never", Duration::from_secs(30), &cancel),
            Err(GuestError::Cancelled)
        ));
    }
}
