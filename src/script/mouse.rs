//! The mouse functions: `mouse_move(x, y)`, `click(x, y)`, `double_click(x, y)`,
//! `drag(x1, y1, x2, y2)`, `click_screen(name, timeout_s)`, `mouse_hide()`.
//!
//! They are declared so harnesses read naturally, but moving a guest's pointer needs the
//! `pointer` module's convergence loop driving the VNC session; until that is wired to the
//! display a run uses, every call ends the run with an error that says so — a click that
//! silently did nothing would make the next wait fail far from the cause.

use std::sync::Arc;

use rhai::{Dynamic, Engine, INT};

use super::api::{RhaiResult, error};
use super::context::RunContext;

fn unavailable(ctx: &RunContext, call: String) -> RhaiResult<()> {
    ctx.check_cancel()?;
    let step = ctx.next_step();
    ctx.emit(
        ctx.event("mouse")
            .with("step", step)
            .with("call", call.clone())
            .with("available", false),
    );
    Err(error(format!(
        "{call}: mouse support not available for this display (the pointer module is not wired to it yet)"
    )))
}

pub fn register(engine: &mut Engine, ctx: &Arc<RunContext>) {
    let c = ctx.clone();
    engine.register_fn("mouse_move", move |x: INT, y: INT| {
        unavailable(&c, format!("mouse_move({x}, {y})"))
    });
    let c = ctx.clone();
    engine.register_fn("click", move |x: INT, y: INT| {
        unavailable(&c, format!("click({x}, {y})"))
    });
    let c = ctx.clone();
    engine.register_fn("double_click", move |x: INT, y: INT| {
        unavailable(&c, format!("double_click({x}, {y})"))
    });
    let c = ctx.clone();
    engine.register_fn("drag", move |x1: INT, y1: INT, x2: INT, y2: INT| {
        unavailable(&c, format!("drag({x1}, {y1}, {x2}, {y2})"))
    });
    let c = ctx.clone();
    engine.register_fn("click_screen", move |name: &str, _timeout: Dynamic| {
        unavailable(&c, format!("click_screen({name:?})"))
    });
    let c = ctx.clone();
    engine.register_fn("mouse_hide", move || unavailable(&c, "mouse_hide()".into()));
}
