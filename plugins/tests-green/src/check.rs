//! Configuration, format detection and the verdict.

use crate::report::Format;
use crate::{cargo, junit, pytest};
use gyre_sdk::json::{Fields, Value};
use gyre_sdk::verifier::{PluginError, Verdict};

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The name of the evidence holding the test output.
    pub evidence: String,
    /// None: detect from the text.
    pub format: Option<Format>,
    pub min_tests: u64,
}

impl Config {
    pub fn from_json(value: &Value) -> Result<Self, PluginError> {
        let fields = Fields::config(value)?;
        fields.deny_unknown(&["evidence", "format", "min-tests"])?;
        let evidence = fields.str("evidence")?.unwrap_or("test-log").to_string();
        if evidence.is_empty() {
            return Err(fields.error("evidence", "must not be empty"));
        }
        let format = match fields.str("format")?.unwrap_or("auto") {
            "auto" => None,
            "cargo" => Some(Format::Cargo),
            "pytest" => Some(Format::Pytest),
            "junit" => Some(Format::Junit),
            other => {
                return Err(fields.error(
                    "format",
                    format!("expected one of auto, cargo, pytest, junit; got {other:?}"),
                ));
            }
        };
        let min_tests = fields.u64("min-tests")?.unwrap_or(1);
        Ok(Self {
            evidence,
            format,
            min_tests,
        })
    }
}

/// Reads `text` as test output and judges it. Output that cannot be read is
/// a failed verdict saying so: never a pass.
pub fn check(config: &Config, text: &str) -> Verdict {
    let format = match config.format {
        Some(format) => format,
        None => match detect(text) {
            Some(format) => format,
            None => {
                return Verdict::fail(format!(
                    "could not recognise the test output in evidence {:?} as cargo test, pytest or JUnit XML; \
                     set `format` if it is one of those",
                    config.evidence
                ));
            }
        },
    };
    let report = match format {
        Format::Cargo => {
            let report = cargo::parse(text);
            if report.ran() == 0 && report.problems.is_empty() && !cargo::detect(text) {
                return unreadable(format, "no `test result:` or `running N tests` lines");
            }
            report
        }
        Format::Pytest => match pytest::parse(text) {
            Some(report) => report,
            None => {
                return unreadable(
                    format,
                    "no closing summary line such as `=== 3 passed in 0.1s ===`",
                );
            }
        },
        Format::Junit => match junit::parse(text) {
            Ok(report) => report,
            Err(why) => return unreadable(format, &why),
        },
    };
    report.verdict(format, config.min_tests)
}

fn unreadable(format: Format, why: &str) -> Verdict {
    Verdict::fail(format!(
        "could not read the test output as {}: {why}",
        format.name()
    ))
}

