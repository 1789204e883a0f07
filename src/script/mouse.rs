//! The mouse functions: `mouse_move(x, y)`, `click(x, y)`, `click(x, y, "right")`,
//! `double_click(x, y)`, `drag(x1, y1, x2, y2)`, `click_screen(name)` /
//! `click_screen(name, timeout_s)`, `mouse_hide()` — and the cursor's rectangle that screen
//! matching leaves out.
//!
//! They drive the `pointer` module's look-move-look loop over the run's VNC session (or, when
//! the run watches the screen through QEMU's monitor, through QMP `input-send-event`): the
//! guest's mouse may be relative and accelerated (PS/2), so a move is only done when the cursor
//! is seen on the target. Every move is one `mouse_move` event (`distance`, `rounds`,
//! `error_px`, `mode`). A move that cannot be made (the pointer does not move, the cursor is
//! nowhere to be seen, it does not converge in its rounds and time) fails the run with the
//! screen saved under `screenshots/`: a click that silently did nothing would make the next
//! wait fail far from the cause.
//!
//! The cursor pictures come from the `cursors/` folder beside the harness's screen sets
//! (`screens/cursors/`); the same pictures let `wait_screen` and `check_screen` ignore a cursor
//! the guest draws into the framebuffer.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::context::RunContext;
use super::convert::{RhaiResult, error};
use super::stall::WaitOptions;
use super::waits::Awaited;
use crate::pointer::device::{Mode, buttons};
use crate::pointer::screen_click::click_point;
use crate::pointer::{GuestMouse, MouseState, MoveOptions, MoveReport, Pointer, PointerError};
use crate::report::{Click, EventKind, MouseMove};
use crate::rfb::{Frame, Rect};
use rhai::{Dynamic, Engine, EvalAltResult, INT};

/// "left", "middle" or "right".
fn button(name: &str) -> RhaiResult<u8> {
    match name.to_ascii_lowercase().as_str() {
        "left" => Ok(buttons::LEFT),
        "middle" => Ok(buttons::MIDDLE),
        "right" => Ok(buttons::RIGHT),
        _ => Err(error(format!(
            "button {name:?}: expected \"left\", \"middle\" or \"right\""
        ))),
    }
}

fn pixel(v: INT, what: &str) -> RhaiResult<u32> {
    u32::try_from(v).map_err(|_| {
        error(format!(
            "{what} = {v}: expected a pixel coordinate, 0 or more"
        ))
    })
}

type PointerFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, PointerError>> + Send + 'a>>;

fn move_options() -> MoveOptions {
    MoveOptions {
        timeout: Duration::from_secs(60),
        ..MoveOptions::default()
    }
}

impl RunContext {
    fn mouse_state(&self) -> std::sync::MutexGuard<'_, MouseState> {
        self.mouse.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cursor's rectangle in `frame`, for screen matching to leave out (see
    /// [`MouseState::ignore_rects`]).
    pub fn cursor_ignore(&self, frame: &Frame, fresh: bool) -> Vec<Rect> {
        self.mouse_state().ignore_rects(frame, fresh)
    }

