//! Install macros: the harness format ([`Harness`]), the Rhai API the macros call (bound by
//! [`register`]: the waits in [`waits`], the immediate steps in [`actions`], the mouse in
//! [`mouse`]; arguments converted by [`convert`]), and the engine that runs them
//! ([`run_macro`]) against a guest [`crate::display::Display`] (VNC or QEMU's monitor),
//! reporting every step to a [`crate::report::RunObserver`].

pub mod actions;
pub mod context;
pub mod convert;
pub mod engine;
pub mod error;
pub mod harness;
pub mod mouse;
pub mod pause;
pub mod register;
pub mod stall;
pub mod still;
pub mod waits;

pub use context::{RunContext, RunContextBuilder, Stop};
pub use engine::{Outcome, run_macro};
pub use error::ScriptError;
pub use harness::{Harness, MAX_TIME_SCALE, Timeouts, check_time_scale, parse_override};
pub use pause::{PausePoint, PausePolicy, Paused, Pauser, Resume};
pub use stall::WaitOptions;
