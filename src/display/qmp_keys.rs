//! Key names and characters as QEMU key codes ("qcodes"), for typing through QMP `send-key`.
//!
//! Names follow QEMU's qcodes (`ret`, `esc`, `spc`, `pgup`, ...) with the common aliases
//! (`enter`, `space`, `pageup`, `escape`, `del`); characters map to a US keyboard, which is what
//! the guest's console assumes unless the macro chose another layout.

/// The qcodes of a combination like "ctrl-alt-delete", or an error listing what is valid.
pub fn combo_qcodes(combo: &str) -> Result<Vec<String>, String> {
    if combo.is_empty() {
        return Err("empty key name".into());
    }
    // "minus" is how a literal '-' is written inside a combination.
    combo
        .split('-')
        .map(|part| name_qcode(part).ok_or_else(|| unknown(part)))
        .collect()
}

fn unknown(name: &str) -> String {
    format!(
        "unknown key {name:?}; valid names: a-z, 0-9, f1-f12, ret/enter, esc, tab, spc/space, backspace, \
         delete, insert, home, end, pgup, pgdn, up, down, left, right, ctrl, alt, shift, meta_l, minus, \
         equal, comma, dot, slash, semicolon, apostrophe, backslash, bracket_left, bracket_right, grave_accent, \
         sysrq, print"
    )
}

fn name_qcode(name: &str) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    let alias = match lower.as_str() {
        "enter" | "return" => "ret",
        "escape" => "esc",
        "space" => "spc",
        "pageup" => "pgup",
        "pagedown" => "pgdn",
        "del" => "delete",
        "ins" => "insert",
        "control" => "ctrl",
        "super" | "win" => "meta_l",
        other => other,
    };
    let single = alias.len() == 1 && alias.chars().all(|c| c.is_ascii_alphanumeric());
    let function = alias
        .strip_prefix('f')
        .and_then(|n| n.parse::<u8>().ok())
        .is_some_and(|n| (1..=12).contains(&n));
    const NAMED: &[&str] = &[
        "ret",
        "esc",
        "tab",
        "spc",
        "backspace",
        "delete",
        "insert",
        "home",
        "end",
        "pgup",
        "pgdn",
        "up",
        "down",
        "left",
        "right",
        "ctrl",
        "ctrl_r",
        "alt",
        "alt_r",
        "shift",
        "shift_r",
        "meta_l",
        "meta_r",
        "minus",
        "equal",
        "comma",
        "dot",
        "slash",
        "semicolon",
        "apostrophe",
        "backslash",
        "bracket_left",
        "bracket_right",
        "grave_accent",
        "sysrq",
        "print",
        "caps_lock",
        "menu",
    ];
    (single || function || NAMED.contains(&alias)).then(|| alias.to_string())
}

/// The qcodes (with "shift" first when needed) that type `c` on a US keyboard.
pub fn char_qcodes(c: char) -> Option<Vec<&'static str>> {
    const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
    const DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    const LETTERS: [&str; 26] = [
        "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r",
        "s", "t", "u", "v", "w", "x", "y", "z",
    ];
    if let Some(i) = LOWER.find(c) {
        return Some(vec![LETTERS[i]]);
    }
    if c.is_ascii_uppercase() {
        let i = LOWER.find(c.to_ascii_lowercase())?;
        return Some(vec!["shift", LETTERS[i]]);
    }
    if let Some(d) = c.to_digit(10) {
        return Some(vec![DIGITS[d as usize]]);
    }
    let plain = |k| Some(vec![k]);
    let shifted = |k| Some(vec!["shift", k]);
    match c {
        ' ' => plain("spc"),
        '\n' => plain("ret"),
        '\t' => plain("tab"),
        '-' => plain("minus"),
        '_' => shifted("minus"),
        '=' => plain("equal"),
        '+' => shifted("equal"),
        '.' => plain("dot"),
        '>' => shifted("dot"),
        ',' => plain("comma"),
        '<' => shifted("comma"),
        '/' => plain("slash"),
        '?' => shifted("slash"),
        ';' => plain("semicolon"),
        ':' => shifted("semicolon"),
        '\'' => plain("apostrophe"),
        '"' => shifted("apostrophe"),
        '\\' => plain("backslash"),
        '|' => shifted("backslash"),
        '[' => plain("bracket_left"),
        '{' => shifted("bracket_left"),
        ']' => plain("bracket_right"),
        '}' => shifted("bracket_right"),
        '`' => plain("grave_accent"),
        '~' => shifted("grave_accent"),
        '!' => shifted("1"),
        '@' => shifted("2"),
        '#' => shifted("3"),
        '$' => shifted("4"),
        '%' => shifted("5"),
        '^' => shifted("6"),
        '&' => shifted("7"),
        '*' => shifted("8"),
        '(' => shifted("9"),
        ')' => shifted("0"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combos_aliases_and_errors() {
        assert_eq!(
            combo_qcodes("ctrl-alt-delete").unwrap(),
            ["ctrl", "alt", "delete"]
        );
        assert_eq!(combo_qcodes("Enter").unwrap(), ["ret"]);
        assert_eq!(combo_qcodes("f12").unwrap(), ["f12"]);
        let err = combo_qcodes("retrun").unwrap_err();
        assert!(err.contains("retrun") && err.contains("ret/enter"), "{err}");
        assert!(combo_qcodes("f13").is_err());
    }

    #[test]
    fn characters_on_a_us_keyboard() {
        assert_eq!(char_qcodes('a').unwrap(), ["a"]);
        assert_eq!(char_qcodes('Q').unwrap(), ["shift", "q"]);
        assert_eq!(char_qcodes('>').unwrap(), ["shift", "dot"]);
        assert_eq!(char_qcodes('7').unwrap(), ["7"]);
        assert!(char_qcodes('é').is_none());
    }
}
