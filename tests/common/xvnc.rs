//! A real TigerVNC `Xvnc` server, started by a test and killed (with its X clients) on drop.
//!
//! Xvnc picks a free X display itself (`-displayfd`), so test binaries running at once never
//! collide on displays. It listens for VNC on a Unix socket in a private temporary directory
//! and on a free TCP port of 127.0.0.1, so tests can use either address form.

use image::RgbImage;
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Xvnc {
    pub display: u32,
    pub port: u16,
    server: Child,
    clients: Vec<Child>,
    dir: tempfile::TempDir,
}

/// How the server authenticates clients.
pub enum XvncAuth {
    None,
    /// VNC authentication with this password.
    Password(&'static str),
}

impl Xvnc {
    /// Starts `Xvnc` at `width`×`height` and waits (≤ 20 s) until it accepts connections.
    pub fn start(width: u32, height: u32, auth: XvncAuth) -> Xvnc {
        let mut last_err = String::new();
        // The free port is found by binding port 0; another process could take it before Xvnc
        // does, so a few attempts.
        for _ in 0..5 {
            match Xvnc::try_start(width, height, &auth) {
                Ok(x) => return x,
                Err(e) => last_err = e,
            }
        }
        panic!("could not start Xvnc: {last_err}");
    }

    fn try_start(width: u32, height: u32, auth: &XvncAuth) -> Result<Xvnc, String> {
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join("vnc.sock");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free TCP port: {e}"))?
            .port();
        let mut cmd = Command::new("Xvnc");
        cmd.args(["-geometry", &format!("{width}x{height}"), "-depth", "24"])
            .args(["-localhost", "-rfbport", &port.to_string()])
            .args(["-AlwaysShared", "-nolisten", "tcp", "-displayfd", "1"])
            .arg("-rfbunixpath")
            .arg(&socket)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(
                std::fs::File::create(dir.path().join("xvnc.log")).expect("xvnc.log"),
            ));
        match auth {
            XvncAuth::None => {
                cmd.args(["-SecurityTypes", "None"]);
            }
            XvncAuth::Password(pw) => {
                let file = dir.path().join("passwd");
                make_passwd_file(pw, &file);
                cmd.args(["-SecurityTypes", "VncAuth", "-rfbauth"])
                    .arg(&file);
            }
        }
        let mut server = cmd
            .spawn()
            .expect("start Xvnc (Debian package tigervnc-standalone-server)");
        // -displayfd: Xvnc writes the display number and a newline once X clients may connect.
        let mut stdout = server.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut text = String::new();
            let mut byte = [0u8; 1];
            while stdout.read(&mut byte).unwrap_or(0) == 1 && byte[0] != b'\n' {
                text.push(byte[0] as char);
            }
            let _ = tx.send(text);
        });
        let fail = |mut server: Child, why: String| {
            let _ = server.kill();
            let _ = server.wait();
            let log = std::fs::read_to_string(dir.path().join("xvnc.log")).unwrap_or_default();
            Err(format!("{why}; Xvnc log:\n{log}"))
        };
        let display = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(text) => match text.trim().parse() {
                Ok(d) => d,
                Err(_) => return fail(server, format!("Xvnc -displayfd wrote {text:?}")),
            },
            Err(_) => return fail(server, "Xvnc did not report its display in 20 s".into()),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = server.try_wait() {
                return fail(server, format!("Xvnc :{display} exited with {status}"));
            }
            if socket.exists() && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            if Instant::now() > deadline {
                return fail(server, format!("Xvnc :{display} did not listen in 20 s"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Xvnc {
            display,
            port,
            server,
            clients: Vec::new(),
            dir,
        })
    }

    /// The TCP address in vncpilot's `host::port` form.
    pub fn addr(&self) -> String {
        format!("127.0.0.1::{}", self.port)
    }

    /// The Unix-socket address, `unix:/path`.
    pub fn unix_addr(&self) -> String {
        format!("unix:{}", self.socket().display())
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("vnc.sock")
    }

    /// A private directory that lives as long as the server.
    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// Starts an X client (e.g. `xterm`) on this display; it is killed with the server.
    pub fn spawn_client(&mut self, program: &str, args: &[&str]) {
        let child = Command::new(program)
            .args(args)
            .env("DISPLAY", format!(":{}", self.display))
            .env("PS1", "$ ")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {program}: {e}"));
        self.clients.push(child);
    }

    /// An xterm running `sh` at `geometry` (columns×rows+x+y). There is no window manager, so
    /// X gives the keyboard to the window under the pointer: place it where the pointer is.
    pub fn spawn_xterm_at(&mut self, geometry: &str) {
        self.spawn_client(
            "xterm",
            &[
                "-geometry",
                geometry,
                "-bg",
                "white",
                "-fg",
                "black",
                "-e",
                "/bin/sh",
            ],
        );
    }

    /// Closes every X client started so far (the desktop is empty again).
    pub fn stop_clients(&mut self) {
        for mut c in self.clients.drain(..) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// An xterm covering the top-left of the screen.
    pub fn spawn_xterm(&mut self) {
        self.spawn_xterm_at("100x30+0+0");
    }

    /// An xterm over the screen's centre, where Xvnc starts the pointer, so that typing
    /// reaches it without moving the pointer; with a plain prompt (no shell rc files), so the
    /// screen is the same on every machine.
    pub fn spawn_centred_xterm(&mut self) {
        self.spawn_xterm_at("80x24+300+250");
    }
}

impl Drop for Xvnc {
    fn drop(&mut self) {
        for c in &mut self.clients {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// Writes a TigerVNC password file with `vncpasswd -f` (package tigervnc-tools).
fn make_passwd_file(password: &str, file: &Path) {
    use std::io::Write;
    let mut child = Command::new("vncpasswd")
        .arg("-f")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run vncpasswd (package tigervnc-tools)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n{password}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "vncpasswd failed");
    std::fs::write(file, out.stdout).unwrap();
}

/// The desktop's screen once two snapshots 300 ms apart agree (≤ 20 s), via `vncpilot snap`.
pub fn settled_screen(desktop: &Xvnc, scratch: &Path) -> RgbImage {
    let path = scratch.join("snap.png");
    let snap = || {
        let status = Command::new(env!("CARGO_BIN_EXE_vncpilot"))
            .args(["snap", "--vnc", &desktop.unix_addr()])
            .arg(&path)
            .stdout(Stdio::null())
            .status()
            .expect("vncpilot snap");
        assert!(status.success());
        image::open(&path).expect("snap png").to_rgb8()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = snap();
    loop {
        std::thread::sleep(Duration::from_millis(300));
        let now = snap();
        if now == last {
            return now;
        }
        assert!(Instant::now() < deadline, "the screen never settled");
        last = now;
    }
}

/// The smallest rectangle holding every pixel that differs.
pub fn changed_box(a: &RgbImage, b: &RgbImage) -> (u32, u32, u32, u32) {
    let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
    for (x, y, p) in a.enumerate_pixels() {
        if b.get_pixel(x, y) != p {
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
        }
    }
    assert!(x0 <= x1, "the two screens are identical");
    (x0, y0, x1 - x0 + 1, y1 - y0 + 1)
}
