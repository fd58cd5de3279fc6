//! Configuration and the rules applied to a parsed diff.

use crate::diff::{self, FileDiff};
use crate::glob::Glob;
use crate::rules::{self, is_skip_line, is_test_line};
use gyre_sdk::json::{Fields, Value};
use gyre_sdk::verifier::{Finding, PluginError, Verdict};

pub const DEFAULT_TEST_PATHS: &[&str] = &[
    "tests/**",
    "**/tests/**",
    "test/**",
    "**/test/**",
    "**/__tests__/**",
    "**/*_test.*",
    "**/test_*.py",
    "**/*.test.*",
    "**/*.spec.*",
    "**/*Test.java",
    "**/*Test.kt",
];

#[derive(Debug, Clone)]
pub struct Config {
    pub evidence: String,
    pub forbidden_paths: Vec<Glob>,
    pub max_changed_lines: Option<u64>,
    pub allow_test_deletion: bool,
    pub allow_test_skips: bool,
    pub test_paths: Vec<Glob>,
}

impl Config {
    pub fn from_json(value: &Value) -> Result<Self, PluginError> {
        let f = Fields::config(value)?;
        f.deny_unknown(&[
            "evidence",
            "forbidden-paths",
            "max-changed-lines",
            "allow-test-deletion",
            "allow-test-skips",
            "test-paths",
        ])?;
        let globs = |key: &str, default: &[&str]| -> Result<Vec<Glob>, PluginError> {
            let patterns = f
                .strings(key)?
                .unwrap_or_else(|| default.iter().map(|s| s.to_string()).collect());
            patterns
                .iter()
                .map(|p| Glob::new(p).map_err(|why| f.error(key, why)))
                .collect()
        };
        let evidence = f.str("evidence")?.unwrap_or("diff").to_string();
        if evidence.is_empty() {
            return Err(f.error("evidence", "must not be empty"));
        }
        Ok(Self {
            evidence,
            forbidden_paths: globs("forbidden-paths", &[])?,
            max_changed_lines: f.u64("max-changed-lines")?,
            allow_test_deletion: f.bool("allow-test-deletion")?.unwrap_or(false),
            allow_test_skips: f.bool("allow-test-skips")?.unwrap_or(false),
            test_paths: globs("test-paths", DEFAULT_TEST_PATHS)?,
        })
    }

    fn is_test_path(&self, path: &str) -> bool {
        self.test_paths.iter().any(|g| g.matches(path))
    }
}

/// Findings beyond this are counted, not listed.
const MAX_FINDINGS: usize = 100;

/// Checks the diff in `text`. A malformed diff is an `invalid-input` error.
pub fn check(config: &Config, text: &str) -> Result<Verdict, PluginError> {
    let bad = |why: String| {
        PluginError::invalid_input(format!(
            "evidence {:?} is not a unified diff: {why}",
            config.evidence
        ))
    };
    let files = diff::parse(text).map_err(bad)?;
    if files.is_empty() {
        if text.trim().is_empty() {
            return Ok(Verdict::pass("empty diff: nothing changed"));
        }
        return Err(bad(
            "no file headers (`diff --git`, `---`/`+++`) found".into()
        ));
    }

    let mut errors: Vec<Finding> = Vec::new();
    // The kinds of violation, in order of first appearance, for the summary.
    let mut kinds: Vec<&'static str> = Vec::new();
    let (mut added, mut removed) = (0u64, 0u64);

    for file in &files {
        added += file.added.len() as u64;
        removed += file.removed.len() as u64;

        if let Some((path, glob)) = forbidden(config, file) {
            note(&mut kinds, "forbidden path");
            errors.push(
                Finding::error(format!(
                    "changes {path}, which matches forbidden pattern {:?}",
                    glob.as_str()
                ))
                .at(path, file.first_line()),
            );
        }

        let deleted_test =
            !config.allow_test_deletion && deletes_test_file(config, file, &mut errors);
        if deleted_test {
            note(&mut kinds, "deleted test file");
        } else if !config.allow_test_deletion && removes_tests(file, &mut errors) {
            note(&mut kinds, "removed tests");
        }
        if !config.allow_test_skips && adds_skips(file, &mut errors) {
            note(&mut kinds, "added test skip");
        }
    }

    let changed = added + removed;
    if let Some(max) = config.max_changed_lines
        && changed > max
    {
        note(&mut kinds, "too many changed lines");
        errors.push(Finding::error(format!(
            "the diff changes {changed} lines (+{added} -{removed}); the limit is {max}"
        )));
    }

    let stats = format!(
        "{} file{} changed, +{added} -{removed}",
        files.len(),
        if files.len() == 1 { "" } else { "s" }
    );
    let verdict = if errors.is_empty() {
        Verdict::pass(format!("{stats}; no violations"))
    } else {
        Verdict::fail(format!(
            "{stats}; {} violation{}: {}",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" },
            kinds.join(", ")
        ))
    };
    let total = errors.len();
    let mut verdict = verdict.with_findings(errors.into_iter().take(MAX_FINDINGS));
    if total > MAX_FINDINGS {
        verdict = verdict.with_finding(Finding::error(format!(
            "and {} more violations not listed",
            total - MAX_FINDINGS
        )));
    }
    Ok(verdict)
}

