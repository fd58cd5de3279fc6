//! Rust attributes that compile tests out: `#[cfg(...)]` (or `#![cfg(...)]`)
//! whose predicate can never hold, such as `any()`, `not(all())`, `FALSE`
//! or `all(test, not(test))`, and `#[cfg_attr(..., ignore)]`.
//!
//! A predicate is evaluated with three values: true, false and unknown (any
//! name or `name = "value"` the build may or may not set). Only a predicate
//! that is false whatever the build sets counts as disabling. Names are
//! unknown except `true`/`false` and a few that by convention are never set
//! ([`NEVER_SET`]): `#[cfg(FALSE)]`, `#[cfg(never)]`, and `#[cfg(tests)]`
//! in place of `#[cfg(test)]`.

/// Cfg names that by convention disable code, compared case-insensitively.
/// Cargo sets none of them; `tests` is the `test` cfg misspelt on purpose.
pub const NEVER_SET: &[&str] = &[
    "false", "never", "disabled", "disable", "skip", "skipped", "ignore", "ignored", "off", "none",
    "nope", "todo", "fixme", "broken", "flaky", "wip", "tests",
];

/// Predicates nested deeper than this are left unknown.
const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok<'a> {
    Pound,
    Bang,
    LBracket,
    RBracket,
    LParen,
    RParen,
    Comma,
    Eq,
    Ident(&'a str),
    /// A string literal, quotes included.
    Str(&'a str),
    Other,
}

/// The tokens of `text`, up to a `//` comment. Block comments are skipped;
/// an unterminated string or block comment ends the text.
fn lex(text: &str) -> Vec<Tok<'_>> {
    let bytes = text.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b if b.is_ascii_whitespace() => i += 1,
            b'/' if bytes.get(i + 1) == Some(&b'/') => break,
            b'/' if bytes.get(i + 1) == Some(&b'*') => match text[i + 2..].find("*/") {
                Some(end) => i += 2 + end + 2,
                None => break,
            },
            b'"' => {
                let mut j = i + 1;
                while j < bytes.len() && bytes[j] != b'"' {
                    j += if bytes[j] == b'\\' { 2 } else { 1 };
                }
                if j >= bytes.len() {
                    break;
                }
                toks.push(Tok::Str(&text[i..=j]));
                i = j + 1;
            }
            b'#' => {
                toks.push(Tok::Pound);
                i += 1;
            }
            b'!' => {
                toks.push(Tok::Bang);
                i += 1;
            }
            b'[' => {
                toks.push(Tok::LBracket);
                i += 1;
            }
            b']' => {
                toks.push(Tok::RBracket);
                i += 1;
            }
            b'(' => {
                toks.push(Tok::LParen);
                i += 1;
            }
            b')' => {
                toks.push(Tok::RParen);
                i += 1;
            }
            b',' => {
                toks.push(Tok::Comma);
                i += 1;
            }
            b'=' => {
                toks.push(Tok::Eq);
                i += 1;
            }
            b if b.is_ascii_alphabetic() || b == b'_' => {
                // `r#name` is the raw form of `name`.
                let start = if b == b'r' && bytes.get(i + 1) == Some(&b'#') {
                    i + 2
                } else {
                    i
                };
                let mut j = start;
                while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
                    j += 1;
                }
                if j == start {
                    // `r#` followed by something else: `r`, then `#`.
                    toks.push(Tok::Ident("r"));
                    i += 1;
                } else {
                    toks.push(Tok::Ident(&text[start..j]));
                    i = j;
                }
            }
            _ => {
                toks.push(Tok::Other);
                // Whole characters, so that slicing stays on boundaries.
                i += text[i..].chars().next().map_or(1, char::len_utf8);
            }
        }
    }
    toks
}

