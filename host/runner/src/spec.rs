//! A loop ready to run: its recipe, the user's bindings and grants, and its
//! effective guardrails. Built before anything runs, so that an unbound
//! role or a missing plugin refuses the run up front.

use crate::RunError;
use gyre_manifest::{Grants, LoopName, StepId};
use gyre_recipe::{Guardrails, Project, Recipe};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct LoopSpec {
    pub name: LoopName,
    pub recipe: Recipe,
    pub recipe_path: PathBuf,
    pub recipe_text: String,
    pub guardrails: Guardrails,
    pub grants: BTreeMap<StepId, Grants>,
    /// A loop of the project config (with its grants), not a recipe file
    /// run directly.
    pub configured: bool,
}

impl LoopSpec {
    /// The loop `name_or_path` names: a loop of the project config, or a
    /// recipe file (which then runs with no grants at all).
    pub fn find(project: &Project, name_or_path: &str) -> Result<Self, RunError> {
        if let Some((name, config)) = project.find_loop(name_or_path) {
            let path = project.path(&config.recipe);
            let (recipe, text) =
                Recipe::load(&path).map_err(|e| RunError::Config(e.to_string()))?;
            return Self::build(project, Some(name), recipe, path, text);
        }
        let path = PathBuf::from(name_or_path);
        if !path.is_file() {
            let known: Vec<&str> = project.loops.keys().map(|k| k.as_str()).collect();
            return Err(RunError::Config(format!(
                "`{name_or_path}` is neither a loop in {} (known: {}) nor a recipe file",
                project.root.join(gyre_recipe::project_file()).display(),
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )));
        }
        let path = std::path::absolute(&path).map_err(|e| RunError::Config(e.to_string()))?;
        let (recipe, text) = Recipe::load(&path).map_err(|e| RunError::Config(e.to_string()))?;
        Self::build(project, None, recipe, path, text)
    }

    /// Rebuilds the spec of a run from the recipe text it recorded.
    /// `configured` names the project loop the run belongs to; a run of a
    /// recipe file gets no loop's grants, whatever the recipe calls itself.
    pub fn from_recorded(
        project: &Project,
        configured: Option<&str>,
        recipe_path: &Path,
        text: &str,
    ) -> Result<Self, RunError> {
        let recipe = Recipe::parse(text, &recipe_path.display().to_string())
            .map_err(|e| RunError::Config(e.to_string()))?;
        let name = match configured {
            Some(n) => Some(
                n.parse::<LoopName>()
                    .ok()
                    .filter(|n| project.loops.contains_key(n))
                    .ok_or_else(|| {
                        RunError::Refused(format!(
                            "loop {n} is no longer in {}; its run cannot resume",
                            project.root.join(gyre_recipe::project_file()).display()
                        ))
                    })?,
            ),
            None => None,
        };
        Self::build(
            project,
            name,
            recipe,
            recipe_path.to_path_buf(),
            text.to_string(),
        )
    }

    fn build(
        project: &Project,
        configured: Option<LoopName>,
        mut recipe: Recipe,
        recipe_path: PathBuf,
        recipe_text: String,
    ) -> Result<Self, RunError> {
        let config = configured.as_ref().and_then(|n| project.loops.get(n));
        for (id, settings) in config.map(|c| &c.config).into_iter().flatten() {
            recipe.override_config(id, settings).map_err(|why| {
                RunError::Config(format!(
                    "{}: loops.{}.config.{id}: {why}",
                    project.root.join(gyre_recipe::project_file()).display(),
                    configured.as_ref().map_or("?", |n| n.as_str())
                ))
            })?;
        }
        let unbound = project.unbound_roles(&recipe);
        if !unbound.is_empty() {
            return Err(RunError::Refused(format!(
                "recipe `{}` names roles this project does not bind: {}. Roles are bound only in {}, never by a recipe",
                recipe.name,
                unbound.join("; "),
                project.root.join(gyre_recipe::project_file()).display()
            )));
        }
        let guardrails = match config.and_then(|c| c.guardrails.as_ref()) {
            Some(o) => o.apply(recipe.guardrails),
            None => recipe.guardrails,
        };
        if guardrails.max_spend_usd.is_some() {
            let role = &recipe.maker.role;
            if project.agents.get(role).is_some_and(|a| a.spend.is_none()) {
                return Err(RunError::Refused(format!(
                    "max-spend-usd is set, but agent role `{role}` reports no spend: add `spend = \"/json/pointer\"` to [agents.{role}]"
                )));
            }
        }
        if let Some(config) = config {
            let steps: Vec<StepId> = recipe
                .plugin_steps()
                .into_iter()
                .map(|(id, _)| id)
                .collect();
            for id in config.grants.keys().chain(config.config.keys()) {
                if !steps.contains(id) {
                    return Err(RunError::Config(format!(
                        "{}: loop {}: grants or config for step `{id}`, which recipe `{}` does not have (its plugin steps: {})",
                        project.root.join(gyre_recipe::project_file()).display(),
                        configured.as_ref().map_or("?", |n| n.as_str()),
                        recipe.name,
                        steps
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
            }
        }
        if let Some(role) = project.agents.get(&recipe.maker.role)
            && role.prompt == gyre_recipe::PromptVia::Arg
            && matches!(role.run, gyre_recipe::RunLine::Shell(_))
        {
            return Err(RunError::Config(format!(
                "[agents.{}]: prompt = \"arg\" needs `run` as a list (a shell string would drop the prompt)",
                recipe.maker.role
            )));
        }
        Ok(Self {
            configured: config.is_some(),
            name: configured.unwrap_or_else(|| recipe.name.clone()),
            grants: config.map(|c| c.grants.clone()).unwrap_or_default(),
            guardrails,
            recipe,
            recipe_path,
            recipe_text,
        })
    }

    /// The private store key of step `step`'s plugin: one store per
    /// project, loop (or recipe file), step and component, so a plugin
    /// cannot carry what it saw at one step (a ship step's secret) to
    /// another step or another loop.
    pub fn state_key(&self, project: &Project, step: &StepId, digest: &str) -> String {
        let owner = if self.configured {
            format!("loop:{}", self.name)
        } else {
            format!("file:{}", self.recipe_path.display())
        };
        let scope = format!("{}\n{owner}\n{step}\n{digest}", project.root.display());
        format!(
            "step-{}",
            &hex::encode(Sha256::digest(scope.as_bytes()))[..48]
        )
    }

    /// Finds and loads this loop's plugins (nothing runs).
    pub fn load_stages(&self, ctx: &crate::Context) -> Result<crate::stages::Stages, RunError> {
        crate::stages::Stages::load(
            &ctx.runtime,
            &ctx.project,
            &self.recipe,
            &self.recipe_path,
            ctx.data_dir.as_deref(),
        )
    }

    pub fn recipe_digest(&self) -> String {
        hex::encode(Sha256::digest(self.recipe_text.as_bytes()))
    }
}
