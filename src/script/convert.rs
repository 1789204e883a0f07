//! Turning the macro's arguments into typed values (seconds, screen names, rectangles) and
//! errors into Rhai errors: each with a message naming the argument and what was expected.

use std::time::Duration;

use rhai::{Array, Dynamic, EvalAltResult, Position};

use crate::rfb::Rect;

pub type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

/// A runtime error of the macro with `message`.
pub(crate) fn error(message: impl Into<String>) -> Box<EvalAltResult> {
    EvalAltResult::ErrorRuntime(Dynamic::from(message.into()), Position::NONE).into()
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

/// One screen name or an array of them (not empty).
pub(crate) fn screen_names(names: Dynamic) -> RhaiResult<Vec<String>> {
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

/// `[x, y, w, h]`, non-negative integers, non-empty.
pub(crate) fn rect(item: Dynamic) -> Result<Rect, String> {
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
