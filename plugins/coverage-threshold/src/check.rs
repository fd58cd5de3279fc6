//! Configuration, format detection and the verdict.
//!
//! A truncated report fails; contradictions the parsers settled by taking
//! the stricter figure are listed as warnings.

use crate::coverage::Coverage;
use crate::{cobertura, lcov};
use gyre_sdk::json::{Fields, Value};
use gyre_sdk::verifier::{Finding, PluginError, Verdict};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Lcov,
    Cobertura,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Lcov => "lcov",
            Format::Cobertura => "cobertura",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub evidence: String,
    pub min_line_percent: f64,
    /// None: detect from the text.
    pub format: Option<Format>,
}

impl Config {
    pub fn from_json(value: &Value) -> Result<Self, PluginError> {
        let fields = Fields::config(value)?;
        fields.deny_unknown(&["evidence", "min-line-percent", "format"])?;
        let evidence = fields.str("evidence")?.unwrap_or("coverage").to_string();
        if evidence.is_empty() {
            return Err(fields.error("evidence", "must not be empty"));
        }
        let min_line_percent =
            fields.required("min-line-percent", fields.f64("min-line-percent")?)?;
        if !(0.0..=100.0).contains(&min_line_percent) {
            return Err(fields.error(
                "min-line-percent",
                format!("expected a percentage from 0 to 100, got {min_line_percent}"),
            ));
        }
        let format = match fields.str("format")?.unwrap_or("auto") {
            "auto" => None,
            "lcov" => Some(Format::Lcov),
            "cobertura" => Some(Format::Cobertura),
            other => {
                return Err(fields.error(
                    "format",
                    format!("expected one of auto, lcov, cobertura; got {other:?}"),
                ));
            }
        };
        Ok(Self {
            evidence,
            min_line_percent,
            format,
        })
    }
}

/// How many of the least covered files are listed.
const MAX_FILES: usize = 10;

/// Reads the report and judges it against the threshold. A report in no
/// known format fails; a malformed one is an `invalid-input` error.
pub fn check(config: &Config, text: &str) -> Result<Verdict, PluginError> {
    let format = match config.format.or_else(|| detect(text)) {
        Some(format) => format,
        None => {
            return Ok(Verdict::fail(format!(
                "could not recognise evidence {:?} as an lcov tracefile or a Cobertura XML report",
                config.evidence
            )));
        }
    };
    let parsed = match format {
        Format::Lcov => lcov::parse(text),
        Format::Cobertura => cobertura::parse(text),
    };
    let coverage = parsed.map_err(|why| {
        PluginError::invalid_input(format!(
            "evidence {:?} ({}): {why}",
            config.evidence,
            format.name()
        ))
    })?;
    Ok(judge(config, format, &coverage))
}

fn judge(config: &Config, format: Format, coverage: &Coverage) -> Verdict {
    if let Some(why) = &coverage.truncated {
        let kind = match format {
            Format::Lcov => "lcov",
            Format::Cobertura => "Cobertura",
        };
        return Verdict::fail(format!("truncated {kind} report: {why}"));
    }
    let Some(percent) = coverage.percent() else {
        return Verdict::fail(format!(
            "no instrumented lines found in the {} report",
            format.name()
        ));
    };
    let min = config.min_line_percent;
    let lines = if coverage.found > 0 {
        format!(" ({}/{} lines)", coverage.hit, coverage.found)
    } else {
        String::new()
    };
    let passed = percent >= min;
    let summary = format!(
        "line coverage {}%{lines} {} the required {}% ({})",
        show(percent),
        if passed { "meets" } else { "is below" },
        show(min),
        format.name()
    );
    let mut verdict = if passed {
        Verdict::pass(summary)
    } else {
        Verdict::fail(summary)
    }
    .with_score(percent);
    if !passed {
        verdict = verdict.with_finding(Finding::error(format!(
            "line coverage {}% is below the required {}%",
            show(percent),
            show(min)
        )));
    }
    for warning in coverage.warnings.iter().take(MAX_FILES) {
        verdict = verdict.with_finding(Finding::warning(warning.clone()));
    }
    if coverage.warnings.len() > MAX_FILES {
        verdict = verdict.with_finding(Finding::warning(format!(
            "and {} more contradictions not listed",
            coverage.warnings.len() - MAX_FILES
        )));
    }
    let mut least: Vec<_> = coverage
        .files
        .iter()
        .filter(|f| f.percent < 100.0)
        .collect();
    // Lowest rate first; among equals, the file with most uncovered lines.
    least.sort_by(|a, b| {
        a.percent
            .total_cmp(&b.percent)
            .then(
                b.found
                    .saturating_sub(b.hit)
                    .cmp(&a.found.saturating_sub(a.hit)),
            )
            .then(a.path.cmp(&b.path))
    });
    for file in least.into_iter().take(MAX_FILES) {
        let counts = if file.found > 0 {
            format!(" ({}/{} lines)", file.hit, file.found)
        } else {
            String::new()
        };
        verdict = verdict.with_finding(
            Finding::warning(format!("{}% of lines covered{counts}", show(file.percent)))
                .at(&file.path, None),
        );
    }
    verdict
}

