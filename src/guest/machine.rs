//! The machine a guest runs on: its architecture (which QEMU binary and board), its firmware
//! (legacy BIOS or UEFI from Debian's OVMF/AAVMF packages) and its display device.
//!
//! Why a file of its own: a nightly matrix runs the same installer on several of these, so they
//! are values a harness or a matrix variant names (`arch = "aarch64"`, `firmware = "uefi"`,
//! `display = "virtio"`), each of which knows its QEMU arguments and which Debian package
//! provides what it needs on the host — a missing piece is a clear skip, not a QEMU error.

use std::path::{Path, PathBuf};

use super::GuestError;

/// The guest's CPU architecture.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    #[default]
    X86_64,
    /// 64-bit ARM on QEMU's `virt` board with `-cpu max` (under TCG on an x86 host).
    Aarch64,
}

impl Arch {
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }

    /// The emulator binary for this architecture.
    pub fn default_binary(self) -> &'static str {
        match self {
            Arch::X86_64 => "qemu-system-x86_64",
            Arch::Aarch64 => "qemu-system-aarch64",
        }
    }

    /// The Debian package that provides [`Arch::default_binary`].
    pub fn binary_package(self) -> &'static str {
        match self {
            Arch::X86_64 => "qemu-system-x86",
            Arch::Aarch64 => "qemu-system-arm",
        }
    }

    /// The board and devices this architecture needs besides what every guest gets: `virt` has
    /// no keyboard of its own, so a USB one (VNC key events reach the guest through it).
    pub fn machine_args(self) -> &'static [&'static str] {
        match self {
            Arch::X86_64 => &[],
            Arch::Aarch64 => &[
                "-machine",
                "virt",
                "-cpu",
                "max",
                "-device",
                "qemu-xhci",
                "-device",
                "usb-kbd",
            ],
        }
    }
}

/// What the guest boots with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Firmware {
    /// QEMU's default: SeaBIOS on x86_64. (aarch64 has no BIOS: it must be `uefi`.)
    #[default]
    Bios,
    /// EDK2: OVMF (package `ovmf`) on x86_64, AAVMF (package `qemu-efi-aarch64`) on aarch64, as
    /// two pflash drives — the read-only code and a per-run copy of the variable store.
    Uefi,
}

impl Firmware {
    pub fn as_str(self) -> &'static str {
        match self {
            Firmware::Bios => "bios",
            Firmware::Uefi => "uefi",
        }
    }
}

/// The UEFI firmware files for one architecture and the package that provides them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UefiFiles {
    pub code: PathBuf,
    /// The variable store template; every run boots from its own copy.
    pub vars_template: PathBuf,
    pub package: &'static str,
}

impl UefiFiles {
    /// Debian 12's firmware paths for `arch`.
    pub fn for_arch(arch: Arch) -> UefiFiles {
        match arch {
            Arch::X86_64 => UefiFiles {
                code: "/usr/share/OVMF/OVMF_CODE_4M.fd".into(),
                vars_template: "/usr/share/OVMF/OVMF_VARS_4M.fd".into(),
                package: "ovmf",
            },
            Arch::Aarch64 => UefiFiles {
                code: "/usr/share/AAVMF/AAVMF_CODE.fd".into(),
                vars_template: "/usr/share/AAVMF/AAVMF_VARS.fd".into(),
                package: "qemu-efi-aarch64",
            },
        }
    }

    /// Both files exist, or the error names the missing one and its package.
    pub fn check(&self) -> Result<(), GuestError> {
        for path in [&self.code, &self.vars_template] {
            if !path.is_file() {
                return Err(GuestError::MissingFirmware {
                    path: path.clone(),
                    package: self.package,
                });
            }
        }
        Ok(())
    }

    /// The two pflash drives, the variable store being the per-run copy at `vars`.
    pub fn args(&self, vars: &Path) -> Vec<String> {
        vec![
            "-drive".into(),
            format!(
                "if=pflash,format=raw,unit=0,readonly=on,file={}",
                self.code.display()
            ),
            "-drive".into(),
            format!("if=pflash,format=raw,unit=1,file={}", vars.display()),
        ]
    }
}

