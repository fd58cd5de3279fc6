//! Configuration, `describe` and `poll`.

use crate::cron::Cron;
use crate::every;
use gyre_sdk::json::{Fields, Value, json};
use gyre_sdk::trigger::{Event, Firing, PluginError, PollResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    Cron(Cron),
    /// Seconds.
    Every(u64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub rule: Rule,
    pub fire_on_first_poll: bool,
}

impl Config {
    pub fn from_json(value: &Value) -> Result<Self, PluginError> {
        let f = Fields::config(value)?;
        f.deny_unknown(&["cron", "every", "fire-on-first-poll"])?;
        let rule = match (f.str("cron")?, f.str("every")?) {
            (Some(expr), None) => {
                Rule::Cron(Cron::parse(expr).map_err(|why| f.error("cron", why))?)
            }
            (None, Some(every)) => {
                Rule::Every(every::parse(every).map_err(|why| f.error("every", why))?)
            }
            (Some(_), Some(_)) => {
                return Err(PluginError::invalid_config(
                    "config: set exactly one of `cron` and `every`, not both",
                ));
            }
            (None, None) => {
                return Err(PluginError::invalid_config(
                    "config: set `cron` (e.g. \"*/15 * * * *\") or `every` (e.g. \"15m\")",
                ));
            }
        };
        Ok(Self {
            rule,
            fire_on_first_poll: f.bool("fire-on-first-poll")?.unwrap_or(false),
        })
    }

    pub fn firing(&self) -> Firing {
        match &self.rule {
            Rule::Cron(cron) => Firing::Cron(cron.normalized().to_string()),
            Rule::Every(secs) => Firing::Interval(*secs),
        }
    }
}

/// One event for the latest due time in `(cursor, now]`, with the others
/// counted as `missed`. The returned cursor is `now` (or the old cursor,
/// when the host clock went back, so that no time is considered twice).
pub fn poll(config: &Config, cursor: Option<&str>, now_ms: u64) -> Result<PollResult, PluginError> {
    let after = cursor.map(parse_cursor).transpose()?;
    let due = match after {
        Some(after) => due(config, Some(after), now_ms),
        // First poll: nothing is owed unless asked for.
        None if config.fire_on_first_poll => due(config, None, now_ms).map(|(t, _)| (t, 1)),
        None => None,
    };
    let events = due
        .map(|(t, count)| {
            let payload = json!({ "scheduled-ms": t, "missed": count.saturating_sub(1) });
            vec![Event::new(format!("schedule:{t}"), "tick", &payload)]
        })
        .unwrap_or_default();
    let next = after.map_or(now_ms, |a| a.max(now_ms));
    Ok(PollResult {
        events,
        cursor: Some(next.to_string()),
    })
}

fn due(config: &Config, after: Option<u64>, now_ms: u64) -> Option<(u64, u64)> {
    match &config.rule {
        Rule::Cron(cron) => cron.due(after, now_ms),
        Rule::Every(secs) => every::due(secs.saturating_mul(1000), after, now_ms),
    }
}

fn parse_cursor(cursor: &str) -> Result<u64, PluginError> {
    let bad = || {
        PluginError::invalid_input(format!(
            "cursor: expected the decimal milliseconds returned by the previous poll, got {:?}",
            cursor.chars().take(40).collect::<String>()
        ))
    };
    if cursor.is_empty() || !cursor.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    cursor.parse().map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::civil::days_from_civil;

    fn at(y: i64, mo: u32, d: u32, h: u64, mi: u64) -> u64 {
        (days_from_civil(y, mo, d) as u64 * 1440 + h * 60 + mi) * 60_000
    }

    fn config(value: Value) -> Config {
        Config::from_json(&value).unwrap()
    }

    fn payload(event: &Event) -> Value {
        gyre_sdk::json::input(&event.payload).unwrap()
    }

    #[test]
    fn describe_reports_the_normalized_cron_or_the_interval() {
        assert!(
            matches!(config(json!({"cron": "0 9 * * MON-FRI"})).firing(), Firing::Cron(e) if e == "0 9 * * 1-5")
        );
        assert!(matches!(
            config(json!({"every": "15m"})).firing(),
            Firing::Interval(900)
        ));
    }

    #[test]
    fn first_poll_fires_nothing_by_default_and_sets_the_cursor() {
        let now = at(2024, 5, 1, 10, 7);
        let r = poll(&config(json!({"every": "15m"})), None, now).unwrap();
        assert!(r.events.is_empty());
        assert_eq!(r.cursor, Some(now.to_string()));
    }

    #[test]
    fn first_poll_fires_the_latest_due_time_when_asked() {
        let now = at(2024, 5, 1, 10, 7);
        let r = poll(
            &config(json!({"cron": "*/15 * * * *", "fire-on-first-poll": true})),
            None,
            now,
        )
        .unwrap();
        assert_eq!(r.events.len(), 1);
        let t = at(2024, 5, 1, 10, 0);
        assert_eq!(r.events[0].id, format!("schedule:{t}"));
        assert_eq!(r.events[0].kind, "tick");
        assert_eq!(
            payload(&r.events[0]),
            json!({"scheduled-ms": t, "missed": 0})
        );
    }

    #[test]
    fn a_late_poll_emits_one_event_counting_the_missed_ones() {
        let cursor = at(2024, 5, 1, 10, 0);
        let now = at(2024, 5, 1, 11, 7);
        let r = poll(
            &config(json!({"cron": "*/15 * * * *"})),
            Some(&cursor.to_string()),
            now,
        )
        .unwrap();
        assert_eq!(r.events.len(), 1);
        assert_eq!(
            payload(&r.events[0]),
            json!({"scheduled-ms": at(2024, 5, 1, 11, 0), "missed": 3})
        );
        assert_eq!(r.cursor, Some(now.to_string()));
        // Polling again at once finds nothing new.
        let again = poll(
            &config(json!({"cron": "*/15 * * * *"})),
            r.cursor.as_deref(),
            now + 1000,
        )
        .unwrap();
        assert!(again.events.is_empty());
    }

    #[test]
    fn intervals_fire_on_multiples_of_the_period() {
        let cursor = at(2024, 5, 1, 10, 0);
        let r = poll(
            &config(json!({"every": "90s"})),
            Some(&cursor.to_string()),
            cursor + 200_000,
        )
        .unwrap();
        // 10:01:30 and 10:03:00 are due; the latest is reported.
        assert_eq!(
            payload(&r.events[0]),
            json!({"scheduled-ms": cursor + 180_000, "missed": 1})
        );
    }

    #[test]
    fn a_clock_that_went_back_keeps_the_cursor() {
        let cursor = at(2024, 5, 1, 10, 0);
        let r = poll(
            &config(json!({"every": "1m"})),
            Some(&cursor.to_string()),
            cursor - 120_000,
        )
        .unwrap();
        assert!(r.events.is_empty());
        assert_eq!(r.cursor, Some(cursor.to_string()));
    }

    #[test]
    fn bad_cursors_are_invalid_input() {
        for bad in ["", "-1", "12ab", "1.5", "99999999999999999999999"] {
            let err = poll(&config(json!({"every": "1m"})), Some(bad), 0).unwrap_err();
            assert!(
                matches!(&err, PluginError::InvalidInput(m) if m.starts_with("cursor:")),
                "{bad}: {err:?}"
            );
        }
    }

    #[test]
    fn config_needs_exactly_one_rule() {
        let err = |v: Value| match Config::from_json(&v) {
            Err(PluginError::InvalidConfig(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(err(json!({})).contains("set `cron`"));
        assert!(err(json!({"cron": "* * * * *", "every": "1m"})).contains("not both"));
        assert!(err(json!({"cron": "61 * * * *"})).contains("config field \"cron\": minute field"));
        assert!(err(json!({"every": "soon"})).contains("\"every\""));
        assert!(
            err(json!({"every": "1m", "fire-on-first-poll": "yes"}))
                .contains("\"fire-on-first-poll\"")
        );
        assert!(err(json!({"every": "1m", "timezone": "Europe/Paris"})).contains("unknown field"));
    }
}
