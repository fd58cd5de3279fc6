//! Triggers: decide when a loop runs (schedule, poll or webhook) and turn
//! what happened into events.

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "gyre:plugin/trigger",
        with: {
            "gyre:plugin/types@0.1.0": crate::host::types,
            "gyre:plugin/log@0.1.0": crate::log,
            "gyre:plugin/kv@0.1.0": crate::kv,
            "gyre:plugin/secrets@0.1.0": crate::secrets,
        },
        pub_export_macro: true,
        export_macro_name: "__export_trigger_world",
        default_bindings_module: "gyre_sdk::trigger::bindings",
    });
}

pub use crate::PluginError;
pub use crate::json::{Value, json};
pub use bindings::exports::gyre::plugin::events::{Event, Firing, PollResult, WebhookRequest};
use serde::de::DeserializeOwned;

/// Implement this and call [`export_trigger!`](crate::export_trigger).
pub trait Trigger {
    type Config: DeserializeOwned;
    /// How the trigger fires under `config`.
    fn describe(config: &Self::Config) -> Result<Firing, PluginError>;
    /// Called at each scheduled time or poll interval.
    fn poll(
        config: Self::Config,
        cursor: Option<String>,
        now_ms: u64,
    ) -> Result<PollResult, PluginError> {
        let _ = (config, now_ms);
        Ok(PollResult {
            events: Vec::new(),
            cursor,
        })
    }
    /// Called for each incoming webhook request.
    fn handle_webhook(
        config: Self::Config,
        request: WebhookRequest,
    ) -> Result<Vec<Event>, PluginError> {
        let _ = (config, request);
        Err(PluginError::invalid_input(
            "this trigger does not accept webhooks",
        ))
    }
}

impl Event {
    pub fn new(id: impl Into<String>, kind: impl Into<String>, payload: &Value) -> Self {
        Self {
            id: id.into(),
            kind: kind.into(),
            payload: payload.to_string(),
        }
    }
}

impl WebhookRequest {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[doc(hidden)]
pub mod run {
    use super::*;
    pub fn describe<T: Trigger>(config: String) -> Result<Firing, PluginError> {
        T::describe(&crate::json::config::<T::Config>(&config)?)
    }
    pub fn poll<T: Trigger>(
        config: String,
        cursor: Option<String>,
        now_ms: u64,
    ) -> Result<PollResult, PluginError> {
        T::poll(crate::json::config::<T::Config>(&config)?, cursor, now_ms)
    }
    pub fn webhook<T: Trigger>(
        config: String,
        request: WebhookRequest,
    ) -> Result<Vec<Event>, PluginError> {
        T::handle_webhook(crate::json::config::<T::Config>(&config)?, request)
    }
}

/// Exports a [`Trigger`] as the component's `events` interface and embeds
/// the crate's `gyre.toml`.
#[macro_export]
macro_rules! export_trigger {
    ($ty:ty) => {
        $crate::embed_manifest!();
        const _: () = {
            struct GyreTrigger;
            impl $crate::trigger::bindings::exports::gyre::plugin::events::Guest for GyreTrigger {
                fn describe(config: String) -> Result<$crate::trigger::Firing, $crate::PluginError> {
                    $crate::trigger::run::describe::<$ty>(config)
                }
                fn poll(
                    config: String,
                    cursor: Option<String>,
                    now_ms: u64,
                ) -> Result<$crate::trigger::PollResult, $crate::PluginError> {
                    $crate::trigger::run::poll::<$ty>(config, cursor, now_ms)
                }
                fn handle_webhook(
                    config: String,
                    request: $crate::trigger::WebhookRequest,
                ) -> Result<Vec<$crate::trigger::Event>, $crate::PluginError> {
                    $crate::trigger::run::webhook::<$ty>(config, request)
                }
            }
            // Only a wasm target can export these symbols; a native build (unit tests
            // of a plugin crate that is also an rlib/cdylib) links without them.
            // Natively nothing is exported; this keeps the plugin's type from
            // being reported as dead code there.
            #[cfg(not(target_arch = "wasm32"))]
            const _: () = {
                let _ = <GyreTrigger as $crate::trigger::bindings::exports::gyre::plugin::events::Guest>::poll;
            };
            #[cfg(target_arch = "wasm32")]
            $crate::trigger::bindings::__export_trigger_world!(GyreTrigger with_types_in $crate::trigger::bindings);
        };
    };
}
