//! `cargo test` output: per-binary `test result:` lines, `test x ... FAILED`
//! lines, panic locations, compile errors and crashed test binaries.

use crate::report::{Failure, Report, count, file_line};
use crate::text::clean_lines;

/// True when the text looks like cargo test output.
pub fn detect(text: &str) -> bool {
    clean_lines(text).any(|line| {
        let line = line.trim_start();
        line.starts_with("test result: ")
            || running_count(line).is_some()
            || line.starts_with("error[E")
            || line.starts_with("error: could not compile")
    })
}

/// `running 3 tests` → 3.
fn running_count(line: &str) -> Option<u64> {
    let rest = line.strip_prefix("running ")?;
    let (n, word) = rest.split_once(' ')?;
    matches!(word, "test" | "tests").then_some(())?;
    count(n)
}

/// Counts of one test binary.
#[derive(Default)]
struct Binary {
    /// Saw `running N tests` but not yet its `test result:` line.
    open: bool,
    /// Counts from the individual `test x ... status` lines, used when the
    /// binary died before printing its result line.
    seen_ok: u64,
    seen_failed: u64,
    seen_ignored: u64,
    /// Why the process ended, when cargo said so.
    exit: Option<String>,
}

pub fn parse(text: &str) -> Report {
    let mut report = Report::default();
    let mut binary = Binary::default();
    let mut name = String::from("test binary");
    // The test whose captured output is being read (`---- x stdout ----`).
    let mut section: Option<String> = None;
    let mut awaiting_panic_message: Option<usize> = None;
    let mut pending_error: Option<Failure> = None;
    let mut could_not_compile: Vec<String> = Vec::new();

    for line in clean_lines(text) {
        let trimmed = line.trim();

        // A located compile error: `error[E0425]: msg` then `  --> file:l:c`.
        if let Some(mut error) = pending_error.take() {
            if let Some(location) = trimmed.strip_prefix("--> ") {
                if let Some((file, line)) = file_line(location.trim()) {
                    error.file = Some(file);
                    error.line = Some(line);
                }
                error.name = "compile error".into();
                report.problems.push(error);
                continue;
            }
            // An `error:` without a code and without a location may be a
            // test's own output (`--nocapture`); rustc's carry one or the
            // closing `could not compile` line reports them.
            if error.name == "compile error" {
                report.problems.push(error);
            }
        }

        if let Some(index) = awaiting_panic_message.take()
            && !trimmed.is_empty()
            && !trimmed.starts_with("note: ")
            && let Some(f) = report.failures.get_mut(index)
        {
            f.message = Some(trimmed.to_string());
        }

        if trimmed.starts_with("Running ") || trimmed.starts_with("Doc-tests ") {
            close_binary(&mut report, &mut binary, &name);
            name = trimmed.to_string();
            section = None;
            continue;
        }
        if running_count(trimmed).is_some() {
            // A `running` line without a `Running` line before it (e.g. a
            // test binary run directly) starts a binary too.
            if binary.open {
                close_binary(&mut report, &mut binary, &name);
            }
            binary.open = true;
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("test result: ") {
            let (passed, failed, ignored) = result_counts(rest);
            report.passed = report.passed.saturating_add(passed);
            report.failed = report.failed.saturating_add(failed);
            report.skipped = report.skipped.saturating_add(ignored);
            binary = Binary::default();
            section = None;
            continue;
        }
        if let Some((test, status)) = test_line(trimmed) {
            match status {
                Status::Ok => binary.seen_ok += 1,
                Status::Ignored => binary.seen_ignored += 1,
                Status::Failed => {
                    binary.seen_failed += 1;
                    if !report.failures.iter().any(|f| f.name == test) {
                        report.failures.push(failure_for(test));
                    }
                }
            }
            continue;
        }
        if let Some(test) = trimmed
            .strip_prefix("---- ")
            .and_then(|r| r.strip_suffix(" stdout ----"))
        {
            section = Some(test.to_string());
            continue;
        }
        if trimmed == "failures:" {
            section = None;
            continue;
        }
        if let Some(test) = &section {
            // Inside a failed test's captured output: find where it panicked.
            if let Some((location, message)) = panic_location(trimmed) {
                let index = match report.failures.iter().position(|f| &f.name == test) {
                    Some(i) => i,
                    None => {
                        report.failures.push(failure_for(test));
                        report.failures.len() - 1
                    }
                };
                let failure = &mut report.failures[index];
                if let Some((file, line)) = file_line(&location) {
                    failure.file = Some(file);
                    failure.line = Some(line);
                }
                match message {
                    Some(m) => failure.message = Some(m),
                    None => awaiting_panic_message = Some(index),
                }
            } else if let Some(error) = trimmed.strip_prefix("Error: ") {
                // A test returning `Err(..)` prints `Error: ...`.
                if let Some(f) = report.failures.iter_mut().find(|f| &f.name == test) {
                    f.message.get_or_insert_with(|| error.to_string());
                }
            }
            // Doctest compile errors live here too; they are test failures,
            // already counted, not build problems.
            continue;
        }
        if let Some(reason) = trimmed.strip_prefix("process didn't exit successfully: ") {
            binary.exit = Some(reason.to_string());
            continue;
        }
        if trimmed.starts_with("error: could not compile") {
            could_not_compile.push(trimmed.trim_start_matches("error: ").to_string());
            continue;
        }
        if trimmed.starts_with("error[E")
            || (trimmed.starts_with("error: ") && !is_cargo_error(trimmed))
        {
            pending_error = Some(Failure {
                // Uncoded errors count only once a location confirms them.
                name: if trimmed.starts_with("error[E") {
                    "compile error"
                } else {
                    "unlocated error"
                }
                .into(),
                message: Some(trimmed.to_string()),
                ..Failure::default()
            });
        }
    }
    if let Some(error) = pending_error.filter(|e| e.name == "compile error") {
        report.problems.push(error);
    }
    close_binary(&mut report, &mut binary, &name);
    // Located errors say more than cargo's closing line; keep the closing
    // line only when rustc's own errors were not in the log.
    if !could_not_compile.is_empty() && !report.problems.iter().any(|p| p.name == "compile error") {
        for message in could_not_compile {
            report.problems.push(Failure {
                name: "build failed".into(),
                message: Some(message),
                ..Failure::default()
            });
        }
    }
    report
}

/// Cargo's own `error:` lines that repeat what the test lines already said.
fn is_cargo_error(line: &str) -> bool {
    line.starts_with("error: test failed")
        || line.contains(" target failed")
        || line.contains(" targets failed")
        || line.starts_with("error: aborting due to")
        || line.starts_with("error: could not compile")
}

/// Ends a test binary; one that started but printed no result line crashed
/// or was cut off, which fails the run.
fn close_binary(report: &mut Report, binary: &mut Binary, name: &str) {
    if binary.open {
        report.passed = report.passed.saturating_add(binary.seen_ok);
        report.failed = report.failed.saturating_add(binary.seen_failed);
        report.skipped = report.skipped.saturating_add(binary.seen_ignored);
        let why = binary.exit.take().unwrap_or_else(|| {
            "ended without a `test result:` line (crashed or output cut off)".into()
        });
        report.problems.push(Failure {
            name: name.to_string(),
            message: Some(why),
            ..Failure::default()
        });
    }
    *binary = Binary::default();
}

/// `ok. 3 passed; 1 failed; 2 ignored; 0 measured; ...` → (3, 1, 2).
fn result_counts(rest: &str) -> (u64, u64, u64) {
    let (mut passed, mut failed, mut ignored) = (0, 0, 0);
    let rest = rest.split_once(". ").map_or(rest, |(_, counts)| counts);
    for item in rest.split(';') {
        let mut words = item.split_whitespace();
        let (Some(n), Some(word)) = (words.next().and_then(count), words.next()) else {
            continue;
        };
        match word {
            "passed" => passed = n,
            "failed" => failed = n,
            "ignored" => ignored = n,
            _ => {}
        }
    }
    (passed, failed, ignored)
}

enum Status {
    Ok,
    Failed,
    Ignored,
}

/// `test a::b ... ok` → ("a::b", Ok).
fn test_line(line: &str) -> Option<(&str, Status)> {
    let rest = line.strip_prefix("test ")?;
    let (name, status) = rest.rsplit_once(" ... ")?;
    let status = match status.trim() {
        "ok" => Status::Ok,
        "FAILED" => Status::Failed,
        s if s == "ignored" || s.starts_with("ignored, ") => Status::Ignored,
        _ => return None,
    };
    Some((name.trim(), status))
}

/// A failed test; doctests name their file and line:
/// `src/lib.rs - add (line 5)`.
fn failure_for(test: &str) -> Failure {
    let mut failure = Failure {
        name: test.to_string(),
        ..Failure::default()
    };
    if let Some((file, rest)) = test.split_once(" - ")
        && let Some(line) = rest
            .rsplit_once("(line ")
            .and_then(|(_, l)| l.strip_suffix(')'))
            .and_then(count)
            .and_then(|l| u32::try_from(l).ok())
    {
        failure.file = Some(file.to_string());
        failure.line = Some(line);
    }
    failure
}

/// The location (and, in the old format, the message) of a panic line:
/// `thread 't' panicked at src/lib.rs:17:9:` (message on the next line) or
/// `thread 't' panicked at 'msg', src/lib.rs:17:9`.
fn panic_location(line: &str) -> Option<(String, Option<String>)> {
    if !line.starts_with("thread '") {
        return None;
    }
    // Newer toolchains print the thread id: `thread 't' (4242) panicked at`.
    let (_, rest) = line.split_once(" panicked at ")?;
    if rest.starts_with('\'') {
        let (message, location) = rest.rsplit_once("', ")?;
        return Some((location.trim().to_string(), Some(message[1..].to_string())));
    }
    Some((rest.trim().trim_end_matches(':').to_string(), None))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSING: &str = "\
   Compiling calc v0.1.0 (/work/calc)
    Finished `test` profile [unoptimized + debuginfo] target(s) in 0.52s
     Running unittests src/lib.rs (target/debug/deps/calc-3f2a9c1d0e8b7a65)

running 3 tests
test tests::adds ... ok
test tests::subtracts ... ok
test tests::slow ... ignored, needs a network

test result: ok. 2 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.00s

     Running tests/api.rs (target/debug/deps/api-0b1c2d3e4f5a6b7c)

running 40 tests
test result: ok. 40 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.12s

   Doc-tests calc

running 0 tests

test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s
";

    const FAILING: &str = "\
     Running unittests src/lib.rs (target/debug/deps/calc-3f2a9c1d0e8b7a65)

running 3 tests
test tests::adds ... ok
test tests::divides ... FAILED
test tests::parses ... FAILED

failures:

---- tests::divides stdout ----

thread 'tests::divides' (21367) panicked at src/lib.rs:17:9:
assertion `left == right` failed
  left: 1
 right: 2
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace

---- tests::parses stdout ----
thread 'tests::parses' panicked at 'called `Result::unwrap()` on an `Err` value: ParseIntError', src/parse.rs:40:22


failures:
    tests::divides
    tests::parses

test result: FAILED. 1 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s

error: test failed, to rerun pass `--lib`
";

    #[test]
    fn sums_result_lines_across_test_binaries() {
        assert!(detect(PASSING));
        let r = parse(PASSING);
        assert_eq!((r.passed, r.failed, r.skipped), (42, 0, 1));
        assert!(r.failures.is_empty() && r.problems.is_empty(), "{r:?}");
    }

    #[test]
    fn names_failed_tests_with_panic_location_and_message() {
        let r = parse(FAILING);
        assert_eq!((r.passed, r.failed), (1, 2));
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        assert_eq!(r.failures.len(), 2);
        let d = &r.failures[0];
        assert_eq!(d.name, "tests::divides");
        assert_eq!((d.file.as_deref(), d.line), (Some("src/lib.rs"), Some(17)));
        assert_eq!(
            d.message.as_deref(),
            Some("assertion `left == right` failed")
        );
        let p = &r.failures[1];
        assert_eq!(
            (p.file.as_deref(), p.line),
            (Some("src/parse.rs"), Some(40))
        );
        assert!(p.message.as_deref().unwrap_or("").contains("ParseIntError"));
    }

    #[test]
    fn compile_errors_are_problems_with_locations() {
        let log = "\
   Compiling calc v0.1.0 (/work/calc)
error[E0425]: cannot find value `y` in this scope
 --> src/lib.rs:3:5
  |
3 |     y + 1
  |     ^ not found in this scope

For more information about this error, try `rustc --explain E0425`.
error: could not compile `calc` (lib test) due to 1 previous error
";
        assert!(detect(log));
        let r = parse(log);
        assert_eq!(r.ran(), 0);
        assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
        let e = &r.problems[0];
        assert_eq!((e.file.as_deref(), e.line), (Some("src/lib.rs"), Some(3)));
        assert!(e.message.as_deref().unwrap_or("").contains("E0425"));
    }

    #[test]
    fn uncoded_errors_count_only_with_a_location() {
        let log = "\
running 1 test
error: connection refused (printed by the test itself)
test net::retries ... ok

test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s
";
        assert!(parse(log).problems.is_empty());
        let log = "error: expected one of `!` or `::`, found `fn`\n --> src/lib.rs:4:1\n";
        let r = parse(log);
        assert_eq!(r.problems.len(), 1);
        assert_eq!(r.problems[0].line, Some(4));
    }

    #[test]
    fn could_not_compile_alone_is_still_a_problem() {
        let r = parse(
            "error: could not compile `calc` (lib) due to 2 previous errors; 1 warning emitted\n",
        );
        assert_eq!(r.problems.len(), 1);
        assert!(
            r.problems[0]
                .message
                .as_deref()
                .unwrap_or("")
                .contains("could not compile")
        );
    }

    #[test]
    fn a_binary_that_dies_without_a_result_line_is_a_problem() {
        let log = "\
     Running unittests src/lib.rs (target/debug/deps/calc-3f2a9c1d0e8b7a65)

running 2 tests
test tests::fine ... ok

thread 'tests::deep' has overflowed its stack
fatal runtime error: stack overflow
error: test failed, to rerun pass `--lib`

Caused by:
  process didn't exit successfully: `/work/calc/target/debug/deps/calc-3f2a9c1d0e8b7a65` (signal: 6, SIGABRT: process abort signal)
";
        let r = parse(log);
        assert_eq!(r.passed, 1);
        assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
        assert!(
            r.problems[0]
                .message
                .as_deref()
                .unwrap_or("")
                .contains("SIGABRT")
        );
    }

    #[test]
    fn failed_doctests_point_at_their_file_and_line() {
        let log = "\
   Doc-tests calc

running 1 test
test src/lib.rs - add (line 5) ... FAILED

failures:

---- src/lib.rs - add (line 5) stdout ----
error[E0308]: mismatched types
 --> src/lib.rs:6:5
Couldn't compile the test.

failures:
    src/lib.rs - add (line 5)

test result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s
";
        let r = parse(log);
        assert_eq!(r.failed, 1);
        assert!(
            r.problems.is_empty(),
            "doctest errors are failures: {:?}",
            r.problems
        );
        assert_eq!(r.failures[0].file.as_deref(), Some("src/lib.rs"));
        assert_eq!(r.failures[0].line, Some(5));
    }

    #[test]
    fn colored_output_is_read_too() {
        let log = "running 1 test\ntest a ... \u{1b}[32mok\u{1b}[0m\n\ntest result: \u{1b}[32mok\u{1b}[0m. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n";
        let r = parse(log);
        assert_eq!(r.passed, 1);
        assert!(r.problems.is_empty());
    }
}
