//! Five-field cron expressions (minute hour day-of-month month day-of-week)
//! evaluated in UTC.
//!
//! Each field takes `*`, `*/n`, `a`, `a-b`, `a-b/n`, `a/n` (from a to the
//! end, every n) and comma lists of those; months and weekdays also take
//! English names (`jan`, `mon-fri`), and Sunday is 0 or 7. As in Vixie
//! cron, when both day fields are restricted (neither starts with `*`) a
//! day matches if either does. `@hourly`, `@daily`, `@midnight`, `@weekly`,
//! `@monthly`, `@yearly` and `@annually` are accepted too.

use crate::civil::{civil_from_days, days_in_month, weekday};

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// How far back the search for due times looks, in days. Bounds the work
/// of every poll; a cursor older than this only undercounts `missed`.
/// Ten years covers the rarest valid schedule (29 February, which can be 8
/// years apart around 2100).
pub const SEARCH_DAYS: i64 = 366 * 10;

const MINUTE_MS: u64 = 60_000;
const DAY_MINUTES: u64 = 1440;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u32,
    /// Bits 1..=31.
    days_of_month: u32,
    /// Bits 1..=12.
    months: u16,
    /// Bits 0..=6, Sunday = 0.
    days_of_week: u8,
    dom_star: bool,
    dow_star: bool,
    /// The expression with names replaced by numbers and macros expanded,
    /// for hosts whose cron parser knows only the plain syntax.
    normalized: String,
}

struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    /// The number of the first name (`jan` = 1, `sun` = 0).
    names_from: u32,
}

const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
        names_from: 0,
    },
    Field {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
        names_from: 0,
    },
    Field {
        name: "day-of-month",
        min: 1,
        max: 31,
        names: &[],
        names_from: 0,
    },
    Field {
        name: "month",
        min: 1,
        max: 12,
        names: &MONTHS,
        names_from: 1,
    },
    // 7 is Sunday again; folded into bit 0 after parsing.
    Field {
        name: "day-of-week",
        min: 0,
        max: 7,
        names: &DAYS,
        names_from: 0,
    },
];

