//! Guests vncpilot starts itself: QEMU with VNC, QMP and the serial port on private files.
//!
//! [`Qemu`] owns the process (and its process group) and kills it when dropped, so no guest
//! outlives a run, whatever way the run ends. [`Qmp`] is the monitor client used for snapshots,
//! screendumps and register dumps; [`SerialLog`] follows the serial port's log file.

pub mod machine;
pub mod overrides;
pub mod qemu;
pub mod qmp;
pub mod serial;

pub use machine::{Arch, DisplayDevice, Firmware, UefiFiles};
pub use overrides::GuestOverrides;
pub use qemu::{Accel, BootMedia, DiskSpec, Qemu, QemuConfig, describe_exit};
pub use qmp::Qmp;
pub use serial::SerialLog;

use std::path::PathBuf;

/// Everything that can go wrong starting or talking to a guest.
#[derive(Debug, thiserror::Error)]
pub enum GuestError {
    #[error("{what} {path} does not exist; it is provided by {provided_by}")]
    MissingMedia {
        what: &'static str,
        path: PathBuf,
        provided_by: String,
    },
    #[error(
        "the emulator {binary} is not installed; it is provided by the Debian package {package}"
    )]
    MissingBinary { binary: String, package: String },
    #[error("the firmware {path} does not exist; it is provided by the Debian package {package}")]
    MissingFirmware {
        path: PathBuf,
        package: &'static str,
    },
    #[error("unsupported guest: {0}")]
    Unsupported(String),
    #[error("could not run {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("qemu-img could not create {path}: {message}")]
    DiskCreate { path: PathBuf, message: String },
    #[error("QEMU exited before it was ready ({status}); its last output: {stderr}")]
    EarlyExit { status: String, stderr: String },
    /// QEMU exited while the run still needed it (killed, crashed, or the guest powered off).
    #[error("the guest died: QEMU {status}; its last output on stderr: {stderr}")]
    Died { status: String, stderr: String },
    #[error("timed out after {seconds:.0} s waiting for {what}")]
    Timeout { what: String, seconds: f64 },
    #[error("QMP I/O on {path}: {source}")]
    QmpIo {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("QMP protocol error: {0}")]
    QmpProtocol(String),
    #[error("QMP command {command} failed: {message}")]
    QmpCommand { command: String, message: String },
    #[error("serial log {path}: {source}")]
    Serial {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid serial pattern {pattern:?}: {source}")]
    SerialPattern {
        pattern: String,
        source: regex::Error,
    },
    #[error("cancelled")]
    Cancelled,
}
