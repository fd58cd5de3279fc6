//! lcov tracefiles: `SF:` starts a file record, `DA:<line>,<hits>` lines
//! give per-line hits, `LF:`/`LH:` the record's own found and hit counts,
//! `end_of_record` closes it.
//!
//! The DA lines are the evidence; LF/LH are a summary of them. When a record
//! has both and they disagree, the stricter figure is used and a warning
//! says so. LF/LH alone are used when a record has no DA lines. A record
//! that is not closed by `end_of_record` (the file was cut off) makes the
//! report truncated, which never passes.

use crate::coverage::{Coverage, FileCoverage};
use std::collections::BTreeMap;

/// True when the text looks like an lcov tracefile.
pub fn detect(text: &str) -> bool {
    text.lines().any(|l| {
        let l = l.trim();
        l.starts_with("SF:") || l == "end_of_record"
    })
}

/// One `SF:` … `end_of_record` record.
#[derive(Default)]
struct Record {
    /// The line of its `SF:`, 1-based.
    start: usize,
    /// Line number → hit at least once.
    lines: BTreeMap<u64, bool>,
    found: Option<u64>,
    hit: Option<u64>,
}

impl Record {
    /// `(found, hit)` counted from the DA lines.
    fn da_counts(&self) -> (u64, u64) {
        let hit = self.lines.values().filter(|&&h| h).count() as u64;
        (self.lines.len() as u64, hit)
    }

    /// A record whose LF/LH disagree with its own DA lines: a warning.
    fn contradiction(&self, path: &str) -> Option<String> {
        if self.lines.is_empty() || (self.found.is_none() && self.hit.is_none()) {
            return None;
        }
        let (found, hit) = self.da_counts();
        let stated_found = self.found.unwrap_or(found);
        let stated_hit = self.hit.unwrap_or(hit);
        if (stated_found, stated_hit) == (found, hit) {
            return None;
        }
        Some(format!(
            "{path}: the record from line {} says LF:{stated_found} LH:{stated_hit}, \
             but its DA lines show {hit} of {found} lines hit; using the stricter figure",
            self.start
        ))
    }
}

/// Everything read about one file, over all its records.
#[derive(Default)]
struct FileRecords {
    /// The union of the DA lines: line number → hit by any record.
    lines: BTreeMap<u64, bool>,
    /// The largest LF and LH of any record: records for the same file (one
    /// per test name) overlap, so these are the closest estimate of their
    /// union that the counts allow.
    found: Option<u64>,
    hit: Option<u64>,
    /// Some record's LF/LH disagreed with its DA lines.
    contradicted: bool,
    /// Some record gave LF/LH without DA lines: the DA lines of the others
    /// do not tell the whole story.
    stated_only: bool,
}

impl FileRecords {
    fn merge(&mut self, record: Record, contradicted: bool) {
        self.stated_only |= record.lines.is_empty() && record.found.is_some();
        for (line, hit) in record.lines {
            *self.lines.entry(line).or_default() |= hit;
        }
        self.found = self.found.max(record.found);
        self.hit = self.hit.max(record.hit);
        self.contradicted |= contradicted;
    }

    /// `(found, hit)`: from the DA lines when there are any, unless LF/LH
    /// contradicted them somewhere (or stood alone in some record) and are
    /// stricter; from LF/LH otherwise.
    fn counts(&self) -> (u64, u64) {
        let stated = self
            .found
            .map(|found| (found, self.hit.unwrap_or(0).min(found)));
        if self.lines.is_empty() {
            return stated.unwrap_or((0, 0));
        }
        let hit = self.lines.values().filter(|&&h| h).count() as u64;
        let counted = (self.lines.len() as u64, hit);
        match stated {
            Some(stated)
                if (self.contradicted || self.stated_only) && stricter(stated, counted) =>
            {
                stated
            }
            _ => counted,
        }
    }
}

/// True when `a` is a lower coverage than `b`, each `(found, hit)`.
fn stricter(a: (u64, u64), b: (u64, u64)) -> bool {
    let percent = |(found, hit): (u64, u64)| {
        if found == 0 {
            100.0
        } else {
            hit.min(found) as f64 / found as f64
        }
    };
    percent(a) < percent(b)
}

