//! What the run database holds: plain serde records, so `gyre show` and
//! `--json` read exactly what the runner wrote.

use crate::RunId;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::PathBuf;

/// Where a run stands. Written before the step it names is acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "phase")]
pub enum Phase {
    Prepare,
    Discover,
    Iterate,
    Ship,
    Finished,
}

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    GoalMet,
    MaxIterations,
    NoProgress,
    Budget,
    Stopped,
    Error,
    /// Discovery found nothing to do.
    NoWork,
}

impl StopReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GoalMet => "goal-met",
            Self::MaxIterations => "max-iterations",
            Self::NoProgress => "no-progress",
            Self::Budget => "budget",
            Self::Stopped => "stopped",
            Self::Error => "error",
            Self::NoWork => "no-work",
        }
    }

    /// Runs that end this way land in the inbox for a person to look at.
    pub fn needs_review(self) -> bool {
        !matches!(self, Self::GoalMet | Self::NoWork)
    }
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Budget use, summed over the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Active time, summed across restarts.
    pub active_ms: u64,
    pub fuel: u64,
    pub spend_usd: f64,
    pub plugin_calls: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: RunId,
    pub loop_name: String,
    /// Whether the run belongs to a loop of the project config (and so may
    /// use its grants). A recipe file run directly never does, whatever
    /// name it gives itself.
    #[serde(default)]
    pub configured: bool,
    pub recipe_path: PathBuf,
    /// The recipe as it was when the run started; a resumed run follows it
    /// even if the file changed since.
    pub recipe_text: String,
    pub recipe_digest: String,
    pub project: PathBuf,
    pub repo: PathBuf,
    /// The commit the worktree branched from.
    pub base: String,
    pub branch: String,
    pub worktree: PathBuf,
    /// The trigger event that started the run.
    pub event: Value,
    /// Discovery outputs by step id.
    pub findings: Value,
    #[serde(flatten)]
    pub phase: Phase,
    pub reason: Option<StopReason>,
    pub detail: Option<String>,
    pub totals: Totals,
    pub created_ms: u64,
    pub updated_ms: u64,
    pub finished_ms: Option<u64>,
    /// The commit holding the work, once the goal held.
    pub commit: Option<String>,
    /// Whether the worktree was kept for review.
    pub worktree_kept: bool,
    /// The process group of a command running for this run, so a resumed
    /// run can stop what a crashed one left behind.
    pub child_pgid: Option<i32>,
}

/// The maker step of one iteration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MakerRecord {
    pub role: String,
    pub exit: Option<i32>,
    pub timed_out: bool,
    pub duration_ms: u64,
    pub spend_usd: Option<f64>,
    /// stdout and stderr, kept beside the database.
    pub log: PathBuf,
}

/// One check of one iteration: a command or a verifier.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckRecord {
    pub id: String,
    pub kind: CheckKind,
    pub passed: bool,
    /// Whether the goal depends on it.
    pub required: bool,
    pub summary: String,
    #[serde(default)]
    pub findings: Vec<Finding>,
    pub score: Option<f64>,
    /// The evidence file (commands) or none.
    pub evidence: Option<PathBuf>,
    /// A command's output, digits dropped, hashed (for no-progress).
    #[serde(default)]
    pub output_digest: Option<String>,
    pub fuel: u64,
    pub duration_ms: u64,
    /// What the sandbox refused this plugin.
    #[serde(default)]
    pub denials: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckKind {
    Command,
    Verifier,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Finding {
    pub severity: String,
    pub message: String,
    pub file: Option<String>,
    pub line: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IterationRecord {
    pub n: u32,
    pub started_ms: u64,
    pub maker: Option<MakerRecord>,
    /// Filled once every check has run.
    pub checks: Option<Vec<CheckRecord>>,
    /// sha256 of the worktree's diff against the base.
    pub diff_digest: Option<String>,
    pub diff_lines: Option<u64>,
    /// sha256 of the failing checks and their findings.
    pub failing_digest: Option<String>,
    pub goal_met: Option<bool>,
    pub finished_ms: Option<u64>,
}

impl IterationRecord {
    pub fn done(&self) -> bool {
        self.finished_ms.is_some()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ShipStatus {
    /// Written before the call: a run resumed in this state calls again with
    /// the same idempotency key.
    Started,
    Done,
    Failed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShipRecord {
    pub step: String,
    pub idempotency_key: String,
    pub status: ShipStatus,
    pub attempts: u32,
    pub output: Option<Value>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Journal {
    pub seq: i64,
    pub at_ms: u64,
    pub kind: String,
    pub message: String,
}
