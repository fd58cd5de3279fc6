//! JUnit XML: `<testcase>` elements and their `<failure>`, `<error>` and
//! `<skipped>` children, checked against the `tests=`/`failures=`/`errors=`/
//! `skipped=` totals that `<testsuites>` and `<testsuite>` declare.
//!
//! The evidence fails closed: each count is the larger of what the totals
//! declare and what the test cases show, so a failure declared by a suite
//! but not listed as a test case still fails the run, and a suite declaring
//! more tests than it lists is counted at its declared size with a warning.
//! Tags must nest properly and every element must be closed: a report cut
//! off before its root element closes is an error ("truncated JUnit
//! report"), never a pass.

use crate::report::{Failure, Report, count};
use gyre_sdk::xml::{Nesting, Token, Tokenizer, local_name};

/// True when the text looks like a JUnit report.
pub fn detect(text: &str) -> bool {
    let head = text.trim_start_matches('\u{feff}').trim_start();
    head.starts_with('<') && text.contains("<testsuite")
}

#[derive(Clone, Copy, PartialEq)]
enum Outcome {
    Passed,
    Failed,
    Errored,
    Skipped,
}

struct Case {
    name: String,
    file: Option<String>,
    line: Option<u32>,
    outcome: Outcome,
    message: Option<String>,
    /// Reading the text of a `<failure>`/`<error>` without a message.
    wants_text: bool,
}

#[derive(Default)]
struct Totals {
    tests: u64,
    failures: u64,
    errors: u64,
    skipped: u64,
}

impl Totals {
    fn add(&mut self, other: &Totals) {
        self.tests = self.tests.saturating_add(other.tests);
        self.failures = self.failures.saturating_add(other.failures);
        self.errors = self.errors.saturating_add(other.errors);
        self.skipped = self.skipped.saturating_add(other.skipped);
    }

    /// Each count at the larger of the two: the stricter reading.
    fn max(&self, other: &Totals) -> Totals {
        Totals {
            tests: self.tests.max(other.tests),
            failures: self.failures.max(other.failures),
            errors: self.errors.max(other.errors),
            skipped: self.skipped.max(other.skipped),
        }
    }
}

