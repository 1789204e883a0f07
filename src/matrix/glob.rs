//! Shell-style globs over cell names (`--only 'debian-12/*'`): `*` any run of characters
//! (slashes included: a cell name has exactly one), `?` one character, `[abc]`, `[a-z]` and
//! `[!x]` a class; anything else matches itself.

/// A compiled `--only` pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Glob {
    pattern: String,
    tokens: Vec<Token>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Char(char),
    Any,
    AnyRun,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl std::str::FromStr for Glob {
    type Err = String;

    fn from_str(pattern: &str) -> Result<Glob, String> {
        let mut tokens = Vec::new();
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            tokens.push(match c {
                '*' => Token::AnyRun,
                '?' => Token::Any,
                '[' => {
                    let negated = chars.next_if(|&c| c == '!' || c == '^').is_some();
                    let mut ranges = Vec::new();
                    let mut first = true;
                    loop {
                        let c = chars.next().ok_or_else(|| {
                            format!("--only {pattern:?}: '[' without a closing ']'")
                        })?;
                        if c == ']' && !first {
                            break;
                        }
                        first = false;
                        if chars.peek() == Some(&'-') {
                            chars.next();
                            match chars.next() {
                                Some(']') => {
                                    ranges.push((c, c));
                                    ranges.push(('-', '-'));
                                    break;
                                }
                                Some(end) => ranges.push((c, end)),
                                None => {
                                    return Err(format!(
                                        "--only {pattern:?}: '[' without a closing ']'"
                                    ));
                                }
                            }
                        } else {
                            ranges.push((c, c));
                        }
                    }
                    Token::Class { negated, ranges }
                }
                c => Token::Char(c),
            });
        }
        Ok(Glob {
            pattern: pattern.to_string(),
            tokens,
        })
    }
}

impl std::fmt::Display for Glob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.pattern)
    }
}

impl Glob {
    pub fn matches(&self, name: &str) -> bool {
        let text: Vec<char> = name.chars().collect();
        matches_from(&self.tokens, &text)
    }
}

/// Iterative matcher with one backtrack point (the last `*`), linear for these short names.
fn matches_from(tokens: &[Token], text: &[char]) -> bool {
    let (mut t, mut s) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while s < text.len() {
        let step = match tokens.get(t) {
            Some(Token::AnyRun) => {
                star = Some((t, s));
                t += 1;
                continue;
            }
            Some(Token::Any) => true,
            Some(Token::Char(c)) => *c == text[s],
            Some(Token::Class { negated, ranges }) => {
                ranges.iter().any(|&(a, b)| a <= text[s] && text[s] <= b) != *negated
            }
            None => false,
        };
        if step {
            t += 1;
            s += 1;
        } else if let Some((st, ss)) = star {
            t = st + 1;
            s = ss + 1;
            star = Some((st, ss + 1));
        } else {
            return false;
        }
    }
    tokens[t..].iter().all(|tok| *tok == Token::AnyRun)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(p: &str) -> Glob {
        p.parse().unwrap()
    }

    #[test]
    fn shell_style_patterns() {
        assert!(g("debian-12/*").matches("debian-12/bios-std"));
        assert!(!g("debian-12/*").matches("debian-12-gtk/bios-std"));
        assert!(g("*/uefi-*").matches("debian-12/uefi-virtio"));
        assert!(!g("*/uefi-*").matches("debian-12/bios-std"));
        assert!(g("debian-12?gtk/*").matches("debian-12-gtk/default"));
        assert!(g("*/[bu]*-std").matches("debian-12/uefi-std"));
        assert!(!g("*/[!b]*").matches("debian-12/bios-std"));
        assert!(g("*").matches("a/b"));
        assert!(g("a/b").matches("a/b") && !g("a/b").matches("a/bc"));
        assert!(g("*-[a-c]").matches("x/y-b") && !g("*-[a-c]").matches("x/y-d"));
        assert!("[ab".parse::<Glob>().unwrap_err().contains("']'"));
    }
}
