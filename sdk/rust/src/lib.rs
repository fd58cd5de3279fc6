//! Write Gyre plugins in Rust.
//!
//! A plugin is a WebAssembly component implementing one of the worlds in
//! Gyre's `wit/` package: a [`verifier`], a [`connector`] or a [`trigger`].
//! Implement the matching trait and call its export macro; the macro also
//! embeds the crate's `gyre.toml` manifest into the component, so the
//! artifact describes itself.
//!
//! ```ignore
//! use gyre_sdk::verifier::*;
//!
//! #[derive(serde::Deserialize, Default)]
//! #[serde(default)]
//! struct Config { min_tests: u32 }
//!
//! struct NonEmptyLog;
//! impl Verifier for NonEmptyLog {
//!     type Config = Config;
//!     fn verify(config: Config, input: Input) -> Result<Verdict, PluginError> {
//!         let log = input.text("test-log")?;
//!         let lines = log.lines().count() as u32;
//!         Ok(if lines >= config.min_tests {
//!             Verdict::pass(format!("{lines} lines"))
//!         } else {
//!             Verdict::fail(format!("only {lines} lines"))
//!         })
//!     }
//! }
//! gyre_sdk::export_verifier!(NonEmptyLog);
//! ```

pub mod connector;
mod errors;
pub mod host;
pub mod http;
pub mod json;
pub mod trigger;
pub mod verifier;
pub mod xml;

pub use errors::PluginError;
pub use host::{kv, log, secrets};

/// Re-exports used by the export macros; not part of the stable API.
#[doc(hidden)]
pub mod __private {
    pub use serde_json;
}

/// Embeds `gyre.toml` from the plugin crate's root as the `gyre-manifest`
/// custom section of the component. The export macros call this; call it
/// yourself only when you write the bindings by hand.
#[macro_export]
macro_rules! embed_manifest {
    () => {
        $crate::embed_manifest!(concat!(env!("CARGO_MANIFEST_DIR"), "/gyre.toml"));
    };
    ($path:expr) => {
        const _: () = {
            const BYTES: &[u8] = include_bytes!($path);
            #[unsafe(link_section = "gyre-manifest")]
            #[used]
            static MANIFEST: [u8; BYTES.len()] = {
                let mut out = [0u8; BYTES.len()];
                let mut i = 0;
                while i < BYTES.len() {
                    out[i] = BYTES[i];
                    i += 1;
                }
                out
            };
        };
    };
}
