//! `tests-green`: a verifier that passes when at least `min-tests` tests ran
//! and none failed or errored.
//!
//! Reads cargo test output, pytest output and JUnit XML from the evidence
//! named by `evidence` (default `test-log`). Configuration:
//!
//! | field | default | meaning |
//! |---|---|---|
//! | `evidence` | `"test-log"` | the evidence to read |
//! | `format` | `"auto"` | `auto`, `cargo`, `pytest` or `junit` |
//! | `min-tests` | `1` | fewer tests than this fail the check (0 accepts an empty run) |
//!
//! Output that cannot be recognised fails the check; it never passes. Nor
//! does a truncated JUnit report, and failures a JUnit suite declares in its
//! totals fail the check even when it lists no failing test case.

pub mod cargo;
pub mod check;
pub mod junit;
pub mod pytest;
pub mod report;
mod text;

use gyre_sdk::json::Value;
use gyre_sdk::verifier::{Input, PluginError, Verdict, Verifier};

// Never constructed: only its trait impl is exported.
enum TestsGreen {}

impl Verifier for TestsGreen {
    type Config = Value;
    fn verify(config: Value, input: Input) -> Result<Verdict, PluginError> {
        let config = check::Config::from_json(&config)?;
        let text = input.text(&config.evidence)?;
        Ok(check::check(&config, text))
    }
}

gyre_sdk::export_verifier!(TestsGreen);
