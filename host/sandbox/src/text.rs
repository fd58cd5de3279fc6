//! Guest text on its way to a terminal.

/// Control characters (escape sequences, `\r`, `\n`) shown escaped, so a
/// plugin cannot forge, recolour or hide lines of the host's output.
pub fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(
            printable("ok\n  ok    forged\x1b[2K"),
            "ok\\n  ok    forged\\u{1b}[2K"
        );
        assert_eq!(printable("naïve ✓"), "naïve ✓");
    }
}
