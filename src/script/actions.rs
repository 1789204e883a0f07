//! The macro functions that act at once: `key`, `type`, `type_secret`, `screenshot`,
//! `snapshot` / `revert`, `var`, `random_id`.

use std::time::Instant;

use super::context::RunContext;
use super::convert::{RhaiResult, error};
use crate::report::EventKind;

impl RunContext {
    pub(crate) fn key(&self, combo: &str) -> RhaiResult<()> {
        self.check_cancel()?;
        let step = self.next_step();
        self.display
            .key(combo)
            .map_err(|e| error(format!("display: {e}")))?;
        self.emit(EventKind::Key {
            step,
            key: combo.to_string(),
        });
        Ok(())
    }

    pub(crate) fn type_text(&self, text: &str, secret: bool) -> RhaiResult<()> {
        self.check_cancel()?;
        let step = self.next_step();
        if secret {
            // Registered before anything can show it.
            self.observer.secret(text);
        }
        let start = Instant::now();
        self.display
            .type_text(text)
            .map_err(|e| error(format!("display: {e}")))?;
        let shown = if secret {
            "<secret>".to_string()
        } else {
            text.to_string()
        };
        let duration_s = start.elapsed().as_secs_f64();
        self.emit(if secret {
            EventKind::TypeSecret {
                step,
                text: shown,
                duration_s,
            }
        } else {
            EventKind::Type {
                step,
                text: shown,
                duration_s,
            }
        });
        Ok(())
    }

    pub(crate) fn screenshot(&self, label: &str) -> RhaiResult<String> {
        let step = self.next_step();
        let frame = self
            .display
            .latest()
            .map_err(|e| error(format!("display: {e}")))?;
        let clean: String = label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .take(64)
            .collect();
        let rel = self.save_screenshot(&clean, &frame.image).map_err(error)?;
        self.emit(EventKind::Screenshot {
            step,
            label: label.to_string(),
            file: rel.clone(),
        });
        Ok(rel)
    }

    /// Writes `image` as `screenshots/NNN-<label>.png` in the results; returns that relative
    /// path. `label` must already be safe as a file name.
    pub(crate) fn save_screenshot(
        &self,
        label: &str,
        image: &image::RgbImage,
    ) -> Result<String, String> {
        std::fs::create_dir_all(&self.screenshots)
            .map_err(|e| format!("{}: {e}", self.screenshots.display()))?;
        let path = self
            .screenshots
            .join(format!("{:03}-{label}.png", self.next_shot()));
        image
            .save(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(format!(
            "screenshots/{}",
            path.file_name().unwrap_or_default().to_string_lossy()
        ))
    }

    pub(crate) fn snapshot(&self, name: &str, revert: bool) -> RhaiResult<()> {
        self.check_cancel()?;
        let step = self.next_step();
        let action = if revert { "revert" } else { "snapshot" };
        let qmp = self.qmp.as_ref().ok_or_else(|| {
            error(format!(
                "{action}: this run has no QEMU monitor (attached with --vnc)"
            ))
        })?;
        let start = Instant::now();
        let done = if revert {
            self.handle.block_on(qmp.loadvm(name))
        } else {
            self.handle.block_on(qmp.savevm(name))
        };
        done.map_err(|e| error(format!("{action}({name:?}): {e}")))?;
        let (name, duration_s) = (name.to_string(), start.elapsed().as_secs_f64());
        self.emit(if revert {
            EventKind::Revert {
                step,
                name,
                duration_s,
            }
        } else {
            EventKind::Snapshot {
                step,
                name,
                duration_s,
            }
        });
        Ok(())
    }

    pub(crate) fn var(&self, name: &str) -> RhaiResult<String> {
        self.variables.get(name).cloned().ok_or_else(|| {
            let known: Vec<&str> = self.variables.keys().map(String::as_str).collect();
            error(format!(
                "var({name:?}): no such variable (the harness declares: {})",
                if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                }
            ))
        })
    }
}

/// 16 random hex digits (from the OS-seeded hasher keys), for markers that a stale log or an
/// earlier run can never contain.
pub fn random_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    format!("{:016x}", h.finish())
}
