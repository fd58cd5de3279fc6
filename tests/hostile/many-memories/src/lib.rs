//! The many-memories hostile plugin is a hand-written core module, not Rust:
//! see `many-memories.wat`. `tests/build.rs` assembles it into a verifier
//! component (`gyre_tests::artifacts::HOSTILE_MANY_MEMORIES`).

/// The WAT source of the core module.
pub const WAT: &str = include_str!("../many-memories.wat");
/// The manifest embedded as the `gyre-manifest` custom section.
pub const MANIFEST: &str = include_str!("../gyre.toml");
