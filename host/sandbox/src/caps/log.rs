//! The `gyre:plugin/log` interface: structured lines kept in a bounded
//! per-call buffer.

use super::secrets::SecretValues;
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

/// At most `max_lines` lines and `max_bytes` bytes in all, each message and
/// field at most `max_line_bytes`; the rest is counted, not kept. Secret
/// values are redacted before anything is cut, so a cut cannot expose part
/// of one.
#[derive(Debug, Default)]
pub struct LogBuffer {
    pub lines: Vec<LogLine>,
    pub dropped: u64,
    bytes: usize,
    max_lines: usize,
    max_line_bytes: usize,
    max_bytes: usize,
}

const MAX_FIELDS: usize = 32;

impl LogBuffer {
    pub fn new(max_lines: usize, max_line_bytes: usize, max_bytes: usize) -> Self {
        Self {
            lines: Vec::new(),
            dropped: 0,
            bytes: 0,
            max_lines,
            max_line_bytes,
            max_bytes,
        }
    }

    pub fn push(
        &mut self,
        level: Level,
        message: String,
        fields: Vec<wit::Field>,
        secrets: &SecretValues,
    ) {
        if self.lines.len() >= self.max_lines || self.bytes >= self.max_bytes {
            self.dropped += 1;
            return;
        }
        let cap = self.max_line_bytes;
        let clean = |s: &str, max: usize| truncate(secrets.redact(s), max);
        let fields: Vec<(String, String)> = fields
            .iter()
            .take(MAX_FIELDS)
            .map(|f| (clean(&f.key, 128), clean(&f.value, cap)))
            .collect();
        let line = LogLine {
            level,
            message: clean(&message, cap),
            fields,
        };
        self.bytes += line.message.len()
            + line
                .fields
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>();
        self.lines.push(line);
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
