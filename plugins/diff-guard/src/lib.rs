//! `diff-guard`: a verifier that fails a unified diff (evidence `diff`)
//! which touches forbidden paths, deletes tests, adds test skips or is too
//! large.
//!
//! | field | default | meaning |
//! |---|---|---|
//! | `forbidden-paths` | `[]` | globs no change may touch (old or new name) |
//! | `max-changed-lines` | none | limit on added + removed lines |
//! | `allow-test-deletion` | `false` | allow deleting test files and test functions |
//! | `allow-test-skips` | `false` | allow adding `#[ignore]`, `#[cfg(any())]`, `pytestmark = pytest.mark.skip`, `.skip(`, `@Disabled`, ... |
//! | `test-paths` | see [`check::DEFAULT_TEST_PATHS`] | globs of test files |
//! | `evidence` | `"diff"` | the evidence to read |
//!
//! Globs match the whole repository-relative path: `*` and `?` stay within
//! a segment, `**` spans segments. `Cargo.lock` is the root lockfile only;
//! write `**/Cargo.lock` for every one. Test functions and skips are
//! recognised per language, by file extension (see [`rules`]).

pub mod check;
pub mod diff;
pub mod glob;
pub mod rules;
pub mod rust_cfg;

use gyre_sdk::json::Value;
use gyre_sdk::verifier::{Input, PluginError, Verdict, Verifier};

// Never constructed: only its trait impl is exported.
enum DiffGuard {}

impl Verifier for DiffGuard {
    type Config = Value;
    fn verify(config: Value, input: Input) -> Result<Verdict, PluginError> {
        let config = check::Config::from_json(&config)?;
        check::check(&config, input.text(&config.evidence)?)
    }
}

gyre_sdk::export_verifier!(DiffGuard);
