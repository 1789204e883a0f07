//! vncpilot drives an operating-system installer over VNC the way a person would and tells
//! whether the install worked.
//!
//! The modules follow the data flow: [`rfb`] speaks the VNC protocol and keeps the framebuffer,
//! [`screen`] matches reference screens against it, [`pointer`] moves the guest's mouse,
//! [`guest`] starts and talks to QEMU, [`script`] runs the Rhai install macros, [`record`] keeps
//! video and forensics, and [`report`] writes results.

pub mod guest;
pub mod pointer;
pub mod record;
pub mod report;
pub mod rfb;
pub mod screen;
pub mod script;
pub mod site;
