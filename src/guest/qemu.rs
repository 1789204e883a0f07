//! Launching QEMU: fresh qcow2 disks, VNC and QMP on private unix sockets, the serial port into a
//! log file, and a process that cannot outlive vncpilot.
//!
//! Why the care about teardown: a forgotten TCG guest eats a whole core for as long as the
//! machine runs, and on a 2-core CI box that silently halves every later test. So the child is
//! put in its own process group (a terminal's Ctrl-C reaches only vncpilot, which then tears the
//! guest down in order), is killed with its group when [`Qemu`] is dropped (pass, fail, error,
//! panic unwinding), and asks the kernel to kill it should vncpilot itself die without unwinding
//! (`PR_SET_PDEATHSIG`).

use std::collections::VecDeque;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use super::GuestError;
use super::machine::{Arch, DisplayDevice, Firmware, UefiFiles, binary_exists};

/// The accelerator QEMU runs the guest with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Accel {
    /// Software emulation: slow, but works everywhere (the default; /dev/kvm is often present
    /// but unusable inside containers and nested VMs).
    Tcg,
    /// Hardware virtualisation through /dev/kvm.
    Kvm,
}

impl Accel {
    pub fn as_str(self) -> &'static str {
        match self {
            Accel::Tcg => "tcg",
            Accel::Kvm => "kvm",
        }
    }
}

/// One disk, created empty for every run.
#[derive(Clone, Debug, PartialEq)]
pub struct DiskSpec {
    /// A size qemu-img understands: "8G", "512M".
    pub size: String,
    /// QEMU's `if=` value: "virtio", "ide", "scsi".
    pub interface: String,
}

/// What the guest boots from.
#[derive(Clone, Debug, PartialEq)]
pub enum BootMedia {
    /// Direct kernel boot (`-kernel/-initrd/-append`).
    Kernel {
        kernel: PathBuf,
        initrd: Option<PathBuf>,
        cmdline: String,
    },
    /// An installer ISO as CD-ROM, booted first.
    Iso(PathBuf),
    /// The first disk (e.g. to boot what an earlier step installed).
    Disk,
}

/// How to start one guest.
#[derive(Clone, Debug)]
pub struct QemuConfig {
    /// The emulator binary: the architecture's (`qemu-system-x86_64`, `qemu-system-aarch64`)
    /// unless the harness says otherwise.
    pub binary: String,
    /// The guest architecture (board and devices follow from it).
    pub arch: Arch,
    /// BIOS or UEFI.
    pub firmware: Firmware,
    /// The display adapter; `None` is the architecture's default ([`DisplayDevice::default_for`]).
    pub display: Option<DisplayDevice>,
    pub memory_mib: u32,
    pub cpus: u32,
    pub accel: Accel,
    pub disks: Vec<DiskSpec>,
    pub boot: BootMedia,
    /// Without a network card (`-nic none`) unless true (then QEMU's default user networking).
    pub network: bool,
    /// Appended verbatim after everything vncpilot sets.
    pub extra_args: Vec<String>,
    /// Where the boot media come from, for the error when they are missing ("the Debian package
    /// debian-installer-12-netboot-amd64").
    pub media_provided_by: String,
    /// How long QEMU may take to open its VNC and QMP sockets.
    pub start_timeout: Duration,
}

impl QemuConfig {
    /// Switches the architecture; the binary follows unless it was set to something other than
    /// the previous architecture's default.
    pub fn set_arch(&mut self, arch: Arch) {
        if self.binary == self.arch.default_binary() {
            self.binary = arch.default_binary().to_string();
        }
        self.arch = arch;
    }

    /// The display adapter in effect.
    pub fn display_device(&self) -> DisplayDevice {
        self.display
            .unwrap_or_else(|| DisplayDevice::default_for(self.arch))
    }

