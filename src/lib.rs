//! vncpilot drives an operating-system installer over VNC the way a person would and tells
//! whether the install worked.
//!
//! The modules follow the data flow: [`rfb`] speaks the VNC protocol and keeps the framebuffer,
//! [`display`] is the guest's screen, keyboard and mouse over VNC or QEMU's monitor,
//! [`screen`] matches reference screens against it, [`pointer`] moves the guest's mouse,
//! [`guest`] starts and talks to QEMU, [`script`] runs the Rhai install macros, [`run`] owns
//! the life of one run (guest, macro, watchdog, evidence), [`record`] keeps the video,
//! [`report`] writes results (result.json, events, forensics, report.html); [`refs`] keeps
//! the references up to date from those results.

pub mod author;
pub mod display;
pub mod guest;
pub mod matrix;
pub mod pointer;
pub mod record;
pub mod refs;
pub mod report;
pub mod rfb;
pub mod run;
pub mod screen;
pub mod script;
pub mod site;

/// docs/library.md, compiled as a doc test so its examples stay true to the code.
#[cfg(doctest)]
#[doc = include_str!("../docs/library.md")]
pub struct LibraryDocs;
