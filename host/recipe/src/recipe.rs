//! The recipe format (`recipe = 1`): what a shared loop asks for.

use crate::error::read_toml;
use crate::{HumanDuration, PluginRef, RecipeError};
use gyre_manifest::{Capabilities, LoopName, RoleName, StepId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

/// The one recipe format version this Gyre reads.
pub const FORMAT: u32 = 1;

/// A loop recipe. It names roles and plugins and requests capabilities per
/// step; the user's project config binds and grants them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Recipe {
    /// The format version; must be 1.
    pub recipe: u32,
    pub name: LoopName,
    #[serde(default)]
    pub description: String,
    /// When the loop runs. Without one, it runs only when asked (`gyre run`).
    pub trigger: Option<TriggerStep>,
    /// Connector operations whose outputs become the findings the maker sees.
    #[serde(default)]
    pub discover: Vec<DiscoverStep>,
    pub maker: MakerStep,
    /// Command roles whose outputs become evidence (and that pass on exit 0).
    #[serde(default)]
    pub check: Vec<CommandCheck>,
    /// Verifier plugins that judge the evidence.
    #[serde(default)]
    pub verify: Vec<VerifyStep>,
    #[serde(default)]
    pub goal: Goal,
    /// Run in order, only once the goal holds.
    #[serde(default)]
    pub ship: Vec<ShipStep>,
    #[serde(default)]
    pub guardrails: Guardrails,
}

/// A plugin used by one step, with the capabilities that step requests.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PluginStep {
    pub plugin: PluginRef,
    /// The plugin's configuration (any TOML, handed over as JSON).
    #[serde(default = "empty_object")]
    pub config: Value,
    /// What this step requests. A step gets at most what both its plugin's
    /// manifest and this list request, and only what the user grants.
    /// Absent: the plugin manifest's requests.
    pub capabilities: Option<Capabilities>,
}

macro_rules! plugin_step {
    ($($t:ty),*) => {$(
        impl $t {
            pub fn plugin_step(&self) -> PluginStep {
                PluginStep {
                    plugin: self.plugin.clone(),
                    config: self.config.clone(),
                    capabilities: self.capabilities.clone(),
                }
            }
        }
    )*};
}
plugin_step!(TriggerStep, DiscoverStep, VerifyStep);

