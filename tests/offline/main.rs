//! Tests that start no server and no guest: still pictures, simulated guests, files.
//!
//! One test binary per kind of part, so the suite links a few binaries instead of one per
//! file; each file below is a module, sharing tests/common.

#[path = "../common/mod.rs"]
mod common;

mod external_programs;
mod key_table;
mod matrix_cli;
mod nightly_manifests;
mod pointer_convergence;
mod pointer_cursor_ignore;
mod pointer_locate;
mod record_synthetic;
mod screen_check;
mod screen_similarity;
mod status_site;
