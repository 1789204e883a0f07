//! A small QMP (QEMU Machine Protocol) client: the monitor vncpilot uses for VM snapshots
//! (`savevm`/`loadvm` through `human-monitor-command`, since QEMU 7.2 has no stable QMP command
//! for internal snapshots that also saves the RAM), `screendump` and register dumps.
//!
//! QMP is line-delimited JSON: a greeting, `qmp_capabilities`, then commands each answered by a
//! `return` or `error`; asynchronous `event` lines may arrive at any point and are skipped here.
//! Each command carries an `id` so an answer can never be mistaken for another's.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::Mutex;

use super::GuestError;

/// The longest line vncpilot accepts from QEMU (register dumps are a few KiB).
const MAX_LINE: usize = 1 << 20;

/// A connected, negotiated QMP session. Commands are serialised by an internal lock, so `&Qmp`
/// can be shared.
pub struct Qmp {
    path: PathBuf,
    conn: Mutex<Conn>,
    timeout: Duration,
}

struct Conn {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    next_id: u64,
}

impl Qmp {
    /// Connects to the QMP socket at `path`, reads the greeting and enters command mode.
    /// `timeout` bounds the connection and every later command (savevm of a 1 GiB guest under
    /// TCG takes a few seconds; give it tens).
    pub async fn connect(path: &Path, timeout: Duration) -> Result<Qmp, GuestError> {
        let io = |source| GuestError::QmpIo {
            path: path.to_path_buf(),
            source,
        };
        let stream = tokio::time::timeout(timeout, UnixStream::connect(path))
            .await
            .map_err(|_| GuestError::Timeout {
                what: format!("QMP at {}", path.display()),
                seconds: timeout.as_secs_f64(),
            })?
            .map_err(io)?;
        let (read, writer) = stream.into_split();
        let mut conn = Conn {
            reader: BufReader::new(read),
            writer,
            next_id: 1,
        };
        let greeting = conn.read_message(path, timeout).await?;
        if greeting.get("QMP").is_none() {
            return Err(GuestError::QmpProtocol(format!(
                "expected the QMP greeting, got {greeting}"
            )));
        }
        let qmp = Qmp {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
            timeout,
        };
        qmp.execute("qmp_capabilities", None).await?;
        Ok(qmp)
    }

    /// Runs one command and returns its `return` value.
    pub async fn execute(
        &self,
        command: &str,
        arguments: Option<Value>,
    ) -> Result<Value, GuestError> {
        let mut conn = self.conn.lock().await;
        let id = conn.next_id;
        conn.next_id += 1;
        let mut message = json!({ "execute": command, "id": id });
        if let Some(arguments) = arguments {
            message["arguments"] = arguments;
        }
        let mut line = message.to_string();
        line.push('\n');
        conn.writer
            .write_all(line.as_bytes())
            .await
            .map_err(|source| GuestError::QmpIo {
                path: self.path.clone(),
                source,
            })?;
        loop {
            let reply = conn.read_message(&self.path, self.timeout).await?;
            if reply.get("event").is_some() {
                tracing::debug!(target: "qmp", "event {reply}");
                continue;
            }
            if reply.get("id").and_then(Value::as_u64) != Some(id) {
                tracing::debug!(target: "qmp", "ignoring reply to another command: {reply}");
                continue;
            }
            if let Some(ret) = reply.get("return") {
                return Ok(ret.clone());
            }
            if let Some(error) = reply.get("error") {
                let message = error
                    .get("desc")
                    .and_then(Value::as_str)
                    .unwrap_or("(no description)");
                return Err(GuestError::QmpCommand {
                    command: command.to_string(),
                    message: message.to_string(),
                });
            }
            return Err(GuestError::QmpProtocol(format!("unexpected reply {reply}")));
        }
    }

    /// Runs a human-monitor (HMP) command and returns its text output.
    pub async fn human(&self, command_line: &str) -> Result<String, GuestError> {
        let out = self
            .execute(
                "human-monitor-command",
                Some(json!({ "command-line": command_line })),
            )
            .await?;
        Ok(out.as_str().unwrap_or_default().replace("\r\n", "\n"))
    }

    /// Saves the whole VM (RAM, devices, disks) as an internal snapshot `name`.
    pub async fn savevm(&self, name: &str) -> Result<(), GuestError> {
        check_snapshot_name(name)?;
        hmp_ok("savevm", self.human(&format!("savevm {name}")).await?)
    }

    /// Returns the VM to the snapshot `name`.
    pub async fn loadvm(&self, name: &str) -> Result<(), GuestError> {
        check_snapshot_name(name)?;
        hmp_ok("loadvm", self.human(&format!("loadvm {name}")).await?)
    }

