//! Line handling shared by the text parsers.

use std::borrow::Cow;

/// The lines of `text` without carriage returns and ANSI color codes, which
/// CI logs often keep.
pub fn clean_lines(text: &str) -> impl Iterator<Item = Cow<'_, str>> {
    text.lines().map(strip_ansi)
}

fn strip_ansi(line: &str) -> Cow<'_, str> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    if !line.contains('\u{1b}') {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        // CSI: ESC [ parameters, then one final byte in @..~.
        if chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_color_codes_and_carriage_returns() {
        let lines: Vec<_> = clean_lines("a \u{1b}[1;31mFAILED\u{1b}[0m\r\nb").collect();
        assert_eq!(lines, ["a FAILED", "b"]);
    }
}
