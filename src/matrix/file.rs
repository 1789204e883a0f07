//! The matrix file (TOML): which harnesses, and for each its variants — variable overrides,
//! guest overrides (firmware, arch, display, memory, CPUs, extra QEMU arguments) or a VNC server
//! to attach to. Unknown keys and bad values are errors naming the file and line.
//!
//! ```toml
//! description = "what this matrix covers"
//!
//! [harness.debian-12]
//! path = "../harnesses/debian-12"          # relative to this file
//!
//! [harness.debian-12.variant.uefi-virtio]
//! description = "UEFI (OVMF), -vga virtio"
//! guest = { firmware = "uefi", display = "virtio" }
//! variables = { marker = "uefi-virtio" }
//! ```
//!
//! A harness without variants is one cell, `<harness>/default`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::{Cell, MatrixError, line_of};
use crate::guest::GuestOverrides;
use crate::rfb::Addr;

/// A loaded matrix file: every cell, sorted by name.
#[derive(Clone, Debug)]
pub struct Matrix {
    /// The file as given (recorded in every cell.json).
    pub path: PathBuf,
    pub description: String,
    pub cells: Vec<Cell>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileMatrix {
    #[serde(default)]
    description: String,
    #[serde(default)]
    harness: BTreeMap<String, Spanned<FileHarness>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileHarness {
    path: PathBuf,
    #[serde(default)]
    variant: BTreeMap<String, Spanned<FileVariant>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileVariant {
    #[serde(default)]
    description: String,
    #[serde(default)]
    variables: BTreeMap<String, String>,
    #[serde(default)]
    guest: GuestOverrides,
    /// host:display, host::port or unix:/path.
    vnc: Option<String>,
    /// Multiplies every timeout of the cell's runs (like `vncpilot run --time-scale`).
    time_scale: Option<f64>,
}

/// Harness and variant names become folder names.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

impl Matrix {
    pub fn load(path: &Path) -> Result<Matrix, MatrixError> {
        let text = std::fs::read_to_string(path).map_err(|source| MatrixError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Matrix::parse(&text, path)
    }

    /// Parses matrix text; `path` names it in messages and anchors relative harness paths.
    pub fn parse(text: &str, path: &Path) -> Result<Matrix, MatrixError> {
        let parsed: FileMatrix =
            toml::from_str(text).map_err(|e| MatrixError::from_toml(path, text, &e))?;
        let invalid = |offset: usize, message: String| MatrixError::Invalid {
            path: path.to_path_buf(),
            line: Some(line_of(text, offset)),
            message,
        };
        let base = path.parent().unwrap_or(Path::new("."));
        let mut cells = Vec::new();
        for (harness, entry) in parsed.harness {
            let offset = entry.span().start;
            let entry = entry.into_inner();
            if !valid_name(&harness) {
                return Err(invalid(
                    offset,
                    format!("harness name {harness:?} must be letters, digits, '-', '_' or '.'"),
                ));
            }
            let harness_dir = if entry.path.is_absolute() {
                entry.path.clone()
            } else {
                base.join(&entry.path)
            };
            let mut variants = entry.variant;
            if variants.is_empty() {
                variants.insert(
                    "default".into(),
                    Spanned::new(offset..offset, FileVariant::default()),
                );
            }
            for (variant, v) in variants {
                let offset = v.span().start;
                let v = v.into_inner();
                if !valid_name(&variant) {
                    return Err(invalid(
                        offset,
                        format!(
                            "variant name {variant:?} must be letters, digits, '-', '_' or '.'"
                        ),
                    ));
                }
                let vnc = match &v.vnc {
                    Some(a) => Some(a.parse::<Addr>().map_err(|e| {
                        invalid(offset, format!("{harness}/{variant}: vnc = {a:?}: {e}"))
                    })?),
                    None => None,
                };
                if let Some(scale) = v.time_scale {
                    crate::script::check_time_scale(scale)
                        .map_err(|e| invalid(offset, format!("{harness}/{variant}: {e}")))?;
                }
                cells.push(Cell {
                    harness: harness.clone(),
                    variant,
                    harness_dir: harness_dir.clone(),
                    description: v.description,
                    variables: v.variables.into_iter().collect(),
                    guest: v.guest,
                    vnc,
                    time_scale: v.time_scale,
                    line: line_of(text, offset),
                });
            }
        }
        cells.sort_by_key(Cell::name);
        Ok(Matrix {
            path: path.to_path_buf(),
            description: parsed.description,
            cells,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guest::{DisplayDevice, Firmware};

    const GOOD: &str = r#"description = "test"

[harness.debian-12]
path = "../harnesses/debian-12"

[harness.debian-12.variant.uefi-virtio]
guest = { firmware = "uefi", display = "virtio", memory_mib = 2048, extra_args = ["-no-reboot"] }
variables = { marker = "m" }

[harness.debian-12.variant.bios-std]
guest = { firmware = "bios", display = "std" }

[harness.other]
path = "/abs/other"
"#;

    fn parse(text: &str) -> Result<Matrix, MatrixError> {
        Matrix::parse(text, Path::new("matrix/nightly.toml"))
    }

    #[test]
    fn cells_are_sorted_with_their_overrides() {
        let m = parse(GOOD).unwrap();
        let names: Vec<String> = m.cells.iter().map(Cell::name).collect();
        assert_eq!(
            names,
            [
                "debian-12/bios-std",
                "debian-12/uefi-virtio",
                "other/default"
            ]
        );
        let c = &m.cells[1];
        assert_eq!(c.harness_dir, Path::new("matrix/../harnesses/debian-12"));
        assert_eq!(c.guest.firmware, Some(Firmware::Uefi));
        assert_eq!(c.guest.display, Some(DisplayDevice::Virtio));
        assert_eq!(c.guest.memory_mib, Some(2048));
        assert_eq!(c.variables, [("marker".to_string(), "m".to_string())]);
        assert_eq!(m.cells[2].harness_dir, Path::new("/abs/other"));
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_file_and_line() {
        let typo = GOOD.replace("firmware = \"bios\"", "firmwre = \"bios\"");
        let err = parse(&typo).unwrap_err().to_string();
        assert!(
            err.starts_with("matrix/nightly.toml:11:") && err.contains("firmwre"),
            "{err}"
        );
        let typo = GOOD.replace("variables = {", "variabls = {");
        let err = parse(&typo).unwrap_err().to_string();
        assert!(
            err.starts_with("matrix/nightly.toml:8:") && err.contains("variabls"),
            "{err}"
        );
        let bad = GOOD.replace("display = \"std\"", "display = \"vga\"");
        let err = parse(&bad).unwrap_err().to_string();
        assert!(
            err.starts_with("matrix/nightly.toml:11:") && err.contains("vga"),
            "{err}"
        );
        let bad = GOOD.replace("variant.bios-std", "variant.\"bios std\"");
        let err = parse(&bad).unwrap_err().to_string();
        assert!(
            err.starts_with("matrix/nightly.toml:") && err.contains("bios std"),
            "{err}"
        );
    }

    #[test]
    fn a_variant_may_scale_its_timeouts() {
        let text = GOOD.replace(
            "guest = { firmware = \"bios\", display = \"std\" }",
            "guest = { firmware = \"bios\", display = \"std\" }\ntime_scale = 2.5",
        );
        let m = parse(&text).unwrap();
        assert_eq!(m.cells[0].time_scale, Some(2.5));
        assert_eq!(m.cells[1].time_scale, None);
        let err = parse(&text.replace("2.5", "0")).unwrap_err().to_string();
        assert!(
            err.contains("debian-12/bios-std") && err.contains("time scale 0"),
            "{err}"
        );
    }
}
