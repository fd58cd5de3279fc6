//! Gyre's capability vocabulary.
//!
//! A plugin's [`Manifest`] says what it *requests*; the user's [`Grants`]
//! say what they *allow*. [`Grants::resolve`] intersects the two into the
//! [`Effective`] set the sandbox enforces, so a plugin never gets more than
//! the user allowed, whatever it asks for. Every value here is parsed once,
//! at the edge, into a type: an origin is an [`OriginPattern`], a secret name
//! a [`SecretName`], a budget a [`BudgetSpec`].

mod budget;
mod dirs;
mod error;
mod grants;
mod manifest;
mod names;
mod origin;

pub use budget::{BudgetSpec, MIB};
pub use dirs::{Access, DirRequest, DirSource, GuestPath};
pub use error::{ManifestError, toml_error_message};
pub use grants::{DirGrant, Effective, EffectiveDir, Grants, MountGrant, SecretSource};
pub use manifest::{Capabilities, Manifest, PluginInfo, PluginKind};
pub use names::{LoopName, MountName, PluginName, RoleName, SecretName, StepId};
pub use origin::{HostPattern, Origin, OriginPattern, PortPattern, Scheme};
