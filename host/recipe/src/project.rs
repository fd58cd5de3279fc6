//! The user's project config (`gyre.toml` at the project root): the only
//! place roles are bound, plugins mapped and capabilities granted.

use crate::error::read_toml;
use crate::{Guardrails, HumanDuration, Recipe, RecipeError};
use gyre_manifest::{Grants, LoopName, RoleName, StepId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "gyre.toml";

/// The project config's file name.
pub fn project_file() -> &'static str {
    FILE_NAME
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Project {
    #[serde(default)]
    pub project: ProjectSettings,
    /// Agent roles: a command that takes a prompt and edits the worktree.
    #[serde(default)]
    pub agents: BTreeMap<RoleName, AgentBinding>,
    /// Command roles: tests, linters, pushes.
    #[serde(default)]
    pub commands: BTreeMap<RoleName, CommandBinding>,
    /// Package names recipes use, mapped to component files.
    #[serde(default)]
    pub plugins: BTreeMap<String, PathBuf>,
    #[serde(default)]
    pub loops: BTreeMap<LoopName, LoopConfig>,
    #[serde(default)]
    pub daemon: DaemonConfig,
    /// Where this config was read from; relative paths resolve against its
    /// directory.
    #[serde(skip)]
    pub root: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ProjectSettings {
    /// The git repository loops work on.
    #[serde(default = "dot")]
    pub repo: PathBuf,
    /// Run state, worktrees and evidence.
    #[serde(default = "dot_gyre")]
    pub state: PathBuf,
    #[serde(default)]
    pub keep_worktrees: KeepWorktrees,
}

impl Default for ProjectSettings {
    fn default() -> Self {
        Self {
            repo: dot(),
            state: dot_gyre(),
            keep_worktrees: KeepWorktrees::default(),
        }
    }
}

fn dot() -> PathBuf {
    ".".into()
}
fn dot_gyre() -> PathBuf {
    ".gyre".into()
}

/// What happens to a run's worktree when the run ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeepWorktrees {
    Always,
    Never,
    /// Keep it for review unless the goal was met (the branch stays).
    #[default]
    OnFailure,
}

/// A command line: a string runs through `sh -c`, a list runs as is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RunLine {
    Shell(String),
    Argv(Vec<String>),
}

impl RunLine {
    pub fn argv(&self) -> Vec<String> {
        match self {
            Self::Shell(s) => vec!["sh".into(), "-c".into(), s.clone()],
            Self::Argv(v) => v.clone(),
        }
    }
}

/// How the prompt reaches the agent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PromptVia {
    #[default]
    Stdin,
    /// Appended as the last argument.
    Arg,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AgentBinding {
    pub run: RunLine,
    #[serde(default)]
    pub prompt: PromptVia,
    #[serde(default = "agent_timeout")]
    pub timeout: HumanDuration,
    /// A JSON pointer into the agent's JSON output (the whole stdout or its
    /// last line) giving the spend in US dollars, e.g. "/total_cost_usd"
    /// for `claude -p --output-format json`.
    pub spend: Option<String>,
    /// Environment variables passed through; the rest are cleared.
    #[serde(default)]
    pub env: Vec<String>,
}

fn agent_timeout() -> HumanDuration {
    HumanDuration::from_secs(30 * 60)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CommandBinding {
    pub run: RunLine,
    #[serde(default = "command_timeout")]
    pub timeout: HumanDuration,
    #[serde(default)]
    pub env: Vec<String>,
}

fn command_timeout() -> HumanDuration {
    HumanDuration::from_secs(10 * 60)
}

/// One loop: a recipe, the grants of each of its steps, and how the daemon
/// schedules it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LoopConfig {
    pub recipe: PathBuf,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Grants per recipe step id (`trigger` for the trigger). A step
    /// without an entry gets nothing.
    #[serde(default)]
    pub grants: BTreeMap<StepId, Grants>,
    /// Settings merged into a step's plugin config (key by key), e.g. the
    /// repository a recipe's connector talks to.
    #[serde(default)]
    pub config: BTreeMap<StepId, serde_json::Map<String, serde_json::Value>>,
    /// Replaces the recipe's guardrails field by field.
    pub guardrails: Option<GuardrailOverrides>,
    #[serde(default)]
    pub schedule: SchedulePolicy,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct GuardrailOverrides {
    pub max_iterations: Option<u32>,
    pub no_progress: Option<u32>,
    pub max_wall_time: Option<HumanDuration>,
    pub max_fuel: Option<u64>,
    pub max_spend_usd: Option<f64>,
}

impl GuardrailOverrides {
    pub fn apply(&self, mut g: Guardrails) -> Guardrails {
        g.max_iterations = self.max_iterations.unwrap_or(g.max_iterations);
        g.no_progress = self.no_progress.unwrap_or(g.no_progress);
        g.max_wall_time = self.max_wall_time.unwrap_or(g.max_wall_time);
        g.max_fuel = self.max_fuel.or(g.max_fuel);
        g.max_spend_usd = self.max_spend_usd.or(g.max_spend_usd);
        g
    }
}

/// Fires that came due while the daemon was not running.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MissedFires {
    /// One run for all of them (coalesced), as soon as the daemon starts.
    #[default]
    RunOnce,
    /// None; they are logged as skipped.
    Skip,
}