    /// Writes the guest's display as a PPM file (as QEMU sees it, independent of VNC).
    pub async fn screendump(&self, path: &Path) -> Result<(), GuestError> {
        self.execute(
            "screendump",
            Some(json!({ "filename": path.display().to_string() })),
        )
        .await?;
        Ok(())
    }

    /// The vCPU registers, as text (for forensics when a run fails).
    pub async fn info_registers(&self) -> Result<String, GuestError> {
        self.human("info registers").await
    }

    /// The run state ("running", "paused", "shutdown", ...).
    pub async fn status(&self) -> Result<String, GuestError> {
        let status = self.execute("query-status", None).await?;
        Ok(status
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_string())
    }
}

impl Conn {
    async fn read_message(&mut self, path: &Path, timeout: Duration) -> Result<Value, GuestError> {
        let mut line = Vec::new();
        let read = async {
            loop {
                let buf = self.reader.fill_buf().await?;
                if buf.is_empty() {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "QEMU closed QMP",
                    ));
                }
                if let Some(end) = buf.iter().position(|&b| b == b'\n') {
                    line.extend_from_slice(&buf[..end]);
                    self.reader.consume(end + 1);
                    return Ok(());
                }
                let n = buf.len();
                line.extend_from_slice(buf);
                self.reader.consume(n);
                if line.len() > MAX_LINE {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "QMP line longer than 1 MiB",
                    ));
                }
            }
        };
        tokio::time::timeout(timeout, read)
            .await
            .map_err(|_| GuestError::Timeout {
                what: format!("a QMP reply on {}", path.display()),
                seconds: timeout.as_secs_f64(),
            })?
            .map_err(|source| GuestError::QmpIo {
                path: path.to_path_buf(),
                source,
            })?;
        serde_json::from_slice(&line).map_err(|e| {
            GuestError::QmpProtocol(format!(
                "not JSON ({e}): {}",
                String::from_utf8_lossy(&line)
            ))
        })
    }
}

/// HMP reports failure only as text; savevm/loadvm print nothing on success.
fn hmp_ok(command: &str, output: String) -> Result<(), GuestError> {
    let text = output.trim();
    if text.is_empty() {
        Ok(())
    } else {
        Err(GuestError::QmpCommand {
            command: command.to_string(),
            message: text.to_string(),
        })
    }
}

/// Snapshot names go into an HMP command line, so only plain names are allowed.
fn check_snapshot_name(name: &str) -> Result<(), GuestError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(GuestError::QmpCommand {
            command: "savevm/loadvm".into(),
            message: format!("snapshot name {name:?} must be 1-64 characters of A-Z a-z 0-9 - _ ."),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::UnixListener;

    /// A scripted QMP server: greets, then answers each command by name, with an event first.
    async fn fake_server(path: PathBuf) {
        let listener = UnixListener::bind(&path).unwrap();
        let (stream, _) = listener.accept().await.unwrap();
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        write
            .write_all(b"{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n")
            .await
            .unwrap();
        while let Ok(Some(line)) = lines.next_line().await {
            let msg: Value = serde_json::from_str(&line).unwrap();
            let id = msg["id"].clone();
            let reply = match msg["execute"].as_str().unwrap() {
                "qmp_capabilities" => json!({"return": {}, "id": id}),
                "human-monitor-command" => {
                    let cmd = msg["arguments"]["command-line"].as_str().unwrap();
                    let out = if cmd == "loadvm missing" {
                        "Error: Snapshot 'missing' does not exist\r\n"
                    } else {
                        ""
                    };
                    json!({"return": out, "id": id})
                }
                "query-status" => {
                    json!({"return": {"status": "running", "running": true}, "id": id})
                }
                other => {
                    json!({"error": {"class": "CommandNotFound", "desc": format!("The command {other} has not been found")}, "id": id})
                }
            };
            write
                .write_all(b"{\"event\": \"RESUME\", \"timestamp\": {}}\n")
                .await
                .unwrap();
            write
                .write_all(format!("{reply}\n").as_bytes())
                .await
                .unwrap();
        }
    }

    #[tokio::test]
    async fn commands_events_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("qmp.sock");
        tokio::spawn(fake_server(path.clone()));
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !path.exists() && std::time::Instant::now() < deadline {
            tokio::task::yield_now().await;
        }
        let qmp = Qmp::connect(&path, Duration::from_secs(5)).await.unwrap();
        assert_eq!(qmp.status().await.unwrap(), "running");
        qmp.savevm("base").await.unwrap();
        let err = qmp.loadvm("missing").await.unwrap_err().to_string();
        assert!(err.contains("does not exist"), "{err}");
        let err = qmp.execute("nonsense", None).await.unwrap_err().to_string();
        assert!(err.contains("nonsense"), "{err}");
        let err = qmp.savevm("a b; quit").await.unwrap_err().to_string();
        assert!(err.contains("must be"), "{err}");
    }
}
