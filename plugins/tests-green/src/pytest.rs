//! pytest output: the closing summary line (`=== 2 failed, 10 passed in
//! 0.3s ===`), `FAILED`/`ERROR` lines, and `path:line:` locations from the
//! failure sections.

use crate::report::{Failure, Report, count, file_line};
use crate::text::clean_lines;

/// True when the text looks like pytest output.
pub fn detect(text: &str) -> bool {
    clean_lines(text)
        .any(|line| line.contains("test session starts") || summary_counts(&line).is_some())
}

/// The counts of a closing summary line, or None when `line` is not one.
/// `no tests ran in 0.01s` counts as a summary of zeros.
fn summary_counts(line: &str) -> Option<Counts> {
    let body = line.trim().trim_matches('=').trim();
    // "in 0.31s" or "in 62.10s (0:01:02)" closes every summary.
    let (body, time) = body.rsplit_once(" in ")?;
    let seconds = time.split_whitespace().next()?.strip_suffix('s')?;
    if seconds.is_empty() || !seconds.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let mut counts = Counts::default();
    if body == "no tests ran" {
        return Some(counts);
    }
    for item in body.split(", ") {
        let (n, word) = item.trim().split_once(' ')?;
        let n = count(n)?;
        match word {
            "passed" => counts.passed = n,
            "failed" => counts.failed = n,
            "error" | "errors" => counts.errors = n,
            "skipped" => counts.skipped = n,
            // An expected failure did not count against the suite; it ran
            // nothing that passed either.
            "xfailed" => counts.xfailed = n,
            // Non-strict xpass: the test ran and passed.
            "xpassed" => counts.xpassed = n,
            "deselected" | "warning" | "warnings" | "rerun" | "subtests passed" => {}
            _ => return None,
        }
    }
    Some(counts)
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    passed: u64,
    failed: u64,
    errors: u64,
    skipped: u64,
    xfailed: u64,
    xpassed: u64,
}

/// Returns None when no closing summary line was found.
pub fn parse(text: &str) -> Option<Report> {
    let mut summary: Option<Counts> = None;
    let mut failures: Vec<Failure> = Vec::new();
    // Failure sections: `____ TestClass.test_x ____` → last `path:line:`.
    let mut sections: Vec<(String, Vec<(String, u32)>)> = Vec::new();
    let mut in_section = false;

    for line in clean_lines(text) {
        let trimmed = line.trim_end();
        if let Some(counts) = summary_counts(trimmed) {
            summary = Some(counts);
            in_section = false;
            continue;
        }
        if let Some(title) = section_title(trimmed) {
            sections.push((title.to_string(), Vec::new()));
            in_section = true;
            continue;
        }
        if trimmed.starts_with("====") {
            in_section = false;
        }
        if let Some((status, rest)) = trimmed
            .strip_prefix("FAILED ")
            .map(|r| ("FAILED", r))
            .or_else(|| trimmed.strip_prefix("ERROR ").map(|r| ("ERROR", r)))
        {
            let (node, message) = match rest.split_once(" - ") {
                Some((node, message)) => (node.trim(), Some(message.trim().to_string())),
                None => (rest.trim(), None),
            };
            add_failure(&mut failures, node, message, status);
            continue;
        }
        // `-v` lines: `tests/test_x.py::test_a FAILED   [ 50%]`.
        if let Some((node, status)) = verbose_line(trimmed) {
            add_failure(&mut failures, node, None, status);
            continue;
        }
        if in_section
            && let (Some(location), Some(section)) =
                (traceback_location(trimmed), sections.last_mut())
        {
            section.1.push(location);
        }
    }

    let counts = summary?;
    for failure in &mut failures {
        locate(failure, &sections);
    }
    Some(Report {
        passed: counts.passed.saturating_add(counts.xpassed),
        failed: counts.failed,
        errors: counts.errors,
        skipped: counts.skipped.saturating_add(counts.xfailed),
        failures,
        problems: Vec::new(),
        warnings: Vec::new(),
    })
}

fn add_failure(failures: &mut Vec<Failure>, node: &str, message: Option<String>, status: &str) {
    if node.is_empty() {
        return;
    }
    if let Some(existing) = failures.iter_mut().find(|f| f.name == node) {
        if existing.message.is_none() {
            existing.message = message;
        }
        return;
    }
    let message = match (status, message) {
        ("ERROR", Some(m)) => Some(format!("error: {m}")),
        ("ERROR", None) => Some("error".to_string()),
        (_, m) => m,
    };
    failures.push(Failure {
        name: node.to_string(),
        message,
        file: node_file(node).map(str::to_string),
        line: None,
    });
}

/// The file of a node id: `tests/test_x.py::TestA::test_b` → `tests/test_x.py`.
fn node_file(node: &str) -> Option<&str> {
    let file = node.split("::").next()?;
    (file.ends_with(".py") && !file.contains(' ')).then_some(file)
}

fn verbose_line(line: &str) -> Option<(&str, &'static str)> {
    let (node, rest) = line.split_once(' ')?;
    if !node.contains("::") {
        return None;
    }
    let status = match rest.split_whitespace().next()? {
        "FAILED" => "FAILED",
        "ERROR" => "ERROR",
        _ => return None,
    };
    Some((node, status))
}

/// `tests/test_x.py:22: AssertionError` (or `...:14:` for a frame that
/// calls on) → the file and line.
fn traceback_location(line: &str) -> Option<(String, u32)> {
    let location = match line.split_once(": ") {
        Some((location, _)) => location,
        None => line.strip_suffix(':')?,
    };
    if location.contains(' ') {
        return None;
    }
    file_line(location)
}

