//! A real TigerVNC `Xvnc` desktop with an xterm on it, started by the test and killed on drop.
//!
//! Xvnc picks a free X display itself (`-displayfd`), listens for VNC only on a Unix socket in a
//! private temporary directory (no TCP port to collide with other tests), and needs no password.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct XvncDesktop {
    xvnc: Child,
    xterm: Option<Child>,
    dir: tempfile::TempDir,
    pub display: u32,
}

impl XvncDesktop {
    /// Starts Xvnc at `width`×`height` and waits (≤ 20 s) until it listens.
    pub fn start(width: u32, height: u32) -> XvncDesktop {
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join("vnc.sock");
        let mut xvnc = Command::new("Xvnc")
            .args(["-geometry", &format!("{width}x{height}"), "-depth", "24"])
            .args([
                "-SecurityTypes",
                "None",
                "-rfbport",
                "-1",
                "-nolisten",
                "tcp",
                "-displayfd",
                "1",
            ])
            .arg("-rfbunixpath")
            .arg(&socket)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Xvnc (Debian package tigervnc-standalone-server)");
        // -displayfd: Xvnc writes the display number and a newline once it is ready.
        let mut stdout = xvnc.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut text = String::new();
            let mut byte = [0u8; 1];
            while stdout.read(&mut byte).unwrap_or(0) == 1 && byte[0] != b'\n' {
                text.push(byte[0] as char);
            }
            let _ = tx.send(text);
        });
        let display = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(text) => text
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("Xvnc -displayfd wrote {text:?}")),
            Err(_) => {
                let _ = xvnc.kill();
                panic!("Xvnc did not report its display within 20 s");
            }
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !socket.exists() {
            assert!(
                Instant::now() < deadline,
                "Xvnc did not create {}",
                socket.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        XvncDesktop {
            xvnc,
            xterm: None,
            dir,
            display,
        }
    }

    /// The VNC address for `rfb::Addr::parse`.
    pub fn addr(&self) -> String {
        format!("unix:{}", self.socket().display())
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("vnc.sock")
    }

    /// Opens an xterm running `sh` with a plain prompt (no shell rc files, so the screen is the
    /// same on every machine). There is no window manager, so X gives the keyboard to the window
    /// under the pointer: the xterm is placed over the screen's centre, where Xvnc starts the
    /// pointer, and typing reaches it without moving the pointer.
    pub fn start_xterm(&mut self) {
        let child = Command::new("xterm")
            .env("DISPLAY", format!(":{}", self.display))
            .env("PS1", "$ ")
            .args([
                "-geometry",
                "80x24+300+250",
                "-bg",
                "white",
                "-fg",
                "black",
                "-e",
                "sh",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start xterm");
        self.xterm = Some(child);
    }

    /// Closes the xterm opened by [`start_xterm`](Self::start_xterm) (the desktop is empty again).
    pub fn stop_xterm(&mut self) {
        if let Some(mut xterm) = self.xterm.take() {
            let _ = xterm.kill();
            let _ = xterm.wait();
        }
    }
}

impl Drop for XvncDesktop {
    fn drop(&mut self) {
        if let Some(xterm) = &mut self.xterm {
            let _ = xterm.kill();
            let _ = xterm.wait();
        }
        let _ = self.xvnc.kill();
        let _ = self.xvnc.wait();
    }
}
