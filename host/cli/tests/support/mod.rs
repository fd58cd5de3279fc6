//! Shared by the integration tests and the benchmarks.

// Each of them uses a part of it.
#[allow(dead_code)]
pub mod reference;
