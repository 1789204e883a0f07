//! Key names as installer scripts write them, turned into what goes on the wire: X keysyms
//! (every VNC server) and XT scancodes (QEMU's extended key event, independent of the guest's
//! keyboard layout).
//!
//! This is the one key table: the VNC session sends its keysyms (and, to QEMU, its scancodes),
//! and QEMU's monitor (`--watch qmp`, QMP `send-key`) sends the same scancodes as key numbers,
//! so a name means the same physical key whichever way the guest is driven. The names are
//! listed in docs/scripting.md (tests/offline/key_table.rs checks both back ends against that list).
//!
//! A combo is key names joined by `-`: `ret`, `ctrl-alt-delete`, `shift-tab`, `alt-f4`, `a`,
//! `ctrl-c`. Modifiers are pressed in order, the key is pressed and released, then the
//! modifiers are released in reverse order.

/// One physical key: its X keysym and its XT (set 1) scancode, `0xe0xx` for extended keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    pub keysym: u32,
    pub scancode: u16,
}

impl Key {
    const fn new(keysym: u32, scancode: u16) -> Key {
        Key { keysym, scancode }
    }

    /// The scancode as QEMU's extended key event wants it: extended (0xe0-prefixed) codes are
    /// sent as one byte with the high bit set.
    pub fn qemu_keycode(&self) -> u32 {
        if self.scancode & 0xff00 == 0xe000 {
            0x80 | u32::from(self.scancode & 0x7f)
        } else {
            u32::from(self.scancode)
        }
    }
}

/// A key event sequence: press `keys` in order, release in reverse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Combo {
    pub keys: Vec<Key>,
}

/// One key going down or up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyEvent {
    pub key: Key,
    pub down: bool,
}

impl Combo {
    /// What pressing the combo sends: every key down in order, then up in reverse order.
    pub fn events(&self) -> Vec<KeyEvent> {
        let downs = self.keys.iter().map(|&key| KeyEvent { key, down: true });
        let ups = self
            .keys
            .iter()
            .rev()
            .map(|&key| KeyEvent { key, down: false });
        downs.chain(ups).collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("unknown key name {name:?} in {combo:?}; closest valid names: {}", suggestions.join(", "))]
    Unknown {
        combo: String,
        name: String,
        suggestions: Vec<String>,
    },
    #[error("empty key combo {0:?}")]
    Empty(String),
    #[error(
        "cannot type character {ch:?} (position {pos}): only printable ASCII, newline and tab can be typed"
    )]
    Untypeable { ch: char, pos: usize },
}

pub const SHIFT: Key = Key::new(0xffe1, 0x2a);
pub const CTRL: Key = Key::new(0xffe3, 0x1d);
pub const ALT: Key = Key::new(0xffe9, 0x38);

