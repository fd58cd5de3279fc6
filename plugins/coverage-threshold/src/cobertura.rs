//! Cobertura XML: the root `<coverage lines-valid= lines-covered=
//! line-rate=>` totals, and per-file `<class filename=>` elements with their
//! `<line number= hits=>` children (or their `line-rate` when they have none).

use crate::coverage::{Coverage, FileCoverage};
use gyre_sdk::xml::{StartTag, Token, Tokenizer, local_name};
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

    for token in Tokenizer::new(text) {
        match token.map_err(|e| e.to_string())? {
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

    let mut coverage = Coverage::default();
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
            let percent = file.rates.iter().sum::<f64>() * 100.0 / file.rates.len() as f64;
            coverage.files.push(FileCoverage {
                path,
                found: 0,
                hit: 0,
                percent,
            });
        }
    }
    // The tool's own totals win over our recount when it gave them.
    match (lines_valid, lines_covered) {
        (Some(valid), Some(covered)) => {
            coverage.found = valid;
            coverage.hit = covered.min(valid);
        }
        _ if coverage.found == 0 && !coverage.files.is_empty() => {
            coverage.rate_only = line_rate.map(|r| r * 100.0)
        }
        _ => {}
    }
    Ok(coverage)
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
        let xml = r#"<coverage line-rate="0.5"><packages><package name="p"><classes>
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
    fn bad_attributes_are_errors_that_say_which() {
        let err = parse(r#"<coverage lines-valid="ten" lines-covered="1"/>"#).unwrap_err();
        assert!(err.contains("lines-valid"), "{err}");
        let err = parse(r#"<coverage line-rate="1.7"/>"#).unwrap_err();
        assert!(err.contains("line-rate"), "{err}");
        let err = parse(r#"<report/>"#).unwrap_err();
        assert!(err.contains("<coverage>"), "{err}");
    }
}
