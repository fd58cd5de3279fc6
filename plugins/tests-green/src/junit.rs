//! JUnit XML: `<testcase>` elements and their `<failure>`, `<error>` and
//! `<skipped>` children; the `tests=`/`failures=` totals of `<testsuites>`
//! or `<testsuite>` when a report lists no test cases.

use crate::report::{Failure, Report, count};
use gyre_sdk::xml::{Token, Tokenizer, local_name};

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
}

/// Parses a report; the error says where the XML is malformed.
pub fn parse(text: &str) -> Result<Report, String> {
    let mut report = Report::default();
    let mut case: Option<Case> = None;
    let mut root_totals: Option<Totals> = None;
    let mut suite_totals = Totals::default();
    let mut suite_depth = 0usize;
    let mut cases = 0u64;

    for token in Tokenizer::new(text) {
        match token.map_err(|e| e.to_string())? {
            Token::Start(tag) => match tag.local_name() {
                "testsuites" => root_totals = Some(totals(&tag)),
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
    if let Some(open) = case.take() {
        finish(&mut report, open);
    }

    if cases == 0 {
        // A summary-only report: trust the totals.
        let t = root_totals.unwrap_or(suite_totals);
        report.failed = t.failures;
        report.errors = t.errors;
        report.skipped = t.skipped;
        report.passed = t
            .tests
            .saturating_sub(t.failures)
            .saturating_sub(t.errors)
            .saturating_sub(t.skipped);
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
    fn malformed_xml_is_reported_with_its_position() {
        let err = parse("<testsuite tests=\"1\"><testcase name=x/></testsuite>").unwrap_err();
        assert!(err.contains("malformed XML at byte"), "{err}");
    }
}