/// Named keys (lower case). Aliases share a line.
const NAMED: &[(&str, Key)] = &[
    ("ret", Key::new(0xff0d, 0x1c)),
    ("return", Key::new(0xff0d, 0x1c)),
    ("enter", Key::new(0xff0d, 0x1c)),
    ("kp_enter", Key::new(0xff8d, 0xe01c)),
    ("esc", Key::new(0xff1b, 0x01)),
    ("escape", Key::new(0xff1b, 0x01)),
    ("tab", Key::new(0xff09, 0x0f)),
    ("spc", Key::new(0x0020, 0x39)),
    ("space", Key::new(0x0020, 0x39)),
    ("backspace", Key::new(0xff08, 0x0e)),
    ("bksp", Key::new(0xff08, 0x0e)),
    ("delete", Key::new(0xffff, 0xe053)),
    ("del", Key::new(0xffff, 0xe053)),
    ("insert", Key::new(0xff63, 0xe052)),
    ("ins", Key::new(0xff63, 0xe052)),
    ("home", Key::new(0xff50, 0xe047)),
    ("end", Key::new(0xff57, 0xe04f)),
    ("pgup", Key::new(0xff55, 0xe049)),
    ("pageup", Key::new(0xff55, 0xe049)),
    ("pgdn", Key::new(0xff56, 0xe051)),
    ("pagedown", Key::new(0xff56, 0xe051)),
    ("left", Key::new(0xff51, 0xe04b)),
    ("up", Key::new(0xff52, 0xe048)),
    ("right", Key::new(0xff53, 0xe04d)),
    ("down", Key::new(0xff54, 0xe050)),
    ("f1", Key::new(0xffbe, 0x3b)),
    ("f2", Key::new(0xffbf, 0x3c)),
    ("f3", Key::new(0xffc0, 0x3d)),
    ("f4", Key::new(0xffc1, 0x3e)),
    ("f5", Key::new(0xffc2, 0x3f)),
    ("f6", Key::new(0xffc3, 0x40)),
    ("f7", Key::new(0xffc4, 0x41)),
    ("f8", Key::new(0xffc5, 0x42)),
    ("f9", Key::new(0xffc6, 0x43)),
    ("f10", Key::new(0xffc7, 0x44)),
    ("f11", Key::new(0xffc8, 0x57)),
    ("f12", Key::new(0xffc9, 0x58)),
    ("shift", SHIFT),
    ("shift_r", Key::new(0xffe2, 0x36)),
    ("ctrl", CTRL),
    ("control", CTRL),
    ("ctrl_r", Key::new(0xffe4, 0xe01d)),
    ("alt", ALT),
    ("alt_r", Key::new(0xffea, 0xe038)),
    ("altgr", Key::new(0xfe03, 0xe038)),
    ("super", Key::new(0xffeb, 0xe05b)),
    ("meta", Key::new(0xffeb, 0xe05b)),
    ("win", Key::new(0xffeb, 0xe05b)),
    ("meta_l", Key::new(0xffeb, 0xe05b)),
    ("meta_r", Key::new(0xffec, 0xe05c)),
    ("menu", Key::new(0xff67, 0xe05d)),
    ("capslock", Key::new(0xffe5, 0x3a)),
    ("caps_lock", Key::new(0xffe5, 0x3a)),
    ("numlock", Key::new(0xff7f, 0x45)),
    ("scrolllock", Key::new(0xff14, 0x46)),
    ("print", Key::new(0xff61, 0xe037)),
    ("sysrq", Key::new(0xff61, 0xe037)),
    ("minus", Key::new(0x002d, 0x0c)),
    ("plus", Key::new(0x002b, 0x0d)),
    ("equal", Key::new(0x003d, 0x0d)),
    ("comma", Key::new(0x002c, 0x33)),
    ("dot", Key::new(0x002e, 0x34)),
    ("slash", Key::new(0x002f, 0x35)),
    ("backslash", Key::new(0x005c, 0x2b)),
    ("semicolon", Key::new(0x003b, 0x27)),
    ("apostrophe", Key::new(0x0027, 0x28)),
    ("bracket_left", Key::new(0x005b, 0x1a)),
    ("bracket_right", Key::new(0x005d, 0x1b)),
    ("grave_accent", Key::new(0x0060, 0x29)),
];

/// US-layout scancode of the key that produces the printable ASCII `c`, and whether shift is
/// needed for it.
fn ascii_scancode(c: char) -> Option<(u16, bool)> {
    const ROW_NUM: &str = "1234567890";
    const ROW_NUM_SHIFT: &str = "!@#$%^&*()";
    const LETTERS: [(&str, u16); 3] =
        [("qwertyuiop", 0x10), ("asdfghjkl", 0x1e), ("zxcvbnm", 0x2c)];
    if let Some(i) = ROW_NUM.find(c) {
        return Some((0x02 + i as u16, false));
    }
    if let Some(i) = ROW_NUM_SHIFT.find(c) {
        return Some((0x02 + i as u16, true));
    }
    let lower = c.to_ascii_lowercase();
    for (row, base) in LETTERS {
        if let Some(i) = row.find(lower) {
            return Some((base + i as u16, c.is_ascii_uppercase()));
        }
    }
    let (code, shift) = match c {
        ' ' => (0x39, false),
        '`' => (0x29, false),
        '~' => (0x29, true),
        '-' => (0x0c, false),
        '_' => (0x0c, true),
        '=' => (0x0d, false),
        '+' => (0x0d, true),
        '[' => (0x1a, false),
        '{' => (0x1a, true),
        ']' => (0x1b, false),
        '}' => (0x1b, true),
        ';' => (0x27, false),
        ':' => (0x27, true),
        '\'' => (0x28, false),
        '"' => (0x28, true),
        '\\' => (0x2b, false),
        '|' => (0x2b, true),
        ',' => (0x33, false),
        '<' => (0x33, true),
        '.' => (0x34, false),
        '>' => (0x34, true),
        '/' => (0x35, false),
        '?' => (0x35, true),
        _ => return None,
    };
    Some((code, shift))
}

/// The keys to press for one typed character: `[key]` or `[shift, key]`.
pub fn char_combo(c: char) -> Option<Combo> {
    match c {
        '\n' => {
            return Some(Combo {
                keys: vec![named("ret")?],
            });
        }
        '\t' => {
            return Some(Combo {
                keys: vec![named("tab")?],
            });
        }
        _ => {}
    }
    let (scancode, shift) = ascii_scancode(c)?;
    let key = Key::new(c as u32, scancode);
    Some(Combo {
        keys: if shift { vec![SHIFT, key] } else { vec![key] },
    })
}

