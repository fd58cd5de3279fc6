//! Support for Gyre's integration tests: paths of the built guest
//! components, and small real servers on 127.0.0.1.

/// Paths of every guest component, built for wasm32-wasip2 by `build.rs`.
pub mod artifacts {
    include!(concat!(env!("OUT_DIR"), "/artifacts.rs"));
}