/// Parses a report; the error says where the XML is malformed, or that the
/// report is truncated.
pub fn parse(text: &str) -> Result<Report, String> {
    let mut report = Report::default();
    let mut case: Option<Case> = None;
    // Refuses mis-nested markup and notices a report cut off early.
    let mut nesting = Nesting::default();
    // Totals declared by the outermost `<testsuites>` and, separately, by
    // the outermost `<testsuite>` elements.
    let mut root_totals = Totals::default();
    let mut suite_totals = Totals::default();
    let mut roots_depth = 0usize;
    let mut suite_depth = 0usize;
    let mut cases = 0u64;

    for token in Tokenizer::new(text) {
        let token = token.map_err(|e| e.to_string())?;
        nesting.track(&token)?;
        match token {
            Token::Start(tag) => match tag.local_name() {
                "testsuites" => {
                    if roots_depth == 0 {
                        root_totals.add(&totals(&tag));
                    }
                    if !tag.self_closing {
                        roots_depth += 1;
                    }
                }
                "testsuite" => {
                    // Only outermost suites: nested ones are already
                    // included in their parent's totals.
                    if suite_depth == 0 {
                        suite_totals.add(&totals(&tag));
                    }
                    if !tag.self_closing {
                        suite_depth += 1;
                    }
                }
                "testcase" => {
                    if let Some(open) = case.take() {
                        finish(&mut report, open);
                    }
                    cases += 1;
                    let name = match (
                        tag.attr("classname").filter(|c| !c.is_empty()),
                        tag.attr("name"),
                    ) {
                        (Some(class), Some(name)) => format!("{class}.{name}"),
                        (None, Some(name)) => name.to_string(),
                        (Some(class), None) => class.to_string(),
                        (None, None) => format!("test case #{cases}"),
                    };
                    let new = Case {
                        name,
                        file: tag
                            .attr("file")
                            .filter(|f| !f.is_empty())
                            .map(str::to_string),
                        line: tag
                            .attr("line")
                            .and_then(count)
                            .and_then(|l| u32::try_from(l).ok())
                            .filter(|&l| l > 0),
                        outcome: Outcome::Passed,
                        message: None,
                        wants_text: false,
                    };
                    if tag.self_closing {
                        finish(&mut report, new);
                    } else {
                        case = Some(new);
                    }
                }
                child @ ("failure" | "error" | "skipped") => {
                    if let Some(open) = case.as_mut() {
                        let outcome = match child {
                            "failure" => Outcome::Failed,
                            "error" => Outcome::Errored,
                            _ => Outcome::Skipped,
                        };
                        // A failure outranks a skip noted in the same case.
                        if open.outcome == Outcome::Passed || outcome != Outcome::Skipped {
                            open.outcome = outcome;
                            open.message = tag
                                .attr("message")
                                .filter(|m| !m.trim().is_empty())
                                .map(|m| first_line(m).to_string())
                                .or_else(|| tag.attr("type").map(str::to_string));
                            open.wants_text = !tag.self_closing
                                && outcome != Outcome::Skipped
                                && tag.attr("message").is_none_or(|m| m.trim().is_empty());
                        }
                    }
                }
                _ => {}
            },
            Token::Text(text) => {
                if let Some(open) = case.as_mut().filter(|c| c.wants_text) {
                    let line = first_line(&text);
                    if !line.is_empty() {
                        open.message = Some(line.to_string());
                        open.wants_text = false;
                    }
                }
            }
            Token::End(name) => match local_name(name) {
                "testcase" => {
                    if let Some(open) = case.take() {
                        finish(&mut report, open);
                    }
                }
                "testsuites" => roots_depth = roots_depth.saturating_sub(1),
                "testsuite" => suite_depth = suite_depth.saturating_sub(1),
                "failure" | "error" => {
                    if let Some(open) = case.as_mut() {
                        open.wants_text = false;
                    }
                }
                _ => {}
            },
        }
    }
    if let Some(root) = nesting.unclosed_root() {
        return Err(format!("truncated JUnit report: <{root}> is never closed"));
    }

    let declared = root_totals.max(&suite_totals);
    if cases == 0 {
        // A summary-only report: trust the totals.
        report.failed = declared.failures;
        report.errors = declared.errors;
        report.skipped = declared.skipped;
        report.passed = declared
            .tests
            .saturating_sub(declared.failures)
            .saturating_sub(declared.errors)
            .saturating_sub(declared.skipped);
        return Ok(report);
    }

    // Test cases and totals disagree: the larger count of each kind wins.
    let listed = report.passed;
    for (kind, stated, counted) in [
        ("failure", declared.failures, &mut report.failed),
        ("error", declared.errors, &mut report.errors),
    ] {
        let unlisted = stated.saturating_sub(*counted);
        if unlisted > 0 {
            *counted = stated;
            report.failures.push(Failure {
                name: if unlisted == 1 {
                    format!("1 {kind} declared by the suite, not listed as a testcase")
                } else {
                    format!("{unlisted} {kind}s declared by the suite, not listed as testcases")
                },
                ..Failure::default()
            });
        }
    }
    report.skipped = report.skipped.max(declared.skipped);
    let total = declared.tests.max(cases);
    let accounted = listed
        .saturating_add(report.failed)
        .saturating_add(report.errors)
        .saturating_add(report.skipped);
    // What the totals leave for passed tests: more than were listed when
    // the suite declares tests it does not list, fewer when it declares
    // failures in place of listed passes.
    report.passed = total
        .saturating_sub(report.failed)
        .saturating_sub(report.errors)
        .saturating_sub(report.skipped);
    if total > accounted {
        // Declared, not listed and not explained by a declared failure,
        // error or skip: counted as the totals say, with a warning.
        let unexplained = total - accounted;
        report.warnings.push(format!(
            "{unexplained} test{} declared by the suite (tests=\"{}\") {} not listed as testcases",
            if unexplained == 1 { "" } else { "s" },
            declared.tests,
            if unexplained == 1 { "is" } else { "are" },
        ));
    }
    Ok(report)
}