    /// Everything the host must have to start this guest: the emulator binary, the firmware, a
    /// display that exists on the architecture, and the boot media — each missing piece named
    /// with the Debian package that provides it.
    pub fn check(&self) -> Result<(), GuestError> {
        if !binary_exists(&self.binary) {
            return Err(GuestError::MissingBinary {
                binary: self.binary.clone(),
                package: if self.binary == self.arch.default_binary() {
                    self.arch.binary_package().to_string()
                } else {
                    "whoever installed it (the harness names it as binary)".to_string()
                },
            });
        }
        match (self.arch, self.firmware) {
            (Arch::Aarch64, Firmware::Bios) => {
                return Err(GuestError::Unsupported(
                    "aarch64 has no BIOS: use firmware = \"uefi\"".into(),
                ));
            }
            (_, Firmware::Uefi) => UefiFiles::for_arch(self.arch).check()?,
            _ => {}
        }
        self.display_device()
            .args(self.arch)
            .map_err(GuestError::Unsupported)?;
        self.check_media()
    }

    /// Checks that every boot medium exists, naming where to get it if not.
    pub fn check_media(&self) -> Result<(), GuestError> {
        let missing = |what: &'static str, path: &Path| GuestError::MissingMedia {
            what,
            path: path.to_path_buf(),
            provided_by: self.media_provided_by.clone(),
        };
        match &self.boot {
            BootMedia::Kernel { kernel, initrd, .. } => {
                if !kernel.is_file() {
                    return Err(missing("the kernel", kernel));
                }
                if let Some(initrd) = initrd
                    && !initrd.is_file()
                {
                    return Err(missing("the initrd", initrd));
                }
            }
            BootMedia::Iso(iso) => {
                if !iso.is_file() {
                    return Err(missing("the ISO image", iso));
                }
            }
            BootMedia::Disk => {}
        }
        Ok(())
    }

    /// The QEMU command line (without the binary) for the given private paths.
    pub fn args(&self, paths: &GuestPaths) -> Vec<String> {
        let mut a: Vec<String> = Vec::new();
        let mut push = |items: &[&str]| a.extend(items.iter().map(|s| s.to_string()));
        push(&["-accel", self.accel.as_str()]);
        push(self.arch.machine_args());
        push(&[
            "-m",
            &self.memory_mib.to_string(),
            "-smp",
            &self.cpus.to_string(),
        ]);
        push(&["-display", "none"]);
        // An impossible pair was refused by `check`; here it falls back to QEMU's default.
        let display = self.display_device().args(self.arch).unwrap_or_default();
        push(&display.iter().map(String::as_str).collect::<Vec<_>>());
        if let (Firmware::Uefi, Some(vars)) = (self.firmware, &paths.firmware_vars) {
            let firmware = UefiFiles::for_arch(self.arch).args(vars);
            push(&firmware.iter().map(String::as_str).collect::<Vec<_>>());
        }
        push(&["-vnc", &format!("unix:{}", paths.vnc_socket.display())]);
        push(&[
            "-qmp",
            &format!("unix:{},server=on,wait=off", paths.qmp_socket.display()),
        ]);
        push(&["-serial", &format!("file:{}", paths.serial_log.display())]);
        if !self.network {
            push(&["-nic", "none"]);
        }
        for (disk, path) in self.disks.iter().zip(&paths.disks) {
            push(&[
                "-drive",
                &format!("file={},if={},format=qcow2", path.display(), disk.interface),
            ]);
        }
        match &self.boot {
            BootMedia::Kernel {
                kernel,
                initrd,
                cmdline,
            } => {
                push(&["-kernel", &kernel.display().to_string()]);
                if let Some(initrd) = initrd {
                    push(&["-initrd", &initrd.display().to_string()]);
                }
                push(&["-append", cmdline]);
            }
            BootMedia::Iso(iso) => {
                push(&["-cdrom", &iso.display().to_string(), "-boot", "order=d"]);
            }
            BootMedia::Disk => push(&["-boot", "order=c"]),
        }
        a.extend(self.extra_args.iter().cloned());
        a
    }
}

/// Where one guest's sockets, disks and serial log live.
#[derive(Clone, Debug)]
pub struct GuestPaths {
    /// Private directory (mode 0700) for the sockets and disks; removed when the guest is dropped.
    pub runtime_dir: PathBuf,
    pub vnc_socket: PathBuf,
    pub qmp_socket: PathBuf,
    pub serial_log: PathBuf,
    pub disks: Vec<PathBuf>,
    /// This run's copy of the UEFI variable store (UEFI guests only).
    pub firmware_vars: Option<PathBuf>,
}