/// Parses a tracefile; errors name the offending line. A tracefile cut off
/// inside a record parses, with [`Coverage::truncated`] saying so.
pub fn parse(text: &str) -> Result<Coverage, String> {
    // Keyed by path so that several records for one file are merged.
    let mut files: BTreeMap<String, FileRecords> = BTreeMap::new();
    let mut warnings: Vec<String> = Vec::new();
    let mut truncated: Option<String> = None;
    let mut current: Option<(String, Record)> = None;
    let mut close = |path: String, record: Record| -> Result<(), String> {
        if let (Some(found), Some(hit)) = (record.found, record.hit)
            && hit > found
        {
            return Err(format!(
                "the record for {path} from line {} says LH:{hit}, more than LF:{found}",
                record.start
            ));
        }
        let contradiction = record.contradiction(&path);
        let contradicted = contradiction.is_some();
        warnings.extend(contradiction);
        files.entry(path).or_default().merge(record, contradicted);
        Ok(())
    };

    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let line = raw.trim();
        let bad = |what: &str| format!("line {number}: {what}, got {:?}", clip(line));
        if let Some(path) = line.strip_prefix("SF:") {
            if let Some((path, record)) = current.take() {
                truncated.get_or_insert_with(|| {
                    format!(
                        "the record for {path} from line {} has no end_of_record before the next SF: on line {number}",
                        record.start
                    )
                });
                close(path, record)?;
            }
            let path = path.trim();
            if path.is_empty() {
                return Err(bad("SF: needs a file path"));
            }
            current = Some((
                path.to_string(),
                Record {
                    start: number,
                    ..Record::default()
                },
            ));
        } else if line == "end_of_record" {
            if let Some((path, record)) = current.take() {
                close(path, record)?;
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
        truncated.get_or_insert_with(|| {
            format!(
                "the last record, for {path} from line {}, has no end_of_record",
                record.start
            )
        });
        close(path, record)?;
    }

    let mut coverage = Coverage {
        warnings,
        truncated,
        ..Coverage::default()
    };
    for (path, file) in files {
        let (found, hit) = file.counts();
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
        let c = parse(
            "SF:a\nDA:1,-1\nDA:2,1.5\nDA:3,99999999999999999999999\nDA:4,0,abcdef\nend_of_record\n",
        )
        .unwrap();
        assert_eq!((c.found, c.hit), (4, 2));
    }

    #[test]
    fn da_lines_outrank_lf_and_lh_that_claim_more_with_a_warning() {
        let c = parse("SF:src/a.rs\nDA:1,0\nDA:2,0\nLF:2\nLH:2\nend_of_record\n").unwrap();
        assert_eq!((c.found, c.hit), (2, 0));
        assert_eq!(c.percent(), Some(0.0));
        assert_eq!(c.files[0].percent, 0.0);
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        assert!(c.warnings[0].contains("src/a.rs"), "{:?}", c.warnings);
        // When LF/LH are the stricter figure (DA lines missing), they win.
        let c = parse("SF:b.rs\nDA:1,1\nDA:2,1\nLF:10\nLH:2\nend_of_record\n").unwrap();
        assert_eq!((c.found, c.hit), (10, 2));
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        // Agreeing figures: no warning.
        let c = parse("SF:c.rs\nDA:1,1\nDA:2,0\nLF:2\nLH:1\nend_of_record\n").unwrap();
        assert_eq!((c.found, c.hit), (2, 1));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn merged_records_with_consistent_counts_are_not_contradictions() {
        // Two test names, each consistent; their union covers both lines.
        let text = "TN:unit\nSF:a.c\nDA:1,1\nDA:2,0\nLF:2\nLH:1\nend_of_record\nTN:it\nSF:a.c\nDA:1,0\nDA:2,1\nLF:2\nLH:1\nend_of_record\n";
        let c = parse(text).unwrap();
        assert_eq!((c.found, c.hit), (2, 2));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn a_final_record_without_end_of_record_is_truncated() {
        let c = parse("SF:a.rs\nDA:1,1\nend_of_record\nSF:b.rs\nDA:1,1\nDA:2,1\n").unwrap();
        let why = c.truncated.expect("truncated");
        assert!(
            why.contains("b.rs") && why.contains("end_of_record"),
            "{why}"
        );
        assert_eq!(parse(GRCOV).unwrap().truncated, None);
    }

    #[test]
    fn a_record_cut_off_by_the_next_sf_line_is_truncated() {
        let c = parse("SF:a.rs\nDA:1,0\nSF:b.rs\nDA:1,1\nend_of_record\n").unwrap();
        let why = c.truncated.expect("truncated");
        assert!(why.contains("a.rs"), "{why}");
    }

    #[test]
    fn more_lines_hit_than_found_is_an_error() {
        let err = parse("SF:a.rs\nLF:2\nLH:5\nend_of_record\n").unwrap_err();
        assert!(err.contains("LH:5") && err.contains("LF:2"), "{err}");
    }

    #[test]
    fn a_record_with_only_lf_and_lh_is_not_outvoted_by_da_lines_of_another() {
        let text = "TN:a\nSF:x.c\nDA:1,1\nDA:2,1\nend_of_record\nTN:b\nSF:x.c\nLF:10\nLH:5\nend_of_record\n";
        let c = parse(text).unwrap();
        assert_eq!((c.found, c.hit), (10, 5));
    }

    #[test]
    fn an_empty_tracefile_has_no_lines() {
        let c = parse("TN:\n").unwrap();
        assert_eq!(c.percent(), None);
    }
}
