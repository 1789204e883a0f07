//! A real QEMU booting the Debian 12 installer (package debian-installer-12-netboot-amd64),
//! with its VNC server on a private unix socket. Killed on drop; callers hold the guest lock.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub const INSTALLER_DIR: &str = "/usr/lib/debian-installer/images/12/amd64";

pub struct Qemu {
    child: Child,
    dir: tempfile::TempDir,
}

impl Qemu {
    /// Boots the installer's `variant` ("text" or "gtk") kernel and initrd, offline, under TCG.
    pub fn boot_installer(variant: &str, extra: &[&str]) -> Qemu {
        let images = Path::new(INSTALLER_DIR)
            .join(variant)
            .join("debian-installer/amd64");
        assert!(
            images.join("linux").exists(),
            "{} is missing: install the package debian-installer-12-netboot-amd64",
            images.display()
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let child = Command::new("qemu-system-x86_64")
            .args([
                "-accel", "tcg", "-m", "1024", "-nic", "none", "-display", "none",
            ])
            .arg("-vnc")
            .arg(format!("unix:{}", dir.path().join("vnc.sock").display()))
            .arg("-serial")
            .arg(format!("file:{}", dir.path().join("serial.log").display()))
            .arg("-kernel")
            .arg(images.join("linux"))
            .arg("-initrd")
            .arg(images.join("initrd.gz"))
            .args(["-append", "vga=788 --- quiet"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(dir.path().join("qemu.log")).unwrap(),
            ))
            .spawn()
            .expect("start qemu-system-x86_64 (package qemu-system-x86)");
        Qemu { child, dir }
    }

    pub fn vnc_addr(&self) -> String {
        format!("unix:{}", self.socket().display())
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("vnc.sock")
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