fn named(name: &str) -> Option<Key> {
    NAMED.iter().find(|(n, _)| *n == name).map(|(_, k)| *k)
}

/// All valid key names (for help texts and suggestions).
pub fn names() -> impl Iterator<Item = &'static str> {
    NAMED.iter().map(|(n, _)| *n)
}

/// Parses a combo such as `ctrl-alt-delete`, `shift-tab`, `ret`, `a`, `A` (= shift-a), `-`.
pub fn parse_combo(combo: &str) -> Result<Combo, KeyError> {
    if combo.is_empty() {
        return Err(KeyError::Empty(combo.into()));
    }
    // Split on '-', where an empty part stands for the '-' key itself ("-", "ctrl--").
    let mut parts: Vec<&str> = Vec::new();
    let mut rest = combo;
    while !rest.is_empty() {
        if let Some(stripped) = rest.strip_prefix('-') {
            parts.push("-");
            rest = stripped.strip_prefix('-').unwrap_or(stripped);
            continue;
        }
        match rest.find('-') {
            Some(i) => {
                parts.push(&rest[..i]);
                rest = &rest[i + 1..];
            }
            None => {
                parts.push(rest);
                rest = "";
            }
        }
    }
    let mut keys = Vec::new();
    for part in parts {
        let mut chars = part.chars();
        if let (Some(c), None) = (chars.next(), chars.next())
            && let Some(sub) = char_combo(c).filter(|_| c != '\n' && c != '\t')
        {
            for k in sub.keys {
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
            continue;
        }
        let lower = part.to_ascii_lowercase();
        match named(&lower) {
            Some(k) => keys.push(k),
            None => {
                return Err(KeyError::Unknown {
                    combo: combo.into(),
                    name: part.into(),
                    suggestions: closest_names(&lower, 5),
                });
            }
        }
    }
    Ok(Combo { keys })
}

/// The `n` valid names closest to `name` by edit distance.
fn closest_names(name: &str, n: usize) -> Vec<String> {
    let mut scored: Vec<(usize, &str)> = names().map(|k| (edit_distance(name, k), k)).collect();
    scored.sort();
    scored
        .into_iter()
        .take(n)
        .map(|(_, k)| k.to_string())
        .collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The combos that type `text`, one per character.
pub fn text_combos(text: &str) -> Result<Vec<Combo>, KeyError> {
    text.chars()
        .enumerate()
        .map(|(pos, ch)| char_combo(ch).ok_or(KeyError::Untypeable { ch, pos }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combos() {
        let c = parse_combo("ctrl-alt-delete").unwrap();
        assert_eq!(c.keys, vec![CTRL, ALT, named("delete").unwrap()]);
        assert_eq!(
            parse_combo("shift-tab").unwrap().keys,
            vec![SHIFT, named("tab").unwrap()]
        );
        assert_eq!(
            parse_combo("RET").unwrap().keys,
            vec![named("ret").unwrap()]
        );
        let a = parse_combo("A").unwrap();
        assert_eq!(a.keys, vec![SHIFT, Key::new('A' as u32, 0x1e)]);
        assert_eq!(
            parse_combo("ctrl-c").unwrap().keys,
            vec![CTRL, Key::new('c' as u32, 0x2e)]
        );
        assert_eq!(
            parse_combo("-").unwrap().keys,
            vec![Key::new('-' as u32, 0x0c)]
        );
        assert_eq!(
            parse_combo("ctrl--").unwrap().keys,
            vec![CTRL, Key::new('-' as u32, 0x0c)]
        );
        assert_eq!(parse_combo("f12").unwrap().keys[0].scancode, 0x58);
    }

    #[test]
    fn unknown_key_suggests() {
        let err = parse_combo("ctrl-retrun").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("\"retrun\"") && msg.contains("return"),
            "{msg}"
        );
        assert!(parse_combo("").is_err());
    }

    #[test]
    fn qemu_keycodes() {
        assert_eq!(named("up").unwrap().qemu_keycode(), 0xc8);
        assert_eq!(named("ret").unwrap().qemu_keycode(), 0x1c);
    }

    #[test]
    fn every_printable_ascii_is_typeable() {
        for c in ' '..='~' {
            let combo = char_combo(c).unwrap_or_else(|| panic!("{c:?}"));
            assert_eq!(combo.keys.last().unwrap().keysym, c as u32);
        }
        assert!(text_combos("héllo").is_err());
    }
}