/// One decimal, rounded down, so that a failing 79.96% never shows as 80.0%.
fn show(percent: f64) -> String {
    let tenths = (percent * 10.0 + 1e-9).floor() / 10.0;
    if tenths.fract() == 0.0 {
        format!("{tenths:.0}")
    } else {
        format!("{tenths:.1}")
    }
}

/// Guesses the format; None when nothing matches.
pub fn detect(text: &str) -> Option<Format> {
    if cobertura::detect(text) {
        Some(Format::Cobertura)
    } else if lcov::detect(text) {
        Some(Format::Lcov)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gyre_sdk::json::json;
    use gyre_sdk::verifier::Severity;

    fn config(min: f64) -> Config {
        Config::from_json(&json!({ "min-line-percent": min })).unwrap()
    }

    fn lcov_file(path: &str, found: u32, hit: u32) -> String {
        format!("SF:{path}\nLF:{found}\nLH:{hit}\nend_of_record\n")
    }

    #[test]
    fn passes_when_coverage_meets_the_threshold() {
        let report = lcov_file("src/a.rs", 10, 8) + &lcov_file("src/b.rs", 10, 10);
        let v = check(&config(90.0), &report).unwrap();
        assert!(v.passed, "{}", v.summary);
        assert_eq!(v.score, Some(90.0));
        assert_eq!(
            v.summary,
            "line coverage 90% (18/20 lines) meets the required 90% (lcov)"
        );
        // Only the partly covered file is listed, as a warning.
        assert_eq!(v.findings.len(), 1);
        assert_eq!(v.findings[0].severity, Severity::Warning);
        assert_eq!(v.findings[0].file.as_deref(), Some("src/a.rs"));
    }

    #[test]
    fn fails_below_the_threshold_with_an_error_finding() {
        let report = lcov_file("src/a.rs", 10000, 7996);
        let v = check(&config(80.0), &report).unwrap();
        assert!(!v.passed);
        // 79.96% must not read as 80%.
        assert!(
            v.summary.starts_with("line coverage 79.9% "),
            "{}",
            v.summary
        );
        assert!(v.findings.iter().any(|f| f.severity == Severity::Error));
    }

    #[test]
    fn lists_at_most_ten_least_covered_files_lowest_first() {
        let report: String = (0..15)
            .map(|i| lcov_file(&format!("src/f{i:02}.rs"), 100, 50 + i))
            .collect();
        let v = check(&config(0.0), &report).unwrap();
        assert!(v.passed);
        assert_eq!(v.findings.len(), 10);
        assert_eq!(v.findings[0].file.as_deref(), Some("src/f00.rs"));
        assert_eq!(v.findings[9].file.as_deref(), Some("src/f09.rs"));
    }

    #[test]
    fn fails_when_no_lines_are_found() {
        let v = check(&config(0.0), "TN:\nSF:src/empty.rs\nend_of_record\n").unwrap();
        assert!(!v.passed);
        assert!(v.summary.contains("no instrumented lines"), "{}", v.summary);
        let v = check(
            &config(0.0),
            r#"<coverage lines-valid="0" lines-covered="0" line-rate="1"></coverage>"#,
        )
        .unwrap();
        assert!(!v.passed);
    }

    #[test]
    fn unrecognised_reports_fail_and_malformed_ones_are_invalid_input() {
        let v = check(&config(50.0), "Coverage: 93%\n").unwrap();
        assert!(!v.passed);
        assert!(v.summary.contains("could not recognise"));
        let err = check(&config(50.0), "SF:a.rs\nDA:one,1\n").unwrap_err();
        assert!(
            matches!(&err, PluginError::InvalidInput(m) if m.contains("line 2")),
            "{err:?}"
        );
    }

    #[test]
    fn cobertura_reports_are_judged_from_their_totals() {
        let xml = r#"<?xml version="1.0"?><coverage lines-valid="200" lines-covered="150" line-rate="0.75"><packages/></coverage>"#;
        let v = check(&config(80.0), xml).unwrap();
        assert!(!v.passed);
        assert_eq!(v.score, Some(75.0));
        assert!(v.summary.ends_with("(cobertura)"));
    }

    #[test]
    fn lcov_hit_counts_that_contradict_the_da_lines_cannot_pass() {
        let report = "SF:src/a.rs\nDA:1,0\nDA:2,0\nLF:2\nLH:2\nend_of_record\n";
        let v = check(&config(50.0), report).unwrap();
        assert!(!v.passed, "{}", v.summary);
        assert_eq!(v.score, Some(0.0));
        assert!(
            v.findings
                .iter()
                .any(|f| f.severity == Severity::Warning && f.message.contains("LH:2")),
            "{:?}",
            v.findings
        );
    }

    #[test]
    fn a_cobertura_root_claiming_more_than_its_classes_show_cannot_pass() {
        let xml = r#"<coverage line-rate="1.0" lines-valid="2" lines-covered="2"><packages><package name="p"><classes><class name="a" filename="a.py" line-rate="1.0"><lines><line number="1" hits="0"/><line number="2" hits="0"/></lines></class></classes></package></packages></coverage>"#;
        let v = check(&config(50.0), xml).unwrap();
        assert!(!v.passed, "{}", v.summary);
        assert_eq!(v.score, Some(0.0));
        assert!(
            v.findings
                .iter()
                .any(|f| f.severity == Severity::Warning && f.message.contains("stricter"))
        );
    }

    #[test]
    fn a_truncated_report_fails_whatever_it_shows_so_far() {
        let v = check(&config(50.0), "SF:src/a.rs\nDA:1,1\nDA:2,1\nLF:2\nLH:2\n").unwrap();
        assert!(!v.passed, "{}", v.summary);
        assert!(v.summary.contains("truncated lcov report"), "{}", v.summary);
        let v = check(
            &config(50.0),
            r#"<coverage lines-valid="2" lines-covered="2" line-rate="1"><packages>"#,
        )
        .unwrap();
        assert!(!v.passed, "{}", v.summary);
        assert!(
            v.summary.contains("truncated Cobertura report"),
            "{}",
            v.summary
        );
    }

    #[test]
    fn config_requires_a_threshold_between_0_and_100() {
        let err = |v: Value| match Config::from_json(&v) {
            Err(PluginError::InvalidConfig(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(err(json!({})).contains("\"min-line-percent\": is required"));
        assert!(err(json!({"min-line-percent": 101})).contains("from 0 to 100"));
        assert!(err(json!({"min-line-percent": "80"})).contains("expected a number"));
        assert!(err(json!({"min-line-percent": 80, "format": "jacoco"})).contains("\"format\""));
        assert_eq!(config(80.0).evidence, "coverage");
    }
}
