//! Cobertura XML: the root `<coverage lines-valid= lines-covered=
//! line-rate=>` totals, and per-file `<class filename=>` elements with their
//! `<line number= hits=>` children (or their `line-rate` when they have none).
//!
//! The root's totals are a summary of the classes. When the two disagree
//! (or the root's counts disagree with its own rate), the stricter figure is
//! used and a warning says so. Tags must nest properly; a report whose root
//! element is never closed is truncated, which never passes.

use crate::coverage::{Coverage, FileCoverage};
use gyre_sdk::xml::{Nesting, StartTag, Token, Tokenizer, local_name};
use std::collections::BTreeMap;

/// True when the text looks like a Cobertura report.
pub fn detect(text: &str) -> bool {
    let head = text.trim_start_matches('\u{feff}').trim_start();
    head.starts_with('<') && text.contains("<coverage")
}

#[derive(Default)]
struct FileLines {
    /// Line number → hit at least once.
    lines: BTreeMap<u64, bool>,
    /// Rates of classes in this file that listed no lines.
    rates: Vec<f64>,
}

/// Parses a report; errors say what is malformed and where.
pub fn parse(text: &str) -> Result<Coverage, String> {
    let mut root: Option<(Option<u64>, Option<u64>, Option<f64>)> = None;
    let mut files: BTreeMap<String, FileLines> = BTreeMap::new();
    // The class being read, and whether it listed any line of its own.
    let mut class: Option<(String, bool, Option<f64>)> = None;
    // `<method>` elements repeat their class's lines: skip them.
    let mut method_depth = 0usize;
    // Refuses mis-nested markup and notices a report cut off early.
    let mut nesting = Nesting::default();

    for token in Tokenizer::new(text) {
        let token = token.map_err(|e| e.to_string())?;
        nesting.track(&token)?;
        match token {
            Token::Start(tag) => match tag.local_name() {
                "coverage" if root.is_none() => {
                    root = Some((
                        number(&tag, "lines-valid")?,
                        number(&tag, "lines-covered")?,
                        rate(&tag)?,
                    ));
                }
                "class" => {
                    let Some(filename) = tag
                        .attr("filename")
                        .map(str::trim)
                        .filter(|f| !f.is_empty())
                    else {
                        return Err(format!(
                            "<class name={:?}> has no filename attribute",
                            tag.attr("name").unwrap_or("")
                        ));
                    };
                    let file = files.entry(filename.to_string()).or_default();
                    let class_rate = rate(&tag)?;
                    if tag.self_closing {
                        file.rates.extend(class_rate);
                    } else {
                        class = Some((filename.to_string(), false, class_rate));
                    }
                }
                "method" if !tag.self_closing => method_depth += 1,
                "line" if method_depth == 0 => {
                    if let Some((filename, listed, _)) = class.as_mut() {
                        let Some(n) = number(&tag, "number")? else {
                            return Err(format!("<line> in {filename} has no number attribute"));
                        };
                        let hits = tag.attr("hits").map(str::trim).unwrap_or("0");
                        let hit = hits.parse::<f64>().map_err(|_| {
                            format!(
                                "<line number=\"{n}\"> in {filename}: hits {hits:?} is not a number"
                            )
                        })? > 0.0;
                        *listed = true;
                        *files
                            .entry(filename.clone())
                            .or_default()
                            .lines
                            .entry(n)
                            .or_default() |= hit;
                    }
                }
                _ => {}
            },
            Token::End(name) => match local_name(name) {
                "method" => method_depth = method_depth.saturating_sub(1),
                "class" => {
                    if let Some((filename, listed, class_rate)) = class.take()
                        && !listed
                    {
                        files.entry(filename).or_default().rates.extend(class_rate);
                    }
                    method_depth = 0;
                }
                _ => {}
            },
            Token::Text(_) => {}
        }
    }
    let Some((lines_valid, lines_covered, line_rate)) = root else {
        return Err("no <coverage> root element".into());
    };
    if let (Some(valid), Some(covered)) = (lines_valid, lines_covered)
        && covered > valid
    {
        return Err(format!(
            "<coverage> says lines-covered=\"{covered}\", more than lines-valid=\"{valid}\""
        ));
    }

    let mut coverage = Coverage::default();
    if let Some(root) = nesting.unclosed_root() {
        coverage.truncated = Some(format!("<{root}> is never closed"));
    }
    // Rates of the files that gave no lines, 0..=1.
    let mut file_rates: Vec<f64> = Vec::new();
    for (path, file) in files {
        if !file.lines.is_empty() {
            let found = file.lines.len() as u64;
            let hit = file.lines.values().filter(|&&h| h).count() as u64;
            coverage.found = coverage.found.saturating_add(found);
            coverage.hit = coverage.hit.saturating_add(hit);
            coverage
                .files
                .push(FileCoverage::from_counts(path, found, hit));
        } else if !file.rates.is_empty() {
            let rate = file.rates.iter().sum::<f64>() / file.rates.len() as f64;
            file_rates.push(rate);
            coverage.files.push(FileCoverage {
                path,
                found: 0,
                hit: 0,
                percent: rate * 100.0,
            });
        }
    }

    let root_counts = match (lines_valid, lines_covered) {
        (Some(found), Some(hit)) => Some(Figure::Lines { found, hit }),
        _ => None,
    };
    let root_rate = line_rate.map(|r| Figure::Rate(r * 100.0));
    let class_lines = (coverage.found > 0).then_some(Figure::Lines {
        found: coverage.found,
        hit: coverage.hit,
    });
    // Classes with only a rate: (lowest, highest, mean), 0..=100. The mean
    // is unweighted, so it says little about the total, but a total above
    // the best of them (or below the worst) is a contradiction all the same.
    let class_rates = (class_lines.is_none() && !file_rates.is_empty()).then(|| {
        let min = file_rates.iter().copied().fold(f64::INFINITY, f64::min);
        let max = file_rates.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mean = file_rates.iter().sum::<f64>() / file_rates.len() as f64;
        (min * 100.0, max * 100.0, mean * 100.0)
    });

    // The tool's own totals come first, then our recount of the lines, then
    // the root rate when nothing else has lines.
    const ROOT_COUNTS: &str = "the root's lines-covered/lines-valid";
    const ROOT_RATE: &str = "the root's line-rate";
    const CLASS_LINES: &str = "the <line> elements of the classes";
    const CLASS_RATES: &str = "the mean line-rate of the classes";
    let primary = match (root_counts, class_lines) {
        (Some(counts), _) => Some((counts, ROOT_COUNTS)),
        (None, Some(lines)) => Some((lines, CLASS_LINES)),
        (None, None) if !coverage.files.is_empty() => root_rate.map(|rate| (rate, ROOT_RATE)),
        (None, None) => None,
    };
    let Some((primary, primary_label)) = primary else {
        return Ok(coverage);
    };
    let mut chosen = primary;
    if let Some(stated) = primary.percent() {
        let mut others = vec![(root_rate, ROOT_RATE), (class_lines, CLASS_LINES)];
        if let Some((min, max, mean)) = class_rates
            && (stated > max + RATE_TOLERANCE || stated < min - RATE_TOLERANCE)
        {
            others.push((Some(Figure::Rate(mean)), CLASS_RATES));
        }
        for (figure, label) in others {
            let Some(figure) = figure.filter(|_| label != primary_label) else {
                continue;
            };
            let Some(other) = figure.percent() else {
                continue;
            };
            let tolerance = match (primary, figure) {
                (Figure::Lines { .. }, Figure::Lines { .. }) => 1e-9,
                _ => RATE_TOLERANCE,
            };
            if label != CLASS_RATES && (stated - other).abs() <= tolerance {
                continue;
            }
            if other < chosen.percent().unwrap_or(f64::INFINITY) {
                chosen = figure;
            }
            coverage.warnings.push(format!(
                "the report disagrees with itself: {} according to {primary_label}, \
                 but {} according to {label}; using the stricter figure",
                primary.describe(),
                figure.describe()
            ));
        }
    }
    match chosen {
        Figure::Lines { found, hit } => {
            coverage.found = found;
            coverage.hit = hit.min(found);
            coverage.rate_only = None;
        }
        Figure::Rate(percent) => {
            coverage.found = 0;
            coverage.hit = 0;
            coverage.rate_only = Some(percent);
        }
    }
    Ok(coverage)
}