/// A fire while the loop already has a live run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Overlap {
    /// Drop it (logged; a webhook gets 200 "skipped").
    #[default]
    Skip,
    /// Run it after the live one: fires wait in the daemon's bounded queue
    /// (`daemon.queue`), and a webhook gets 429 once it is full.
    Queue,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SchedulePolicy {
    #[serde(default)]
    pub missed: MissedFires,
    /// Each fire waits a random delay up to this, so loops do not stampede.
    pub jitter: Option<HumanDuration>,
    #[serde(default)]
    pub overlap: Overlap,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DaemonConfig {
    /// Where webhook triggers are served; must be a loopback address (put
    /// a reverse proxy in front to expose it).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Fires waiting to start; beyond this, webhooks get 429.
    #[serde(default = "default_queue")]
    pub queue: usize,
    /// Runs at the same time, across loops.
    #[serde(default = "one")]
    pub max_runs: usize,
    /// Largest webhook body accepted.
    #[serde(default = "default_body")]
    pub max_body_bytes: usize,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8787))
}
fn default_queue() -> usize {
    64
}
fn one() -> usize {
    1
}
fn default_body() -> usize {
    1 << 20
}

impl Default for DaemonConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            queue: default_queue(),
            max_runs: one(),
            max_body_bytes: default_body(),
        }
    }
}

impl Project {
    /// Finds `gyre.toml` in `start` or the nearest directory above it.
    pub fn discover(start: &Path) -> Result<Self, RecipeError> {
        let mut dir = Some(start);
        while let Some(d) = dir {
            let candidate = d.join(FILE_NAME);
            if candidate.is_file() {
                return Self::load(&candidate);
            }
            dir = d.parent();
        }
        Err(RecipeError::invalid(
            &start.display().to_string(),
            FILE_NAME,
            "no gyre.toml here or in any parent directory: create one that binds your roles \
             (see the README, \"Binding roles\")",
        ))
    }

    pub fn load(path: &Path) -> Result<Self, RecipeError> {
        let origin = path.display().to_string();
        let (value, text): (toml::Value, String) = read_toml(path)?;
        if value.get("plugin").is_some() {
            return Err(RecipeError::invalid(
                &origin,
                "plugin",
                "this is a plugin's manifest, not a project config",
            ));
        }
        let mut project: Project =
            toml::from_str(&text).map_err(|e| RecipeError::syntax(&origin, &text, &e))?;
        let root = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        project.root = std::path::absolute(root).map_err(|source| RecipeError::Read {
            path: root.into(),
            source,
        })?;
        if !project.daemon.listen.ip().is_loopback() {
            return Err(RecipeError::invalid(
                &origin,
                "daemon.listen",
                format!(
                    "{} is not a loopback address; webhooks are served on loopback only \
                     (put a reverse proxy in front to expose them)",
                    project.daemon.listen
                ),
            ));
        }
        if project.daemon.queue == 0 || project.daemon.max_runs == 0 {
            return Err(RecipeError::invalid(
                &origin,
                "daemon",
                "queue and max-runs must be at least 1",
            ));
        }
        Ok(project)
    }

    /// A path from this config, made absolute against its directory.
    pub fn path(&self, p: &Path) -> PathBuf {
        self.root.join(p)
    }

    pub fn repo(&self) -> PathBuf {
        self.path(&self.project.repo)
    }

    pub fn state_dir(&self) -> PathBuf {
        self.path(&self.project.state)
    }

    /// The roles `recipe` names that this config does not bind, each with
    /// the kind of binding it needs.
    pub fn unbound_roles(&self, recipe: &Recipe) -> Vec<String> {
        let agents = recipe
            .agent_roles()
            .into_iter()
            .filter(|r| !self.agents.contains_key(*r))
            .map(|r| format!("agent role `{r}` (add [agents.{r}] with `run = ...`)"));
        let commands = recipe
            .command_roles()
            .into_iter()
            .filter(|r| !self.commands.contains_key(*r))
            .map(|r| format!("command role `{r}` (add [commands.{r}] with `run = ...`)"));
        agents.chain(commands).collect()
    }

    /// The loop named `name`, or the loop whose recipe is at `path`.
    pub fn find_loop(&self, name_or_path: &str) -> Option<(LoopName, &LoopConfig)> {
        if let Ok(name) = name_or_path.parse::<LoopName>()
            && let Some(l) = self.loops.get(&name)
        {
            return Some((name, l));
        }
        let wanted = std::path::absolute(name_or_path).ok()?;
        self.loops
            .iter()
            .find(|(_, l)| std::path::absolute(self.path(&l.recipe)).ok() == Some(wanted.clone()))
            .map(|(n, l)| (n.clone(), l))
    }
}
