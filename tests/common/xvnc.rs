//! A real TigerVNC `Xvnc` server with an `xterm` in it, started by a test and killed on drop.

use std::net::TcpStream;
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
    /// Starts `Xvnc` at `width`×`height` on a free display, waiting (bounded) until it accepts
    /// connections.
    pub fn start(width: u32, height: u32, auth: XvncAuth) -> Xvnc {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut last_err = String::new();
        // Several test binaries run at once: pick displays by process id, skip taken ones.
        let base = 20 + (std::process::id() % 40) * 5;
        for display in base..base + 200 {
            let display = 20 + (display - 20) % 500;
            if Path::new(&format!("/tmp/.X{display}-lock")).exists()
                || Path::new(&format!("/tmp/.X11-unix/X{display}")).exists()
            {
                continue;
            }
            let port = 5900 + display as u16;
            let mut cmd = Command::new("Xvnc");
            cmd.arg(format!(":{display}"))
                .args(["-geometry", &format!("{width}x{height}"), "-depth", "24"])
                .args(["-localhost", "-rfbport", &port.to_string()])
                .args(["-AlwaysShared", "-nolisten", "tcp"])
                .stdout(Stdio::null())
                .stderr(Stdio::from(
                    std::fs::File::create(dir.path().join("xvnc.log")).unwrap(),
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
                .expect("start Xvnc (package tigervnc-standalone-server)");
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(status)) = server.try_wait() {
                    last_err = format!("Xvnc :{display} exited with {status}");
                    break;
                }
                // Both the VNC port and the X socket (clients started too early would exit).
                if TcpStream::connect(("127.0.0.1", port)).is_ok()
                    && Path::new(&format!("/tmp/.X11-unix/X{display}")).exists()
                {
                    return Xvnc {
                        display,
                        port,
                        server,
                        clients: Vec::new(),
                        dir,
                    };
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = server.kill();
            let _ = server.wait();
        }
        panic!("could not start Xvnc: {last_err}");
    }

    /// The address in vncpilot's `host::port` form.
    pub fn addr(&self) -> String {
        format!("127.0.0.1::{}", self.port)
    }

    /// Starts an X client (e.g. `xterm`) on this display; it is killed with the server.
    pub fn spawn_client(&mut self, program: &str, args: &[&str]) {
        let child = Command::new(program)
            .args(args)
            .env("DISPLAY", format!(":{}", self.display))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {program}: {e}"));
        self.clients.push(child);
    }

    /// An xterm covering the top-left of the screen, where the pointer starts, so that it has
    /// the keyboard focus without a window manager. Its shell starts in `cwd`.
    pub fn spawn_xterm(&mut self) {
        self.spawn_client("xterm", &["-geometry", "100x30+0+0", "-e", "/bin/sh"]);
    }

    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
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
