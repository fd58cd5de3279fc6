//! `coverage-threshold`: a verifier that passes when line coverage reaches
//! `min-line-percent`.
//!
//! Reads an lcov tracefile or a Cobertura XML report from the evidence named
//! by `evidence` (default `coverage`). Configuration:
//!
//! | field | default | meaning |
//! |---|---|---|
//! | `min-line-percent` | required | threshold, 0 to 100 |
//! | `format` | `"auto"` | `auto`, `lcov` or `cobertura` |
//! | `evidence` | `"coverage"` | the evidence to read |
//!
//! The score is the line coverage in percent. Findings list the least
//! covered files (up to 10). A report with no instrumented lines fails, and
//! so does a truncated one (an lcov record without `end_of_record`, an
//! unclosed Cobertura root). When a report contradicts itself (LF/LH against
//! its DA lines, Cobertura root totals against its classes), the stricter
//! figure is used and a warning says so.

pub mod check;
pub mod cobertura;
pub mod coverage;
pub mod lcov;

use gyre_sdk::json::Value;
use gyre_sdk::verifier::{Input, PluginError, Verdict, Verifier};

// Never constructed: only its trait impl is exported.
enum CoverageThreshold {}

impl Verifier for CoverageThreshold {
    type Config = Value;
    fn verify(config: Value, input: Input) -> Result<Verdict, PluginError> {
        let config = check::Config::from_json(&config)?;
        check::check(&config, input.text(&config.evidence)?)
    }
}

gyre_sdk::export_verifier!(CoverageThreshold);