fn note(kinds: &mut Vec<&'static str>, kind: &'static str) {
    if !kinds.contains(&kind) {
        kinds.push(kind);
    }
}

/// The first side of `file` (old or new name) that a forbidden pattern
/// matches: renaming a protected file away counts as changing it.
fn forbidden<'a>(config: &'a Config, file: &'a FileDiff) -> Option<(&'a str, &'a Glob)> {
    [file.new_path.as_deref(), file.old_path.as_deref()]
        .into_iter()
        .flatten()
        .find_map(|path| {
            config
                .forbidden_paths
                .iter()
                .find(|g| g.matches(path))
                .map(|g| (path, g))
        })
}

/// A deleted test file, or one renamed out of the test paths.
fn deletes_test_file(config: &Config, file: &FileDiff, errors: &mut Vec<Finding>) -> bool {
    let Some(old) = file.old_path.as_deref() else {
        return false;
    };
    if !config.is_test_path(old) {
        return false;
    }
    match file.new_path.as_deref() {
        None => {
            errors.push(Finding::error(format!("deletes test file {old}")).at(old, None));
            true
        }
        Some(new) if !config.is_test_path(new) => {
            errors.push(
                Finding::error(format!(
                    "moves test file {old} out of the test paths, to {new}"
                ))
                .at(new, None),
            );
            true
        }
        Some(_) => false,
    }
}

/// More test declarations removed than added in one file.
fn removes_tests(file: &FileDiff, errors: &mut Vec<Finding>) -> bool {
    let path = file.path();
    let removed: Vec<_> = file
        .removed
        .iter()
        .filter(|l| is_test_line(path, &l.text))
        .collect();
    let added = file
        .added
        .iter()
        .filter(|l| is_test_line(path, &l.text))
        .count();
    if removed.len() <= added {
        return false;
    }
    let net = removed.len() - added;
    errors.push(
        Finding::error(format!(
            "removes {net} test{} on net ({} removed, {added} added)",
            if net == 1 { "" } else { "s" },
            removed.len()
        ))
        .at(path, removed.first().map(|l| l.number)),
    );
    true
}

/// Skip markers added (beyond any removed: moving one is not adding one).
fn adds_skips(file: &FileDiff, errors: &mut Vec<Finding>) -> bool {
    let path = file.path();
    let added: Vec<_> = statements(path, &file.added, |prev, next| next == prev + 1)
        .into_iter()
        .filter(|(_, text)| is_skip_line(path, text))
        .collect();
    // Removed lines of one run all carry the same new-side number.
    let removed = statements(path, &file.removed, |prev, next| next == prev)
        .into_iter()
        .filter(|(_, text)| is_skip_line(path, text))
        .count();
    if added.len() <= removed {
        return false;
    }
    for (number, text) in added {
        errors.push(
            Finding::error(format!("adds a test skip: {}", clip(text.trim())))
                .at(path, Some(number)),
        );
    }
    true
}

/// At most this many lines are joined into one statement.
const MAX_JOINED_LINES: usize = 32;

