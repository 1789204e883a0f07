//! The authoring page (`vncpilot author`): a local web server showing the guest's live screen,
//! sending the page's keyboard and mouse to the guest, saving a frozen frame with drawn
//! match/exclude rectangles as a reference, and checking the set's references against the live
//! screen as it changes.
//!
//! Why a module of its own: it is a consumer of the guest seam like a macro is — it takes any
//! [`Display`](crate::display::Display) and a screen set — and several parts (the CLI, a paused
//! run) may serve it. Layering: imports `display`, `screen` and `rfb` (frames, rectangles);
//! nothing below it imports it.
//!
//! Security: the server binds to loopback unless told otherwise, and every route lives under a
//! random token in the URL, so neither another local user nor a web page in the same browser
//! (cross-site requests, DNS rebinding) can drive the guest without having been given the URL.
//! The page never sees a password: the VNC connection is made before the server starts.

pub mod error;
pub mod frames;
pub mod input;
pub mod live_check;
pub mod pause;
pub mod save;
pub mod server;
pub mod update;

pub use error::AuthorError;
pub use pause::{PauseSlot, PauseView};
pub use save::{Drawing, Saved};
pub use server::{Author, AuthorOptions};