fn totals(tag: &gyre_sdk::xml::StartTag<'_>) -> Totals {
    let n = |name: &str| tag.attr(name).map(str::trim).and_then(count).unwrap_or(0);
    Totals {
        tests: n("tests"),
        failures: n("failures"),
        errors: n("errors"),
        // `skip` is what some older writers use; `disabled` never ran either.
        skipped: n("skipped").max(n("skip")).saturating_add(n("disabled")),
    }
}

fn finish(report: &mut Report, case: Case) {
    match case.outcome {
        Outcome::Passed => report.passed += 1,
        Outcome::Skipped => report.skipped += 1,
        Outcome::Failed | Outcome::Errored => {
            if case.outcome == Outcome::Failed {
                report.failed += 1;
            } else {
                report.errors += 1;
            }
            let message = match (case.outcome, case.message) {
                (Outcome::Errored, Some(m)) => Some(format!("error: {m}")),
                (Outcome::Errored, None) => Some("error".into()),
                (_, m) => m,
            };
            report.failures.push(Failure {
                name: case.name,
                message,
                file: case.file,
                line: case.line,
            });
        }
    }
}

fn first_line(text: &str) -> &str {
    text.trim().lines().next().unwrap_or("").trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUREFIRE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuite xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" name="com.example.CalcTest" time="0.052" tests="4" errors="1" skipped="1" failures="1">
  <properties>
    <property name="java.version" value="21.0.2"/>
  </properties>
  <testcase name="adds" classname="com.example.CalcTest" time="0.001"/>
  <testcase name="divides" classname="com.example.CalcTest" time="0.004">
    <failure message="expected: &lt;2&gt; but was: &lt;3&gt;" type="org.opentest4j.AssertionFailedError"><![CDATA[org.opentest4j.AssertionFailedError: expected: <2> but was: <3>
	at com.example.CalcTest.divides(CalcTest.java:21)
]]></failure>
  </testcase>
  <testcase name="parses" classname="com.example.CalcTest" time="0.002">
    <error type="java.lang.NumberFormatException">java.lang.NumberFormatException: For input string: "x"
	at java.base/java.lang.Integer.parseInt(Integer.java:661)</error>
  </testcase>
  <testcase name="slow" classname="com.example.CalcTest" time="0">
    <skipped message="disabled on CI"/>
  </testcase>
</testsuite>
"#;

    #[test]
    fn counts_test_cases_and_names_failures_with_messages() {
        assert!(detect(SUREFIRE));
        let r = parse(SUREFIRE).unwrap();
        assert_eq!((r.passed, r.failed, r.errors, r.skipped), (1, 1, 1, 1));
        assert_eq!(r.failures[0].name, "com.example.CalcTest.divides");
        assert_eq!(
            r.failures[0].message.as_deref(),
            Some("expected: <2> but was: <3>")
        );
        assert_eq!(r.failures[1].name, "com.example.CalcTest.parses");
        assert_eq!(
            r.failures[1].message.as_deref(),
            Some("error: java.lang.NumberFormatException: For input string: \"x\"")
        );
    }

    #[test]
    fn pytest_reports_with_file_and_line_attributes_are_located() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0" failures="1" skipped="0" tests="2" time="0.03" timestamp="2024-05-01T10:00:00" hostname="ci"><testcase classname="tests.test_math" name="test_ok" file="tests/test_math.py" line="3" time="0.001" /><testcase classname="tests.test_math" name="test_divide" file="tests/test_math.py" line="13" time="0.002"><failure message="ZeroDivisionError: division by zero">def test_divide():
&gt;       assert divide(1, 0) == 0
E       ZeroDivisionError: division by zero</failure></testcase></testsuite></testsuites>"#;
        let r = parse(xml).unwrap();
        assert_eq!((r.passed, r.failed), (1, 1));
        let f = &r.failures[0];
        assert_eq!(f.name, "tests.test_math.test_divide");
        assert_eq!(
            (f.file.as_deref(), f.line),
            (Some("tests/test_math.py"), Some(13))
        );
    }

    #[test]
    fn summary_only_reports_use_the_outermost_totals() {
        let xml = r#"<testsuites tests="12" failures="2" errors="0" skipped="1"><testsuite name="a" tests="12" failures="2" skipped="1"><testsuite name="a.inner" tests="5" failures="1"/></testsuite></testsuites>"#;
        let r = parse(xml).unwrap();
        assert_eq!((r.passed, r.failed, r.skipped), (9, 2, 1));
        let xml = r#"<testsuite name="a" tests="3" failures="0"></testsuite><testsuite name="b" tests="2" failures="1"/>"#;
        let r = parse(xml).unwrap();
        assert_eq!((r.passed, r.failed), (4, 1));
    }

    #[test]
    fn failures_and_errors_declared_by_the_suite_count_even_when_not_listed_as_testcases() {
        let xml = r#"<testsuite tests="10" failures="3" errors="2"><testcase classname="a" name="ok"/></testsuite>"#;
        let r = parse(xml).unwrap();
        assert_eq!((r.failed, r.errors), (3, 2));
        let names: Vec<_> = r.failures.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "3 failures declared by the suite, not listed as testcases",
                "2 errors declared by the suite, not listed as testcases",
            ]
        );
        // Only the unlisted part is added to what the test cases show.
        let xml = r#"<testsuite tests="3" failures="2"><testcase name="a"/><testcase name="b"><failure message="boom"/></testcase><testcase name="c"/></testsuite>"#;
        let r = parse(xml).unwrap();
        assert_eq!((r.passed, r.failed), (1, 2));
        assert_eq!(r.failures[0].name, "b");
        assert_eq!(
            r.failures[1].name,
            "1 failure declared by the suite, not listed as a testcase"
        );
    }

    #[test]
    fn a_suite_declaring_more_tests_than_it_lists_is_counted_at_its_declared_size_with_a_warning() {
        let xml =
            r#"<testsuites><testsuite tests="50"><testcase name="ok"/></testsuite></testsuites>"#;
        let r = parse(xml).unwrap();
        assert_eq!((r.passed, r.failed, r.errors, r.skipped), (50, 0, 0, 0));
        assert_eq!(
            r.warnings,
            ["49 tests declared by the suite (tests=\"50\") are not listed as testcases"]
        );
        // Declared skips explain the gap: no warning beyond the skip count.
        let xml = r#"<testsuite tests="3" skipped="2"><testcase name="ok"/></testsuite>"#;
        let r = parse(xml).unwrap();
        assert_eq!((r.passed, r.skipped), (1, 2));
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        // The outermost totals win when they declare more than the suites.
        let xml = r#"<testsuites tests="4" failures="1"><testsuite tests="2"><testcase name="a"/><testcase name="b"/></testsuite></testsuites>"#;
        let r = parse(xml).unwrap();
        assert_eq!((r.passed, r.failed), (3, 1));
    }

    #[test]
    fn a_report_whose_root_element_is_not_closed_is_truncated() {
        let err = parse(r#"<testsuites><testsuite tests="50"><testcase name="ok"/>"#).unwrap_err();
        assert!(err.starts_with("truncated JUnit report"), "{err}");
        assert!(err.contains("<testsuites>"), "{err}");
        let err = parse(r#"<testsuite tests="1"><testcase name="ok">"#).unwrap_err();
        assert!(err.starts_with("truncated JUnit report"), "{err}");
    }

    #[test]
    fn end_tags_that_do_not_match_their_start_tag_are_malformed() {
        let err =
            parse(r#"<testsuite><testcase name="a"><failure></testcase></testsuite>"#).unwrap_err();
        assert!(
            err.contains("</testcase>") && err.contains("<failure>"),
            "{err}"
        );
        let err = parse(r#"<testsuite tests="1"/></testsuite>"#).unwrap_err();
        assert!(err.contains("</testsuite>"), "{err}");
    }

    #[test]
    fn malformed_xml_is_reported_with_its_position() {
        let err = parse("<testsuite tests=\"1\"><testcase name=x/></testsuite>").unwrap_err();
        assert!(err.contains("malformed XML at byte"), "{err}");
    }
}
