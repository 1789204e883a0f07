//! One key table, two back ends: every key name docs/scripting.md lists (and every printable
//! character, and a few combinations) goes through what the VNC session sends (the encoded
//! KeyEvent / QEMU extended key event messages) and through what QEMU's monitor gets (the QMP
//! `send-key` arguments), and both must press the same scancodes in the same order — so
//! `key("A")` is shift-a whether the run watches the guest over VNC or with `--watch qmp`.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;
use vncpilot::display::qmp_keys::combo_arguments;
use vncpilot::rfb::keys::{self, parse_combo};
use vncpilot::rfb::wire::msg;

/// The key names in the table under "Key names" in docs/scripting.md.
fn documented_names() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scripting.md");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let start = text
        .find("Key names (aliases on one line):")
        .expect("docs/scripting.md has no key name table");
    let mut names = Vec::new();
    for line in text[start..].lines().skip(1).skip_while(|l| l.is_empty()) {
        if !line.starts_with('|') {
            break;
        }
        let first = line.split('|').nth(1).unwrap_or("");
        names.extend(
            first
                .split('`')
                .skip(1)
                .step_by(2)
                .filter(|n| !n.is_empty())
                .map(str::to_string),
        );
    }
    names
}

/// (down, keysym, scancode) of the QEMU extended key events VNC sends for `combo`.
fn vnc_qemu_events(combo: &str) -> Vec<(bool, u32, u32)> {
    let bytes = msg::key_events(&parse_combo(combo).unwrap().events(), true);
    assert_eq!(bytes.len() % 12, 0, "{combo}: {bytes:?}");
    bytes
        .chunks(12)
        .map(|m| {
            assert_eq!(&m[..2], &[255, 0], "{combo}: not a QEMU key event");
            let down = u16::from_be_bytes([m[2], m[3]]) == 1;
            let keysym = u32::from_be_bytes([m[4], m[5], m[6], m[7]]);
            let code = u32::from_be_bytes([m[8], m[9], m[10], m[11]]);
            (down, keysym, code)
        })
        .collect()
}

/// (down, keysym) of the plain KeyEvents VNC sends to a server that is not QEMU.
fn vnc_plain_events(combo: &str) -> Vec<(bool, u32)> {
    let bytes = msg::key_events(&parse_combo(combo).unwrap().events(), false);
    assert_eq!(bytes.len() % 8, 0, "{combo}: {bytes:?}");
    bytes
        .chunks(8)
        .map(|m| {
            assert_eq!(m[0], 4, "{combo}: not a KeyEvent");
            (m[1] == 1, u32::from_be_bytes([m[4], m[5], m[6], m[7]]))
        })
        .collect()
}

/// The key numbers of the QMP `send-key` command for `combo`, in order.
fn qmp_numbers(combo: &str) -> Vec<u32> {
    let args = combo_arguments(combo).unwrap_or_else(|e| panic!("{combo}: {e}"));
    args["keys"]
        .as_array()
        .unwrap_or_else(|| panic!("{combo}: {args}"))
        .iter()
        .map(|k| {
            assert_eq!(k["type"], "number", "{combo}: {args}");
            k["data"]
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .unwrap()
        })
        .collect()
}

/// Asserts both back ends press the same scancodes for `combo`, returning them.
fn same_on_both(combo: &str) -> Vec<u32> {
    let vnc = vnc_qemu_events(combo);
    let n = vnc.len() / 2;
    assert!(n > 0, "{combo}: no key events");
    let downs: Vec<u32> = vnc[..n].iter().map(|e| e.2).collect();
    let ups: Vec<u32> = vnc[n..].iter().rev().map(|e| e.2).collect();
    assert!(
        vnc[..n].iter().all(|e| e.0) && vnc[n..].iter().all(|e| !e.0),
        "{combo}: {vnc:?}"
    );
    assert_eq!(
        downs, ups,
        "{combo}: released in another order than reverse"
    );
    assert!(
        downs.iter().all(|&c| c != 0 && c < 0x100),
        "{combo}: {downs:x?}"
    );
    assert_eq!(
        qmp_numbers(combo),
        downs,
        "{combo}: QMP send-key presses other keys than VNC"
    );
    // A server that is not QEMU gets the same keysyms in the same order.
    let plain = vnc_plain_events(combo);
    let with_codes: Vec<(bool, u32)> = vnc.iter().map(|e| (e.0, e.1)).collect();
    assert_eq!(plain, with_codes, "{combo}");
    downs
}

#[test]
fn every_documented_key_name_presses_the_same_keys_over_vnc_and_qmp() {
    let documented = documented_names();
    assert!(documented.len() > 40, "only {documented:?}");
    for name in &documented {
        assert_eq!(same_on_both(name).len(), 1, "{name} is one key");
    }
    // The table in the docs is the whole table.
    let listed: BTreeSet<&str> = documented.iter().map(String::as_str).collect();
    let known: BTreeSet<&str> = keys::names().collect();
    assert_eq!(
        listed, known,
        "docs/scripting.md and rfb/keys.rs list other names"
    );
}

#[test]
fn characters_and_combinations_press_the_same_keys_over_vnc_and_qmp() {
    for c in ' '..='~' {
        same_on_both(&c.to_string());
    }
    // Upper case is shift and the letter, on both (QMP used to send plain a).
    assert_eq!(same_on_both("A"), vec![0x2a, 0x1e]);
    assert_eq!(same_on_both("a"), vec![0x1e]);
    assert_eq!(same_on_both("ctrl-alt-delete"), vec![0x1d, 0x38, 0xd3]);
    assert_eq!(same_on_both("shift-tab"), vec![0x2a, 0x0f]);
    assert_eq!(same_on_both("ctrl--"), vec![0x1d, 0x0c]);
    // What `type` sends is the same combos, one per character.
    let typed = vncpilot::display::qmp_keys::text_arguments("Hi!\n").unwrap();
    let numbers: Vec<Value> = typed.iter().map(|a| a["keys"].clone()).collect();
    assert_eq!(numbers.len(), 4);
    for (c, keys) in "Hi!\n".chars().zip(&numbers) {
        let combo = keys::char_combo(c).unwrap();
        let codes: Vec<u64> = combo.keys.iter().map(|k| k.qemu_keycode().into()).collect();
        let sent: Vec<u64> = keys
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["data"].as_u64().unwrap())
            .collect();
        assert_eq!(sent, codes, "{c:?}");
    }
}

#[test]
fn an_unknown_name_is_the_same_error_on_both() {
    let vnc = parse_combo("ctrl-retrun").unwrap_err().to_string();
    let qmp = combo_arguments("ctrl-retrun").unwrap_err().to_string();
    assert_eq!(vnc, qmp);
    assert!(
        vnc.contains("\"retrun\"") && vnc.contains("return"),
        "{vnc}"
    );
}
