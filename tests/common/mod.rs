//! Shared helpers for the integration tests. Each concern lives in its own file beside this one.
#![allow(dead_code)]

pub mod devtools;
pub mod nightly;
pub mod qemu;
pub mod report_page;
pub mod run;
pub mod xvnc;

use std::fs::File;

/// Tests that boot a guest (QEMU) hold this machine-wide lock for their whole life, so that at
/// most one guest runs at a time on a 2-core machine, across test binaries and processes.
pub struct GuestLock(File);

pub fn guest_lock() -> GuestLock {
    let file = File::create(std::env::temp_dir().join("vncpilot-guest-tests.lock"))
        .expect("create the guest test lock file");
    file.lock().expect("take the guest test lock");
    GuestLock(file)
}
