//! What marks a test function and what marks a skipped test, per language.
//!
//! Markers are chosen by the file's extension, so that `iter.skip(2)` in a
//! Rust file or `re.test(s)` in JavaScript is not taken for a test skip or
//! a test. Files of other languages are checked against every marker.

#[derive(Debug, Clone, Copy)]
pub struct Marker {
    pub text: &'static str,
    /// The character before must not continue an identifier or a member
    /// access (`it(` but not `split(` or `x.it(`).
    pub word_start: bool,
    /// The character after must not continue an identifier (`@Test` but not
    /// `@Testcontainers`).
    pub word_end: bool,
}

const fn m(text: &'static str, word_start: bool, word_end: bool) -> Marker {
    Marker {
        text,
        word_start,
        word_end,
    }
}

struct Language {
    extensions: &'static [&'static str],
    tests: &'static [Marker],
    skips: &'static [Marker],
}

const LANGUAGES: &[Language] = &[
    Language {
        extensions: &["rs"],
        tests: &[m("#[test]", false, false), m("#[tokio::test", false, false)],
        skips: &[m("#[ignore", false, false)],
    },
    Language {
        extensions: &["py"],
        tests: &[m("def test_", true, false)],
        skips: &[
            m("@pytest.mark.skip", false, false),
            m("pytest.skip(", true, false),
            m("@unittest.skip", false, false),
            m(".skipTest(", false, false),
        ],
    },
    Language {
        extensions: &["js", "jsx", "ts", "tsx", "mjs", "cjs", "mts", "cts"],
        // `it.skip(`, `test.each(`, `xit(`: still a test, whatever its mode.
        tests: &[
            m("it(", true, false),
            m("test(", true, false),
            m("it.", true, false),
            m("test.", true, false),
            m("xit(", true, false),
            m("xtest(", true, false),
        ],
        skips: &[
            m(".skip(", false, false),
            m("xit(", true, false),
            m("xdescribe(", true, false),
            m("xtest(", true, false),
        ],
    },
    Language {
        extensions: &["java", "kt", "kts", "groovy", "scala"],
        tests: &[
            m("@Test", false, true),
            m("@ParameterizedTest", false, true),
            m("@RepeatedTest", false, true),
        ],
        skips: &[m("@Disabled", false, true), m("@Ignore", false, true)],
    },
    Language {
        extensions: &["go"],
        tests: &[m("func Test", true, false)],
        skips: &[
            m("t.Skip(", true, false),
            m("t.Skipf(", true, false),
            m("t.SkipNow(", true, false),
        ],
    },
];

fn language(path: &str) -> Option<&'static Language> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let (_, ext) = name.rsplit_once('.')?;
    let ext = ext.to_ascii_lowercase();
    LANGUAGES
        .iter()
        .find(|l| l.extensions.contains(&ext.as_str()))
}

/// True when `line` declares a test in the language of `path`.
pub fn is_test_line(path: &str, line: &str) -> bool {
    match language(path) {
        Some(lang) => lang.tests.iter().any(|mk| contains(line, mk)),
        None => LANGUAGES
            .iter()
            .flat_map(|l| l.tests)
            .any(|mk| contains(line, mk)),
    }
}

/// True when `line` skips or disables a test in the language of `path`.
pub fn is_skip_line(path: &str, line: &str) -> bool {
    match language(path) {
        Some(lang) => lang.skips.iter().any(|mk| contains(line, mk)),
        None => LANGUAGES
            .iter()
            .flat_map(|l| l.skips)
            .any(|mk| contains(line, mk)),
    }
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

fn contains(line: &str, marker: &Marker) -> bool {
    line.match_indices(marker.text).any(|(i, _)| {
        let before_ok = !marker.word_start
            || line[..i]
                .chars()
                .next_back()
                .is_none_or(|c| !is_ident(c) && c != '.');
        let after_ok = !marker.word_end
            || line[i + marker.text.len()..]
                .chars()
                .next()
                .is_none_or(|c| !is_ident(c));
        before_ok && after_ok
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_tests_per_language() {
        assert!(is_test_line("src/lib.rs", "    #[test]"));
        assert!(is_test_line(
            "src/lib.rs",
            "    #[tokio::test(flavor = \"multi_thread\")]"
        ));
        assert!(is_test_line(
            "tests/test_a.py",
            "    async def test_reads(self):"
        ));
        assert!(is_test_line("web/a.spec.ts", "  it('renders', () => {"));
        assert!(is_test_line("web/a.test.js", "test(\"adds\", () => {})"));
        assert!(is_test_line(
            "web/a.test.js",
            "test.each([1, 2])('adds %i', (n) => {})"
        ));
        assert!(is_test_line(
            "web/a.test.js",
            "  it.skip('renders', () => {"
        ));
        assert!(is_test_line("src/test/java/ATest.java", "    @Test"));
        assert!(is_test_line(
            "pkg/a_test.go",
            "func TestParse(t *testing.T) {"
        ));
    }

    #[test]
    fn lookalikes_are_not_tests() {
        assert!(!is_test_line("web/a.js", "const parts = s.split(',')"));
        assert!(!is_test_line("web/a.js", "if (re.test(s)) {"));
        assert!(!is_test_line("web/a.js", "const fit = submit(x)"));
        assert!(!is_test_line("web/a.js", "const r = submit.test.x"));
        assert!(!is_test_line("src/A.java", "@Testcontainers"));
        assert!(!is_test_line("src/lib.rs", "fn test(x: u8) {}"));
    }

    #[test]
    fn recognises_skips_per_language() {
        assert!(is_skip_line("src/lib.rs", "#[ignore = \"flaky\"]"));
        assert!(is_skip_line(
            "tests/test_a.py",
            "@pytest.mark.skipif(sys.platform == 'win32', reason='x')"
        ));
        assert!(is_skip_line(
            "tests/test_a.py",
            "        pytest.skip('later')"
        ));
        assert!(is_skip_line("a.test.ts", "  it.skip('renders', () => {"));
        assert!(is_skip_line("a.test.ts", "  xit('renders', () => {"));
        assert!(is_skip_line("a.test.ts", "xdescribe('suite', () => {"));
        assert!(is_skip_line("ATest.kt", "    @Disabled(\"flaky\")"));
        assert!(is_skip_line("a_test.go", "\tt.Skip(\"needs docker\")"));
    }

    #[test]
    fn ordinary_code_is_not_a_skip() {
        assert!(!is_skip_line("src/lib.rs", "let rest = iter.skip(2);"));
        assert!(!is_skip_line("a.ts", "const exit = (x) => x"));
        assert!(!is_skip_line("Main.java", "@DisabledFeatureFlag"));
    }

    #[test]
    fn unknown_languages_are_checked_against_every_marker() {
        assert!(is_skip_line("tests/run.sh.in", "it.skip('x')"));
        assert!(is_test_line("Makefile", "#[test]"));
    }
}
