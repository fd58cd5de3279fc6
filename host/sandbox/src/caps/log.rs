//! The `gyre:plugin/log` interface: structured lines kept in a bounded
//! per-call buffer.

use crate::bindings::imports::gyre::plugin::log as wit;
use serde::Serialize;

pub use wit::Level;

#[derive(Debug, Clone, Serialize)]
pub struct LogLine {
    #[serde(serialize_with = "level_name")]
    pub level: Level,
    pub message: String,
    pub fields: Vec<(String, String)>,
}

fn level_name<S: serde::Serializer>(level: &Level, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(level_str(*level))
}

pub fn level_str(level: Level) -> &'static str {
    match level {
        Level::Trace => "trace",
        Level::Debug => "debug",
        Level::Info => "info",
        Level::Warn => "warn",
        Level::Error => "error",
    }
}

/// At most `max_lines` lines of at most `max_line_bytes` each; the rest is
/// counted, not kept.
#[derive(Debug, Default)]
pub struct LogBuffer {
    pub lines: Vec<LogLine>,
    pub dropped: u64,
    max_lines: usize,
    max_line_bytes: usize,
}

const MAX_FIELDS: usize = 32;

impl LogBuffer {
    pub fn new(max_lines: usize, max_line_bytes: usize) -> Self {
        Self { lines: Vec::new(), dropped: 0, max_lines, max_line_bytes }
    }

    pub fn push(&mut self, level: Level, message: String, fields: Vec<wit::Field>) {
        if self.lines.len() >= self.max_lines {
            self.dropped += 1;
            return;
        }
        let cap = self.max_line_bytes;
        let fields = fields
            .into_iter()
            .take(MAX_FIELDS)
            .map(|f| (truncate(f.key, 128), truncate(f.value, cap)))
            .collect();
        self.lines.push(LogLine { level, message: truncate(message, cap), fields });
    }
}

/// Cuts `s` to at most `max` bytes on a character boundary.
pub fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str("…[truncated]");
    }
    s
}
