//! A unified diff parser: `git diff` output (with `diff --git`, rename,
//! copy, mode and binary notices) and plain `diff -u` output.

/// One changed line: its line number on the new side (for a removed line,
/// where it would have been) and its text without the `+`/`-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub number: u32,
    pub text: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileDiff {
    /// None when the file is new.
    pub old_path: Option<String>,
    /// None when the file is deleted.
    pub new_path: Option<String>,
    pub binary: bool,
    pub added: Vec<Line>,
    pub removed: Vec<Line>,
    saw_old_header: bool,
    saw_hunk: bool,
}

impl FileDiff {
    /// The path to report: the new one, or the old one when deleted.
    pub fn path(&self) -> &str {
        self.new_path
            .as_deref()
            .or(self.old_path.as_deref())
            .unwrap_or("")
    }

    pub fn is_deleted(&self) -> bool {
        self.new_path.is_none() && self.old_path.is_some()
    }

    /// The new-side line of the first change, for pointing a finding at it.
    pub fn first_line(&self) -> Option<u32> {
        let added = self.added.first().map(|l| l.number);
        let removed = self.removed.first().map(|l| l.number);
        match (added, removed) {
            (Some(a), Some(r)) => Some(a.min(r)),
            (a, r) => a.or(r),
        }
    }
}

/// Parses `text`; the error names the line (1-based) that is malformed.
pub fn parse(text: &str) -> Result<Vec<FileDiff>, String> {
    let mut files: Vec<FileDiff> = Vec::new();
    let mut current: Option<FileDiff> = None;
    // Lines still expected on each side of the current hunk.
    let (mut old_left, mut new_left) = (0u64, 0u64);
    let mut new_line: u32 = 0;

    for (index, raw) in text.split('\n').enumerate() {
        let number = index + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);

        if old_left > 0 || new_left > 0 {
            let file = current
                .as_mut()
                .ok_or_else(|| format!("line {number}: hunk outside a file"))?;
            let (tag, body) = match line.chars().next() {
                Some(c) => (c, &line[c.len_utf8()..]),
                // Some tools strip the space of an empty context line.
                None => (' ', ""),
            };
            match tag {
                ' ' => {
                    old_left = old_left.saturating_sub(1);
                    new_left = new_left.saturating_sub(1);
                    new_line = new_line.saturating_add(1);
                    continue;
                }
                '+' if new_left > 0 => {
                    file.added.push(Line {
                        number: new_line,
                        text: body.to_string(),
                    });
                    new_left -= 1;
                    new_line = new_line.saturating_add(1);
                    continue;
                }
                '-' if old_left > 0 => {
                    file.removed.push(Line {
                        number: new_line.max(1),
                        text: body.to_string(),
                    });
                    old_left -= 1;
                    continue;
                }
                '\\' => continue,
                _ => {
                    return Err(format!(
                        "line {number}: the hunk ended early (expected {old_left} more old and {new_left} more new lines)"
                    ));
                }
            }
        }

        if let Some(rest) = line.strip_prefix("diff --git ") {
            files.extend(current.take());
            let (old, new) = git_header_paths(rest);
            current = Some(FileDiff {
                old_path: old,
                new_path: new,
                ..FileDiff::default()
            });
        } else if let Some(rest) = line.strip_prefix("--- ") {
            // A `---` after hunks (or with no file yet) starts the next file
            // of a plain diff.
            let starts_file = match &current {
                None => true,
                Some(f) => f.saw_hunk || f.saw_old_header,
            };
            if starts_file {
                files.extend(current.take());
                current = Some(FileDiff::default());
            }
            if let Some(file) = current.as_mut() {
                file.old_path = header_path(rest, "a/");
                file.saw_old_header = true;
            }
        } else if let Some(rest) = line.strip_prefix("+++ ") {
            let file = current
                .as_mut()
                .ok_or_else(|| format!("line {number}: `+++` without a `---` before it"))?;
            file.new_path = header_path(rest, "b/");
        } else if line.starts_with("@@@") {
            return Err(format!(
                "line {number}: combined diffs (`@@@`, from merges) are not supported"
            ));
        } else if line.starts_with("@@") {
            let file = current
                .as_mut()
                .ok_or_else(|| format!("line {number}: hunk header outside a file"))?;
            let (old_count, new_start, new_count) = hunk_header(line).ok_or_else(|| {
                format!("line {number}: expected a hunk header like `@@ -1,4 +1,5 @@`")
            })?;
            old_left = old_count;
            new_left = new_count;
            new_line = new_start;
            file.saw_hunk = true;
        } else if let Some(file) = current.as_mut() {
            if let Some(path) = line
                .strip_prefix("rename from ")
                .or_else(|| line.strip_prefix("copy from "))
            {
                file.old_path = Some(unquote(path));
            } else if let Some(path) = line
                .strip_prefix("rename to ")
                .or_else(|| line.strip_prefix("copy to "))
            {
                file.new_path = Some(unquote(path));
            } else if line.starts_with("new file mode") {
                file.old_path = None;
            } else if line.starts_with("deleted file mode") {
                file.new_path = None;
            } else if line.starts_with("Binary files ") || line == "GIT binary patch" {
                file.binary = true;
            }
        }
        // Anything else (index lines, commit headers of `git show`, blank
        // lines between files) carries nothing we need.
    }
    if old_left > 0 || new_left > 0 {
        return Err(format!(
            "the diff ends inside a hunk ({old_left} old and {new_left} new lines missing)"
        ));
    }
    files.extend(current);
    Ok(files)
}