/// The start of each attribute in `toks`: the index just after
/// `# [`/`# ! [`.
fn attribute_starts<'t>(toks: &'t [Tok<'_>]) -> impl Iterator<Item = usize> + 't {
    (0..toks.len()).filter_map(move |i| {
        if toks[i] != Tok::Pound {
            return None;
        }
        let j = if toks.get(i + 1) == Some(&Tok::Bang) {
            i + 2
        } else {
            i + 1
        };
        (toks.get(j) == Some(&Tok::LBracket)).then_some(j + 1)
    })
}

/// True when `text` opens an attribute (`#[`) that it does not close: the
/// attribute continues on the next line.
pub fn opens_attribute(text: &str) -> bool {
    let toks = lex(text);
    attribute_starts(&toks).any(|start| {
        let mut depth = 1usize;
        for tok in &toks[start..] {
            match tok {
                Tok::LBracket | Tok::LParen => depth += 1,
                Tok::RBracket | Tok::RParen => {
                    depth -= 1;
                    if depth == 0 {
                        return false;
                    }
                }
                _ => {}
            }
        }
        true
    })
}

/// True when `text` holds an attribute that compiles the item after it out
/// in every build, or marks it `#[ignore]` in some.
pub fn disables(text: &str) -> bool {
    let toks = lex(text);
    attribute_starts(&toks).any(|start| {
        let mut pos = start;
        attr_disables(&toks, &mut pos, 0)
    })
}

/// Reads one attribute (`cfg(...)`, `cfg_attr(...)`, `ignore`, ...) at
/// `pos`. True when it disables what follows.
fn attr_disables(toks: &[Tok<'_>], pos: &mut usize, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    let Some(Tok::Ident(name)) = toks.get(*pos) else {
        return false;
    };
    *pos += 1;
    match *name {
        "ignore" => true,
        "cfg" => {
            if toks.get(*pos) != Some(&Tok::LParen) {
                return false;
            }
            *pos += 1;
            let Some((value, _)) = predicate(toks, pos, depth + 1) else {
                return false;
            };
            // One predicate, an optional trailing comma, `)`.
            if toks.get(*pos) == Some(&Tok::Comma) {
                *pos += 1;
            }
            toks.get(*pos) == Some(&Tok::RParen) && value == Value::False
        }
        "cfg_attr" => {
            if toks.get(*pos) != Some(&Tok::LParen) {
                return false;
            }
            *pos += 1;
            let Some((value, _)) = predicate(toks, pos, depth + 1) else {
                return false;
            };
            if value == Value::False {
                // The attributes never apply.
                return false;
            }
            // `, attr, attr ...)`: any that disables, disables.
            while toks.get(*pos) == Some(&Tok::Comma) {
                *pos += 1;
                if toks.get(*pos) == Some(&Tok::RParen) {
                    break;
                }
                let start = *pos;
                let mut inner = start;
                if attr_disables(toks, &mut inner, depth + 1) {
                    return true;
                }
                // Skip the rest of this attribute, whatever it was.
                *pos = skip_to_separator(toks, start);
            }
            false
        }
        _ => false,
    }
}

/// The index of the next `,` or `)` at the current nesting level from
/// `pos` (or the end).
fn skip_to_separator(toks: &[Tok<'_>], mut pos: usize) -> usize {
    let mut depth = 0usize;
    while let Some(tok) = toks.get(pos) {
        match tok {
            Tok::LParen | Tok::LBracket => depth += 1,
            Tok::RParen | Tok::RBracket if depth == 0 => return pos,
            Tok::RParen | Tok::RBracket => depth -= 1,
            Tok::Comma if depth == 0 => return pos,
            _ => {}
        }
        pos += 1;
    }
    pos
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Value {
    True,
    False,
    Unknown,
}

impl Value {
    fn not(self) -> Value {
        match self {
            Value::True => Value::False,
            Value::False => Value::True,
            Value::Unknown => Value::Unknown,
        }
    }
}

/// Reads one cfg predicate at `pos`: its value and a canonical spelling
/// (for spotting `p` next to `not(p)`). None when it is malformed.
fn predicate(toks: &[Tok<'_>], pos: &mut usize, depth: usize) -> Option<(Value, String)> {
    if depth > MAX_DEPTH {
        return None;
    }
    let Some(Tok::Ident(name)) = toks.get(*pos).copied() else {
        return None;
    };
    *pos += 1;
    match toks.get(*pos) {
        Some(Tok::Eq) => {
            let Some(Tok::Str(value)) = toks.get(*pos + 1).copied() else {
                return None;
            };
            *pos += 2;
            Some((Value::Unknown, format!("{name}={value}")))
        }
        Some(Tok::LParen) if matches!(name, "any" | "all" | "not") => {
            *pos += 1;
            let mut items: Vec<(Value, String)> = Vec::new();
            while toks.get(*pos) != Some(&Tok::RParen) {
                items.push(predicate(toks, pos, depth + 1)?);
                match toks.get(*pos) {
                    Some(Tok::Comma) => *pos += 1,
                    Some(Tok::RParen) => {}
                    _ => return None,
                }
            }
            *pos += 1;
            let spelled = format!(
                "{name}({})",
                items
                    .iter()
                    .map(|(_, s)| s.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            );
            // `p` and `not(p)` side by side.
            let opposed = items.iter().any(|(_, a)| {
                items.iter().any(|(_, b)| {
                    b.strip_prefix("not(").and_then(|b| b.strip_suffix(')')) == Some(a)
                })
            });
            let value = match name {
                "not" => match items.as_slice() {
                    [(value, _)] => value.not(),
                    _ => return None,
                },
                "all" if opposed || items.iter().any(|(v, _)| *v == Value::False) => Value::False,
                "all" if items.iter().all(|(v, _)| *v == Value::True) => Value::True,
                "any" if opposed || items.iter().any(|(v, _)| *v == Value::True) => Value::True,
                "any" if items.iter().all(|(v, _)| *v == Value::False) => Value::False,
                _ => Value::Unknown,
            };
            Some((value, spelled))
        }
        _ => {
            let value = if name == "true" {
                Value::True
            } else if NEVER_SET.iter().any(|n| n.eq_ignore_ascii_case(name)) {
                Value::False
            } else {
                Value::Unknown
            };
            Some((value, name.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluates_predicates_in_three_values() {
        let value = |text: &str| {
            let toks = lex(text);
            let mut pos = 0;
            predicate(&toks, &mut pos, 0).map(|(v, _)| v)
        };
        assert_eq!(value("any()"), Some(Value::False));
        assert_eq!(value("all()"), Some(Value::True));
        assert_eq!(value("not(any())"), Some(Value::True));
        assert_eq!(value("any(unix, any())"), Some(Value::Unknown));
        assert_eq!(value("all(unix, any())"), Some(Value::False));
        assert_eq!(value("any(unix, not(unix))"), Some(Value::True));
        assert_eq!(
            value("all(feature = \"a\", not(feature = \"a\"))"),
            Some(Value::False)
        );
        assert_eq!(
            value("all(feature = \"a\", not(feature = \"b\"))"),
            Some(Value::Unknown)
        );
        assert_eq!(value("r#false"), Some(Value::False));
        assert_eq!(value("not(a, b)"), None);
        assert_eq!(value("any(,)"), None);
    }

    #[test]
    fn deeply_nested_predicates_are_not_evaluated() {
        let deep = format!("#[cfg({}{})]", "not(".repeat(1000), ")".repeat(1000));
        assert!(!disables(&deep));
        let deep_false = format!("#[cfg({}any(){})]", "all(".repeat(10), ")".repeat(10));
        assert!(disables(&deep_false));
    }

    #[test]
    fn notices_attributes_that_continue_on_the_next_line() {
        assert!(opens_attribute("#[cfg(all("));
        assert!(opens_attribute("    #[cfg_attr("));
        assert!(!opens_attribute("#[cfg(test)]"));
        assert!(!opens_attribute("let v = vec![1, 2"));
        assert!(!opens_attribute("// #[cfg(all("));
    }
}
