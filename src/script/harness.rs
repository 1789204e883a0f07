//! The harness format: `harnesses/<name>/harness.toml` (the guest, its variables, timeouts and
//! the screen set) beside `install.rhai` (the macro).
//!
//! Unknown keys are errors (`deny_unknown_fields`), because a misspelt `memroy_mib` silently
//! ignored costs a whole slow run to notice. Relative paths are relative to the harness folder.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::ScriptError;
use crate::guest::{Accel, Arch, BootMedia, DiskSpec, DisplayDevice, Firmware, QemuConfig};

/// A parsed harness, with variable overrides applied.
#[derive(Clone, Debug)]
pub struct Harness {
    pub name: String,
    pub description: String,
    /// The harness folder.
    pub dir: PathBuf,
    /// The `install.rhai` (or `macro = ...`) file.
    pub macro_path: PathBuf,
    /// The `screens` folder holding the set (default: `screens` at the project root, two levels
    /// above the harness folder).
    pub screens_root: PathBuf,
    /// The screen set's name (`screens/<set>/`).
    pub screen_set: String,
    /// How to launch the guest; absent for harnesses only ever run with `--vnc`.
    pub guest: Option<QemuConfig>,
    pub timeouts: Timeouts,
    /// Variables for `var(name)`, defaults overridden by `--var`.
    pub variables: BTreeMap<String, String>,
    /// Names of variables whose values never reach logs or results.
    pub secrets: BTreeSet<String>,
}

/// Bounds on a run.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// The whole run, from QEMU's start to the macro's end.
    pub run: Duration,
    /// Waiting for QEMU's sockets and the VNC connection.
    pub start: Duration,
    /// Rhai operations (a runaway loop without host calls ends here).
    pub max_operations: u64,
    /// A screen wait whose screen does not change at all for this long ends early, failed
    /// ("screen unchanged for N s"); `None` (`stall_s = 0`) turns stall detection off.
    pub stall: Option<Duration>,
    /// Every timeout (the run's, the start's, each wait's, the stall time) is multiplied by
    /// this (`--time-scale` overrides it): > 1 for a slow or loaded host.
    pub time_scale: f64,
}

impl Timeouts {
    /// The run's and the start's limits multiplied by `scale` (the waits scale their own).
    pub fn scaled(&self, scale: f64) -> Timeouts {
        Timeouts {
            run: self.run.mul_f64(scale),
            start: self.start.mul_f64(scale),
            time_scale: scale,
            ..*self
        }
    }
}

/// The largest time scale accepted: beyond it a typo, not a slow host.
pub const MAX_TIME_SCALE: f64 = 100.0;

