//! Host-side bindings for Gyre's WIT worlds. The host interfaces (log, kv,
//! secrets) and shared types are generated once and reused by each world.

pub mod imports {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "gyre:plugin/imports",
        additional_derives: [serde::Serialize],
    });
}

pub use imports::gyre::plugin::types;

macro_rules! plugin_world {
    ($module:ident, $world:literal) => {
        pub mod $module {
            wasmtime::component::bindgen!({
                path: "../../wit",
                world: $world,
                with: {
                    "gyre:plugin/types": crate::bindings::imports::gyre::plugin::types,
                    "gyre:plugin/log": crate::bindings::imports::gyre::plugin::log,
                    "gyre:plugin/kv": crate::bindings::imports::gyre::plugin::kv,
                    "gyre:plugin/secrets": crate::bindings::imports::gyre::plugin::secrets,
                },
                exports: { default: async },
                additional_derives: [serde::Serialize, serde::Deserialize],
            });
        }
    };
}

mod worlds {
    plugin_world!(verifier, "gyre:plugin/verifier");
    plugin_world!(connector, "gyre:plugin/connector");
    plugin_world!(trigger, "gyre:plugin/trigger");
}

/// Types of the verifier world.
pub mod verifier {
    pub use super::worlds::verifier::VerifierPre;
    pub use super::worlds::verifier::exports::gyre::plugin::verification::{
        Evidence, Finding, Severity, Verdict, VerifyRequest,
    };
}

/// Types of the connector world.
pub mod connector {
    pub use super::worlds::connector::ConnectorPre;
    pub use super::worlds::connector::exports::gyre::plugin::operations::Operation;
}

/// Types of the trigger world.
pub mod trigger {
    pub use super::worlds::trigger::TriggerPre;
    pub use super::worlds::trigger::exports::gyre::plugin::events::{
        Event, Firing, PollResult, WebhookRequest,
    };
}

impl std::fmt::Display for types::PluginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use types::PluginError as E;
        match self {
            E::InvalidConfig(m) => write!(f, "invalid config: {m}"),
            E::InvalidInput(m) => write!(f, "invalid input: {m}"),
            E::NotFound(m) => write!(f, "not found: {m}"),
            E::Denied(m) => write!(f, "denied: {m}"),
            E::Unauthorized(m) => write!(f, "unauthorized: {m}"),
            E::Upstream(u) => write!(f, "upstream failed with status {}: {}", u.status, u.message),
            E::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl types::PluginError {
    /// The WIT case name, e.g. `invalid-input`.
    pub fn kind(&self) -> &'static str {
        use types::PluginError as E;
        match self {
            E::InvalidConfig(_) => "invalid-config",
            E::InvalidInput(_) => "invalid-input",
            E::NotFound(_) => "not-found",
            E::Denied(_) => "denied",
            E::Unauthorized(_) => "unauthorized",
            E::Upstream(_) => "upstream",
            E::Internal(_) => "internal",
        }
    }
}
