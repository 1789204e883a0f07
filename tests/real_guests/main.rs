//! Tests that boot a real QEMU guest; each holds the machine-wide guest lock
//! (common::guest_lock) for its whole life, so at most one guest runs at a time.
//!
//! One test binary per kind of part, so the suite links a few binaries instead of one per
//! file; each file below is a module, sharing tests/common.

#[path = "../common/mod.rs"]
mod common;

mod guest_qemu;
mod matrix_interrupt;
mod pointer_guest;
mod record_qemu_run;
mod rfb_qemu;
mod run_concurrent;
mod run_debian;
mod run_debian_gtk;
mod run_faults;
mod run_interrupt;