/// Percentage points by which a stated rate may differ from a count and
/// still agree with it: rates are often written rounded to 2 decimals.
const RATE_TOLERANCE: f64 = 0.5;

/// One way the report states its overall line coverage.
#[derive(Debug, Clone, Copy)]
enum Figure {
    Lines {
        found: u64,
        hit: u64,
    },
    /// Percent, 0..=100.
    Rate(f64),
}

impl Figure {
    /// None for zero lines.
    fn percent(self) -> Option<f64> {
        match self {
            Figure::Lines { found: 0, .. } => None,
            Figure::Lines { found, hit } => Some(hit.min(found) as f64 * 100.0 / found as f64),
            Figure::Rate(percent) => Some(percent),
        }
    }

    fn describe(self) -> String {
        match self {
            Figure::Lines { found, hit } => format!("{hit} of {found} lines covered"),
            Figure::Rate(percent) => format!("{}% covered", (percent * 100.0).round() / 100.0),
        }
    }
}

fn number(tag: &StartTag<'_>, name: &str) -> Result<Option<u64>, String> {
    match tag.attr(name).map(str::trim) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| {
            format!(
                "<{}> attribute {name}={v:?} is not a non-negative integer",
                tag.name
            )
        }),
    }
}

fn rate(tag: &StartTag<'_>) -> Result<Option<f64>, String> {
    match tag.attr("line-rate").map(str::trim) {
        None => Ok(None),
        Some(v) => match v.parse::<f64>() {
            Ok(r) if (0.0..=1.0).contains(&r) => Ok(Some(r)),
            _ => Err(format!(
                "<{}> line-rate={v:?} is not a number from 0 to 1",
                tag.name
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COVERAGE_PY: &str = r#"<?xml version="1.0" ?>
<coverage version="7.4.0" timestamp="1714557600000" lines-valid="10" lines-covered="7" line-rate="0.7" branches-covered="0" branches-valid="0" branch-rate="0" complexity="0">
	<!-- Generated by coverage.py: https://coverage.readthedocs.io/en/7.4.0 -->
	<sources>
		<source>/work/shapes</source>
	</sources>
	<packages>
		<package name="shapes" line-rate="0.7" branch-rate="0" complexity="0">
			<classes>
				<class name="calc.py" filename="shapes/calc.py" complexity="0" line-rate="0.5" branch-rate="0">
					<methods/>
					<lines>
						<line number="1" hits="1"/>
						<line number="2" hits="1"/>
						<line number="3" hits="0"/>
						<line number="4" hits="0"/>
					</lines>
				</class>
				<class name="area.py" filename="shapes/area.py" complexity="0" line-rate="0.8333" branch-rate="0">
					<methods/>
					<lines>
						<line number="1" hits="1"/>
						<line number="2" hits="3"/>
						<line number="5" hits="2"/>
						<line number="6" hits="1"/>
						<line number="7" hits="1"/>
						<line number="9" hits="0"/>
					</lines>
				</class>
			</classes>
		</package>
	</packages>
</coverage>
"#;

    #[test]
    fn reads_root_totals_and_per_file_lines() {
        assert!(detect(COVERAGE_PY));
        let c = parse(COVERAGE_PY).unwrap();
        assert_eq!((c.found, c.hit), (10, 7));
        assert_eq!(c.percent(), Some(70.0));
        let calc = c.files.iter().find(|f| f.path == "shapes/calc.py").unwrap();
        assert_eq!((calc.found, calc.hit, calc.percent), (4, 2, 50.0));
    }

    #[test]
    fn method_lines_and_inner_classes_are_not_counted_twice() {
        let xml = r#"<coverage line-rate="1.0"><packages><package name="p"><classes>
<class name="A" filename="src/A.java" line-rate="0.5"><methods><method name="f" signature="()V"><lines><line number="2" hits="1"/></lines></method></methods>
<lines><line number="2" hits="1"/><line number="3" hits="0"/></lines></class>
<class name="A$Inner" filename="src/A.java" line-rate="1.0"><lines><line number="3" hits="2"/><line number="9" hits="1"/></lines></class>
</classes></package></packages></coverage>"#;
        let c = parse(xml).unwrap();
        assert_eq!(c.files.len(), 1);
        // Lines 2, 3 and 9, all hit once the inner class is merged in.
        assert_eq!((c.found, c.hit), (3, 3));
    }

    #[test]
    fn a_report_with_only_rates_uses_the_root_rate() {
        let xml = r#"<coverage line-rate="0.42"><packages><package name="p"><classes><class name="x" filename="x.go" line-rate="0.42"/></classes></package></packages></coverage>"#;
        let c = parse(xml).unwrap();
        assert_eq!(c.found, 0);
        assert_eq!(c.percent(), Some(42.0));
        assert_eq!(c.files[0].percent, 42.0);
    }

    #[test]
    fn class_lines_outrank_a_root_that_claims_more_coverage_with_a_warning() {
        let classes = r#"<packages><package name="p"><classes><class name="a" filename="a.py" line-rate="0"><lines><line number="1" hits="0"/><line number="2" hits="0"/></lines></class></classes></package></packages>"#;
        for root in [
            r#"<coverage line-rate="1.0" lines-valid="2" lines-covered="2">"#,
            r#"<coverage line-rate="1.0">"#,
        ] {
            let c = parse(&format!("{root}{classes}</coverage>")).unwrap();
            assert_eq!(c.percent(), Some(0.0), "{root}");
            assert_eq!((c.found, c.hit), (2, 0), "{root}");
            assert_eq!(c.warnings.len(), 1, "{root}: {:?}", c.warnings);
        }
        // Classes that give only a rate are compared too.
        let xml = r#"<coverage line-rate="1.0"><packages><package name="p"><classes><class name="x" filename="x.go" line-rate="0.0"/></classes></package></packages></coverage>"#;
        let c = parse(xml).unwrap();
        assert_eq!(c.percent(), Some(0.0));
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    }

    #[test]
    fn a_root_whose_counts_and_rate_disagree_is_read_at_the_stricter_figure() {
        let c =
            parse(r#"<coverage lines-valid="10" lines-covered="10" line-rate="0.5"></coverage>"#)
                .unwrap();
        assert_eq!(c.percent(), Some(50.0));
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        // A root stricter than its classes wins too.
        let xml = r#"<coverage lines-valid="4" lines-covered="1" line-rate="0.25"><packages><package name="p"><classes><class name="a" filename="a.py"><lines><line number="1" hits="1"/><line number="2" hits="1"/></lines></class></classes></package></packages></coverage>"#;
        let c = parse(xml).unwrap();
        assert_eq!((c.found, c.hit), (4, 1));
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    }

    #[test]
    fn classes_with_only_rates_are_checked_against_the_root_within_their_range() {
        // A weighted root rate between the classes' rates is consistent.
        let xml = r#"<coverage line-rate="0.827"><packages><package name="p"><classes><class name="a" filename="a.go" line-rate="0.9"/><class name="b" filename="b.go" line-rate="0.1"/></classes></package></packages></coverage>"#;
        let c = parse(xml).unwrap();
        assert!((c.percent().unwrap() - 82.7).abs() < 1e-9);
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        // Root counts above every class's rate are not.
        let xml = r#"<coverage lines-valid="10" lines-covered="10"><packages><package name="p"><classes><class name="a" filename="a.go" line-rate="0.2"/><class name="b" filename="b.go" line-rate="0.4"/></classes></package></packages></coverage>"#;
        let c = parse(xml).unwrap();
        assert!((c.percent().unwrap() - 30.0).abs() < 1e-9);
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    }

    #[test]
    fn rounded_rates_are_not_contradictions() {
        let c = parse(COVERAGE_PY).unwrap();
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let xml = r#"<coverage line-rate="0.67"><packages><package name="p"><classes><class name="a" filename="a.py"><lines><line number="1" hits="1"/><line number="2" hits="1"/><line number="3" hits="0"/></lines></class></classes></package></packages></coverage>"#;
        let c = parse(xml).unwrap();
        assert_eq!((c.found, c.hit), (3, 2));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn an_unclosed_report_is_truncated_and_a_misnested_one_is_malformed() {
        let c = parse(r#"<coverage lines-valid="2" lines-covered="2" line-rate="1"><packages>"#)
            .unwrap();
        let why = c.truncated.expect("truncated");
        assert!(why.contains("<coverage>"), "{why}");
        assert_eq!(parse(COVERAGE_PY).unwrap().truncated, None);
        let err = parse(r#"<coverage line-rate="1"><packages></coverage></packages>"#).unwrap_err();
        assert!(err.contains("</coverage>"), "{err}");
    }

    #[test]
    fn bad_attributes_are_errors_that_say_which() {
        let err = parse(r#"<coverage lines-valid="ten" lines-covered="1"/>"#).unwrap_err();
        assert!(err.contains("lines-valid"), "{err}");
        let err = parse(r#"<coverage line-rate="1.7"/>"#).unwrap_err();
        assert!(err.contains("line-rate"), "{err}");
        let err = parse(r#"<report/>"#).unwrap_err();
        assert!(err.contains("<coverage>"), "{err}");
    }
}