/// `@@ -12,5 +12,7 @@ fn x()` → (5, 12, 7); a missing count is 1.
fn hunk_header(line: &str) -> Option<(u64, u32, u64)> {
    let rest = line.strip_prefix("@@ ")?;
    let (ranges, _) = rest.split_once(" @@")?;
    let (old, new) = ranges.split_once(' ')?;
    let (_, old_count) = range(old.strip_prefix('-')?)?;
    let (new_start, new_count) = range(new.strip_prefix('+')?)?;
    Some((old_count, u32::try_from(new_start).ok()?, new_count))
}

fn range(text: &str) -> Option<(u64, u64)> {
    let (start, count) = text.split_once(',').unwrap_or((text, "1"));
    Some((start.parse().ok()?, count.parse().ok()?))
}

/// The path of a `---`/`+++` line: unquoted, without a trailing timestamp
/// or the `a/`/`b/` prefix; None for `/dev/null`.
fn header_path(rest: &str, prefix: &str) -> Option<String> {
    let path = if rest.starts_with('"') {
        unquote(rest)
    } else {
        rest.split('\t')
            .next()
            .unwrap_or(rest)
            .trim_end()
            .to_string()
    };
    if path == "/dev/null" {
        return None;
    }
    Some(
        path.strip_prefix(prefix)
            .map(str::to_string)
            .unwrap_or(path),
    )
}

/// `a/x b/x` (paths may hold spaces, or be quoted) → (x, x).
fn git_header_paths(rest: &str) -> (Option<String>, Option<String>) {
    let strip =
        |p: String, prefix: &str| Some(p.strip_prefix(prefix).map(str::to_string).unwrap_or(p));
    if rest.starts_with('"')
        && let Some((first, tail)) = split_quoted(rest)
    {
        return (strip(first, "a/"), strip(unquote(tail.trim_start()), "b/"));
    }
    // Same path on both sides (the common case): split in the middle.
    if rest.len() % 2 == 1 {
        let mid = rest.len() / 2;
        if rest.is_char_boundary(mid) && rest.as_bytes()[mid] == b' ' {
            let (a, b) = (&rest[..mid], &rest[mid + 1..]);
            if a.strip_prefix("a/")
                .is_some_and(|x| Some(x) == b.strip_prefix("b/"))
            {
                return (strip(a.to_string(), "a/"), strip(b.to_string(), "b/"));
            }
        }
    }
    match rest.split_once(" b/") {
        Some((a, b)) => (strip(a.to_string(), "a/"), Some(b.to_string())),
        None => match rest.split_once(' ') {
            Some((a, b)) => (Some(a.to_string()), Some(b.to_string())),
            None => (Some(rest.to_string()), Some(rest.to_string())),
        },
    }
}

/// Splits a leading C-quoted string off `text`.
fn split_quoted(text: &str) -> Option<(String, &str)> {
    let body = text.strip_prefix('"')?;
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some((unescape(&body[..i]), &body[i + 1..])),
            _ => escaped = false,
        }
    }
    None
}

/// Git quotes paths with unusual bytes as C strings: `"tests/caf\303\251.py"`.
fn unquote(text: &str) -> String {
    match split_quoted(text) {
        Some((path, _)) => path,
        None => text.to_string(),
    }
}