/// Checks a time scale (harness.toml's `time_scale`, `--time-scale`): a number in (0, 100].
pub fn check_time_scale(scale: f64) -> Result<f64, String> {
    if scale.is_finite() && scale > 0.0 && scale <= MAX_TIME_SCALE {
        Ok(scale)
    } else {
        Err(format!(
            "time scale {scale}: expected a number above 0 and at most {MAX_TIME_SCALE}"
        ))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileHarness {
    name: Option<String>,
    #[serde(default)]
    description: String,
    screens: String,
    screens_root: Option<PathBuf>,
    #[serde(rename = "macro")]
    macro_file: Option<PathBuf>,
    guest: Option<FileGuest>,
    #[serde(default)]
    timeouts: FileTimeouts,
    #[serde(default)]
    variables: BTreeMap<String, String>,
    #[serde(default)]
    secrets: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileGuest {
    /// Defaults to the architecture's emulator.
    binary: Option<String>,
    #[serde(default)]
    arch: Arch,
    #[serde(default)]
    firmware: Firmware,
    display: Option<DisplayDevice>,
    #[serde(default = "default_memory")]
    memory_mib: u32,
    #[serde(default = "default_cpus")]
    cpus: u32,
    #[serde(default = "default_accel")]
    accel: Accel,
    #[serde(default)]
    network: bool,
    #[serde(default)]
    disks: Vec<FileDisk>,
    boot: FileBoot,
    #[serde(default)]
    extra_args: Vec<String>,
    /// Which package or download provides the boot media, for the error when they are missing.
    media_provided_by: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDisk {
    size: String,
    #[serde(default = "default_interface")]
    interface: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileBoot {
    kernel: Option<PathBuf>,
    initrd: Option<PathBuf>,
    #[serde(default)]
    cmdline: String,
    iso: Option<PathBuf>,
    #[serde(default)]
    disk: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTimeouts {
    #[serde(default = "default_run_s")]
    run_s: f64,
    #[serde(default = "default_start_s")]
    start_s: f64,
    #[serde(default = "default_max_operations")]
    max_operations: u64,
    #[serde(default = "default_stall_s")]
    stall_s: f64,
    #[serde(default = "default_time_scale")]
    time_scale: f64,
}

impl Default for FileTimeouts {
    fn default() -> Self {
        FileTimeouts {
            run_s: default_run_s(),
            start_s: default_start_s(),
            max_operations: default_max_operations(),
            stall_s: default_stall_s(),
            time_scale: default_time_scale(),
        }
    }
}

fn default_memory() -> u32 {
    1024
}
fn default_cpus() -> u32 {
    1
}
fn default_accel() -> Accel {
    Accel::Tcg
}
fn default_interface() -> String {
    "virtio".into()
}
fn default_run_s() -> f64 {
    1800.0
}
fn default_start_s() -> f64 {
    30.0
}
fn default_max_operations() -> u64 {
    10_000_000
}
/// Five minutes of a frozen screen: longer than any still stretch of the shipped installers
/// while a screen is awaited (a long package unpacks with a moving progress bar).
fn default_stall_s() -> f64 {
    300.0
}
fn default_time_scale() -> f64 {
    1.0
}

impl Harness {
    /// Loads `dir/harness.toml` (or a harness.toml path directly) and applies `overrides`
    /// (`name=value`, from `--var`); overriding an undeclared variable is an error, as it is
    /// almost always a typo.
    pub fn load(path: &Path, overrides: &[(String, String)]) -> Result<Harness, ScriptError> {
        let (dir, file) = if path.is_dir() {
            (path.to_path_buf(), path.join("harness.toml"))
        } else {
            (
                path.parent().unwrap_or(Path::new(".")).to_path_buf(),
                path.to_path_buf(),
            )
        };
        let text = std::fs::read_to_string(&file).map_err(|source| ScriptError::HarnessRead {
            path: file.clone(),
            source,
        })?;
        Harness::parse(&text, &file, &dir, overrides)
    }

    /// Parses harness.toml text; `file` is only for messages, `dir` anchors relative paths.
    pub fn parse(
        text: &str,
        file: &Path,
        dir: &Path,
        overrides: &[(String, String)],
    ) -> Result<Harness, ScriptError> {
        let invalid = |message: String| ScriptError::HarnessInvalid {
            path: file.to_path_buf(),
            message,
        };
        let parsed: FileHarness = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let anchor = |p: &Path| {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                dir.join(p)
            }
        };
        let name = match parsed.name {
            Some(n) => n,
            None => dir
                .canonicalize()
                .ok()
                .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "harness".into()),
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(invalid(format!(
                "name {name:?} must be letters, digits, '-', '_' or '.'"
            )));
        }
        let t = parsed.timeouts;
        let guest = match parsed.guest {
            Some(g) => Some(guest_config(g, &t, &anchor).map_err(invalid)?),
            None => None,
        };
        for (key, value) in [("run_s", t.run_s), ("start_s", t.start_s)] {
            if !(value.is_finite() && value > 0.0) {
                return Err(invalid(format!(
                    "[timeouts] {key} = {value}: expected a positive number of seconds"
                )));
            }
        }
        if !(t.stall_s.is_finite() && t.stall_s >= 0.0) {
            return Err(invalid(format!(
                "[timeouts] stall_s = {}: expected 0 (off) or a positive number of seconds",
                t.stall_s
            )));
        }
        if check_time_scale(t.time_scale).is_err() {
            return Err(invalid(format!(
                "[timeouts] time_scale = {}: expected a number above 0 and at most {MAX_TIME_SCALE}",
                t.time_scale
            )));
        }
        let mut variables = parsed.variables;
        for (key, value) in overrides {
            if !variables.contains_key(key) {
                let known: Vec<&str> = variables.keys().map(String::as_str).collect();
                return Err(invalid(format!(
                    "--var {key}=...: the harness declares no variable {key:?} (it has: {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                )));
            }
            variables.insert(key.clone(), value.clone());
        }
        let secrets: BTreeSet<String> = parsed.secrets.into_iter().collect();
        if let Some(s) = secrets.iter().find(|s| !variables.contains_key(*s)) {
            return Err(invalid(format!(
                "secrets lists {s:?}, which is not in [variables]"
            )));
        }
        Ok(Harness {
            name,
            description: parsed.description,
            macro_path: anchor(
                parsed
                    .macro_file
                    .as_deref()
                    .unwrap_or(Path::new("install.rhai")),
            ),
            screens_root: match parsed.screens_root {
                Some(p) => anchor(&p),
                None => dir.join("../../screens"),
            },
            screen_set: parsed.screens,
            dir: dir.to_path_buf(),
            guest,
            timeouts: Timeouts {
                run: Duration::from_secs_f64(t.run_s),
                start: Duration::from_secs_f64(t.start_s),
                max_operations: t.max_operations,
                stall: (t.stall_s > 0.0).then(|| Duration::from_secs_f64(t.stall_s)),
                time_scale: t.time_scale,
            },
            variables,
            secrets,
        })
    }

    /// The variables with secret values replaced, for results and logs.
    pub fn public_variables(&self) -> BTreeMap<String, String> {
        self.variables
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    if self.secrets.contains(k) {
                        "<secret>".into()
                    } else {
                        v.clone()
                    },
                )
            })
            .collect()
    }
}

fn guest_config(
    g: FileGuest,
    t: &FileTimeouts,
    anchor: &dyn Fn(&Path) -> PathBuf,
) -> Result<QemuConfig, String> {
    let b = g.boot;
    let boot = match (b.kernel, b.iso, b.disk) {
        (Some(kernel), None, false) => BootMedia::Kernel {
            kernel: anchor(&kernel),
            initrd: b.initrd.as_deref().map(anchor),
            cmdline: b.cmdline,
        },
        (None, Some(iso), false) => BootMedia::Iso(anchor(&iso)),
        (None, None, true) => BootMedia::Disk,
        _ => {
            return Err(
                "[guest.boot] needs exactly one of: kernel (+ initrd, cmdline), iso, disk = true"
                    .into(),
            );
        }
    };
    if g.memory_mib < 16 || g.cpus == 0 {
        return Err(format!(
            "[guest] memory_mib = {} and cpus = {}: expected at least 16 MiB and 1 CPU",
            g.memory_mib, g.cpus
        ));
    }
    Ok(QemuConfig {
        binary: g
            .binary
            .unwrap_or_else(|| g.arch.default_binary().to_string()),
        arch: g.arch,
        firmware: g.firmware,
        display: g.display,
        memory_mib: g.memory_mib,
        cpus: g.cpus,
        accel: g.accel,
        disks: g
            .disks
            .into_iter()
            .map(|d| DiskSpec {
                size: d.size,
                interface: d.interface,
            })
            .collect(),
        boot,
        network: g.network,
        extra_args: g.extra_args,
        media_provided_by: g
            .media_provided_by
            .unwrap_or_else(|| "the harness's author".into()),
        start_timeout: Duration::from_secs_f64(t.start_s),
    })
}

/// Parses one `--var name=value`.
pub fn parse_override(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("--var {s:?}: expected name=value")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
description = "test"
screens = "debian-12"
secrets = ["root_password"]
[guest]
memory_mib = 1024
media_provided_by = "the package debian-installer-12-netboot-amd64"
disks = [{ size = "8G" }]
[guest.boot]
kernel = "k/linux"
initrd = "/abs/initrd.gz"
cmdline = "vga=788 --- quiet"
[timeouts]
run_s = 600
[variables]
hostname = "box"
root_password = "hunter2"
"#;

    fn parse(text: &str, overrides: &[(&str, &str)]) -> Result<Harness, ScriptError> {
        let o: Vec<(String, String)> = overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Harness::parse(text, Path::new("h/harness.toml"), Path::new("/h/x"), &o)
    }

    #[test]
    fn parses_paths_defaults_overrides_and_secrets() {
        let h = parse(GOOD, &[("hostname", "box1")]).unwrap();
        assert_eq!(h.variables["hostname"], "box1");
        assert_eq!(h.public_variables()["root_password"], "<secret>");
        assert_eq!(h.macro_path, Path::new("/h/x/install.rhai"));
        assert_eq!(h.timeouts.run, Duration::from_secs(600));
        assert_eq!(h.timeouts.stall, Some(Duration::from_secs(300)));
        assert_eq!(h.timeouts.time_scale, 1.0);
        let guest = h.guest.as_ref().unwrap();
        assert_eq!(guest.cpus, 1);
        assert_eq!(guest.disks[0].interface, "virtio");
        match &guest.boot {
            BootMedia::Kernel {
                kernel,
                initrd,
                cmdline,
            } => {
                assert_eq!(kernel, Path::new("/h/x/k/linux"));
                assert_eq!(initrd.as_deref(), Some(Path::new("/abs/initrd.gz")));
                assert_eq!(cmdline, "vga=788 --- quiet");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_keys_bad_values_and_undeclared_overrides_are_errors() {
        let typo = GOOD.replace("memory_mib", "memroy_mib");
        let err = parse(&typo, &[]).unwrap_err().to_string();
        assert!(
            err.contains("memroy_mib") && err.contains("h/harness.toml"),
            "{err}"
        );
        // The line of the bad key is named (memory_mib is on line 6).
        assert!(err.contains("line 6"), "{err}");
        let bad = GOOD.replace("memory_mib = 1024", "firmware = \"coreboot\"");
        let err = parse(&bad, &[]).unwrap_err().to_string();
        assert!(
            err.contains("coreboot") && err.contains("uefi") && err.contains("line 6"),
            "{err}"
        );
        let err = parse(GOOD, &[("hostnme", "x")]).unwrap_err().to_string();
        assert!(err.contains("hostnme") && err.contains("hostname"), "{err}");
        let err = parse(&GOOD.replace("run_s = 600", "run_s = -1"), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("run_s"), "{err}");
        let both = GOOD.replace("cmdline =", "iso = \"a.iso\"\ncmdline =");
        let err = parse(&both, &[]).unwrap_err().to_string();
        assert!(err.contains("exactly one"), "{err}");
    }

    #[test]
    fn stall_and_time_scale() {
        let text = GOOD.replace("run_s = 600", "run_s = 600\nstall_s = 0\ntime_scale = 2.5");
        let t = parse(&text, &[]).unwrap().timeouts;
        assert_eq!((t.stall, t.time_scale), (None, 2.5));
        let scaled = t.scaled(2.5);
        assert_eq!(scaled.run, Duration::from_secs(1500));
        assert_eq!(scaled.start, Duration::from_secs(75));
        let text = GOOD.replace("run_s = 600", "run_s = 600\nstall_s = 45");
        let t = parse(&text, &[]).unwrap().timeouts;
        assert_eq!(t.stall, Some(Duration::from_secs(45)));
        for bad in [
            "time_scale = 0",
            "time_scale = -1",
            "time_scale = 1000",
            "stall_s = -5",
        ] {
            let text = GOOD.replace("run_s = 600", &format!("run_s = 600\n{bad}"));
            let err = parse(&text, &[]).unwrap_err().to_string();
            assert!(err.contains(bad.split(' ').next().unwrap()), "{bad}: {err}");
        }
        let err = parse(&GOOD.replace("run_s = 600", "run_s = 600\nstall = 5"), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("stall"), "{err}");
    }

    #[test]
    fn guest_arch_firmware_and_display() {
        let text = GOOD.replace(
            "memory_mib = 1024",
            "memory_mib = 1024\narch = \"aarch64\"\nfirmware = \"uefi\"\ndisplay = \"ramfb\"",
        );
        let guest = parse(&text, &[]).unwrap().guest.unwrap();
        assert_eq!(guest.arch, Arch::Aarch64);
        assert_eq!(guest.binary, "qemu-system-aarch64");
        assert_eq!(guest.firmware, Firmware::Uefi);
        assert_eq!(guest.display, Some(DisplayDevice::Ramfb));
        let guest = parse(GOOD, &[]).unwrap().guest.unwrap();
        assert_eq!(
            (guest.arch, guest.firmware, guest.display),
            (Arch::X86_64, Firmware::Bios, None)
        );
        assert_eq!(guest.binary, "qemu-system-x86_64");
    }

    #[test]
    fn missing_media_name_the_package() {
        let h = parse(GOOD, &[]).unwrap();
        let err = h.guest.unwrap().check_media().unwrap_err().to_string();
        assert!(
            err.contains("/h/x/k/linux") && err.contains("debian-installer-12-netboot-amd64"),
            "{err}"
        );
    }

    #[test]
    fn override_syntax() {
        assert_eq!(parse_override("a=b=c").unwrap(), ("a".into(), "b=c".into()));
        assert!(parse_override("novalue").is_err());
    }
}
