//! lcov tracefiles: `SF:` starts a file, `LF:`/`LH:` give its found and hit
//! line counts, `DA:<line>,<hits>` lines are counted when those are missing,
//! `end_of_record` closes it.

use crate::coverage::{Coverage, FileCoverage};
use std::collections::BTreeMap;

/// True when the text looks like an lcov tracefile.
pub fn detect(text: &str) -> bool {
    text.lines().any(|l| {
        let l = l.trim();
        l.starts_with("SF:") || l == "end_of_record"
    })
}

#[derive(Default)]
struct Record {
    /// Line number → hit at least once.
    lines: BTreeMap<u64, bool>,
    found: Option<u64>,
    hit: Option<u64>,
}

impl Record {
    fn merge(&mut self, other: Record) {
        for (line, hit) in other.lines {
            *self.lines.entry(line).or_default() |= hit;
        }
        // Records for the same file (one per test name) overlap: the larger
        // counts are the closer estimate of their union.
        self.found = self.found.max(other.found);
        self.hit = self.hit.max(other.hit);
    }

    fn counts(&self) -> (u64, u64) {
        match (self.found, self.hit) {
            (Some(found), hit) if found != 0 || self.lines.is_empty() => (found, hit.unwrap_or(0)),
            _ => {
                let hit = self.lines.values().filter(|&&h| h).count() as u64;
                (self.lines.len() as u64, hit)
            }
        }
    }
}

/// Parses a tracefile; errors name the offending line.
pub fn parse(text: &str) -> Result<Coverage, String> {
    // Keyed by path so that several records for one file are merged.
    let mut files: BTreeMap<String, Record> = BTreeMap::new();
    let mut current: Option<(String, Record)> = None;

    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let line = raw.trim();
        let bad = |what: &str| format!("line {number}: {what}, got {:?}", clip(line));
        if let Some(path) = line.strip_prefix("SF:") {
            if let Some((path, record)) = current.take() {
                files.entry(path).or_default().merge(record);
            }
            let path = path.trim();
            if path.is_empty() {
                return Err(bad("SF: needs a file path"));
            }
            current = Some((path.to_string(), Record::default()));
        } else if line == "end_of_record" {
            if let Some((path, record)) = current.take() {
                files.entry(path).or_default().merge(record);
            }
        } else if let Some(rest) = line.strip_prefix("DA:") {
            let record = &mut current
                .as_mut()
                .ok_or_else(|| bad("DA: outside a file record (no SF: before it)"))?
                .1;
            let mut parts = rest.split(',');
            let line_no = parts.next().and_then(|n| n.trim().parse::<u64>().ok());
            let hits = parts.next().and_then(|h| hits(h.trim()));
            match (line_no, hits) {
                (Some(n), Some(h)) => *record.lines.entry(n).or_default() |= h,
                _ => return Err(bad("expected DA:<line>,<hits>")),
            }
        } else if let Some(n) = line.strip_prefix("LF:") {
            let record = &mut current
                .as_mut()
                .ok_or_else(|| bad("LF: outside a file record"))?
                .1;
            record.found = Some(n.trim().parse().map_err(|_| bad("expected LF:<count>"))?);
        } else if let Some(n) = line.strip_prefix("LH:") {
            let record = &mut current
                .as_mut()
                .ok_or_else(|| bad("LH: outside a file record"))?
                .1;
            record.hit = Some(n.trim().parse().map_err(|_| bad("expected LH:<count>"))?);
        }
        // TN, FN, FNDA, FNF, FNH, BRDA, BRF, BRH, VER: not about lines.
    }
    if let Some((path, record)) = current.take() {
        files.entry(path).or_default().merge(record);
    }

    let mut coverage = Coverage::default();
    for (path, record) in files {
        let (found, hit) = record.counts();
        coverage.found = coverage.found.saturating_add(found);
        coverage.hit = coverage.hit.saturating_add(hit.min(found));
        coverage
            .files
            .push(FileCoverage::from_counts(path, found, hit));
    }
    Ok(coverage)
}

/// Whether a DA hit count means "executed". Some tools write `-1` for
/// lines they could not attribute, or floating counts.
fn hits(text: &str) -> Option<bool> {
    if let Ok(n) = text.parse::<i64>() {
        return Some(n > 0);
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        // Too large for i64: certainly executed.
        return Some(true);
    }
    text.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(|f| f > 0.0)
}

fn clip(line: &str) -> String {
    line.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRCOV: &str = "\
TN:
SF:src/lib.rs
FN:3,calc::add
FNDA:4,calc::add
FNF:1
FNH:1
DA:3,4
DA:4,4
DA:8,0
DA:9,0
BRF:0
BRH:0
LF:4
LH:2
end_of_record
SF:src/parse.rs
DA:1,1
DA:2,1
DA:3,1
DA:4,0
end_of_record
";

    #[test]
    fn uses_lf_and_lh_and_falls_back_to_counting_da_lines() {
        assert!(detect(GRCOV));
        let c = parse(GRCOV).unwrap();
        assert_eq!((c.found, c.hit), (8, 5));
        assert_eq!(c.percent(), Some(62.5));
        assert_eq!(
            c.files[0],
            FileCoverage::from_counts("src/lib.rs".into(), 4, 2)
        );
        assert_eq!(c.files[1].percent, 75.0);
    }

    #[test]
    fn records_for_the_same_file_are_merged() {
        let text = "TN:unit\nSF:a.c\nDA:1,1\nDA:2,0\nend_of_record\nTN:integration\nSF:a.c\nDA:1,0\nDA:2,3\nend_of_record\n";
        let c = parse(text).unwrap();
        assert_eq!(c.files.len(), 1);
        assert_eq!((c.found, c.hit), (2, 2));
    }

    #[test]
    fn malformed_da_lines_are_errors_naming_the_line() {
        let err = parse("SF:a.rs\nDA:1,1\nDA:x\n").unwrap_err();
        assert!(
            err.starts_with("line 3: expected DA:<line>,<hits>"),
            "{err}"
        );
        let err = parse("DA:1,1\n").unwrap_err();
        assert!(err.contains("no SF:"), "{err}");
    }

    #[test]
    fn odd_hit_counts_are_read_sensibly() {
        let c = parse("SF:a\nDA:1,-1\nDA:2,1.5\nDA:3,99999999999999999999999\nDA:4,0,abcdef\n")
            .unwrap();
        assert_eq!((c.found, c.hit), (4, 2));
    }

    #[test]
    fn an_empty_tracefile_has_no_lines() {
        let c = parse("TN:\n").unwrap();
        assert_eq!(c.percent(), None);
    }
}
