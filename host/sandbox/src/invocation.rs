//! What one call produced: its result or a typed failure, what it cost,
//! what it printed, and what it was denied.

use crate::caps::log::LogLine;
use serde::Serialize;
use std::time::Duration;

/// Why a call did not return a result. The store is dropped after any of
/// these; the plugin serves the next call from a fresh one.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Failure {
    #[error("out of fuel (budget {budget})")]
    OutOfFuel { budget: u64 },
    #[error("timed out after {}", humantime(*after_ms))]
    TimedOut { after_ms: u64 },
    #[error("memory limit exceeded ({})", bytes(*limit_bytes))]
    MemoryLimit { limit_bytes: u64 },
    #[error("trapped: {message}")]
    Trapped { message: String },
    #[error("result too large: {bytes} bytes, limit {limit}")]
    ResultTooLarge { bytes: usize, limit: usize },
    #[error("input too large: {bytes} bytes, limit {limit}")]
    InputTooLarge { bytes: usize, limit: usize },
    /// The guest tried to hand the host more than it copies in one host
    /// call or one result.
    #[error("payload too large: more than {limit} bytes in one host call or result")]
    PayloadTooLarge { limit: usize },
    #[error("could not start the plugin: {message}")]
    Instantiation { message: String },
    #[error("{message}")]
    Unsupported { message: String },
}

impl Failure {
    /// A short machine name, e.g. `out-of-fuel`.
    pub fn kind(&self) -> &'static str {
        match self {
            Failure::OutOfFuel { .. } => "out-of-fuel",
            Failure::TimedOut { .. } => "timed-out",
            Failure::MemoryLimit { .. } => "memory-limit",
            Failure::Trapped { .. } => "trapped",
            Failure::ResultTooLarge { .. } => "result-too-large",
            Failure::InputTooLarge { .. } => "input-too-large",
            Failure::PayloadTooLarge { .. } => "payload-too-large",
            Failure::Instantiation { .. } => "instantiation",
            Failure::Unsupported { .. } => "unsupported",
        }
    }

    /// Whether a budget (fuel, time, memory, sizes) ran out.
    pub fn is_budget(&self) -> bool {
        matches!(
            self,
            Failure::OutOfFuel { .. }
                | Failure::TimedOut { .. }
                | Failure::MemoryLimit { .. }
                | Failure::ResultTooLarge { .. }
                | Failure::InputTooLarge { .. }
                | Failure::PayloadTooLarge { .. }
        )
    }
}

fn humantime(ms: u64) -> String {
    if ms >= 1000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        format!("{ms}ms")
    }
}

pub(crate) fn bytes(n: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if n >= MIB && n % MIB == 0 {
        format!("{} MiB", n / MIB)
    } else {
        format!("{n} bytes")
    }
}

/// A capability the plugin reached for and was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Denial {
    /// `http`, `secret`, ...
    pub capability: String,
    pub detail: String,
}

impl Denial {
    pub fn http(detail: String) -> Self {
        Self {
            capability: "http".into(),
            detail,
        }
    }
    pub fn secret(detail: String) -> Self {
        Self {
            capability: "secret".into(),
            detail,
        }
    }
}

/// What a call cost.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Usage {
    pub fuel_consumed: u64,
    pub fuel_budget: u64,
    pub wall_time_us: u64,
    pub timeout_ms: u64,
    /// The most linear memory the instance held at once, in bytes.
    pub peak_memory_bytes: u64,
    pub memory_cap_bytes: u64,
}

impl Usage {
    pub fn wall_time(&self) -> Duration {
        Duration::from_micros(self.wall_time_us)
    }
}

/// What the plugin printed and logged, bounded and redacted.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Output {
    pub logs: Vec<LogLine>,
    pub logs_dropped: u64,
    pub stdout: String,
    pub stdout_dropped: u64,
    pub stderr: String,
    pub stderr_dropped: u64,
}

/// One call: the plugin's result (which may itself be a plugin error) or a
/// [`Failure`], plus usage, output and denials.
#[derive(Debug, Clone)]
pub struct Invocation<T> {
    pub outcome: Result<T, Failure>,
    pub usage: Usage,
    pub output: Output,
    /// The first denials of the call (a bounded number), redacted.
    pub denials: Vec<Denial>,
    /// Denials beyond those kept.
    pub denials_dropped: u64,
}

impl<T> Invocation<T> {
    pub fn map<U>(self, f: impl FnOnce(T) -> Result<U, Failure>) -> Invocation<U> {
        Invocation {
            outcome: self.outcome.and_then(f),
            usage: self.usage,
            output: self.output,
            denials: self.denials,
            denials_dropped: self.denials_dropped,
        }
    }
}
