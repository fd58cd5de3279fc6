//! Interval lengths: `90s`, `15m`, `2h`, `1d`, or sums like `1h30m`.

/// The longest interval accepted: a year.
pub const MAX_SECS: u64 = 366 * 86_400;

/// Parses an interval into seconds.
pub fn parse(text: &str) -> Result<u64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("expected an interval such as \"90s\", \"15m\", \"2h\" or \"1d\"".into());
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            _ => return Err(format!("{text:?}: unknown unit {c:?}; use s, m, h or d")),
        };
        if digits.is_empty() {
            return Err(format!("{text:?}: expected a number before {c:?}"));
        }
        let n: u64 = digits
            .parse()
            .map_err(|_| format!("{text:?} is too long"))?;
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .filter(|&t| t <= MAX_SECS)
            .ok_or_else(|| format!("{text:?} is longer than a year"))?;
        digits.clear();
    }
    if !digits.is_empty() {
        return Err(format!(
            "{text:?}: the number {digits} needs a unit (s, m, h or d)"
        ));
    }
    if total == 0 {
        return Err(format!("{text:?} must be at least one second"));
    }
    Ok(total)
}

/// The latest multiple of `period_ms` (counted from the Unix epoch) in
/// `(after_ms, now_ms]` (or `[.., now_ms]` when `after_ms` is None), and how
/// many such multiples the span holds.
pub fn due(period_ms: u64, after_ms: Option<u64>, now_ms: u64) -> Option<(u64, u64)> {
    let last = now_ms / period_ms;
    let first = match after_ms {
        Some(after) => after / period_ms + 1,
        None => last,
    };
    (first <= last).then(|| (last * period_ms, last - first + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_units_and_sums() {
        assert_eq!(parse("90s"), Ok(90));
        assert_eq!(parse("15m"), Ok(900));
        assert_eq!(parse("2h"), Ok(7_200));
        assert_eq!(parse("1d"), Ok(86_400));
        assert_eq!(parse("1h30m"), Ok(5_400));
    }

    #[test]
    fn refuses_nonsense() {
        for bad in [
            "",
            "15",
            "m",
            "0s",
            "5w",
            "1.5h",
            "-5m",
            "400d",
            "99999999999999999999999s",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn due_times_are_aligned_to_the_epoch() {
        let min = 60_000;
        // Every 15 minutes, from 10:02 to 11:07 (in minutes since epoch).
        assert_eq!(
            due(15 * min, Some(602 * min), 667 * min),
            Some((660 * min, 4))
        );
        assert_eq!(due(15 * min, Some(660 * min), 667 * min), None);
        assert_eq!(due(15 * min, None, 667 * min), Some((660 * min, 1)));
    }
}