/// Guesses the runner from the text; None when nothing matches.
pub fn detect(text: &str) -> Option<Format> {
    if junit::detect(text) {
        Some(Format::Junit)
    } else if cargo::detect(text) {
        Some(Format::Cargo)
    } else if pytest::detect(text) {
        Some(Format::Pytest)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gyre_sdk::json::json;
    use gyre_sdk::verifier::Severity;

    fn config(value: Value) -> Config {
        Config::from_json(&value).unwrap()
    }

    const CARGO_GREEN: &str = "\
running 2 tests
test a ... ok
test b ... ignored

test result: ok. 1 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.00s
";

    #[test]
    fn passes_when_all_cargo_tests_pass() {
        let v = check(&config(json!({})), CARGO_GREEN);
        assert!(v.passed, "{}", v.summary);
        assert_eq!(v.summary, "1 passed, 0 failed, 1 ignored (cargo)");
        assert_eq!(v.score, Some(100.0));
        // The ignored test is worth a warning, not a failure.
        assert_eq!(v.findings.len(), 1);
        assert_eq!(v.findings[0].severity, Severity::Warning);
    }

    #[test]
    fn fails_when_a_test_failed() {
        let log = "running 2 tests\ntest a ... ok\ntest b ... FAILED\n\ntest result: FAILED. 1 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n";
        let v = check(&config(json!({})), log);
        assert!(!v.passed);
        assert_eq!(v.score, Some(50.0));
        assert_eq!(v.findings[0].severity, Severity::Error);
        assert_eq!(v.findings[0].message, "b");
    }

    #[test]
    fn fails_when_no_tests_ran() {
        let log = "running 0 tests\n\ntest result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n";
        let v = check(&config(json!({})), log);
        assert!(!v.passed);
        assert!(v.summary.ends_with("no tests ran"), "{}", v.summary);
        assert_eq!(v.score, None);
    }

    #[test]
    fn an_explicit_min_tests_of_zero_accepts_an_empty_run_but_not_unreadable_output() {
        let log = "running 0 tests\n\ntest result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n";
        assert!(check(&config(json!({"min-tests": 0})), log).passed);
        assert!(!check(&config(json!({"min-tests": 0})), "nothing here\n").passed);
    }

    #[test]
    fn fails_when_fewer_than_min_tests_ran() {
        let v = check(&config(json!({"min-tests": 5})), CARGO_GREEN);
        assert!(!v.passed);
        assert!(
            v.summary.contains("only 1 ran, at least 5 required"),
            "{}",
            v.summary
        );
    }

    #[test]
    fn fails_on_compile_errors_even_when_other_binaries_passed() {
        let log = format!(
            "{CARGO_GREEN}error[E0599]: no method named `foo` found for struct `X` in the current scope\n  --> tests/api.rs:9:7\nerror: could not compile `calc` (test \"api\") due to 1 previous error\n"
        );
        let v = check(&config(json!({})), &log);
        assert!(!v.passed);
        assert_eq!(v.findings[0].file.as_deref(), Some("tests/api.rs"));
    }

    #[test]
    fn unrecognised_output_fails_with_a_clear_summary() {
        let v = check(&config(json!({})), "Build succeeded.\nAll good!\n");
        assert!(!v.passed);
        assert!(v.summary.contains("could not recognise"), "{}", v.summary);
        let v = check(&config(json!({"format": "pytest"})), "Build succeeded.\n");
        assert!(!v.passed);
        assert!(v.summary.contains("as pytest"), "{}", v.summary);
        let v = check(&config(json!({"format": "cargo"})), "");
        assert!(!v.passed);
    }

    #[test]
    fn auto_detects_each_format() {
        assert_eq!(detect(CARGO_GREEN), Some(Format::Cargo));
        assert_eq!(detect("=== 3 passed in 0.10s ==="), Some(Format::Pytest));
        assert_eq!(
            detect("<?xml version=\"1.0\"?>\n<testsuites/>"),
            Some(Format::Junit)
        );
        assert_eq!(detect("hello"), None);
    }

    #[test]
    fn passes_a_green_pytest_run_and_warns_about_skips() {
        let v = check(
            &config(json!({})),
            "=========== 10 passed, 2 skipped in 0.52s ===========\n",
        );
        assert!(v.passed);
        assert_eq!(v.summary, "10 passed, 0 failed, 2 skipped (pytest)");
        assert_eq!(v.findings[0].message, "2 tests skipped");
    }

    #[test]
    fn junit_errors_fail_the_check() {
        let xml = r#"<testsuite tests="2"><testcase classname="a" name="ok"/><testcase classname="a" name="boom"><error message="NullPointerException"/></testcase></testsuite>"#;
        let v = check(&config(json!({"format": "junit"})), xml);
        assert!(!v.passed);
        assert_eq!(v.summary, "1 passed, 0 failed, 0 skipped, 1 errors (junit)");
        assert_eq!(v.findings[0].message, "a.boom: error: NullPointerException");
    }

    #[test]
    fn junit_failures_declared_only_by_the_suite_fail_the_check() {
        let xml = r#"<testsuite tests="10" failures="3" errors="2"><testcase classname="a" name="ok"/></testsuite>"#;
        let v = check(&config(json!({})), xml);
        assert!(!v.passed, "{}", v.summary);
        assert_eq!(v.summary, "5 passed, 3 failed, 0 skipped, 2 errors (junit)");
        let messages: Vec<_> = v.findings.iter().map(|f| f.message.as_str()).collect();
        assert!(
            messages.contains(&"3 failures declared by the suite, not listed as testcases"),
            "{messages:?}"
        );
        assert!(
            v.findings.iter().any(|f| f.severity == Severity::Warning
                && f.message.contains("not listed as testcases")),
            "{messages:?}"
        );
    }

    #[test]
    fn a_truncated_junit_report_fails_the_check() {
        let xml = r#"<testsuites><testsuite tests="50"><testcase name="ok"/>"#;
        let v = check(&config(json!({})), xml);
        assert!(!v.passed, "{}", v.summary);
        assert!(
            v.summary.contains("truncated JUnit report"),
            "{}",
            v.summary
        );
    }

    #[test]
    fn config_errors_name_the_field() {
        let err = |v: Value| match Config::from_json(&v) {
            Err(PluginError::InvalidConfig(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(err(json!({"format": "tap"})).contains("\"format\""));
        assert!(err(json!({"min-tests": -1})).contains("\"min-tests\""));
        assert!(err(json!({"min_tests": 1})).contains("unknown field"));
        assert_eq!(config(json!(null)), config(json!({})));
        assert_eq!(config(json!({})).evidence, "test-log");
    }
}