impl Cron {
    pub fn parse(expression: &str) -> Result<Self, String> {
        let trimmed = expression.trim();
        let expanded = match trimmed.to_ascii_lowercase().as_str() {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            m if m.starts_with('@') => {
                return Err(format!(
                    "{m} is not supported; use five fields or @hourly, @daily, @weekly, @monthly, @yearly"
                ));
            }
            _ => trimmed,
        };
        let parts: Vec<&str> = expanded.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(format!(
                "expected five fields (minute hour day-of-month month day-of-week), got {}",
                parts.len()
            ));
        }
        let mut bits = [0u64; 5];
        let mut normalized = Vec::with_capacity(5);
        for ((part, field), out) in parts.iter().zip(&FIELDS).zip(bits.iter_mut()) {
            let (mask, text) = parse_field(part, field)?;
            *out = mask;
            normalized.push(text);
        }
        let dow = (bits[4] | (bits[4] >> 7)) & 0x7f;
        let cron = Self {
            minutes: bits[0],
            hours: bits[1] as u32,
            days_of_month: bits[2] as u32,
            months: bits[3] as u16,
            days_of_week: dow as u8,
            dom_star: parts[2].starts_with('*'),
            dow_star: parts[4].starts_with('*'),
            normalized: normalized.join(" "),
        };
        if !cron.can_fire() {
            return Err(format!("{trimmed:?} never fires: no month has such a day"));
        }
        Ok(cron)
    }

    pub fn normalized(&self) -> &str {
        &self.normalized
    }

    /// False for day-of-month schedules no month can hold (`0 0 31 2 *`).
    fn can_fire(&self) -> bool {
        if !self.dow_star {
            return true;
        }
        (1..=12u32)
            .filter(|m| self.months & (1 << m) != 0)
            .any(|m| {
                // 2000 is a leap year: 29 February counts.
                let last = days_in_month(2000, m);
                (1..=last).any(|d| self.days_of_month & (1 << d) != 0)
            })
    }

    fn day_matches(&self, day: i64) -> bool {
        let (_, month, dom) = civil_from_days(day);
        if self.months & (1 << month) == 0 {
            return false;
        }
        let dom_ok = self.days_of_month & (1 << dom) != 0;
        let dow_ok = self.days_of_week & (1 << weekday(day)) != 0;
        match (self.dom_star, self.dow_star) {
            (true, true) => true,
            (true, false) => dow_ok,
            (false, true) => dom_ok,
            (false, false) => dom_ok || dow_ok,
        }
    }

    /// Due minutes of one day within `lo..=hi` (minutes of the day): their
    /// count and the latest one.
    fn due_in_day(&self, lo: u64, hi: u64) -> (u64, Option<u64>) {
        let mut count = 0u64;
        let mut latest = None;
        for hour in 0..24u64 {
            if self.hours & (1 << hour) == 0 {
                continue;
            }
            let start = hour * 60;
            let (from, to) = (lo.max(start), hi.min(start + 59));
            if from > to {
                continue;
            }
            let window = ((1u64 << (to - start + 1)) - 1) & !((1u64 << (from - start)) - 1);
            let due = self.minutes & window;
            if due != 0 {
                count += u64::from(due.count_ones());
                latest = Some(start + 63 - u64::from(due.leading_zeros()));
            }
        }
        (count, latest)
    }

    /// The latest due time in `(after_ms, now_ms]` (or `[.., now_ms]` when
    /// `after_ms` is None) and how many due times that span holds. The
    /// search looks back at most [`SEARCH_DAYS`].
    pub fn due(&self, after_ms: Option<u64>, now_ms: u64) -> Option<(u64, u64)> {
        let last = now_ms / MINUTE_MS;
        let first = match after_ms {
            Some(after) => after / MINUTE_MS + 1,
            None => 0,
        };
        if first > last {
            return None;
        }
        let last_day = (last / DAY_MINUTES) as i64;
        let first_day = ((first / DAY_MINUTES) as i64).max(last_day - SEARCH_DAYS);
        let mut count = 0u64;
        let mut latest = None;
        // Newest first: the latest due time is in the first matching day.
        let mut day = last_day;
        while day >= first_day {
            if self.day_matches(day) {
                let day_start = day as u64 * DAY_MINUTES;
                let lo = first.saturating_sub(day_start).min(DAY_MINUTES);
                let hi = (last - day_start).min(DAY_MINUTES - 1);
                if lo <= hi {
                    let (n, last_due) = self.due_in_day(lo, hi);
                    count += n;
                    if latest.is_none() {
                        latest = last_due.map(|m| (day_start + m) * MINUTE_MS);
                    }
                }
            }
            day -= 1;
        }
        latest.map(|t| (t, count))
    }
}

/// One field → its bit mask and its normalized text.
fn parse_field(text: &str, field: &Field) -> Result<(u64, String), String> {
    let bad = |why: String| format!("{} field {text:?}: {why}", field.name);
    let mut mask = 0u64;
    let mut items = Vec::new();
    for item in text.split(',') {
        if item.is_empty() {
            return Err(bad("empty list item".into()));
        }
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step
                    .parse()
                    .map_err(|_| bad(format!("step {step:?} is not a number")))?;
                if step == 0 || step > field.max {
                    return Err(bad(format!("step must be from 1 to {}", field.max)));
                }
                (range, Some(step))
            }
            None => (item, None),
        };
        let (from, to, star) = if range == "*" {
            (field.min, field.max, true)
        } else if let Some((a, b)) = range.split_once('-') {
            let from = value(a, field, false).map_err(&bad)?;
            let to = value(b, field, true).map_err(&bad)?;
            if from > to {
                return Err(bad(format!("range {range} runs backwards")));
            }
            (from, to, false)
        } else {
            let v = value(range, field, false).map_err(&bad)?;
            // `a/n` runs from a to the end of the field.
            (v, if step.is_some() { field.max } else { v }, false)
        };
        let step = step.unwrap_or(1);
        let mut v = from;
        while v <= to {
            mask |= 1 << v;
            v += step;
        }
        let mut norm = if star {
            "*".to_string()
        } else if from == to {
            from.to_string()
        } else {
            format!("{from}-{to}")
        };
        if step != 1 {
            norm.push_str(&format!("/{step}"));
        }
        items.push(norm);
    }
    Ok((mask, items.join(",")))
}

