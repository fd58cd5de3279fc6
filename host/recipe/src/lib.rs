//! Gyre's loop vocabulary, parsed once at the edge.
//!
//! A [`Recipe`] is what a stranger shares: a trigger, discovery, a maker
//! step, checks, a goal, ship steps and guardrails. It names *roles* and
//! *plugins* and says which capabilities each step requests, but it grants
//! nothing. The user's [`Project`] config (`gyre.toml`) binds roles to
//! commands, maps plugin names to components and grants each step of each
//! loop its own capabilities. Nothing here runs anything.

mod duration;
mod error;
mod plugin_ref;
mod project;
mod recipe;
pub mod template;

pub use duration::HumanDuration;
pub use error::RecipeError;
pub use plugin_ref::PluginRef;
pub use project::{
    AgentBinding, CommandBinding, DaemonConfig, GuardrailOverrides, KeepWorktrees, LoopConfig,
    MissedFires, Overlap, Project, PromptVia, RunLine, SchedulePolicy, project_file,
};
pub use recipe::{
    CommandCheck, DiscoverStep, Goal, Guardrails, MakerStep, PluginStep, Recipe, ShipAction,
    ShipStep, TriggerStep, VerifyStep,
};
