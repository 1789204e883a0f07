//! Before a cell runs: load its harness with the variant's variables and guest overrides and
//! check that the host has what the guest needs. A cell whose emulator, firmware or boot media
//! are not installed is a `skip` naming the package; one whose harness does not load is an
//! `error` — neither silently disappears.

use super::Cell;
use crate::guest::GuestError;
use crate::script::Harness;

/// The verdict of the checks.
pub enum Preflight {
    Ready(Box<Harness>),
    Skip(String),
    Error(String),
}

pub fn check(cell: &Cell) -> Preflight {
    let mut harness = match Harness::load(&cell.harness_dir, &cell.variables) {
        Ok(h) => h,
        Err(e) => return Preflight::Error(e.to_string()),
    };
    if cell.vnc.is_some() {
        if !cell.guest.is_empty() {
            return Preflight::Error(format!(
                "{}: a variant that attaches with vnc cannot also change the guest",
                cell.name()
            ));
        }
        return Preflight::Ready(Box::new(harness));
    }
    let Some(guest) = harness.guest.as_mut() else {
        return Preflight::Error(format!(
            "{} has no [guest] section and the variant gives no vnc address to attach to",
            harness.dir.display()
        ));
    };
    cell.guest.apply(guest);
    if guest.memory_mib < 16 || guest.cpus == 0 {
        return Preflight::Error(format!(
            "guest memory_mib = {} and cpus = {}: expected at least 16 MiB and 1 CPU",
            guest.memory_mib, guest.cpus
        ));
    }
    match guest.check() {
        Ok(()) => Preflight::Ready(Box::new(harness)),
        Err(
            e @ (GuestError::MissingMedia { .. }
            | GuestError::MissingBinary { .. }
            | GuestError::MissingFirmware { .. }),
        ) => Preflight::Skip(e.to_string()),
        Err(e) => Preflight::Error(e.to_string()),
    }
}
