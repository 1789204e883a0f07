//! Running a macro: a Rhai engine with the API registered, an operations limit, the
//! cancellation token checked between operations, and the outcome (pass / fail / error with
//! `file:line:col`).
//!
//! Call [`run_macro`] from a blocking thread (`tokio::task::spawn_blocking`): host functions
//! block on the guest, and the async runtime must stay free to pump the VNC/QMP connections.

use std::path::Path;
use std::sync::Arc;

use rhai::{Engine, EvalAltResult, Position};

use super::context::{RunContext, Stop};
use super::register;
use crate::report::{EventKind, Status};

/// How a macro ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub status: Status,
    pub reason: String,
}

/// Builds the engine for `ctx` (exposed for `docs` examples and tests).
pub fn engine(ctx: &Arc<RunContext>, max_operations: u64) -> Engine {
    let mut engine = Engine::new();
    engine.set_max_operations(max_operations);
    engine.set_max_string_size(1 << 20);
    engine.set_max_array_size(100_000);
    engine.set_max_map_size(100_000);
    let c = ctx.clone();
    engine.on_progress(move |_| c.cancel.is_cancelled().then(|| "stopped".into()));
    let c = ctx.clone();
    engine.on_print(move |s| {
        c.emit(EventKind::Print {
            message: s.to_string(),
        })
    });
    let c = ctx.clone();
    engine.on_debug(move |s, _, pos| {
        c.emit(EventKind::Debug {
            message: s.to_string(),
            line: pos.line().unwrap_or(0) as u64,
        })
    });
    register::register(&mut engine, ctx);
    engine
}

/// Compiles and runs `source` (read from `file`, used in messages).
pub fn run_macro(source: &str, file: &Path, ctx: &Arc<RunContext>, max_operations: u64) -> Outcome {
    let engine = engine(ctx, max_operations);
    let name = file.display().to_string();
    let ast = match engine.compile(source) {
        Ok(ast) => ast,
        Err(e) => {
            return Outcome {
                status: Status::Error,
                reason: format!(
                    "{}: syntax error: {}",
                    at(&name, e.position()),
                    e.err_type()
                ),
            };
        }
    };
    match engine.run_ast(&ast) {
        Ok(()) => Outcome {
            status: Status::Pass,
            reason: "the macro ran to its end".into(),
        },
        Err(e) => judge(&e, &name, ctx, max_operations),
    }
}

fn judge(e: &EvalAltResult, name: &str, ctx: &RunContext, max_operations: u64) -> Outcome {
    let pos = at(name, innermost_position(e));
    if let Some(reason) = ctx.failure() {
        return Outcome {
            status: Status::Fail,
            reason: format!("{pos}: {reason}"),
        };
    }
    if let Some(stop) = ctx.stop_reason() {
        return Outcome {
            // Only a slow guest is the guest's fault; a signal or a dead QEMU judged nothing.
            status: match stop {
                Stop::Timeout(_) => Status::Fail,
                Stop::Interrupted(_) | Stop::GuestDied(_) => Status::Error,
            },
            reason: format!("{pos}: {}", stop.reason()),
        };
    }
    let reason = match innermost(e) {
        EvalAltResult::ErrorTooManyOperations(_) => {
            format!("{pos}: the macro exceeded {max_operations} operations")
        }
        EvalAltResult::ErrorRuntime(msg, _) => format!("{pos}: {msg}"),
        other => format!("{pos}: {}", strip_position(&other.to_string())),
    };
    Outcome {
        status: Status::Error,
        reason,
    }
}

/// Errors raised inside functions are wrapped once per call level; the innermost is the cause.
fn innermost(e: &EvalAltResult) -> &EvalAltResult {
    match e {
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _)
        | EvalAltResult::ErrorInModule(_, inner, _) => innermost(inner),
        other => other,
    }
}

/// The position in the macro file: of the innermost error, unless that is inside a native
/// function (no position), then of the call.
fn innermost_position(e: &EvalAltResult) -> Position {
    match e {
        EvalAltResult::ErrorInFunctionCall(_, _, inner, pos)
        | EvalAltResult::ErrorInModule(_, inner, pos) => {
            let p = innermost_position(inner);
            if p.is_none() { *pos } else { p }
        }
        other => other.position(),
    }
}

fn strip_position(s: &str) -> String {
    match s.rfind(" (line ") {
        Some(i) if s.ends_with(')') => s[..i].to_string(),
        _ => s.to_string(),
    }
}

fn at(name: &str, pos: Position) -> String {
    match (pos.line(), pos.position()) {
        (Some(l), Some(c)) => format!("{name}:{l}:{c}"),
        (Some(l), None) => format!("{name}:{l}"),
        _ => name.to_string(),
    }
}