    /// Runs `op` on the pointer, blocking, until it ends or the run is stopped.
    fn with_pointer<T>(
        &self,
        step: u64,
        call: &str,
        op: impl for<'a> FnOnce(&'a mut Pointer<GuestMouse>) -> PointerFuture<'a, T>,
    ) -> RhaiResult<T> {
        self.check_cancel()?;
        let mut state = self.mouse_state();
        let pointer = state
            .pointer(self.display.as_ref())
            .map_err(|m| error(format!("{call}: {m}")))?;
        let cancel = self.cancel.clone();
        let done = self.handle.block_on(async {
            tokio::select! {
                r = op(pointer) => Some(r),
                _ = cancel.cancelled() => None,
            }
        });
        drop(state);
        match done {
            None => {
                self.check_cancel()?;
                Err(error(format!("{call}: cancelled")))
            }
            Some(Ok(v)) => Ok(v),
            Some(Err(e)) => Err(self.pointer_failed(step, call, e)),
        }
    }

    /// Ends the run for a failed move: the screen goes to `screenshots/`, the guest's
    /// misbehaviour (no movement, no cursor, no convergence, screen not shown) is a failure,
    /// a bad call or a broken connection an error.
    fn pointer_failed(&self, step: u64, call: &str, e: PointerError) -> Box<EvalAltResult> {
        let t = self.t();
        let mut message = format!("{call}: {e}");
        let mut screenshot = None;
        if let Some(image) = e.screenshot() {
            match self.save_screenshot("mouse-failure", image) {
                Ok(rel) => {
                    message.push_str(&format!(" (screen saved as {rel})"));
                    screenshot = Some(rel);
                }
                Err(save) => message.push_str(&format!(" (saving the screen failed: {save})")),
            }
        }
        self.emit_at(
            t,
            EventKind::MouseError {
                step,
                call: call.to_string(),
                error: e.to_string(),
                screenshot,
            },
        );
        match e {
            PointerError::OutsideScreen { .. }
            | PointerError::BadCursorImage { .. }
            | PointerError::Device(_) => error(message),
            _ => {
                self.set_failure(&message);
                error(message)
            }
        }
    }

    fn emit_move(&self, step: u64, call: &str, report: &MoveReport) {
        self.emit(EventKind::MouseMove(MouseMove {
            step,
            call: call.to_string(),
            from: report.from,
            target: report.target,
            at: report.at,
            distance: report.distance,
            rounds: report.rounds,
            error_px: report.error_px,
            mode: match report.mode {
                Mode::Absolute => "absolute",
                Mode::Relative => "relative",
            }
            .to_string(),
            probe_moves: report.probe_moves,
            duration_s: report.duration_s,
        }));
    }

    fn mouse_move(&self, x: INT, y: INT) -> RhaiResult<()> {
        let call = format!("mouse_move({x}, {y})");
        let (x, y) = (pixel(x, "x")?, pixel(y, "y")?);
        let step = self.next_step();
        let opts = move_options();
        let report = self.with_pointer(step, &call, move |p| {
            Box::pin(async move { p.move_to(x, y, &opts).await })
        })?;
        self.emit_move(step, &call, &report);
        Ok(())
    }

    fn click(&self, x: INT, y: INT, which: &str, count: u32, action: &str) -> RhaiResult<()> {
        let call = if which == "left" {
            format!("{action}({x}, {y})")
        } else {
            format!("{action}({x}, {y}, {which:?})")
        };
        let bit = button(which)?;
        let (x, y) = (pixel(x, "x")?, pixel(y, "y")?);
        let step = self.next_step();
        let opts = move_options();
        let report = self.with_pointer(step, &call, move |p| {
            Box::pin(async move { p.click(x, y, bit, count, &opts).await })
        })?;
        self.emit_move(step, &call, &report);
        let click = Click {
            step,
            x,
            y,
            button: which.to_ascii_lowercase(),
            clicks: count,
        };
        self.emit(if action == "double_click" {
            EventKind::DoubleClick(click)
        } else {
            EventKind::Click(click)
        });
        Ok(())
    }

    fn drag(&self, x1: INT, y1: INT, x2: INT, y2: INT) -> RhaiResult<()> {
        let call = format!("drag({x1}, {y1}, {x2}, {y2})");
        let from = (pixel(x1, "x1")?, pixel(y1, "y1")?);
        let to = (pixel(x2, "x2")?, pixel(y2, "y2")?);
        let step = self.next_step();
        let opts = move_options();
        let reports = self.with_pointer(step, &call, move |p| {
            Box::pin(async move { p.drag(from, to, &opts).await })
        })?;
        for r in &reports {
            self.emit_move(step, &call, r);
        }
        self.emit(EventKind::Drag { step, from, to });
        Ok(())
    }

    fn mouse_hide(&self) -> RhaiResult<()> {
        let step = self.next_step();
        self.with_pointer(step, "mouse_hide()", |p| Box::pin(p.hide()))?;
        self.emit(EventKind::MouseHide { step });
        Ok(())
    }

    /// Waits up to `timeout` for screen `name` (the cursor left out) with the same incremental
    /// wait as `wait_screen` — so a timeout leaves the same evidence (`best` in the event, the
    /// checks for `forensics/`) — then clicks its click point where it was found.
    fn click_screen(
        &self,
        name: &str,
        timeout: &Dynamic,
        options: &WaitOptions,
    ) -> RhaiResult<String> {
        let call = format!("click_screen({name:?})");
        let step = self.next_step();
        let timeout = self.scaled_timeout(timeout)?;
        let start = Instant::now();
        let stall = self.stall_for(options);
        let names = [name.to_string()];
        let (awaited, refs) = self.await_named(
            step,
            "click_screen",
            &names,
            &format!("{call}: "),
            timeout,
            stall,
            true,
        )?;
        // After a developer-mode retry this is the reloaded reference, whose click point counts.
        let reference = refs[0].clone();
        let failure = awaited.failure(&[name.to_string()], timeout);
        let result = match awaited {
            Awaited::Matched { result, .. } => result,
            Awaited::TimedOut { best } | Awaited::Stalled { best, .. } => {
                let top = best.values().copied().fold(0.0, f64::max);
                self.emit(EventKind::ClickScreen {
                    step,
                    screen: name.to_string(),
                    matched: None,
                    similarity: top,
                    best: Some(best),
                    x: None,
                    y: None,
                    duration_s: start.elapsed().as_secs_f64(),
                });
                let mut message = format!("{call}: {}", failure.unwrap_or_default());
                if let Ok(frame) = self.display.latest()
                    && let Ok(rel) = self.save_screenshot("click-screen-failure", &frame.image)
                {
                    message.push_str(&format!(" (screen saved as {rel})"));
                }
                self.set_failure(&message);
                return Err(error(message));
            }
        };
        let Some(point) = click_point(&reference, &result) else {
            return Err(error(format!(
                "{call}: screen {name} matched but has no region to click"
            )));
        };
        let similarity = result.similarity;
        let opts = move_options();
        let report = self.with_pointer(step, &call, move |p| {
            Box::pin(async move { p.click(point.0, point.1, buttons::LEFT, 1, &opts).await })
        })?;
        self.emit_move(step, &call, &report);
        self.emit(EventKind::ClickScreen {
            step,
            screen: name.to_string(),
            matched: Some(name.to_string()),
            similarity,
            best: None,
            x: Some(point.0),
            y: Some(point.1),
            duration_s: start.elapsed().as_secs_f64(),
        });
        Ok(name.to_string())
    }
}