/// The guest's display adapter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DisplayDevice {
    /// Bochs VBE (`-vga std`), QEMU's x86 default.
    Std,
    /// `-vga virtio` on x86_64; on aarch64 the same as `virtio-gpu`.
    Virtio,
    /// Cirrus Logic GD5446 (`-vga cirrus`), x86_64 only.
    Cirrus,
    /// A plain framebuffer in guest RAM set up by the firmware (`-device ramfb`).
    Ramfb,
    /// `-device virtio-gpu-pci`: aarch64's default.
    VirtioGpu,
}

impl DisplayDevice {
    pub fn as_str(self) -> &'static str {
        match self {
            DisplayDevice::Std => "std",
            DisplayDevice::Virtio => "virtio",
            DisplayDevice::Cirrus => "cirrus",
            DisplayDevice::Ramfb => "ramfb",
            DisplayDevice::VirtioGpu => "virtio-gpu",
        }
    }

    /// The display each architecture gets when the harness names none.
    pub fn default_for(arch: Arch) -> DisplayDevice {
        match arch {
            Arch::X86_64 => DisplayDevice::Std,
            Arch::Aarch64 => DisplayDevice::VirtioGpu,
        }
    }

    /// QEMU's arguments for this display on `arch`, or why the pair does not exist.
    pub fn args(self, arch: Arch) -> Result<Vec<String>, String> {
        let a: &[&str] = match (arch, self) {
            (Arch::X86_64, DisplayDevice::Std) => &["-vga", "std"],
            (Arch::X86_64, DisplayDevice::Virtio) => &["-vga", "virtio"],
            (Arch::X86_64, DisplayDevice::Cirrus) => &["-vga", "cirrus"],
            (Arch::X86_64, DisplayDevice::Ramfb) => &["-vga", "none", "-device", "ramfb"],
            (Arch::X86_64, DisplayDevice::VirtioGpu) => {
                &["-vga", "none", "-device", "virtio-gpu-pci"]
            }
            (Arch::Aarch64, DisplayDevice::Virtio | DisplayDevice::VirtioGpu) => {
                &["-device", "virtio-gpu-pci"]
            }
            (Arch::Aarch64, DisplayDevice::Ramfb) => &["-device", "ramfb"],
            (Arch::Aarch64, DisplayDevice::Std | DisplayDevice::Cirrus) => {
                return Err(format!(
                    "display = {:?} does not exist on aarch64 (expected virtio-gpu, virtio or ramfb)",
                    self.as_str()
                ));
            }
        };
        Ok(a.iter().map(|s| s.to_string()).collect())
    }
}

/// Whether `program` can be run: a path that exists, or a name found on `$PATH`.
pub fn binary_exists(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).is_file();
    }
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_map_to_qemu_arguments_per_architecture() {
        assert_eq!(
            DisplayDevice::Virtio.args(Arch::X86_64).unwrap(),
            ["-vga", "virtio"]
        );
        assert_eq!(
            DisplayDevice::Virtio.args(Arch::Aarch64).unwrap(),
            ["-device", "virtio-gpu-pci"]
        );
        let err = DisplayDevice::Cirrus.args(Arch::Aarch64).unwrap_err();
        assert!(err.contains("cirrus") && err.contains("aarch64"), "{err}");
    }

    #[test]
    fn missing_firmware_names_its_package() {
        let files = UefiFiles {
            code: "/nonexistent/CODE.fd".into(),
            vars_template: "/nonexistent/VARS.fd".into(),
            package: "ovmf",
        };
        let err = files.check().unwrap_err().to_string();
        assert!(
            err.contains("/nonexistent/CODE.fd") && err.contains("ovmf"),
            "{err}"
        );
    }

    #[test]
    fn binaries_are_looked_up_on_the_path() {
        assert!(binary_exists("sh"));
        assert!(!binary_exists("qemu-system-nonexistent-arch"));
    }
}
