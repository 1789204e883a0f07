//! Registering the macro functions (the Rhai API, documented with examples in
//! docs/scripting.md) on a Rhai engine, each bound to the run's [`RunContext`].

use std::sync::Arc;

use rhai::{Dynamic, Engine};

use super::actions::random_id;
use super::context::RunContext;
use super::convert::{RhaiResult, error};
use super::stall::WaitOptions;
use super::still::StillOptions;
use crate::report::EventKind;

/// Registers every macro function on `engine`, bound to `ctx`: the waits here, then the
/// actions.
pub fn register(engine: &mut Engine, ctx: &Arc<RunContext>) {
    let c = ctx.clone();
    engine.register_fn(
        "wait_screen",
        move |names: Dynamic, timeout: Dynamic| -> RhaiResult<String> {
            c.wait_screens(
                "wait_screen",
                names,
                &timeout,
                true,
                &WaitOptions::default(),
            )
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "wait_screen",
        move |names: Dynamic, timeout: Dynamic, options: rhai::Map| -> RhaiResult<String> {
            let options = WaitOptions::parse(&options, "wait_screen")?;
            c.wait_screens("wait_screen", names, &timeout, true, &options)
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "check_screen",
        move |names: Dynamic| -> RhaiResult<String> {
            let no_wait = Dynamic::from(0_i64);
            c.wait_screens(
                "check_screen",
                names,
                &no_wait,
                false,
                &WaitOptions::default(),
            )
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "check_screen",
        move |names: Dynamic, timeout: Dynamic| -> RhaiResult<String> {
            c.wait_screens(
                "check_screen",
                names,
                &timeout,
                false,
                &WaitOptions::default(),
            )
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "check_screen",
        move |names: Dynamic, timeout: Dynamic, options: rhai::Map| -> RhaiResult<String> {
            let options = WaitOptions::parse(&options, "check_screen")?;
            c.wait_screens("check_screen", names, &timeout, false, &options)
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "wait_still",
        move |still: Dynamic, timeout: Dynamic| -> RhaiResult<()> {
            c.wait_still(&still, &timeout, &StillOptions::default())
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "wait_still",
        move |still: Dynamic, timeout: Dynamic, options: rhai::Map| -> RhaiResult<()> {
            c.wait_still(&still, &timeout, &StillOptions::parse(&options)?)
        },
    );
    let c = ctx.clone();
    engine.register_fn("wait_change", move |timeout: Dynamic| -> RhaiResult<()> {
        c.wait_change(&timeout)
    });
    register_actions(engine, ctx);
}

/// Keys, text, snapshots, logs, variables and the mouse: what a macro does rather than awaits.
fn register_actions(engine: &mut Engine, ctx: &Arc<RunContext>) {
    let c = ctx.clone();
    engine.register_fn("key", move |combo: &str| -> RhaiResult<()> { c.key(combo) });
    let c = ctx.clone();
    engine.register_fn("type", move |text: &str| -> RhaiResult<()> {
        c.type_text(text, false)
    });
    let c = ctx.clone();
    engine.register_fn("type_secret", move |text: &str| -> RhaiResult<()> {
        c.type_text(text, true)
    });
    let c = ctx.clone();
    engine.register_fn(
        "wait_serial",
        move |pattern: &str, timeout: Dynamic| -> RhaiResult<String> {
            c.wait_serial(pattern, &timeout)
        },
    );
    let c = ctx.clone();
    engine.register_fn("screenshot", move |label: &str| -> RhaiResult<String> {
        c.screenshot(label)
    });
    let c = ctx.clone();
    engine.register_fn("log", move |message: Dynamic| {
        let step = c.next_step();
        c.emit(EventKind::Log {
            step,
            message: message.to_string(),
        });
    });
    let c = ctx.clone();
    engine.register_fn("fail", move |message: &str| -> RhaiResult<()> {
        c.next_step();
        c.emit(EventKind::Fail {
            message: message.to_string(),
        });
        c.set_failure(message);
        Err(error(message.to_string()))
    });
    let c = ctx.clone();
    engine.register_fn("snapshot", move |name: &str| -> RhaiResult<()> {
        c.snapshot(name, false)
    });
    let c = ctx.clone();
    engine.register_fn("revert", move |name: &str| -> RhaiResult<()> {
        c.snapshot(name, true)
    });
    engine.register_fn("random_id", random_id);
    let c = ctx.clone();
    engine.register_fn("get_var", move |name: &str| -> RhaiResult<String> {
        c.var(name)
    });
    // `var` is a reserved word in Rhai, so `var("name")` is parsed as custom syntax.
    let c = ctx.clone();
    engine
        .register_custom_syntax(
            ["var", "(", "$expr$", ")"],
            false,
            move |context, inputs| {
                let name = context.eval_expression_tree(&inputs[0])?;
                let name = name
                    .into_immutable_string()
                    .map_err(|t| error(format!("var(name): name must be a string, not {t}")))?;
                c.var(&name).map(Dynamic::from)
            },
        )
        .expect("the var(...) syntax is valid");
    super::mouse::register(engine, ctx);
}
