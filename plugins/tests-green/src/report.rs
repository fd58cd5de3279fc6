//! What every parser produces, and how a report becomes a verdict.

use gyre_sdk::verifier::{Finding, Verdict};

/// The test runner whose output was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Cargo,
    Pytest,
    Junit,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Cargo => "cargo",
            Format::Pytest => "pytest",
            Format::Junit => "junit",
        }
    }

    /// The runner's own word for tests that did not run.
    fn skipped_word(self) -> &'static str {
        match self {
            Format::Cargo => "ignored",
            Format::Pytest | Format::Junit => "skipped",
        }
    }
}

/// A failed test, or a problem outside any test (a build error, a crashed
/// test binary) that fails the run all the same.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Failure {
    pub name: String,
    pub message: Option<String>,
    pub file: Option<String>,
    pub line: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub passed: u64,
    pub failed: u64,
    /// Tests that errored rather than failed an assertion (pytest, JUnit).
    pub errors: u64,
    pub skipped: u64,
    /// One entry per failed or errored test, as far as the output names them.
    pub failures: Vec<Failure>,
    /// Failures that are not tests: compile errors, crashed binaries.
    pub problems: Vec<Failure>,
    /// Doubts about the evidence that do not fail the run by themselves
    /// (a JUnit suite declaring more tests than it lists).
    pub warnings: Vec<String>,
}

/// More findings than this drown the summary; the rest are counted.
const MAX_FINDINGS: usize = 50;
/// Messages are cut to this many characters.
const MAX_MESSAGE: usize = 500;

impl Report {
    pub fn ran(&self) -> u64 {
        self.passed
            .saturating_add(self.failed)
            .saturating_add(self.errors)
    }

    /// Passes when at least `min_tests` tests ran and nothing failed.
    pub fn verdict(&self, format: Format, min_tests: u64) -> Verdict {
        let mut counts = format!(
            "{} passed, {} failed, {} {}",
            self.passed,
            self.failed,
            self.skipped,
            format.skipped_word()
        );
        if self.errors > 0 {
            counts.push_str(&format!(", {} errors", self.errors));
        }
        let mut summary = format!("{counts} ({})", format.name());
        let ran = self.ran();
        let passed = if !self.problems.is_empty() {
            summary.push_str(&format!(": {} build or run problems", self.problems.len()));
            false
        } else if self.failed > 0 || self.errors > 0 {
            false
        } else if ran == 0 && min_tests > 0 {
            summary.push_str(": no tests ran");
            false
        } else if ran < min_tests {
            summary.push_str(&format!(": only {ran} ran, at least {min_tests} required"));
            false
        } else {
            true
        };

        let mut verdict = if passed {
            Verdict::pass(summary)
        } else {
            Verdict::fail(summary)
        };
        if ran > 0 {
            verdict = verdict.with_score(self.passed as f64 * 100.0 / ran as f64);
        }

        let all = self.problems.iter().chain(&self.failures);
        let total = self.problems.len() + self.failures.len();
        for failure in all.take(MAX_FINDINGS) {
            verdict = verdict.with_finding(finding(failure));
        }
        if total > MAX_FINDINGS {
            verdict = verdict.with_finding(Finding::error(format!(
                "and {} more failures not listed",
                total - MAX_FINDINGS
            )));
        }
        for warning in &self.warnings {
            verdict = verdict.with_finding(Finding::warning(clip(warning)));
        }
        if self.skipped > 0 {
            verdict = verdict.with_finding(Finding::warning(format!(
                "{} tests {}",
                self.skipped,
                format.skipped_word()
            )));
        }
        verdict
    }
}

fn finding(failure: &Failure) -> Finding {
    let message = match &failure.message {
        Some(m) if !m.is_empty() => format!("{}: {}", failure.name, clip(m)),
        _ => failure.name.clone(),
    };
    let finding = Finding::error(message);
    match &failure.file {
        Some(file) => finding.at(file.clone(), failure.line),
        None => finding,
    }
}

fn clip(text: &str) -> String {
    match text.char_indices().nth(MAX_MESSAGE) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// Parses a decimal count; absurd lengths saturate instead of failing.
pub fn count(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.parse().unwrap_or(u64::MAX))
}

/// Splits `path:line[:col]` as printed by compilers and test runners.
pub fn file_line(location: &str) -> Option<(String, u32)> {
    let (head, last) = location.rsplit_once(':')?;
    let last: u32 = count(last)?.try_into().ok()?;
    if let Some((path, middle)) = head.rsplit_once(':')
        && let Some(line) = count(middle).and_then(|l| u32::try_from(l).ok())
    {
        return (!path.is_empty()).then(|| (path.to_string(), line));
    }
    (!head.is_empty()).then(|| (head.to_string(), last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_line_reads_path_line_and_optional_column() {
        assert_eq!(
            file_line("src/lib.rs:10:5"),
            Some(("src/lib.rs".into(), 10))
        );
        assert_eq!(
            file_line("tests/test_x.py:12"),
            Some(("tests/test_x.py".into(), 12))
        );
        assert_eq!(
            file_line("C:\\x\\y.rs:3:1"),
            Some(("C:\\x\\y.rs".into(), 3))
        );
        assert_eq!(file_line("no location"), None);
        assert_eq!(file_line(":12"), None);
    }

    #[test]
    fn a_report_with_failures_fails_and_scores_the_pass_rate() {
        let report = Report {
            passed: 3,
            failed: 1,
            failures: vec![Failure {
                name: "a::b".into(),
                message: Some("boom".into()),
                file: Some("src/a.rs".into()),
                line: Some(4),
            }],
            ..Report::default()
        };
        let v = report.verdict(Format::Cargo, 1);
        assert!(!v.passed);
        assert_eq!(v.score, Some(75.0));
        assert_eq!(v.summary, "3 passed, 1 failed, 0 ignored (cargo)");
        assert_eq!(v.findings[0].message, "a::b: boom");
        assert_eq!(v.findings[0].file.as_deref(), Some("src/a.rs"));
        assert_eq!(v.findings[0].line, Some(4));
    }

    #[test]
    fn too_many_failures_are_capped_and_counted() {
        let report = Report {
            failed: 80,
            failures: (0..80)
                .map(|i| Failure {
                    name: format!("t{i}"),
                    ..Failure::default()
                })
                .collect(),
            ..Report::default()
        };
        let v = report.verdict(Format::Pytest, 1);
        assert_eq!(v.findings.len(), MAX_FINDINGS + 1);
        assert_eq!(
            v.findings[MAX_FINDINGS].message,
            "and 30 more failures not listed"
        );
    }
}
