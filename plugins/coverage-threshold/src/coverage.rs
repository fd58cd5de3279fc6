//! What the report parsers produce.

/// Line coverage of one source file.
#[derive(Debug, Clone, PartialEq)]
pub struct FileCoverage {
    pub path: String,
    /// Instrumented lines; 0 when the report only gave a rate.
    pub found: u64,
    pub hit: u64,
    /// Percent of lines covered, 0..=100.
    pub percent: f64,
}

impl FileCoverage {
    pub fn from_counts(path: String, found: u64, hit: u64) -> Self {
        let hit = hit.min(found);
        let percent = if found == 0 {
            100.0
        } else {
            hit as f64 * 100.0 / found as f64
        };
        Self {
            path,
            found,
            hit,
            percent,
        }
    }
}

/// A whole report.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Coverage {
    pub files: Vec<FileCoverage>,
    pub found: u64,
    pub hit: u64,
    /// Set when the report states its overall rate but no line counts, or
    /// when a stated rate is stricter than the line counts it contradicts.
    pub rate_only: Option<f64>,
    /// Contradictions inside the report that were settled by taking the
    /// stricter figure.
    pub warnings: Vec<String>,
    /// Set when the report ends before it is complete: why. Such a report
    /// never passes, whatever its figures.
    pub truncated: Option<String>,
}

impl Coverage {
    /// Overall line coverage in percent, or None when no lines were found.
    pub fn percent(&self) -> Option<f64> {
        if self.found > 0 {
            Some(self.hit.min(self.found) as f64 * 100.0 / self.found as f64)
        } else {
            self.rate_only
        }
    }
}
