//! Each host capability as a self-contained unit: what it grants, how it
//! is enforced, and the host half of its WIT interface.

pub mod fs;
pub mod http;
pub mod kv;
pub mod log;
pub mod output;
pub mod secrets;

use crate::{Budget, HostLimits, SandboxError};
use gyre_manifest::{Effective, EffectiveDir};
use std::sync::Arc;

/// Everything one plugin may use, ready to hand to a fresh store for each
/// call. Built once from the [`Effective`] grant set; cheap to reuse.
#[derive(Clone)]
pub struct Granted {
    pub(crate) plugin: String,
    pub(crate) dirs: Vec<EffectiveDir>,
    pub(crate) egress: Arc<http::EgressPolicy>,
    pub(crate) secrets: Arc<secrets::SecretValues>,
    pub(crate) kv: Option<kv::KvStore>,
    pub budget: Budget,
    /// The digest of the plugin these grants were made for; `None` for
    /// [`Granted::nothing`], which any plugin may use.
    pub(crate) bound_to: Option<String>,
    /// Grant notes for the user: what was requested and not granted, and
    /// grants that went unused.
    pub notes: Vec<String>,
}

impl Granted {
    /// Checks and opens what `effective` grants to `plugin`: directories
    /// must exist, secrets must be readable. `kv` is the plugin's private
    /// store, if it has one.
    pub fn new(
        plugin: &str,
        effective: &Effective,
        limits: &HostLimits,
        resolver: Arc<dyn http::Resolve>,
        kv: Option<kv::KvStore>,
    ) -> Result<Self, SandboxError> {
        for dir in &effective.dirs {
            if !dir.host.is_dir() {
                return Err(SandboxError::Grant {
                    plugin: plugin.into(),
                    what: format!("directory {}", dir.guest),
                    reason: format!("{} is not a directory", dir.host.display()),
                });
            }
        }
        let secrets =
            secrets::SecretValues::resolve(&effective.secrets).map_err(|(name, reason)| {
                SandboxError::Grant {
                    plugin: plugin.into(),
                    what: format!("secret {name}"),
                    reason,
                }
            })?;
        Ok(Self {
            plugin: plugin.into(),
            dirs: effective.dirs.clone(),
            egress: Arc::new(http::EgressPolicy::new(effective.clone(), resolver, limits)),
            secrets: Arc::new(secrets),
            kv,
            budget: Budget::resolve(effective.budgets, effective.requested_budgets, limits),
            bound_to: None,
            notes: effective.notes.clone(),
        })
    }

    /// Grants nothing: no directories, no network, no secrets, no store;
    /// `budget` is the user's (a plugin's own defaults are not consulted).
    pub fn nothing(plugin: &str, budget: gyre_manifest::BudgetSpec, limits: &HostLimits) -> Self {
        let effective = Effective {
            budgets: budget,
            ..Effective::default()
        };
        Self {
            plugin: plugin.into(),
            dirs: Vec::new(),
            egress: Arc::new(http::EgressPolicy::new(
                effective,
                Arc::new(http::SystemResolver),
                limits,
            )),
            secrets: Arc::new(secrets::SecretValues::default()),
            kv: None,
            budget: Budget::resolve(budget, Default::default(), limits),
            bound_to: None,
            notes: Vec::new(),
        }
    }

    /// The plugin these grants belong to.
    pub fn plugin(&self) -> &str {
        &self.plugin
    }

    pub fn with_budget(mut self, budget: Budget) -> Self {
        self.budget = budget;
        self
    }
}