pub fn register(engine: &mut Engine, ctx: &Arc<RunContext>) {
    let c = ctx.clone();
    engine.register_fn("mouse_move", move |x: INT, y: INT| c.mouse_move(x, y));
    let c = ctx.clone();
    engine.register_fn("click", move |x: INT, y: INT| {
        c.click(x, y, "left", 1, "click")
    });
    let c = ctx.clone();
    engine.register_fn("click", move |x: INT, y: INT, which: &str| {
        c.click(x, y, which, 1, "click")
    });
    let c = ctx.clone();
    engine.register_fn("double_click", move |x: INT, y: INT| {
        c.click(x, y, "left", 2, "double_click")
    });
    let c = ctx.clone();
    engine.register_fn("drag", move |x1: INT, y1: INT, x2: INT, y2: INT| {
        c.drag(x1, y1, x2, y2)
    });
    let c = ctx.clone();
    engine.register_fn("click_screen", move |name: &str| {
        c.click_screen(name, &Dynamic::from(0_i64), &WaitOptions::default())
    });
    let c = ctx.clone();
    engine.register_fn("click_screen", move |name: &str, timeout: Dynamic| {
        c.click_screen(name, &timeout, &WaitOptions::default())
    });
    let c = ctx.clone();
    engine.register_fn(
        "click_screen",
        move |name: &str, timeout: Dynamic, options: rhai::Map| -> RhaiResult<String> {
            let options = WaitOptions::parse(&options, "click_screen")?;
            c.click_screen(name, &timeout, &options)
        },
    );
    let c = ctx.clone();
    engine.register_fn("mouse_hide", move || c.mouse_hide());
}
