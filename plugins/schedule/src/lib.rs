//! `schedule`: a trigger that fires on a cron schedule or a fixed interval,
//! evaluated in UTC.
//!
//! | field | default | meaning |
//! |---|---|---|
//! | `cron` | — | five fields: minute hour day-of-month month day-of-week (see [`cron`]) |
//! | `every` | — | `"90s"`, `"15m"`, `"2h"`, `"1d"` (or sums like `"1h30m"`); due at multiples of it since the Unix epoch |
//! | `fire-on-first-poll` | `false` | fire for the latest due time on the very first poll |
//!
//! Exactly one of `cron` and `every`. `poll` takes the cursor returned by
//! the previous poll (milliseconds, as decimal text) and emits at most one
//! event, for the latest due time in `(cursor, now]`: id `schedule:<ms>`,
//! kind `tick`, payload `{"scheduled-ms": <ms>, "missed": <other due times
//! coalesced into it>}`. The returned cursor is `now`, or the old cursor if
//! the host's clock went back. Work per poll is bounded: due times are
//! searched at most ten years back.

pub mod civil;
pub mod cron;
pub mod every;
pub mod schedule;

use gyre_sdk::json::Value;
use gyre_sdk::trigger::{Firing, PluginError, PollResult, Trigger};

// Never constructed: only its trait impl is exported.
enum Schedule {}

impl Trigger for Schedule {
    type Config = Value;

    fn describe(config: &Value) -> Result<Firing, PluginError> {
        Ok(schedule::Config::from_json(config)?.firing())
    }

    fn poll(config: Value, cursor: Option<String>, now_ms: u64) -> Result<PollResult, PluginError> {
        schedule::poll(
            &schedule::Config::from_json(&config)?,
            cursor.as_deref(),
            now_ms,
        )
    }
}

gyre_sdk::export_trigger!(Schedule);
