//! One cell of the matrix: a harness run with one variant's variables and guest overrides.
//! Its name `<harness>/<variant>` is what `--only` globs match, what `--shard` hashes, and the
//! path of its results under the night's folder.

use std::path::{Path, PathBuf};

use crate::guest::GuestOverrides;
use crate::rfb::Addr;

/// A harness × variant pair, as the matrix file describes it.
#[derive(Clone, Debug)]
pub struct Cell {
    /// The harness's name (its folder name).
    pub harness: String,
    pub variant: String,
    /// The harness folder (holding harness.toml).
    pub harness_dir: PathBuf,
    pub description: String,
    /// `--var`-style overrides of the harness's variables.
    pub variables: Vec<(String, String)>,
    pub guest: GuestOverrides,
    /// Attach to this VNC server instead of launching the harness's guest.
    pub vnc: Option<Addr>,
    /// Multiply every timeout of its runs by this instead of the harness's time scale.
    pub time_scale: Option<f64>,
    /// The line of the matrix file that defines the variant, for messages.
    pub line: usize,
}

impl Cell {
    /// `<harness>/<variant>`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.harness, self.variant)
    }

    /// `ROOT/<night>/<harness>/<variant>`: the cell's folder.
    pub fn dir(&self, root: &Path, night: &str) -> PathBuf {
        root.join(night).join(&self.harness).join(&self.variant)
    }
}