/// The changed lines of one side as statements to check for skips: a line
/// that opens a construct continuing on the next line (a Rust attribute
/// over several lines) is joined with the lines that follow it in the same
/// run (`adjacent(previous, next)` on their numbers) until it closes.
fn statements(
    path: &str,
    lines: &[diff::Line],
    adjacent: impl Fn(u32, u32) -> bool,
) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let first = &lines[i];
        let mut text = first.text.clone();
        let mut last = first.number;
        i += 1;
        let mut joined = 1;
        while rules::continues(path, &text)
            && joined < MAX_JOINED_LINES
            && i < lines.len()
            && adjacent(last, lines[i].number)
        {
            text.push(' ');
            text.push_str(lines[i].text.trim());
            last = lines[i].number;
            i += 1;
            joined += 1;
        }
        out.push((first.number, text));
    }
    out
}

fn clip(text: &str) -> String {
    match text.char_indices().nth(120) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gyre_sdk::json::json;

    fn run(config: Value, diff: &str) -> Verdict {
        check(&Config::from_json(&config).unwrap(), diff).unwrap()
    }

    const SMALL_FIX: &str = "\
diff --git a/src/calc.rs b/src/calc.rs
index 3b18e51..a9c4d2f 100644
--- a/src/calc.rs
+++ b/src/calc.rs
@@ -3,5 +3,5 @@ pub fn divide(a: i32, b: i32) -> Option<i32> {
     if b == 0 {
-        return Some(0);
+        return None;
     }
     Some(a / b)
 }
";

    #[test]
    fn passes_a_small_clean_change() {
        let v = run(
            json!({"forbidden-paths": [".github/**"], "max-changed-lines": 10}),
            SMALL_FIX,
        );
        assert!(v.passed, "{}", v.summary);
        assert_eq!(v.summary, "1 file changed, +1 -1; no violations");
    }

    #[test]
    fn fails_when_a_forbidden_path_is_touched_even_by_a_rename() {
        let diff = "\
diff --git a/.github/workflows/ci.yml b/ci-disabled.yml
similarity index 100%
rename from .github/workflows/ci.yml
rename to ci-disabled.yml
";
        let v = run(
            json!({"forbidden-paths": [".github/**", "Cargo.lock"]}),
            diff,
        );
        assert!(!v.passed);
        assert!(v.summary.contains("forbidden path"), "{}", v.summary);
        assert_eq!(
            v.findings[0].file.as_deref(),
            Some(".github/workflows/ci.yml")
        );
    }

    #[test]
    fn fails_when_a_test_file_is_deleted() {
        let diff = "\
diff --git a/tests/api.rs b/tests/api.rs
deleted file mode 100644
index 83db48f..0000000
--- a/tests/api.rs
+++ /dev/null
@@ -1,4 +0,0 @@
-#[test]
-fn creates_users() {
-    assert!(api::create(\"ann\").is_ok());
-}
";
        let v = run(json!({}), diff);
        assert!(!v.passed);
        assert_eq!(v.findings.len(), 1, "{:?}", v.findings);
        assert_eq!(v.findings[0].message, "deletes test file tests/api.rs");
        assert!(run(json!({"allow-test-deletion": true}), diff).passed);
    }

    #[test]
    fn fails_when_test_functions_are_removed_on_net() {
        let diff = "\
--- a/src/parse.rs
+++ b/src/parse.rs
@@ -20,11 +20,5 @@ mod tests {
     use super::*;
 
-    #[test]
-    fn rejects_empty_input() {
-        assert!(parse(\"\").is_err());
-    }
-
-    #[test]
     fn parses_numbers() {
         assert_eq!(parse(\"1\"), Ok(1));
     }
";
        let v = run(json!({}), diff);
        assert!(!v.passed);
        assert_eq!(
            v.findings[0].message,
            "removes 2 tests on net (2 removed, 0 added)"
        );
        assert_eq!(v.findings[0].file.as_deref(), Some("src/parse.rs"));
        assert_eq!(v.findings[0].line, Some(22));
    }

    #[test]
    fn rewriting_a_test_in_place_is_not_removing_it() {
        let diff = "\
--- a/tests/test_calc.py
+++ b/tests/test_calc.py
@@ -1,2 +1,2 @@
-def test_adds():
-    assert add(1, 1) == 3
+def test_adds_small_numbers():
+    assert add(1, 1) == 2
";
        assert!(run(json!({}), diff).passed);
    }

    #[test]
    fn fails_when_a_skip_is_added_pointing_at_its_line() {
        let diff = "\
diff --git a/web/cart.test.ts b/web/cart.test.ts
--- a/web/cart.test.ts
+++ b/web/cart.test.ts
@@ -10,3 +10,3 @@ describe('cart', () => {
-  it('totals prices', () => {
+  it.skip('totals prices', () => {
     expect(total([1, 2])).toBe(3);
   });
";
        let v = run(json!({}), diff);
        assert!(!v.passed);
        assert!(v.summary.contains("added test skip"), "{}", v.summary);
        let f = &v.findings[0];
        assert_eq!(
            (f.file.as_deref(), f.line),
            (Some("web/cart.test.ts"), Some(10))
        );
        assert!(run(json!({"allow-test-skips": true}), diff).passed);
    }

    #[test]
    fn fails_when_a_module_level_pytest_skip_is_added() {
        let diff = "\
--- a/tests/test_api.py
+++ b/tests/test_api.py
@@ -1,3 +1,5 @@
 import pytest
+
+pytestmark = pytest.mark.skip(reason=\"flaky\")
 
 def test_create():
";
        let v = run(json!({}), diff);
        assert!(!v.passed, "{}", v.summary);
        assert_eq!(v.findings[0].line, Some(3));
    }

    #[test]
    fn fails_when_a_rust_test_module_is_compiled_out_even_over_several_lines() {
        let one_line = "\
--- a/src/parse.rs
+++ b/src/parse.rs
@@ -20,3 +20,3 @@
-#[cfg(test)]
+#[cfg(any())]
 mod tests {
     use super::*;
";
        let v = run(json!({}), one_line);
        assert!(!v.passed, "{}", v.summary);
        assert!(v.summary.contains("added test skip"), "{}", v.summary);

        let several = "\
--- a/src/parse.rs
+++ b/src/parse.rs
@@ -20,3 +20,6 @@
-#[cfg(test)]
+#[cfg(all(
+    test,
+    any()
+))]
 mod tests {
     use super::*;
";
        let v = run(json!({}), several);
        assert!(!v.passed, "{}", v.summary);
        assert_eq!(v.findings.len(), 1, "{:?}", v.findings);
        assert_eq!(v.findings[0].line, Some(20));
        assert!(
            v.findings[0].message.contains("any()"),
            "{}",
            v.findings[0].message
        );
        assert!(run(json!({"allow-test-skips": true}), several).passed);

        let harmless = "\
--- a/src/parse.rs
+++ b/src/parse.rs
@@ -20,2 +20,5 @@
+#[cfg(all(
+    unix,
+    feature = \"fast\"
+))]
 fn fast_path() {}
";
        assert!(run(json!({}), harmless).passed);
    }

    #[test]
    fn fails_when_the_line_budget_is_exceeded() {
        let v = run(json!({"max-changed-lines": 1}), SMALL_FIX);
        assert!(!v.passed);
        assert_eq!(
            v.findings[0].message,
            "the diff changes 2 lines (+1 -1); the limit is 1"
        );
    }

    #[test]
    fn moving_a_test_file_out_of_the_test_paths_counts_as_deleting_it() {
        let diff = "diff --git a/tests/slow.rs b/attic/slow.rs\nsimilarity index 100%\nrename from tests/slow.rs\nrename to attic/slow.rs\n";
        let v = run(json!({}), diff);
        assert!(!v.passed);
        assert!(
            v.findings[0]
                .message
                .starts_with("moves test file tests/slow.rs")
        );
        let renamed_within = "diff --git a/tests/slow.rs b/tests/e2e/slow.rs\nrename from tests/slow.rs\nrename to tests/e2e/slow.rs\n";
        assert!(run(json!({}), renamed_within).passed);
    }

    #[test]
    fn empty_diffs_pass_and_garbage_is_invalid_input() {
        assert!(run(json!({}), "\n").passed);
        let err = check(
            &Config::from_json(&json!({})).unwrap(),
            "I fixed the bug.\n",
        )
        .unwrap_err();
        assert!(matches!(err, PluginError::InvalidInput(m) if m.contains("no file headers")));
    }

    #[test]
    fn config_errors_name_the_field() {
        let err = |v: Value| match Config::from_json(&v) {
            Err(PluginError::InvalidConfig(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(err(json!({"forbidden-paths": ".github/**"})).contains("\"forbidden-paths\""));
        assert!(err(json!({"forbidden-paths": [""]})).contains("must not be empty"));
        assert!(err(json!({"max-changed-lines": -5})).contains("\"max-changed-lines\""));
        assert!(err(json!({"allow-test-skips": "yes"})).contains("true or false"));
    }
}