/// `_____ TestShapes.test_area _____` → `TestShapes.test_area`.
fn section_title(line: &str) -> Option<&str> {
    let inner = line.strip_prefix("___")?.strip_suffix("___")?;
    let title = inner.trim_matches('_').trim();
    (!title.is_empty() && inner.starts_with(['_', ' '])).then_some(title)
}

/// Points a failure at the line of its own test file where it failed, as
/// printed in its section; else at the deepest location printed.
fn locate(failure: &mut Failure, sections: &[(String, Vec<(String, u32)>)]) {
    let Some((_, test)) = failure.name.split_once("::") else {
        return;
    };
    let title = test.replace("::", ".");
    let Some((_, locations)) = sections.iter().find(|(t, _)| *t == title) else {
        return;
    };
    let own = failure.file.as_deref();
    let best = locations
        .iter()
        .rev()
        .find(|(f, _)| Some(f.as_str()) == own)
        .or_else(|| locations.last());
    if let Some((file, line)) = best {
        failure.file = Some(file.clone());
        failure.line = Some(*line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAILING: &str = "\
============================= test session starts ==============================
platform linux -- Python 3.11.2, pytest-8.3.3, pluggy-1.5.0
rootdir: /work/shapes
collected 13 items

tests/test_math.py ..F.......s                                           [ 84%]
tests/test_shapes.py .F                                                  [100%]

=================================== FAILURES ===================================
_________________________________ test_divide __________________________________

    def test_divide():
>       assert divide(1, 0) == 0

tests/test_math.py:14: 
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _

    def divide(a, b):
>       return a / b
E       ZeroDivisionError: division by zero

shapes/calc.py:3: ZeroDivisionError
_____________________________ TestShapes.test_area _____________________________

self = <tests.test_shapes.TestShapes object at 0x7f2c1e0b5d10>

    def test_area(self):
>       assert area(2) == 5
E       assert 4 == 5

tests/test_shapes.py:22: AssertionError
=========================== short test summary info ============================
FAILED tests/test_math.py::test_divide - ZeroDivisionError: division by zero
FAILED tests/test_shapes.py::TestShapes::test_area - assert 4 == 5
=================== 2 failed, 10 passed, 1 skipped in 0.31s ====================
";

    #[test]
    fn reads_the_closing_summary_and_failed_tests() {
        assert!(detect(FAILING));
        let r = parse(FAILING).unwrap();
        assert_eq!((r.passed, r.failed, r.skipped, r.errors), (10, 2, 1, 0));
        assert_eq!(r.failures.len(), 2);
        let d = &r.failures[0];
        assert_eq!(d.name, "tests/test_math.py::test_divide");
        assert_eq!(
            d.message.as_deref(),
            Some("ZeroDivisionError: division by zero")
        );
        // The test's own line, not the library frame below it.
        assert_eq!(
            (d.file.as_deref(), d.line),
            (Some("tests/test_math.py"), Some(14))
        );
        let a = &r.failures[1];
        assert_eq!(
            (a.file.as_deref(), a.line),
            (Some("tests/test_shapes.py"), Some(22))
        );
    }

    #[test]
    fn no_tests_ran_is_a_summary_of_zeros() {
        let log = "collected 0 items\n\n============================ no tests ran in 0.01s =============================\n";
        let r = parse(log).unwrap();
        assert_eq!(r.ran(), 0);
    }

    #[test]
    fn collection_errors_count_as_errors() {
        let log = "\
==================================== ERRORS ====================================
____________________ ERROR collecting tests/test_broken.py _____________________
ImportError while importing test module '/work/x/tests/test_broken.py'.
E   ModuleNotFoundError: No module named 'requests'
=========================== short test summary info ============================
ERROR tests/test_broken.py
!!!!!!!!!!!!!!!!!!!! Interrupted: 1 error during collection !!!!!!!!!!!!!!!!!!!!
=============================== 1 error in 0.12s ===============================
";
        let r = parse(log).unwrap();
        assert_eq!(r.errors, 1);
        assert_eq!(r.failures.len(), 1);
        assert_eq!(r.failures[0].file.as_deref(), Some("tests/test_broken.py"));
    }

    #[test]
    fn quiet_summaries_warnings_and_xfails_are_understood() {
        let r = parse("..x.\n3 passed, 1 xfailed, 2 warnings in 1.02s\n").unwrap();
        assert_eq!((r.passed, r.failed, r.skipped), (3, 0, 1));
        let r = parse("= 5 passed, 1 deselected in 62.10s (0:01:02) =").unwrap();
        assert_eq!(r.passed, 5);
    }

    #[test]
    fn lines_that_only_resemble_a_summary_are_ignored() {
        assert!(parse("we passed in 3s\n2 apples in 1s\n").is_none());
        assert!(!detect("all 3 passed in review\n"));
    }

    #[test]
    fn verbose_status_lines_name_failures_without_a_short_summary() {
        let log = "tests/test_a.py::test_one PASSED    [ 50%]\ntests/test_a.py::test_two FAILED    [100%]\n=== 1 failed, 1 passed in 0.02s ===\n";
        let r = parse(log).unwrap();
        assert_eq!(r.failures.len(), 1);
        assert_eq!(r.failures[0].name, "tests/test_a.py::test_two");
    }
}
