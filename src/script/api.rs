//! The macro functions (the Rhai API, documented with examples in docs/scripting.md).
//!
//! Each one is a step: it gets a step number, reports progress while it waits, and ends with one
//! [`crate::report::Event`]. Waits poll the display at most every half second so that the
//! cancellation token (Ctrl-C, whole-run timeout) is honoured promptly even though Rhai's own
//! progress callback cannot run while a host function blocks.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rhai::{Array, Dynamic, Engine, EvalAltResult, Position};
use serde_json::Value;

use super::context::{RunContext, Stop};
use crate::report::{Progress, ScreenCheck};
use crate::rfb::{Frame, Rect};
use crate::screen::Watcher;
use image::RgbImage;

pub type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

/// How often a wait wakes up to check for cancellation and report progress.
const TICK: Duration = Duration::from_millis(500);

pub(crate) fn error(message: impl Into<String>) -> Box<EvalAltResult> {
    EvalAltResult::ErrorRuntime(Dynamic::from(message.into()), Position::NONE).into()
}

/// Registers every macro function on `engine`, bound to `ctx`.
pub fn register(engine: &mut Engine, ctx: &Arc<RunContext>) {
    let c = ctx.clone();
    engine.register_fn(
        "wait_screen",
        move |names: Dynamic, timeout: Dynamic| -> RhaiResult<String> {
            c.wait_screens("wait_screen", names, &timeout, true)
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "check_screen",
        move |names: Dynamic| -> RhaiResult<String> {
            c.wait_screens("check_screen", names, &Dynamic::from(0_i64), false)
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "check_screen",
        move |names: Dynamic, timeout: Dynamic| -> RhaiResult<String> {
            c.wait_screens("check_screen", names, &timeout, false)
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
        c.emit(
            c.event("log")
                .with("step", step)
                .with("message", message.to_string()),
        );
    });
    let c = ctx.clone();
    engine.register_fn("fail", move |message: &str| -> RhaiResult<()> {
        c.next_step();
        c.emit(c.event("fail").with("message", message));
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

/// 16 random hex digits (from the OS-seeded hasher keys), for markers that a stale log or an
/// earlier run can never contain.
pub fn random_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    format!("{:016x}", h.finish())
}

/// A timeout argument: seconds as an integer or a float, positive and finite.
pub(crate) fn seconds(value: &Dynamic, what: &str) -> RhaiResult<Duration> {
    let s = if let Ok(i) = value.as_int() {
        i as f64
    } else if let Ok(f) = value.as_float() {
        f
    } else {
        return Err(error(format!(
            "{what} must be a number of seconds, not {}",
            value.type_name()
        )));
    };
    if !(s.is_finite() && (0.0..=86_400.0).contains(&s)) {
        return Err(error(format!("{what} = {s}: expected 0 to 86400 seconds")));
    }
    Ok(Duration::from_secs_f64(s))
}

fn screen_names(names: Dynamic) -> RhaiResult<Vec<String>> {
    if names.is_string() {
        return Ok(vec![names.into_string().unwrap_or_default()]);
    }
    if names.is_array() {
        let array: Array = names.into_array().unwrap_or_default();
        let mut out = Vec::new();
        for item in array {
            out.push(
                item.into_string()
                    .map_err(|t| error(format!("screen names must be strings, not {t}")))?,
            );
        }
        if out.is_empty() {
            return Err(error("no screen names given"));
        }
        return Ok(out);
    }
    Err(error(format!(
        "expected a screen name or an array of names, not {}",
        names.type_name()
    )))
}

/// What `wait_still` does not count as change: rectangles to ignore (a blinking text cursor,
/// a clock) and frames that changed fewer than `min_change` pixels (compared with the screen
/// as it was when it went quiet).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StillOptions {
    pub ignore: Vec<Rect>,
    pub min_change: u64,
}

impl StillOptions {
    /// `#{ignore: [[x, y, w, h], ...], min_change: pixels}`; unknown keys are an error.
    pub fn parse(map: &rhai::Map) -> RhaiResult<StillOptions> {
        let mut out = StillOptions::default();
        for (key, value) in map {
            match key.as_str() {
                "ignore" => {
                    let list = value.clone().into_array().map_err(|t| {
                        error(format!(
                            "wait_still: ignore must be an array of [x, y, w, h], not {t}"
                        ))
                    })?;
                    for (i, item) in list.into_iter().enumerate() {
                        out.ignore.push(
                            rect(item)
                                .map_err(|m| error(format!("wait_still: ignore[{i}]: {m}")))?,
                        );
                    }
                }
                "min_change" => {
                    let n = value.as_int().map_err(|t| {
                        error(format!(
                            "wait_still: min_change must be a number of pixels, not {t}"
                        ))
                    })?;
                    out.min_change = u64::try_from(n).map_err(|_| {
                        error(format!(
                            "wait_still: min_change = {n}: expected 0 or more pixels"
                        ))
                    })?;
                }
                other => {
                    return Err(error(format!(
                        "wait_still: unknown option {other:?} (expected ignore, min_change)"
                    )));
                }
            }
        }
        Ok(out)
    }

    /// Whether `frame` counts as a change of the screen that was `quiet` (same size).
    pub fn counts(&self, frame: &Frame, quiet: &RgbImage) -> bool {
        let outside: Vec<Rect> = frame
            .damage
            .iter()
            .filter(|d| !d.is_empty())
            .flat_map(|d| subtract(*d, &self.ignore))
            .collect();
        if outside.is_empty() {
            return false;
        }
        if (self.min_change == 0 && self.ignore.is_empty())
            || frame.image.dimensions() != quiet.dimensions()
        {
            return true;
        }
        // Damage is coarse (QEMU reports 16-pixel-wide blocks), so a blink inside an ignored
        // rectangle can be reported as damage beside it: compare the pixels themselves.
        let threshold = self.min_change.max(1);
        let mut changed = 0u64;
        for r in &outside {
            for y in r.y..r.bottom().min(quiet.height()) {
                for x in r.x..r.right().min(quiet.width()) {
                    if frame.image.get_pixel(x, y) != quiet.get_pixel(x, y) {
                        changed += 1;
                        if changed >= threshold {
                            return true;
                        }
                    }
                }
            }
        }
        false
    }
}

/// `[x, y, w, h]`, non-negative integers, non-empty.
fn rect(item: Dynamic) -> Result<Rect, String> {
    let parts = item
        .into_array()
        .map_err(|t| format!("expected [x, y, w, h], not {t}"))?;
    if parts.len() != 4 {
        return Err(format!(
            "expected [x, y, w, h], not {} numbers",
            parts.len()
        ));
    }
    let mut v = [0u32; 4];
    for (slot, p) in v.iter_mut().zip(parts) {
        let n = p
            .as_int()
            .map_err(|t| format!("expected integers in [x, y, w, h], not {t}"))?;
        *slot = u32::try_from(n).map_err(|_| format!("{n}: expected 0 or more"))?;
    }
    if v[2] == 0 || v[3] == 0 {
        return Err(format!("{}x{} is empty", v[2], v[3]));
    }
    Ok(Rect::new(v[0], v[1], v[2], v[3]))
}

/// The parts of `r` outside every rectangle of `holes` (at most 4 pieces per hole).
fn subtract(r: Rect, holes: &[Rect]) -> Vec<Rect> {
    let mut pieces = vec![r];
    for h in holes {
        let mut next = Vec::new();
        for p in pieces {
            if !p.intersects(h) {
                next.push(p);
                continue;
            }
            let (top, bottom) = (p.y.max(h.y), p.bottom().min(h.bottom()));
            if h.y > p.y {
                next.push(Rect::new(p.x, p.y, p.w, h.y - p.y));
            }
            if h.bottom() < p.bottom() {
                next.push(Rect::new(p.x, h.bottom(), p.w, p.bottom() - h.bottom()));
            }
            if h.x > p.x {
                next.push(Rect::new(p.x, top, h.x - p.x, bottom - top));
            }
            if h.right() < p.right() {
                next.push(Rect::new(
                    h.right(),
                    top,
                    p.right() - h.right(),
                    bottom - top,
                ));
            }
        }
        pieces = next;
    }
    pieces
}

impl RunContext {
    /// Err if the run was stopped (Ctrl-C, whole-run timeout).
    pub(crate) fn check_cancel(&self) -> RhaiResult<()> {
        if !self.cancel.is_cancelled() {
            return Ok(());
        }
        Err(error(match self.stop_reason() {
            Some(Stop::Timeout(d)) => format!("the run's time ({:.0} s) is up", d.as_secs_f64()),
            Some(Stop::Interrupted(why)) => format!("interrupted: {why}"),
            None => "cancelled".into(),
        }))
    }

    fn fail_with(&self, reason: String) -> Box<EvalAltResult> {
        self.set_failure(&reason);
        error(reason)
    }

    fn wait_screens(
        &self,
        action: &str,
        names: Dynamic,
        timeout: &Dynamic,
        must: bool,
    ) -> RhaiResult<String> {
        let step = self.next_step();
        let names = screen_names(names)?;
        let timeout = seconds(timeout, "timeout")?;
        let mut refs = Vec::new();
        for n in &names {
            let r = self.screens.get(n).ok_or_else(|| {
                let known: Vec<&str> = self.screens.names().collect();
                error(format!(
                    "no screen {n:?} in {} (it has: {})",
                    self.screens.dir().display(),
                    known.join(", ")
                ))
            })?;
            refs.push(r.clone());
        }
        let mut watcher = Watcher::new(refs);
        let mut best: BTreeMap<String, f64> = names.iter().map(|n| (n.clone(), 0.0)).collect();
        let start = Instant::now();
        let mut frames = self.display.subscribe();
        let mut frame = Some(
            self.display
                .latest()
                .map_err(|e| error(format!("display: {e}")))?,
        );
        let mut fresh = true;
        loop {
            if let Some(f) = frame.take() {
                self.observer.frame(&f);
                // A cursor drawn into the framebuffer must not spoil the match.
                watcher.set_ignore(self.cursor_ignore(&f, fresh));
                fresh = false;
                let mut results = watcher.update(&f);
                // A match is acted on as soon as it is decided; only when nothing matched
                // are the failing regions scored in full, for the best similarities and the
                // evidence of the wait.
                if !results.iter().any(|(_, m)| m.matched) {
                    results = watcher.complete(&f.image);
                }
                for (name, m) in results {
                    self.observer.screen_checked(&ScreenCheck {
                        step,
                        screen: &name,
                        result: &m,
                        frame: &f,
                    });
                    let b = best.entry(name.clone()).or_insert(0.0);
                    *b = b.max(m.similarity);
                    if m.matched {
                        self.emit(
                            self.event(action)
                                .with("step", step)
                                .with("screens", names.clone())
                                .with("matched", name.clone())
                                .with("similarity", m.similarity)
                                .with("duration_s", start.elapsed().as_secs_f64()),
                        );
                        return Ok(name);
                    }
                }
            }
            self.check_cancel()?;
            let elapsed = start.elapsed();
            let top = best
                .iter()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(n, s)| (n.clone(), *s));
            self.observer.progress(&Progress {
                step,
                action: action.into(),
                awaiting: names.join("|"),
                best: top,
                elapsed_s: elapsed.as_secs_f64(),
                timeout_s: timeout.as_secs_f64(),
            });
            if elapsed >= timeout {
                break;
            }
            frame = frames
                .next((timeout - elapsed).min(TICK))
                .map_err(|e| error(format!("display: {e}")))?;
        }
        let best_json: serde_json::Map<String, Value> = best
            .iter()
            .map(|(n, s)| (n.clone(), Value::from(*s)))
            .collect();
        let top = best.values().copied().fold(0.0, f64::max);
        self.emit(
            self.event(action)
                .with("step", step)
                .with("screens", names.clone())
                .with("matched", Value::Null)
                .with("similarity", top)
                .with("best", best_json)
                .with("duration_s", start.elapsed().as_secs_f64()),
        );
        if !must {
            return Ok(String::new());
        }
        let seen: Vec<String> = best.iter().map(|(n, s)| format!("{n} {s:.3}")).collect();
        Err(self.fail_with(format!(
            "screen {} did not appear within {:.0} s (best similarity: {})",
            names.join(" | "),
            timeout.as_secs_f64(),
            seen.join(", ")
        )))
    }

    fn wait_still(
        &self,
        still: &Dynamic,
        timeout: &Dynamic,
        options: &StillOptions,
    ) -> RhaiResult<()> {
        let step = self.next_step();
        let still = seconds(still, "still time")?;
        let timeout = seconds(timeout, "timeout")?;
        let start = Instant::now();
        let mut quiet_since = Instant::now();
        let mut frames = self.display.subscribe();
        // What the screen looked like when it went quiet: small changes are measured against
        // it, so a cursor blinking on and off stays small while a slow drift adds up.
        let mut quiet_image = self
            .display
            .latest()
            .map_err(|e| error(format!("display: {e}")))?
            .image
            .clone();
        loop {
            self.check_cancel()?;
            if quiet_since.elapsed() >= still {
                self.emit(
                    self.event("wait_still")
                        .with("step", step)
                        .with("still_s", still.as_secs_f64())
                        .with("ignored", options.ignore.len())
                        .with("min_change", options.min_change)
                        .with("duration_s", start.elapsed().as_secs_f64()),
                );
                return Ok(());
            }
            let elapsed = start.elapsed();
            if elapsed >= timeout {
                self.emit(
                    self.event("wait_still")
                        .with("step", step)
                        .with("still", false)
                        .with("duration_s", elapsed.as_secs_f64()),
                );
                return Err(self.fail_with(format!(
                    "the screen did not stay still for {:.1} s within {:.0} s",
                    still.as_secs_f64(),
                    timeout.as_secs_f64()
                )));
            }
            self.progress(
                step,
                "wait_still",
                format!("{:.1}s still", still.as_secs_f64()),
                elapsed,
                timeout,
            );
            let wait = (timeout - elapsed)
                .min(still.saturating_sub(quiet_since.elapsed()))
                .min(TICK);
            if let Some(f) = frames
                .next(wait.max(Duration::from_millis(10)))
                .map_err(|e| error(format!("display: {e}")))?
                && options.counts(&f, &quiet_image)
            {
                self.observer.frame(&f);
                quiet_since = Instant::now();
                quiet_image = f.image.clone();
            }
        }
    }

    fn wait_change(&self, timeout: &Dynamic) -> RhaiResult<()> {
        let step = self.next_step();
        let timeout = seconds(timeout, "timeout")?;
        let start = Instant::now();
        let mut frames = self.display.subscribe();
        loop {
            self.check_cancel()?;
            let elapsed = start.elapsed();
            if elapsed >= timeout {
                self.emit(
                    self.event("wait_change")
                        .with("step", step)
                        .with("changed", false)
                        .with("duration_s", elapsed.as_secs_f64()),
                );
                return Err(self.fail_with(format!(
                    "the screen did not change within {:.0} s",
                    timeout.as_secs_f64()
                )));
            }
            self.progress(step, "wait_change", "a change".into(), elapsed, timeout);
            if let Some(f) = frames
                .next((timeout - elapsed).min(TICK))
                .map_err(|e| error(format!("display: {e}")))?
                && f.damage.iter().any(|d| !d.is_empty())
            {
                self.observer.frame(&f);
                self.emit(
                    self.event("wait_change")
                        .with("step", step)
                        .with("changed", true)
                        .with("duration_s", start.elapsed().as_secs_f64()),
                );
                return Ok(());
            }
        }
    }

    fn progress(
        &self,
        step: u64,
        action: &str,
        awaiting: String,
        elapsed: Duration,
        timeout: Duration,
    ) {
        self.observer.progress(&Progress {
            step,
            action: action.into(),
            awaiting,
            best: None,
            elapsed_s: elapsed.as_secs_f64(),
            timeout_s: timeout.as_secs_f64(),
        });
    }

    fn key(&self, combo: &str) -> RhaiResult<()> {
        self.check_cancel()?;
        let step = self.next_step();
        self.display
            .key(combo)
            .map_err(|e| error(format!("display: {e}")))?;
        self.emit(self.event("key").with("step", step).with("key", combo));
        Ok(())
    }

    fn type_text(&self, text: &str, secret: bool) -> RhaiResult<()> {
        self.check_cancel()?;
        let step = self.next_step();
        if secret {
            // Registered before anything can show it.
            self.observer.secret(text);
        }
        let start = Instant::now();
        self.display
            .type_text(text)
            .map_err(|e| error(format!("display: {e}")))?;
        let shown = if secret {
            "<secret>".to_string()
        } else {
            text.to_string()
        };
        let action = if secret { "type_secret" } else { "type" };
        self.emit(
            self.event(action)
                .with("step", step)
                .with("text", shown)
                .with("duration_s", start.elapsed().as_secs_f64()),
        );
        Ok(())
    }

    fn wait_serial(&self, pattern: &str, timeout: &Dynamic) -> RhaiResult<String> {
        let step = self.next_step();
        let timeout = seconds(timeout, "timeout")?;
        let serial = self.serial.as_ref().ok_or_else(|| {
            error("wait_serial: this run has no serial port (attached with --vnc)")
        })?;
        let start = Instant::now();
        self.progress(
            step,
            "wait_serial",
            format!("/{pattern}/"),
            Duration::ZERO,
            timeout,
        );
        let found = serial.wait_for(pattern, timeout, &self.cancel);
        let event = self
            .event("wait_serial")
            .with("step", step)
            .with("pattern", pattern)
            .with("duration_s", start.elapsed().as_secs_f64());
        match found {
            Ok(text) => {
                self.emit(event.with("matched", text.clone()));
                Ok(text)
            }
            Err(crate::guest::GuestError::Timeout { .. }) => {
                self.emit(event.with("matched", Value::Null));
                Err(self.fail_with(format!(
                    "serial output /{pattern}/ did not appear within {:.0} s",
                    timeout.as_secs_f64()
                )))
            }
            Err(crate::guest::GuestError::Cancelled) => {
                self.check_cancel()?;
                Err(error("cancelled"))
            }
            Err(e) => Err(error(e.to_string())),
        }
    }

    fn screenshot(&self, label: &str) -> RhaiResult<String> {
        let step = self.next_step();
        let frame = self
            .display
            .latest()
            .map_err(|e| error(format!("display: {e}")))?;
        let clean: String = label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .take(64)
            .collect();
        let rel = self.save_screenshot(&clean, &frame.image).map_err(error)?;
        self.emit(
            self.event("screenshot")
                .with("step", step)
                .with("label", label)
                .with("file", rel.clone()),
        );
        Ok(rel)
    }

    /// Writes `image` as `screenshots/NNN-<label>.png` in the results; returns that relative
    /// path. `label` must already be safe as a file name.
    pub(crate) fn save_screenshot(
        &self,
        label: &str,
        image: &image::RgbImage,
    ) -> Result<String, String> {
        std::fs::create_dir_all(&self.screenshots)
            .map_err(|e| format!("{}: {e}", self.screenshots.display()))?;
        let path = self
            .screenshots
            .join(format!("{:03}-{label}.png", self.next_shot()));
        image
            .save(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(format!(
            "screenshots/{}",
            path.file_name().unwrap_or_default().to_string_lossy()
        ))
    }

    fn snapshot(&self, name: &str, revert: bool) -> RhaiResult<()> {
        self.check_cancel()?;
        let step = self.next_step();
        let action = if revert { "revert" } else { "snapshot" };
        let qmp = self.qmp.as_ref().ok_or_else(|| {
            error(format!(
                "{action}: this run has no QEMU monitor (attached with --vnc)"
            ))
        })?;
        let start = Instant::now();
        let done = if revert {
            self.handle.block_on(qmp.loadvm(name))
        } else {
            self.handle.block_on(qmp.savevm(name))
        };
        done.map_err(|e| error(format!("{action}({name:?}): {e}")))?;
        self.emit(
            self.event(action)
                .with("step", step)
                .with("name", name)
                .with("duration_s", start.elapsed().as_secs_f64()),
        );
        Ok(())
    }

    fn var(&self, name: &str) -> RhaiResult<String> {
        self.variables.get(name).cloned().ok_or_else(|| {
            let known: Vec<&str> = self.variables.keys().map(String::as_str).collect();
            error(format!(
                "var({name:?}): no such variable (the harness declares: {})",
                if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                }
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(rs: &[Rect]) -> u32 {
        rs.iter().map(|r| r.w * r.h).sum()
    }

    #[test]
    fn subtract_leaves_exactly_the_outside() {
        let r = Rect::new(10, 10, 20, 10);
        assert_eq!(subtract(r, &[]), vec![r]);
        assert!(subtract(r, &[Rect::new(0, 0, 100, 100)]).is_empty());
        assert_eq!(subtract(r, &[Rect::new(100, 100, 5, 5)]), vec![r]);
        // A hole in the middle: 200 - 4*3.
        let rest = subtract(r, &[Rect::new(15, 12, 4, 3)]);
        assert_eq!(area(&rest), 200 - 12);
        for p in &rest {
            assert!(!p.intersects(&Rect::new(15, 12, 4, 3)));
        }
        // Two holes covering it together.
        assert!(subtract(r, &[Rect::new(0, 0, 20, 50), Rect::new(20, 0, 20, 50)]).is_empty());
    }

    fn still_image(name: &str) -> Arc<RgbImage> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/still")
            .join(name);
        Arc::new(image::open(&path).unwrap().to_rgb8())
    }

    /// The Debian graphical installer's hostname entry, its text cursor blinking (captured
    /// from the real installer under QEMU): on and off differ only in the 1x15 bar at (24, 220),
    /// and QEMU reports the change as a 16-pixel-wide block.
    #[test]
    fn a_blinking_text_cursor_counts_unless_ignored_or_small() {
        let off = still_image("hostname-blink-off.png");
        let on = still_image("hostname-blink-on.png");
        let frame = Frame {
            serial: 2,
            time: Instant::now(),
            image: on.clone(),
            damage: vec![Rect::new(16, 220, 16, 15)],
            cursor: None,
            pointer: None,
        };
        assert!(StillOptions::default().counts(&frame, &off));
        let entry = StillOptions {
            ignore: vec![Rect::new(20, 216, 1240, 24)],
            min_change: 0,
        };
        assert!(!entry.counts(&frame, &off), "the blink is inside the entry");
        let small = StillOptions {
            ignore: vec![],
            min_change: 50,
        };
        assert!(!small.counts(&frame, &off), "15 pixels < 50");
        // A real change outside the ignored entry still counts: a different screen.
        let other = Frame {
            image: still_image("../../../screens/debian-12-gtk/keyboard.png"),
            damage: vec![Rect::new(0, 0, 1280, 800)],
            ..frame.clone()
        };
        assert!(entry.counts(&other, &off));
        assert!(small.counts(&other, &off));
        // A change right beside the ignored rectangle counts.
        let mut beside = (*off).clone();
        beside.put_pixel(19, 225, image::Rgb([255, 0, 0]));
        let beside = Frame {
            image: Arc::new(beside),
            ..frame.clone()
        };
        assert!(entry.counts(&beside, &off));
    }

    #[test]
    fn options_parse_and_reject_bad_values() {
        let mut m = rhai::Map::new();
        m.insert(
            "ignore".into(),
            Dynamic::from(vec![Dynamic::from(vec![
                Dynamic::from(1_i64),
                Dynamic::from(2_i64),
                Dynamic::from(3_i64),
                Dynamic::from(4_i64),
            ])]),
        );
        m.insert("min_change".into(), Dynamic::from(50_i64));
        let o = StillOptions::parse(&m).unwrap();
        assert_eq!(o.ignore, vec![Rect::new(1, 2, 3, 4)]);
        assert_eq!(o.min_change, 50);
        m.insert("typo".into(), Dynamic::from(1_i64));
        assert!(
            StillOptions::parse(&m)
                .unwrap_err()
                .to_string()
                .contains("typo")
        );
        let mut m = rhai::Map::new();
        m.insert("min_change".into(), Dynamic::from(-1_i64));
        assert!(StillOptions::parse(&m).is_err());
    }
}
