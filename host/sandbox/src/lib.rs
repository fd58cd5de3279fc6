//! Gyre's sandbox: runs untrusted plugin components with only the
//! capabilities they were granted, metered by fuel, a wall-clock deadline
//! and a memory cap.
//!
//! - [`Runtime`] owns the one engine (Cranelift, fuel, epochs, pooling
//!   allocator), the linker and the compile cache.
//! - [`Plugin`] is a loaded component: its embedded manifest, its world and
//!   a pre-instantiated form that makes each call a fresh, cheap store.
//! - [`Granted`] is what one plugin may use: the intersection of its
//!   manifest's requests and the user's grants, turned into live handles.
//! - Every call returns an [`Invocation`]: the result or a typed
//!   [`Failure`], the [`Usage`] it cost, its captured output, and the
//!   capabilities it was denied.

mod bindings;
mod budget;
mod cache;
pub mod caps;
mod engine;
mod error;
pub mod inspect;
mod invocation;
mod limiter;
mod plugin;
mod state;
pub mod text;

pub use bindings::types::{PluginError, UpstreamFailure};
pub use bindings::{connector, trigger, verifier};
pub use budget::{Budget, HostLimits};
pub use caps::Granted;
pub use caps::http::{Resolve, StaticResolver, SystemResolver};
pub use caps::log::{Level, LogLine};
pub use engine::{LoadReport, Runtime, RuntimeConfig};
pub use error::SandboxError;
pub use invocation::{Denial, Failure, Invocation, Output, Usage};
pub use plugin::Plugin;

pub use gyre_manifest as manifest;

/// The sha256 of a component, hex: how Gyre names a plugin's content.
pub fn digest(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
