//! Install macros: the harness format ([`Harness`]), the Rhai API the macros call
//! ([`api`], [`mouse`]), and the engine that runs them ([`run_macro`]) against a guest
//! [`Display`] (VNC or QEMU's monitor), reporting every step to a
//! [`crate::report::RunObserver`].

pub mod api;
pub mod context;
pub mod display;
pub mod engine;
pub mod error;
pub mod harness;
pub mod mouse;
pub mod qmp_display;
pub mod qmp_keys;
pub mod vnc_display;

pub use context::{RunContext, RunContextBuilder, Stop};
pub use display::{Display, FrameSource};
pub use engine::{Outcome, run_macro};
pub use error::ScriptError;
pub use harness::{Harness, Timeouts, parse_override};
pub use qmp_display::QmpDisplay;
pub use vnc_display::VncDisplay;
