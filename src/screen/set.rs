//! A named set of references, e.g. `screens/debian-12/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::ScreenError;
use super::reference::Reference;

/// Every reference of one set, by name.
#[derive(Clone, Debug, Default)]
pub struct ScreenSet {
    dir: PathBuf,
    refs: BTreeMap<String, Arc<Reference>>,
}

impl ScreenSet {
    /// Loads `<screens_root>/<set>/`: every `.png`/`.ppm` screen and every `.json` needle (a
    /// needle's own `.png` is part of the needle, not a screen). `screens_root` is the
    /// `screens` directory; a project root holding `screens/` works too.
    pub fn load(screens_root: &Path, set: &str) -> Result<ScreenSet, ScreenError> {
        ScreenSet::load_dir(&ScreenSet::dir_of(screens_root, set))
    }

    /// The folder [`ScreenSet::load`] reads for `set` under `screens_root`.
    pub fn dir_of(screens_root: &Path, set: &str) -> PathBuf {
        let dir = screens_root.join(set);
        if !dir.is_dir() && screens_root.join("screens").join(set).is_dir() {
            return screens_root.join("screens").join(set);
        }
        dir
    }

    /// Loads the set in the folder `dir` itself (e.g. `screens/debian-12`).
    pub fn load_dir(dir: &Path) -> Result<ScreenSet, ScreenError> {
        let dir = dir.to_path_buf();
        let entries = std::fs::read_dir(&dir).map_err(|e| ScreenError::io(&dir, e))?;
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| ScreenError::io(&dir, e))?;
            files.push(entry.path());
        }
        files.sort();
        let mut refs = BTreeMap::new();
        for path in &files {
            let ext = path
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("")
                .to_ascii_lowercase();
            let is_needle_png = ext == "png" && path.with_extension("json").exists();
            if !matches!(ext.as_str(), "png" | "ppm" | "json") || is_needle_png {
                continue;
            }
            let r = Reference::load(path)?;
            refs.insert(r.name().to_string(), Arc::new(r));
        }
        Ok(ScreenSet { dir, refs })
    }

    /// The directory the set was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Reference>> {
        self.refs.get(name)
    }

    /// Like [`ScreenSet::get`], with an error naming the set's directory.
    pub fn require(&self, name: &str) -> Result<&Arc<Reference>, ScreenError> {
        self.get(name).ok_or_else(|| ScreenError::NotFound {
            path: self.dir.clone(),
            name: name.into(),
        })
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.refs.keys().map(String::as_str)
    }

    pub fn references(&self) -> Vec<Arc<Reference>> {
        self.refs.values().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.refs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.refs.is_empty()
    }
}