/// A number or a name within the field's bounds. Sunday ends a range as 7
/// (`fri-sun`) and starts one as 0.
fn value(text: &str, field: &Field, range_end: bool) -> Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    let n = if let Some(i) = field.names.iter().position(|n| *n == lower) {
        let n = i as u32 + field.names_from;
        if range_end && field.name == "day-of-week" && n == 0 {
            7
        } else {
            n
        }
    } else if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse().unwrap_or(u32::MAX)
    } else {
        return Err(format!(
            "{text:?} is not a number{}",
            if field.names.is_empty() {
                ""
            } else {
                " or a name"
            }
        ));
    };
    if n < field.min || n > field.max {
        return Err(format!("{n} is outside {}-{}", field.min, field.max));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::civil::days_from_civil;

    /// Milliseconds of a UTC date and time.
    fn at(y: i64, mo: u32, d: u32, h: u64, mi: u64) -> u64 {
        (days_from_civil(y, mo, d) as u64 * 1440 + h * 60 + mi) * 60_000
    }

    fn cron(text: &str) -> Cron {
        Cron::parse(text).unwrap()
    }

    #[test]
    fn every_fifteen_minutes_coalesces_missed_ticks() {
        let c = cron("*/15 * * * *");
        // (10:00, 11:07]: 10:15, 10:30, 10:45, 11:00.
        let due = c.due(Some(at(2024, 5, 1, 10, 0)), at(2024, 5, 1, 11, 7));
        assert_eq!(due, Some((at(2024, 5, 1, 11, 0), 4)));
        // Nothing due in (11:00, 11:07].
        assert_eq!(
            c.due(Some(at(2024, 5, 1, 11, 0)), at(2024, 5, 1, 11, 7)),
            None
        );
    }

    #[test]
    fn the_due_window_is_open_at_the_cursor_and_closed_at_now() {
        let c = cron("0 * * * *");
        let nine = at(2024, 5, 1, 9, 0);
        assert_eq!(c.due(Some(nine - 1), nine), Some((nine, 1)));
        assert_eq!(c.due(Some(nine), nine + 59 * 60_000), None);
    }

    #[test]
    fn weekdays_at_nine_skip_the_weekend() {
        let c = cron("0 9 * * mon-fri");
        assert_eq!(c.normalized(), "0 9 * * 1-5");
        // Friday 2024-05-03 17:00 to Monday 2024-05-06 08:00: only Friday's
        // 9:00 is before the cursor, so nothing is due...
        assert_eq!(
            c.due(Some(at(2024, 5, 3, 17, 0)), at(2024, 5, 6, 8, 0)),
            None
        );
        // ...until Monday 9:00.
        assert_eq!(
            c.due(Some(at(2024, 5, 3, 17, 0)), at(2024, 5, 6, 9, 30)),
            Some((at(2024, 5, 6, 9, 0), 1))
        );
    }

    #[test]
    fn restricted_day_fields_combine_with_or() {
        // The 13th of each month, and every Friday.
        let c = cron("0 0 13 * 5");
        // 2024-09-13 is a Friday; 2024-09-06 a Friday; 2024-10-13 a Sunday.
        let september = c
            .due(Some(at(2024, 9, 1, 0, 0)), at(2024, 9, 30, 23, 59))
            .unwrap();
        // Fridays 6, 13, 20, 27 (the 13th once).
        assert_eq!(september, (at(2024, 9, 27, 0, 0), 4));
        assert_eq!(
            c.due(Some(at(2024, 10, 12, 0, 0)), at(2024, 10, 13, 0, 0)),
            Some((at(2024, 10, 13, 0, 0), 1))
        );
        // With a star day-of-month, only the weekday counts.
        let fridays = cron("0 0 * * 5");
        assert_eq!(
            fridays.due(Some(at(2024, 10, 12, 0, 0)), at(2024, 10, 13, 0, 0)),
            None
        );
    }

    #[test]
    fn sunday_is_zero_or_seven_and_names_are_case_insensitive() {
        assert_eq!(
            cron("0 0 * * 7").days_of_week,
            cron("0 0 * * 0").days_of_week
        );
        assert_eq!(cron("0 0 * * FRI-SUN").normalized(), "0 0 * * 5-7");
        let c = cron("0 0 * * fri-sun");
        // 2024-05-05 is a Sunday.
        assert!(
            c.due(Some(at(2024, 5, 4, 23, 0)), at(2024, 5, 5, 0, 0))
                .is_some()
        );
        assert_eq!(cron("30 4 1 JAN,jul *").normalized(), "30 4 1 1,7 *");
    }

    #[test]
    fn ranges_steps_and_lists_expand() {
        let c = cron("5-20/5,59 8-10/2 * * *");
        assert_eq!(c.normalized(), "5-20/5,59 8-10/2 * * *");
        // 08:05 08:10 08:15 08:20 08:59 and the same at 10:xx.
        let (latest, n) = c
            .due(Some(at(2024, 1, 1, 0, 0)), at(2024, 1, 1, 23, 0))
            .unwrap();
        assert_eq!((latest, n), (at(2024, 1, 1, 10, 59), 10));
        assert_eq!(cron("10/20 * * * *").normalized(), "10-59/20 * * * *");
    }

    #[test]
    fn leap_day_schedules_are_found_years_apart() {
        let c = cron("0 12 29 2 *");
        let (t, n) = c
            .due(Some(at(2021, 1, 1, 0, 0)), at(2025, 1, 1, 0, 0))
            .unwrap();
        assert_eq!((t, n), (at(2024, 2, 29, 12, 0), 1));
        // First poll with no cursor: the most recent one.
        assert_eq!(
            c.due(None, at(2027, 6, 1, 0, 0)).map(|d| d.0),
            Some(at(2024, 2, 29, 12, 0))
        );
    }

    #[test]
    fn search_is_bounded_for_ancient_cursors() {
        let c = cron("* * * * *");
        let now = at(2024, 5, 1, 0, 0);
        let (t, n) = c.due(Some(0), now).unwrap();
        assert_eq!(t, now);
        // Counted over the search window only, not all 54 years.
        assert!(n <= (SEARCH_DAYS as u64 + 1) * 1440, "{n}");
        // A far-future `now` stays cheap too.
        assert!(c.due(Some(0), u64::MAX).is_some());
    }

    #[test]
    fn macros_expand() {
        assert_eq!(cron("@daily").normalized(), "0 0 * * *");
        assert_eq!(cron("@HOURLY").normalized(), "0 * * * *");
        assert!(Cron::parse("@reboot").is_err());
    }

    #[test]
    fn bad_expressions_say_which_field_is_wrong() {
        let err = |s: &str| Cron::parse(s).unwrap_err();
        assert!(err("* * * *").contains("five fields"));
        assert!(err("60 * * * *").contains("minute field"));
        assert!(err("* 24 * * *").contains("hour field"));
        assert!(err("* * 0 * *").contains("day-of-month field"));
        assert!(err("* * * 13 *").contains("month field"));
        assert!(err("* * * * 8").contains("day-of-week field"));
        assert!(err("*/0 * * * *").contains("step"));
        assert!(err("5-1 * * * *").contains("backwards"));
        assert!(err("a * * * *").contains("not a number"));
        assert!(err("1,,2 * * * *").contains("empty"));
        assert!(err("* * * foo *").contains("month field"));
        assert!(err("0 0 31 2 *").contains("never fires"));
        assert!(err("0 0 30 2 *").contains("never fires"));
    }
}