fn empty_object() -> Value {
    Value::Object(Default::default())
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TriggerStep {
    pub plugin: PluginRef,
    /// The plugin's configuration (any TOML, handed over as JSON).
    #[serde(default = "empty_object")]
    pub config: Value,
    /// What this step requests (absent: what the plugin's manifest requests).
    pub capabilities: Option<Capabilities>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DiscoverStep {
    pub id: StepId,
    pub operation: String,
    /// The operation's input; strings may use `{{event}}` and friends.
    #[serde(default = "empty_object")]
    pub input: Value,
    /// End the run with `no-work` when the output (or the value at
    /// `items`) is empty.
    #[serde(default)]
    pub skip_if_empty: bool,
    /// A JSON pointer into the output selecting the list of work items.
    pub items: Option<String>,
    pub plugin: PluginRef,
    /// The plugin's configuration (any TOML, handed over as JSON).
    #[serde(default = "empty_object")]
    pub config: Value,
    /// What this step requests (absent: what the plugin's manifest requests).
    pub capabilities: Option<Capabilities>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MakerStep {
    /// An agent role the user binds, e.g. `maker`.
    pub role: RoleName,
    /// The prompt template. See [`crate::template`] for the placeholders.
    pub prompt: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CommandCheck {
    /// A command role the user binds, e.g. `test`.
    pub role: RoleName,
    /// The check's id and evidence name; defaults to the role.
    pub id: Option<StepId>,
    /// Whether a non-zero exit fails the goal (the output is evidence
    /// either way).
    #[serde(default = "yes")]
    pub must_pass: bool,
}

fn yes() -> bool {
    true
}

impl CommandCheck {
    pub fn id(&self) -> StepId {
        match &self.id {
            Some(id) => id.clone(),
            None => role_as_step(&self.role),
        }
    }
}

fn role_as_step(role: &RoleName) -> StepId {
    // Both are slugs: the conversion cannot fail, but stay total anyway.
    role.as_str()
        .parse()
        .unwrap_or_else(|_| "check".parse().expect("slug"))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct VerifyStep {
    pub id: StepId,
    /// The evidence handed over, by name: check ids and `diff`. Absent: all.
    pub evidence: Option<Vec<String>>,
    /// Mount a read-only view of the worktree at `/workspace`.
    #[serde(default)]
    pub workspace: bool,
    pub plugin: PluginRef,
    /// The plugin's configuration (any TOML, handed over as JSON).
    #[serde(default = "empty_object")]
    pub config: Value,
    /// What this step requests (absent: what the plugin's manifest requests).
    pub capabilities: Option<Capabilities>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ShipStep {
    pub id: StepId,
    /// A connector operation, or a command role (e.g. `push`).
    pub operation: Option<String>,
    #[serde(default = "empty_object")]
    pub input: Value,
    pub role: Option<RoleName>,
    pub plugin: Option<PluginRef>,
    #[serde(default = "empty_object")]
    pub config: Value,
    pub capabilities: Option<Capabilities>,
}

/// What a ship step does, once validated.
#[derive(Debug, Clone)]
pub enum ShipAction {
    Connector {
        plugin: PluginStep,
        operation: String,
        input: Value,
    },
    Command(RoleName),
}

impl ShipStep {
    /// The action; `validate` has made sure exactly one form is used.
    pub fn action(&self) -> Option<ShipAction> {
        match (&self.plugin, &self.operation, &self.role) {
            (Some(plugin), Some(operation), None) => Some(ShipAction::Connector {
                plugin: PluginStep {
                    plugin: plugin.clone(),
                    config: self.config.clone(),
                    capabilities: self.capabilities.clone(),
                },
                operation: operation.clone(),
                input: self.input.clone(),
            }),
            (None, None, Some(role)) => Some(ShipAction::Command(role.clone())),
            _ => None,
        }
    }
}

/// Which checks must pass for the goal to hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Goal {
    /// Check ids that must pass. Empty: every check (commands with
    /// `must-pass` and every verifier).
    #[serde(default)]
    pub require: Vec<StepId>,
}

/// When a run stops without meeting its goal.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Guardrails {
    pub max_iterations: u32,
    /// Stop when this many iterations in a row leave the same diff or the
    /// same failing findings. 0 turns the check off.
    pub no_progress: u32,
    /// Active time, summed across restarts.
    pub max_wall_time: HumanDuration,
    /// Fuel summed over every plugin call of the run.
    pub max_fuel: Option<u64>,
    /// Spend in US dollars as reported by the agent binding.
    pub max_spend_usd: Option<f64>,
}

impl Default for Guardrails {
    fn default() -> Self {
        Self {
            max_iterations: 5,
            no_progress: 3,
            max_wall_time: HumanDuration::from_secs(3600),
            max_fuel: None,
            max_spend_usd: None,
        }
    }
}

/// Caps no recipe or config may exceed.
pub const MAX_ITERATIONS: u32 = 1000;

impl Recipe {
    /// Reads and validates a recipe file.
    pub fn load(path: &Path) -> Result<(Self, String), RecipeError> {
        let (recipe, text): (Recipe, String) = read_toml(path)?;
        recipe.validate(&path.display().to_string())?;
        Ok((recipe, text))
    }

    /// Parses recipe text (`origin` names it in errors).
    pub fn parse(text: &str, origin: &str) -> Result<Self, RecipeError> {
        let recipe: Recipe =
            toml::from_str(text).map_err(|e| RecipeError::syntax(origin, text, &e))?;
        recipe.validate(origin)?;
        Ok(recipe)
    }

    fn validate(&self, origin: &str) -> Result<(), RecipeError> {
        let bad = |field: &str, msg: String| Err(RecipeError::invalid(origin, field, msg));
        if self.recipe != FORMAT {
            return bad(
                "recipe",
                format!(
                    "format {} is not supported; this Gyre reads format {FORMAT} (upgrade Gyre or the recipe)",
                    self.recipe
                ),
            );
        }
        let mut ids = BTreeSet::new();
        let steps = self
            .discover
            .iter()
            .map(|s| ("discover", s.id.clone()))
            .chain(self.check.iter().map(|c| ("check", c.id())))
            .chain(self.verify.iter().map(|v| ("verify", v.id.clone())))
            .chain(self.ship.iter().map(|s| ("ship", s.id.clone())));
        for (table, id) in steps {
            if id.as_str() == "diff" || id.as_str() == "trigger" {
                return bad(table, format!("step id `{id}` is reserved; choose another"));
            }
            if !ids.insert(id.clone()) {
                return bad(
                    table,
                    format!("step id `{id}` is used twice; ids must be unique"),
                );
            }
        }
        let checks: BTreeSet<StepId> = self
            .check
            .iter()
            .map(CommandCheck::id)
            .chain(self.verify.iter().map(|v| v.id.clone()))
            .collect();
        for id in &self.goal.require {
            if !checks.contains(id) {
                return bad(
                    "goal.require",
                    format!("`{id}` is not a check or verify step of this recipe"),
                );
            }
        }
        if checks.is_empty() {
            return bad(
                "verify",
                "a recipe needs at least one check or verify step: a goal nothing checks always fails"
                    .into(),
            );
        }
        for v in &self.verify {
            for name in v.evidence.iter().flatten() {
                let known =
                    name == "diff" || self.check.iter().any(|c| c.id().as_str() == name.as_str());
                if !known {
                    return bad(
                        &format!("verify.{}.evidence", v.id),
                        format!("`{name}` is neither a check id nor `diff`"),
                    );
                }
            }
        }
        for s in &self.ship {
            if s.action().is_none() {
                return bad(
                    &format!("ship.{}", s.id),
                    "give either `plugin` and `operation` (a connector), or `role` (a command)"
                        .into(),
                );
            }
        }
        for d in &self.discover {
            if let Some(p) = &d.items
                && !(p.is_empty() || p.starts_with('/'))
            {
                return bad(
                    &format!("discover.{}.items", d.id),
                    format!("{p:?} is not a JSON pointer (e.g. \"/items\")"),
                );
            }
        }
        let template_error =
            |field: String, why: String| Err(RecipeError::invalid(origin, field, why));
        if let Err(why) = crate::template::check(&self.maker.prompt) {
            return template_error("maker.prompt".into(), why);
        }
        for d in &self.discover {
            if let Err(why) = crate::template::check_json(&d.input) {
                return template_error(format!("discover.{}.input", d.id), why);
            }
        }
        for s in &self.ship {
            if let Err(why) = crate::template::check_json(&s.input) {
                return template_error(format!("ship.{}.input", s.id), why);
            }
        }
        let g = &self.guardrails;
        if g.no_progress == 1 {
            return bad(
                "guardrails.no-progress",
                "must be 0 (off) or at least 2: it counts iterations in a row that look alike"
                    .into(),
            );
        }
        if g.max_iterations == 0 || g.max_iterations > MAX_ITERATIONS {
            return bad(
                "guardrails.max-iterations",
                format!("must be between 1 and {MAX_ITERATIONS}"),
            );
        }
        if let Some(spend) = g.max_spend_usd
            && !(spend.is_finite() && spend >= 0.0)
        {
            return bad(
                "guardrails.max-spend-usd",
                "must be a non-negative number".into(),
            );
        }
        Ok(())
    }

    /// Merges `settings` into the config of step `id`, key by key.
    pub fn override_config(
        &mut self,
        id: &StepId,
        settings: &serde_json::Map<String, Value>,
    ) -> Result<(), String> {
        let config = if id.as_str() == "trigger" {
            self.trigger.as_mut().map(|t| &mut t.config)
        } else {
            self.discover
                .iter_mut()
                .find(|d| &d.id == id)
                .map(|d| &mut d.config)
                .or_else(|| {
                    self.verify
                        .iter_mut()
                        .find(|v| &v.id == id)
                        .map(|v| &mut v.config)
                })
                .or_else(|| {
                    self.ship
                        .iter_mut()
                        .find(|s| &s.id == id && s.plugin.is_some())
                        .map(|s| &mut s.config)
                })
        };
        let Some(config) = config else {
            return Err(format!("the recipe has no plugin step `{id}`"));
        };
        match config {
            Value::Object(map) => {
                for (k, v) in settings {
                    map.insert(k.clone(), v.clone());
                }
                Ok(())
            }
            _ => Err(format!("step `{id}`'s config is not a table")),
        }
    }

    /// Every role this recipe names: the maker's agent role, then command roles.
    pub fn agent_roles(&self) -> Vec<&RoleName> {
        vec![&self.maker.role]
    }

    pub fn command_roles(&self) -> Vec<&RoleName> {
        self.check
            .iter()
            .map(|c| &c.role)
            .chain(self.ship.iter().filter_map(|s| s.role.as_ref()))
            .collect()
    }

    /// Every plugin step, with its id, for resolving and granting.
    pub fn plugin_steps(&self) -> Vec<(StepId, PluginStep)> {
        let mut out = Vec::new();
        if let Some(t) = &self.trigger {
            out.push(("trigger".parse().expect("slug"), t.plugin_step()));
        }
        out.extend(
            self.discover
                .iter()
                .map(|d| (d.id.clone(), d.plugin_step())),
        );
        out.extend(self.verify.iter().map(|v| (v.id.clone(), v.plugin_step())));
        for s in &self.ship {
            if let Some(ShipAction::Connector { plugin, .. }) = s.action() {
                out.push((s.id.clone(), plugin));
            }
        }
        out
    }
}
