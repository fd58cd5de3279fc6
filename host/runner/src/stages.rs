//! The plugins of one loop, each with the grants of its own step: the ship
//! connector's secret is never visible to discovery or verification.

use crate::RunError;
use gyre_manifest::{Access, MountGrant, MountName, PluginKind, StepId};
use gyre_recipe::{PluginRef, PluginStep, Project, Recipe};
use gyre_sandbox::{Granted, Plugin, Resolve, Runtime};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub struct Step {
    pub plugin: Plugin,
    pub config: String,
    pub path: PathBuf,
    /// Set by [`Stages::grant`].
    pub granted: Option<Granted>,
    pub notes: Vec<String>,
    /// Where a verifier sees the worktree (read-only), when it asked.
    pub workspace: Option<String>,
    /// The signed identity of an installed package: its state follows the
    /// publisher across upgrades instead of one exact component.
    pub identity: Option<String>,
}

pub struct Stages {
    pub steps: BTreeMap<StepId, Step>,
}

/// A plugin reference resolved to a component file, with the signed
/// identity of the package it came from, if installed.
pub struct Located {
    pub path: PathBuf,
    pub identity: Option<String>,
}

/// The component file a reference names: a path next to the recipe, a
/// name the project maps under `[plugins]`, or an installed package
/// (`gyre install`), in that order.
pub fn locate(
    reference: &PluginRef,
    recipe_path: &Path,
    project: &Project,
    data_dir: Option<&Path>,
) -> Result<Located, String> {
    match reference {
        PluginRef::Path(p) => Ok(Located {
            path: recipe_path.parent().unwrap_or(Path::new(".")).join(p),
            identity: None,
        }),
        PluginRef::Package(name) => {
            let bare = name.split_once('@').map_or(name.as_str(), |(n, _)| n);
            if let Some(p) = project
                .plugins
                .get(name)
                .or_else(|| project.plugins.get(bare))
            {
                return Ok(Located {
                    path: project.path(p),
                    identity: None,
                });
            }
            let not_found = || {
                format!(
                    "plugin `{name}` is neither mapped under [plugins] in {} nor installed: \
                     run `gyre install {bare}`, or map it to a component file",
                    project.root.join(gyre_recipe::project_file()).display()
                )
            };
            let package: gyre_registry::PackageName = bare.parse().map_err(|_| not_found())?;
            let data_dir = data_dir.ok_or_else(not_found)?;
            let installed = gyre_registry::Installed::open(data_dir)
                .plugin(&package)
                .map_err(|e| format!("plugin `{name}`: {e}"))?;
            Ok(Located {
                identity: installed.state_key(),
                path: installed.wasm,
            })
        }
    }
}

fn expected_kind(recipe: &Recipe, id: &StepId) -> PluginKind {
    if id.as_str() == "trigger" {
        PluginKind::Trigger
    } else if recipe.verify.iter().any(|v| &v.id == id) {
        PluginKind::Verifier
    } else {
        PluginKind::Connector
    }
}

impl Stages {
    /// Finds and loads every plugin of `recipe`, checking each is of the
    /// kind its step needs. Nothing runs yet.
    pub fn load(
        runtime: &Runtime,
        project: &Project,
        recipe: &Recipe,
        recipe_path: &Path,
        data_dir: Option<&Path>,
    ) -> Result<Self, RunError> {
        let mut steps = BTreeMap::new();
        for (id, step) in recipe.plugin_steps() {
            let refuse = |why: String| RunError::Refused(format!("step `{id}`: {why}"));
            let Located { path, identity } =
                locate(&step.plugin, recipe_path, project, data_dir).map_err(refuse)?;
            let (plugin, _) = runtime.load(&path).map_err(|e| refuse(format!("{e}")))?;
            let want = expected_kind(recipe, &id);
            if plugin.kind() != want {
                return Err(refuse(format!(
                    "{} is a {}, but this step needs a {want}",
                    path.display(),
                    plugin.kind()
                )));
            }
            let config = serde_json::to_string(&step.config).map_err(|e| refuse(e.to_string()))?;
            steps.insert(
                id,
                Step {
                    plugin,
                    config,
                    path,
                    granted: None,
                    notes: Vec::new(),
                    workspace: None,
                    identity,
                },
            );
        }
        Ok(Self { steps })
    }

    /// Grants each step what the user granted that step, narrowed to what
    /// the recipe step requests. A verifier asking for the workspace gets
    /// the run's worktree, read-only.
    pub fn grant(
        &mut self,
        spec: &crate::LoopSpec,
        project: &Project,
        worktree: &Path,
        resolver: &Arc<dyn Resolve>,
    ) -> Result<(), RunError> {
        let (recipe, grants) = (&spec.recipe, &spec.grants);
        let requests: BTreeMap<StepId, PluginStep> = recipe.plugin_steps().into_iter().collect();
        for (id, step) in &mut self.steps {
            let mut user = grants.get(id).cloned().unwrap_or_default();
            if recipe.verify.iter().any(|v| &v.id == id && v.workspace) {
                user.mounts.insert(
                    MountName::try_from("workspace".to_string()).map_err(RunError::Config)?,
                    MountGrant {
                        host: worktree.to_path_buf(),
                        access: Access::ReadOnly,
                    },
                );
            }
            let mut effective = user.resolve(step.plugin.manifest());
            if let Some(caps) = requests.get(id).and_then(|s| s.capabilities.as_ref()) {
                effective = effective.narrow(caps);
            }
            step.notes = effective.notes.clone();
            step.workspace = effective
                .dirs
                .iter()
                .find(|d| d.host == worktree)
                .map(|d| d.guest.to_string());
            let owner = step.identity.as_deref().unwrap_or(step.plugin.digest());
            let state_key = spec.state_key(project, id, owner);
            step.granted = Some(
                step.plugin
                    .grant_keyed(&effective, resolver.clone(), Some(&state_key))
                    .map_err(|e| RunError::Refused(format!("step `{id}`: {e}")))?,
            );
        }
        Ok(())
    }

    pub fn get(&self, id: &StepId) -> Result<(&Step, &Granted), RunError> {
        let step = self
            .steps
            .get(id)
            .ok_or_else(|| RunError::Config(format!("step `{id}` has no plugin loaded")))?;
        let granted = step
            .granted
            .as_ref()
            .ok_or_else(|| RunError::Config(format!("step `{id}` was not granted")))?;
        Ok((step, granted))
    }
}
