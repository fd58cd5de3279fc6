//! Path globs: `*` and `?` match within one path segment, `**` matches any
//! number of whole segments (none included). Patterns are matched against
//! the whole repository-relative path: `Cargo.lock` is only the root one,
//! `**/Cargo.lock` is any.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    pattern: String,
    segments: Vec<String>,
}

impl Glob {
    pub fn new(pattern: &str) -> Result<Self, String> {
        let trimmed = pattern.trim();
        if trimmed.is_empty() {
            return Err("a pattern must not be empty".into());
        }
        // A leading `/` or `./` anchors to the root, which every pattern is.
        let body = trimmed.trim_start_matches("./").trim_start_matches('/');
        if body.is_empty() {
            return Err(format!("{pattern:?} matches no file"));
        }
        let segments = body
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        Ok(Self {
            pattern: trimmed.to_string(),
            segments,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    pub fn matches(&self, path: &str) -> bool {
        let path = path.trim_start_matches("./");
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let pat = &self.segments;
        let (np, ns) = (pat.len(), parts.len());
        // ok[i][j]: pattern segments i.. match path segments j..; filled
        // from the end, so the cost is bounded by segments², never
        // exponential in the number of `**`.
        let mut next = vec![false; ns + 1];
        next[ns] = true;
        for i in (0..np).rev() {
            let mut cur = vec![false; ns + 1];
            for j in (0..=ns).rev() {
                cur[j] = if pat[i] == "**" {
                    next[j] || (j < ns && cur[j + 1])
                } else {
                    j < ns && segment_matches(&pat[i], parts[j]) && next[j + 1]
                };
            }
            next = cur;
        }
        next[0]
    }
}

/// `*` and `?` within one segment; linear backtracking over the last star.
fn segment_matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < t.len() {
        if i < p.len() && (p[i] == '?' || p[i] == t[j]) && p[i] != '*' {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, path: &str) -> bool {
        Glob::new(pattern).unwrap().matches(path)
    }

    #[test]
    fn double_star_matches_any_depth_including_none() {
        assert!(m(".github/**", ".github/workflows/ci.yml"));
        assert!(m("**/tests/**", "tests/a.rs"));
        assert!(m("**/tests/**", "crates/x/tests/deep/a.rs"));
        assert!(m("**/*_test.*", "pkg/a_test.go"));
        assert!(m("**/*_test.*", "a_test.go"));
        assert!(!m(".github/**", "src/.github"));
    }

    #[test]
    fn single_star_and_question_mark_stay_within_a_segment() {
        assert!(m("src/*.rs", "src/lib.rs"));
        assert!(!m("src/*.rs", "src/a/lib.rs"));
        assert!(m("v?.txt", "v1.txt"));
        assert!(!m("v?.txt", "v10.txt"));
        assert!(m("*", "README.md"));
        assert!(!m("*", "docs/README.md"));
    }

    #[test]
    fn plain_names_are_anchored_at_the_root() {
        assert!(m("Cargo.lock", "Cargo.lock"));
        assert!(m("/Cargo.lock", "Cargo.lock"));
        assert!(!m("Cargo.lock", "crates/a/Cargo.lock"));
        assert!(m("**/Cargo.lock", "crates/a/Cargo.lock"));
    }

    #[test]
    fn many_stars_do_not_blow_up() {
        let pattern = "**/".repeat(30) + "x*x*x*x*x*x*x*x*y";
        let path = "a/".repeat(60) + &"x".repeat(200);
        assert!(!m(&pattern, &path));
    }

    #[test]
    fn empty_patterns_are_refused() {
        assert!(Glob::new("").is_err());
        assert!(Glob::new("/").is_err());
    }
}
