//! Key combos as QMP `send-key` arguments, derived from the one key table ([`crate::rfb::keys`]).
//!
//! Each key goes as its scancode in QEMU's key-number form (`{"type": "number", "data": N}`) —
//! the very number the VNC extended key event carries — so `key("A")`, `key("ctrl-alt-delete")`
//! or `type("x")` press the same physical keys through QEMU's monitor as over VNC. QEMU presses
//! the keys in order and releases them in reverse, as a VNC combo does.

use serde_json::{Value, json};

use crate::rfb::keys::{self, Combo, KeyError};

/// The `send-key` arguments that press `combo`.
pub fn send_key_arguments(combo: &Combo) -> Value {
    let keys: Vec<Value> = combo
        .keys
        .iter()
        .map(|k| json!({ "type": "number", "data": k.qemu_keycode() }))
        .collect();
    json!({ "keys": keys })
}

/// The arguments for a combo name such as `ctrl-alt-delete` (an unknown name is an error
/// listing the closest valid names, as over VNC).
pub fn combo_arguments(combo: &str) -> Result<Value, KeyError> {
    Ok(send_key_arguments(&keys::parse_combo(combo)?))
}

/// One `send-key` per character of `text`; nothing when any character cannot be typed (a
/// half-typed command is worse than none).
pub fn text_arguments(text: &str) -> Result<Vec<Value>, KeyError> {
    Ok(keys::text_combos(text)?
        .iter()
        .map(send_key_arguments)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_case_is_shift_and_the_letter() {
        let a = combo_arguments("A").unwrap();
        assert_eq!(
            a,
            json!({"keys": [{"type": "number", "data": 0x2a}, {"type": "number", "data": 0x1e}]})
        );
        // Extended keys: 0xe0-prefixed scancodes as one number with the high bit set.
        let up = combo_arguments("up").unwrap();
        assert_eq!(up["keys"][0]["data"], 0xc8);
        assert!(combo_arguments("retrun").is_err());
        assert!(text_arguments("héllo").is_err());
        assert_eq!(text_arguments("a\n").unwrap().len(), 2);
    }
}