fn unescape(body: &str) -> String {
    let mut bytes = Vec::with_capacity(body.len());
    let mut chars = body.bytes().peekable();
    while let Some(b) = chars.next() {
        if b != b'\\' {
            bytes.push(b);
            continue;
        }
        match chars.next() {
            Some(b'n') => bytes.push(b'\n'),
            Some(b't') => bytes.push(b'\t'),
            Some(b'r') => bytes.push(b'\r'),
            Some(d @ b'0'..=b'7') => {
                let mut value = u32::from(d - b'0');
                for _ in 0..2 {
                    match chars.peek() {
                        Some(&o @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(o - b'0');
                            chars.next();
                        }
                        _ => break,
                    }
                }
                bytes.push(value as u8);
            }
            Some(other) => bytes.push(other),
            None => bytes.push(b'\\'),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIT_DIFF: &str = "\
diff --git a/src/lib.rs b/src/lib.rs
index 3b18e51..a9c4d2f 100644
--- a/src/lib.rs
+++ b/src/lib.rs
@@ -10,5 +10,6 @@ pub fn add(a: i32, b: i32) -> i32 {
 fn helper() {}
-// old comment
+// new comment
+-- a line that starts with dashes
 
 #[cfg(test)]
 mod tests {
@@ -40,3 +41,2 @@ mod tests {
     fn a() {}
-    fn b() {}
 }
\\ No newline at end of file
diff --git a/old name.txt b/new name.txt
similarity index 100%
rename from old name.txt
rename to new name.txt
diff --git a/tests/api.rs b/tests/api.rs
deleted file mode 100644
index 83db48f..0000000
--- a/tests/api.rs
+++ /dev/null
@@ -1,2 +0,0 @@
-#[test]
-fn works() {}
diff --git a/logo.png b/logo.png
new file mode 100644
index 0000000..e69de29
Binary files /dev/null and b/logo.png differ
";

    #[test]
    fn reads_files_hunks_renames_deletions_and_binaries() {
        let files = parse(GIT_DIFF).unwrap();
        assert_eq!(files.len(), 4);
        let lib = &files[0];
        assert_eq!(lib.path(), "src/lib.rs");
        assert_eq!(lib.added.len(), 2);
        assert_eq!(
            lib.added[0],
            Line {
                number: 11,
                text: "// new comment".into()
            }
        );
        // A content line starting with `--` is not a file header.
        assert_eq!(lib.added[1].text, "-- a line that starts with dashes");
        assert_eq!(lib.removed[0].number, 11);
        assert_eq!(
            lib.removed[1],
            Line {
                number: 42,
                text: "    fn b() {}".into()
            }
        );

        let renamed = &files[1];
        assert_eq!(renamed.old_path.as_deref(), Some("old name.txt"));
        assert_eq!(renamed.new_path.as_deref(), Some("new name.txt"));

        let deleted = &files[2];
        assert!(deleted.is_deleted());
        assert_eq!(deleted.path(), "tests/api.rs");
        assert_eq!(deleted.removed.len(), 2);

        let logo = &files[3];
        assert!(logo.binary);
        assert_eq!(logo.old_path, None);
        assert_eq!(logo.new_path.as_deref(), Some("logo.png"));
    }

    #[test]
    fn reads_plain_diff_u_output_with_timestamps() {
        let text = "\
--- a/README.md\t2024-05-01 10:00:00.000000000 +0000
+++ b/README.md\t2024-05-01 10:05:00.000000000 +0000
@@ -1 +1 @@
-old
+new
--- /dev/null
+++ b/NEW.md
@@ -0,0 +1,2 @@
+one
+two
";
        let files = parse(text).unwrap();
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].path(), "README.md");
        assert_eq!(files[1].old_path, None);
        assert_eq!(
            files[1].added[1],
            Line {
                number: 2,
                text: "two".into()
            }
        );
    }

    #[test]
    fn quoted_paths_are_unescaped() {
        let text = "diff --git \"a/tests/caf\\303\\251.py\" \"b/tests/caf\\303\\251.py\"\ndeleted file mode 100644\n";
        let files = parse(text).unwrap();
        assert_eq!(files[0].old_path.as_deref(), Some("tests/café.py"));
        assert!(files[0].is_deleted());
    }

    #[test]
    fn truncated_or_malformed_hunks_are_errors() {
        let err = parse("--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n").unwrap_err();
        assert!(err.contains("ends inside a hunk"), "{err}");
        let err = parse("--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\nsomething else\n b\n").unwrap_err();
        assert!(err.starts_with("line 5:"), "{err}");
        let err = parse("--- a/x\n+++ b/x\n@@ bogus @@\n").unwrap_err();
        assert!(err.starts_with("line 3:"), "{err}");
    }

    #[test]
    fn header_paths_with_spaces_split_in_the_middle() {
        assert_eq!(
            git_header_paths("a/my dir/b c.txt b/my dir/b c.txt"),
            (Some("my dir/b c.txt".into()), Some("my dir/b c.txt".into()))
        );
    }
}
