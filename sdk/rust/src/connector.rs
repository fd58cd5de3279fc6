//! Connectors: named operations on an outside system, each shaped like an
//! MCP tool.

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "gyre:plugin/connector",
        with: {
            "gyre:plugin/types@0.1.0": crate::host::types,
            "gyre:plugin/log@0.1.0": crate::log,
            "gyre:plugin/kv@0.1.0": crate::kv,
            "gyre:plugin/secrets@0.1.0": crate::secrets,
        },
        pub_export_macro: true,
        export_macro_name: "__export_connector_world",
        default_bindings_module: "gyre_sdk::connector::bindings",
    });
}

pub use crate::PluginError;
pub use crate::json::{Value, json};
pub use bindings::exports::gyre::plugin::operations::Operation;
use serde::de::DeserializeOwned;

/// Implement this and call [`export_connector!`](crate::export_connector).
pub trait Connector {
    /// The configuration, parsed from the user's JSON.
    type Config: DeserializeOwned;
    /// The operations offered. Pure: no I/O, no configuration.
    fn operations() -> Vec<Operation>;
    /// Runs one operation. The SDK has already checked that `operation` is
    /// one of [`Connector::operations`] and that `input` is valid JSON.
    fn invoke(config: Self::Config, operation: &str, input: Value) -> Result<Value, PluginError>;
}

impl Operation {
    /// An operation that changes something upstream; its input schema
    /// defaults to "any object".
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            input_schema: r#"{"type":"object"}"#.to_string(),
            read_only: false,
        }
    }
    /// The JSON Schema of the input object.
    pub fn schema(mut self, schema: Value) -> Self {
        self.input_schema = schema.to_string();
        self
    }
    /// Marks the operation as changing nothing upstream.
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }
}

#[doc(hidden)]
pub fn run<C: Connector>(
    config: String,
    operation: String,
    input: String,
) -> Result<String, PluginError> {
    let known = C::operations();
    if !known.iter().any(|op| op.name == operation) {
        let names: Vec<&str> = known.iter().map(|op| op.name.as_str()).collect();
        return Err(PluginError::not_found(format!(
            "no operation {operation:?}; this connector offers: {}",
            names.join(", ")
        )));
    }
    let config = crate::json::config::<C::Config>(&config)?;
    let input: Value = crate::json::input(&input)?;
    let output = C::invoke(config, &operation, input)?;
    crate::json::to_string(&output)
}

/// Exports a [`Connector`] as the component's `operations` interface and
/// embeds the crate's `gyre.toml`.
#[macro_export]
macro_rules! export_connector {
    ($ty:ty) => {
        $crate::embed_manifest!();
        const _: () = {
            struct GyreConnector;
            impl $crate::connector::bindings::exports::gyre::plugin::operations::Guest for GyreConnector {
                fn describe() -> Vec<$crate::connector::Operation> {
                    <$ty as $crate::connector::Connector>::operations()
                }
                fn invoke(
                    config: String,
                    operation: String,
                    input: String,
                ) -> Result<String, $crate::PluginError> {
                    $crate::connector::run::<$ty>(config, operation, input)
                }
            }
            // Only a wasm target can export these symbols; a native build (unit tests
            // of a plugin crate that is also an rlib/cdylib) links without them.
            // Natively nothing is exported; this keeps the plugin's type from
            // being reported as dead code there.
            #[cfg(not(target_arch = "wasm32"))]
            const _: () = {
                let _ = <GyreConnector as $crate::connector::bindings::exports::gyre::plugin::operations::Guest>::invoke;
            };
            #[cfg(target_arch = "wasm32")]
            $crate::connector::bindings::__export_connector_world!(GyreConnector with_types_in $crate::connector::bindings);
        };
    };
}
