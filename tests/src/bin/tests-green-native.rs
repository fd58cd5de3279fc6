//! `tests-green` as a native process: the work the plugin does, for the
//! sandbox benchmark to compare a process spawn against.
//!
//! Usage: `tests-green-native LOG`. Reads the log, judges it with the
//! plugin's own logic under the default configuration, prints the verdict
//! summary and exits 0 when the check passed, 1 when it failed, 2 on a
//! usage or read error.

use std::process::ExitCode;
use tests_green::check::{Config, check};

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: tests-green-native LOG");
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!(
                "tests-green-native: {}: {e}",
                std::path::Path::new(&path).display()
            );
            return ExitCode::from(2);
        }
    };
    // What `Config::from_json` makes of `{}`, the plugin's default.
    let config = Config {
        evidence: "test-log".into(),
        format: None,
        min_tests: 1,
    };
    let verdict = check(&config, &text);
    println!(
        "{}: {}",
        if verdict.passed { "passed" } else { "failed" },
        verdict.summary
    );
    if verdict.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
