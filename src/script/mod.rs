//! Install macros: the harness format ([`Harness`]), the Rhai API the macros call
//! ([`api`], [`mouse`]), and the engine that runs them ([`run_macro`]) against a guest
//! [`crate::display::Display`] (VNC or QEMU's monitor), reporting every step to a
//! [`crate::report::RunObserver`].

pub mod api;
pub mod context;
pub mod engine;
pub mod error;
pub mod harness;
pub mod mouse;

pub use context::{RunContext, Stop};
pub use engine::{Outcome, run_macro};
pub use error::ScriptError;
pub use harness::{Harness, Timeouts, parse_override};