/// A running QEMU. Dropping it kills the guest.
pub struct Qemu {
    child: Child,
    pgid: Option<i32>,
    paths: GuestPaths,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    /// The task copying QEMU's stderr into `stderr_tail` (ends at QEMU's exit).
    stderr_reader: Option<JoinHandle<()>>,
}

/// How long QEMU's last lines on stderr may take to arrive once it has exited.
const LAST_WORDS: Duration = Duration::from_secs(1);

impl Qemu {
    /// Creates fresh disks, starts QEMU and waits until its VNC and QMP sockets exist.
    /// `serial_log` is where the serial port's output goes (the results folder's `serial.log`).
    pub async fn launch(config: &QemuConfig, serial_log: &Path) -> Result<Qemu, GuestError> {
        config.check()?;
        let runtime_dir = private_runtime_dir()?;
        let paths = GuestPaths {
            vnc_socket: runtime_dir.join("vnc.sock"),
            qmp_socket: runtime_dir.join("qmp.sock"),
            serial_log: serial_log.to_path_buf(),
            disks: (0..config.disks.len())
                .map(|i| runtime_dir.join(format!("disk{i}.qcow2")))
                .collect(),
            firmware_vars: (config.firmware == Firmware::Uefi)
                .then(|| runtime_dir.join("efivars.fd")),
            runtime_dir,
        };
        // From here on the runtime dir must go even on error: a guard removes it.
        let dir_guard = RemoveDirOnDrop(Some(paths.runtime_dir.clone()));
        for (disk, path) in config.disks.iter().zip(&paths.disks) {
            create_disk(path, &disk.size).await?;
        }
        if let Some(vars) = &paths.firmware_vars {
            let template = UefiFiles::for_arch(config.arch).vars_template;
            tokio::fs::copy(&template, vars)
                .await
                .map_err(|source| GuestError::Spawn {
                    program: format!("copy {} to {}", template.display(), vars.display()),
                    source,
                })?;
        }
        let args = config.args(&paths);
        tracing::info!(binary = %config.binary, args = ?args, "starting QEMU");
        let mut command = Command::new(&config.binary);
        command
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .process_group(0);
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = command.spawn().map_err(|source| GuestError::Spawn {
            program: config.binary.clone(),
            source,
        })?;
        let pgid = child.id().map(|pid| pid as i32);
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        let stderr_reader = child.stderr.take().map(|stderr| {
            let tail = stderr_tail.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    tracing::info!(target: "qemu", "{line}");
                    let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
                    if tail.len() == 20 {
                        tail.pop_front();
                    }
                    tail.push_back(line);
                }
            })
        });
        std::mem::forget(dir_guard);
        let mut qemu = Qemu {
            child,
            pgid,
            paths,
            stderr_tail,
            stderr_reader,
        };
        qemu.wait_ready(config.start_timeout).await?;
        Ok(qemu)
    }

    /// Polls until both sockets exist, failing early (with QEMU's own words) if it exits.
    async fn wait_ready(&mut self, timeout: Duration) -> Result<(), GuestError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                // Give the stderr reader a moment to collect QEMU's last words.
                tokio::time::sleep(Duration::from_millis(100)).await;
                return Err(GuestError::EarlyExit {
                    status: describe_exit(status),
                    stderr: self.stderr_tail(),
                });
            }
            if self.paths.vnc_socket.exists() && self.paths.qmp_socket.exists() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(GuestError::Timeout {
                    what: "QEMU to open its VNC and QMP sockets".into(),
                    seconds: timeout.as_secs_f64(),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn paths(&self) -> &GuestPaths {
        &self.paths
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// QEMU's last lines on stderr, for error messages.
    pub fn stderr_tail(&self) -> String {
        let tail = self.stderr_tail.lock().unwrap_or_else(|e| e.into_inner());
        tail.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    /// Waits until QEMU exits by itself, then (≤ 1 s) for its last lines on stderr; how it
    /// ended, as [`GuestError::Died`]. Cancel safe: a run races it against its macro, and a
    /// dropped call loses nothing.
    pub async fn died(&mut self) -> GuestError {
        let status = match self.child.wait().await {
            Ok(status) => describe_exit(status),
            Err(e) => format!("could not be waited for ({e})"),
        };
        // The group's leader is reaped: take any member it left, and never signal that id again
        // (it may be reused).
        self.kill_group();
        if let Some(reader) = self.stderr_reader.as_mut() {
            let _ = tokio::time::timeout(LAST_WORDS, reader).await;
        }
        let stderr = self.stderr_tail();
        GuestError::Died {
            status,
            stderr: if stderr.is_empty() {
                "(nothing)".into()
            } else {
                stderr
            },
        }
    }

    /// Whether QEMU is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills the guest and waits until it is gone (reaped), then removes the private files.
    pub async fn stop(mut self) {
        self.kill_group();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
    }

    fn kill_group(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            // SAFETY: plain syscall; pgid is the group QEMU leads (process_group(0)).
            unsafe {
                libc::killpg(pgid, libc::SIGKILL);
            }
        }
        let _ = self.child.start_kill();
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        self.kill_group();
        let _ = std::fs::remove_dir_all(&self.paths.runtime_dir);
    }
}

/// "exited with status 1", "was killed by signal 9 (SIGKILL)": how a process ended, in words.
pub fn describe_exit(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exited with status {code}");
    }
    match status.signal() {
        Some(signal) => {
            let name = match signal {
                libc::SIGHUP => " (SIGHUP)",
                libc::SIGINT => " (SIGINT)",
                libc::SIGQUIT => " (SIGQUIT)",
                libc::SIGILL => " (SIGILL)",
                libc::SIGABRT => " (SIGABRT)",
                libc::SIGBUS => " (SIGBUS)",
                libc::SIGFPE => " (SIGFPE)",
                libc::SIGKILL => " (SIGKILL)",
                libc::SIGSEGV => " (SIGSEGV)",
                libc::SIGPIPE => " (SIGPIPE)",
                libc::SIGTERM => " (SIGTERM)",
                _ => "",
            };
            let core = if status.core_dumped() {
                ", core dumped"
            } else {
                ""
            };
            format!("was killed by signal {signal}{name}{core}")
        }
        None => status.to_string(),
    }
}

struct RemoveDirOnDrop(Option<PathBuf>);

impl Drop for RemoveDirOnDrop {
    fn drop(&mut self) {
        if let Some(dir) = self.0.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A fresh 0700 directory under the temp dir. Unix socket paths must stay short (108 bytes), so
/// the sockets cannot live in a deep results folder.
fn private_runtime_dir() -> Result<PathBuf, GuestError> {
    use std::os::unix::fs::DirBuilderExt;
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let base = std::env::temp_dir();
    loop {
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = base.join(format!("vncpilot-{}-{n}", std::process::id()));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(source) => {
                return Err(GuestError::Spawn {
                    program: format!("mkdir {}", dir.display()),
                    source,
                });
            }
        }
    }
}

async fn create_disk(path: &Path, size: &str) -> Result<(), GuestError> {
    let run = Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2"])
        .arg(path)
        .arg(size)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .map_err(|_| GuestError::Timeout {
            what: format!("qemu-img to create {}", path.display()),
            seconds: 30.0,
        })?
        .map_err(|source| GuestError::Spawn {
            program: "qemu-img".into(),
            source,
        })?;
    if !output.status.success() {
        return Err(GuestError::DiskCreate {
            path: path.to_path_buf(),
            message: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> QemuConfig {
        QemuConfig {
            binary: "qemu-system-x86_64".into(),
            arch: Arch::X86_64,
            firmware: Firmware::Bios,
            display: None,
            memory_mib: 1024,
            cpus: 1,
            accel: Accel::Tcg,
            disks: vec![DiskSpec {
                size: "8G".into(),
                interface: "virtio".into(),
            }],
            boot: BootMedia::Kernel {
                kernel: "/nonexistent/linux".into(),
                initrd: Some("/nonexistent/initrd.gz".into()),
                cmdline: "vga=788 --- quiet".into(),
            },
            network: false,
            extra_args: vec!["-no-reboot".into()],
            media_provided_by: "the package debian-installer-12-netboot-amd64".into(),
            start_timeout: Duration::from_secs(10),
        }
    }

    #[test]
    fn exits_are_described_in_words() {
        assert_eq!(
            describe_exit(ExitStatus::from_raw(1 << 8)),
            "exited with status 1"
        );
        assert_eq!(
            describe_exit(ExitStatus::from_raw(libc::SIGKILL)),
            "was killed by signal 9 (SIGKILL)"
        );
    }

    #[test]
    fn missing_media_names_the_path_and_provider() {
        let err = config().check_media().unwrap_err().to_string();
        assert!(err.contains("/nonexistent/linux"), "{err}");
        assert!(err.contains("debian-installer-12-netboot-amd64"), "{err}");
    }

    #[test]
    fn command_line_has_private_sockets_serial_and_no_network() {
        let paths = GuestPaths {
            runtime_dir: "/r".into(),
            vnc_socket: "/r/vnc.sock".into(),
            qmp_socket: "/r/qmp.sock".into(),
            serial_log: "/res/serial.log".into(),
            disks: vec!["/r/disk0.qcow2".into()],
            firmware_vars: None,
        };
        let args = config().args(&paths).join(" ");
        assert!(args.contains("-accel tcg"), "{args}");
        assert!(args.contains("-vnc unix:/r/vnc.sock"), "{args}");
        assert!(
            args.contains("-qmp unix:/r/qmp.sock,server=on,wait=off"),
            "{args}"
        );
        assert!(args.contains("-serial file:/res/serial.log"), "{args}");
        assert!(args.contains("-nic none"), "{args}");
        assert!(
            args.contains("-drive file=/r/disk0.qcow2,if=virtio,format=qcow2"),
            "{args}"
        );
        assert!(
            args.ends_with("-append vga=788 --- quiet -no-reboot"),
            "{args}"
        );
    }

    #[test]
    fn aarch64_uefi_gets_its_board_keyboard_display_and_firmware_copy() {
        let mut config = config();
        config.set_arch(Arch::Aarch64);
        config.firmware = Firmware::Uefi;
        assert_eq!(config.binary, "qemu-system-aarch64");
        let paths = GuestPaths {
            runtime_dir: "/r".into(),
            vnc_socket: "/r/vnc.sock".into(),
            qmp_socket: "/r/qmp.sock".into(),
            serial_log: "/res/serial.log".into(),
            disks: vec!["/r/disk0.qcow2".into()],
            firmware_vars: Some("/r/efivars.fd".into()),
        };
        let args = config.args(&paths).join(" ");
        assert!(args.contains("-machine virt -cpu max"), "{args}");
        assert!(args.contains("-device usb-kbd"), "{args}");
        assert!(args.contains("-device virtio-gpu-pci"), "{args}");
        assert!(
            args.contains("readonly=on,file=/usr/share/AAVMF/AAVMF_CODE.fd"),
            "{args}"
        );
        assert!(args.contains("unit=1,file=/r/efivars.fd"), "{args}");
        config.firmware = Firmware::Bios;
        let err = config.check().unwrap_err().to_string();
        assert!(err.contains("uefi"), "{err}");
    }

    #[test]
    fn a_missing_emulator_names_its_package() {
        let mut config = config();
        config.binary = "qemu-system-nonexistent".into();
        config.arch = Arch::X86_64;
        let err = config.check().unwrap_err().to_string();
        assert!(err.contains("qemu-system-nonexistent"), "{err}");
        let mut config = self::config();
        config.set_arch(Arch::Aarch64);
        config.binary = "/nonexistent/qemu-system-aarch64".into();
        let err = config.check().unwrap_err().to_string();
        assert!(err.contains("/nonexistent/qemu-system-aarch64"), "{err}");
    }
}
