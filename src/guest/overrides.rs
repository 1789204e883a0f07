//! Changes to a harness's `[guest]` for one run: the architecture, firmware, display device,
//! memory, CPUs and extra QEMU arguments a matrix variant (or `vncpilot run --guest`) sets.
//!
//! One type for both, so a matrix cell and a hand-run `vncpilot run --guest firmware=uefi` start
//! exactly the same QEMU.

use serde::Deserialize;

use super::machine::{Arch, DisplayDevice, Firmware};
use super::qemu::QemuConfig;

/// What a variant changes in the harness's guest; `None` keeps the harness's value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuestOverrides {
    pub arch: Option<Arch>,
    pub firmware: Option<Firmware>,
    pub display: Option<DisplayDevice>,
    pub memory_mib: Option<u32>,
    pub cpus: Option<u32>,
    /// Appended after the harness's own extra arguments.
    #[serde(default)]
    pub extra_args: Vec<String>,
}

impl GuestOverrides {
    pub fn is_empty(&self) -> bool {
        *self == GuestOverrides::default()
    }

    /// Applies the overrides to `config`.
    pub fn apply(&self, config: &mut QemuConfig) {
        if let Some(arch) = self.arch {
            config.set_arch(arch);
        }
        if let Some(firmware) = self.firmware {
            config.firmware = firmware;
        }
        if let Some(display) = self.display {
            config.display = Some(display);
        }
        if let Some(memory) = self.memory_mib {
            config.memory_mib = memory;
        }
        if let Some(cpus) = self.cpus {
            config.cpus = cpus;
        }
        config.extra_args.extend(self.extra_args.iter().cloned());
    }

    /// The overrides as `name=value` assignments for [`GuestOverrides::set`] (the inverse).
    pub fn assignments(&self) -> Vec<String> {
        let mut a = Vec::new();
        if let Some(arch) = self.arch {
            a.push(format!("arch={}", arch.as_str()));
        }
        if let Some(firmware) = self.firmware {
            a.push(format!("firmware={}", firmware.as_str()));
        }
        if let Some(display) = self.display {
            a.push(format!("display={}", display.as_str()));
        }
        if let Some(memory) = self.memory_mib {
            a.push(format!("memory_mib={memory}"));
        }
        if let Some(cpus) = self.cpus {
            a.push(format!("cpus={cpus}"));
        }
        a.extend(self.extra_args.iter().map(|x| format!("extra_arg={x}")));
        a
    }

    /// Sets one override from `name=value` (`vncpilot run --guest firmware=uefi`); `extra_arg`
    /// appends one argument.
    pub fn set(&mut self, assignment: &str) -> Result<(), String> {
        let (name, value) = assignment
            .split_once('=')
            .ok_or_else(|| format!("--guest {assignment:?}: expected name=value"))?;
        // The same spelling as in TOML: parse the value as a TOML string of the right enum.
        fn word<T: for<'de> Deserialize<'de>>(name: &str, value: &str) -> Result<T, String> {
            T::deserialize(toml::de::ValueDeserializer::new(&format!("{value:?}")))
                .map_err(|e| format!("--guest {name}={value}: {}", e.message()))
        }
        fn number(name: &str, value: &str) -> Result<u32, String> {
            value
                .parse()
                .map_err(|_| format!("--guest {name}={value}: expected a whole number"))
        }
        match name {
            "arch" => self.arch = Some(word(name, value)?),
            "firmware" => self.firmware = Some(word(name, value)?),
            "display" => self.display = Some(word(name, value)?),
            "memory_mib" => self.memory_mib = Some(number(name, value)?),
            "cpus" => self.cpus = Some(number(name, value)?),
            "extra_arg" => self.extra_args.push(value.to_string()),
            _ => {
                return Err(format!(
                    "--guest {name}=...: unknown setting (expected arch, firmware, display, \
                     memory_mib, cpus or extra_arg)"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_use_the_toml_spellings() {
        let mut o = GuestOverrides::default();
        o.set("arch=aarch64").unwrap();
        o.set("firmware=uefi").unwrap();
        o.set("display=virtio-gpu").unwrap();
        o.set("memory_mib=2048").unwrap();
        o.set("extra_arg=-no-reboot").unwrap();
        assert_eq!(o.arch, Some(Arch::Aarch64));
        assert_eq!(o.firmware, Some(Firmware::Uefi));
        assert_eq!(o.display, Some(DisplayDevice::VirtioGpu));
        assert_eq!(o.memory_mib, Some(2048));
        assert_eq!(o.extra_args, ["-no-reboot"]);
        let mut again = GuestOverrides::default();
        for a in o.assignments() {
            again.set(&a).unwrap();
        }
        assert_eq!(again, o);
        let err = o.set("firmware=coreboot").unwrap_err();
        assert!(err.contains("coreboot") && err.contains("uefi"), "{err}");
        let err = o.set("vga=std").unwrap_err();
        assert!(err.contains("vga") && err.contains("display"), "{err}");
    }
}
