//! What marks a test function and what marks a skipped test, per language.
//!
//! Markers are chosen by the file's extension, so that `iter.skip(2)` in a
//! Rust file or `re.test(s)` in JavaScript is not taken for a test skip or
//! a test. Files of other languages are checked against every marker.
//!
//! Skips are markers (`#[ignore`, `pytest.mark.skip`, `.skip(`, `@Ignore`,
//! ...) and, for Rust, `cfg` attributes that compile tests out in every
//! build (see [`crate::rust_cfg`]).

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
    /// Skips that a marker cannot describe.
    skip_check: Option<fn(&str) -> bool>,
}

const LANGUAGES: &[Language] = &[
    Language {
        extensions: &["rs"],
        tests: &[m("#[test]", false, false), m("#[tokio::test", false, false)],
        skips: &[m("#[ignore", false, false)],
        // `#[cfg(any())]`, `#[cfg(FALSE)]`, `#[cfg_attr(x, ignore)]`, ...
        skip_check: Some(crate::rust_cfg::disables),
    },
    Language {
        extensions: &["py"],
        tests: &[m("def test_", true, false)],
        skips: &[
            // `@pytest.mark.skip`, `@pytest.mark.skipif(...)`, and the
            // module-level `pytestmark = pytest.mark.skip` or
            // `marks=pytest.mark.skip` of a parameter.
            m("pytest.mark.skip", false, false),
            // `from pytest import mark`.
            m("mark.skip", true, false),
            m("pytest.skip(", true, false),
            // `from pytest import skip`: `skip(..., allow_module_level=True)`.
            m("allow_module_level", false, false),
            m("importorskip(", false, false),
            // `@unittest.skip`, `@unittest.skipIf`, `@unittest.skipUnless`,
            // and `unittest.skip(...)(test)` without the decorator syntax.
            m("unittest.skip", true, false),
            // `from unittest import skip`: `@skip(...)`, `@skipIf(...)`.
            m("@skip", false, false),
            m("SkipTest", false, true),
            m(".skipTest(", false, false),
        ],
        skip_check: None,
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
            // `it.skip(`, `describe.skip(`, `test.skip(`, mocha's `this.skip()`.
            m(".skip(", false, false),
            m(".skip.each", false, false),
            // vitest: `it.skipIf(cond)(...)`.
            m(".skipIf(", false, false),
            m("xit(", true, false),
            m("xdescribe(", true, false),
            m("xtest(", true, false),
            m("xit.", true, false),
            m("xdescribe.", true, false),
            m("xtest.", true, false),
        ],
        skip_check: None,
    },
    Language {
        extensions: &["java", "kt", "kts", "groovy", "scala"],
        tests: &[
            m("@Test", false, true),
            m("@ParameterizedTest", false, true),
            m("@RepeatedTest", false, true),
        ],
        skips: &[
            m("@Disabled", false, true),
            m("@Ignore", false, true),
            // Fully qualified: `@org.junit.Ignore`,
            // `@org.junit.jupiter.api.Disabled`.
            m("junit.Ignore", false, true),
            m("jupiter.api.Disabled", false, true),
            // JUnit 5 conditions: `@DisabledOnOs(...)`, `@DisabledIf(...)`,
            // `@EnabledIfEnvironmentVariable(...)`, ...
            m("@DisabledIf", false, false),
            m("@DisabledOn", false, false),
            m("@DisabledFor", false, false),
            m("@DisabledIn", false, false),
            m("@EnabledIf", false, false),
            m("@EnabledOn", false, false),
            m("@EnabledFor", false, false),
            m("@EnabledIn", false, false),
        ],
        // TestNG: `@Test(enabled = false)`.
        skip_check: Some(testng_disabled),
    },
    Language {
        extensions: &["go"],
        tests: &[m("func Test", true, false)],
        skips: &[
            m("t.Skip(", true, false),
            m("t.Skipf(", true, false),
            m("t.SkipNow(", true, false),
        ],
        skip_check: None,
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
    let skips = |lang: &Language| {
        lang.skips.iter().any(|mk| contains(line, mk))
            || lang.skip_check.is_some_and(|check| check(line))
    };
    match language(path) {
        Some(lang) => skips(lang),
        None => LANGUAGES.iter().any(skips),
    }
}

/// True when `line` opens a construct that a skip check needs to read to
/// its end, and that continues on the next line: a Rust attribute such as
/// `#[cfg(all(` written over several lines.
pub fn continues(path: &str, line: &str) -> bool {
    match language(path) {
        Some(lang) if !lang.extensions.contains(&"rs") => false,
        _ => crate::rust_cfg::opens_attribute(line),
    }
}

/// TestNG's `@Test(enabled = false)`.
fn testng_disabled(line: &str) -> bool {
    let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
    compact.contains("@Test(") && compact.contains("enabled=false")
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
    fn module_level_pytest_marks_and_unittest_skips_are_skips() {
        for line in [
            "pytestmark = pytest.mark.skip",
            "pytestmark = pytest.mark.skip(reason=\"flaky\")",
            "pytestmark = pytest.mark.skipif(sys.platform == \"win32\", reason=\"x\")",
            "pytestmark = [pytest.mark.slow, pytest.mark.skipif(True, reason=\"x\")]",
            "    pytest.param(1, marks=pytest.mark.skip),",
            "@mark.skip(reason=\"later\")",
            "pytest.skip(\"not yet\", allow_module_level=True)",
            "skip(\"not yet\", allow_module_level=True)",
            "@unittest.skip(\"flaky\")",
            "@unittest.skipIf(sys.platform == \"win32\", \"x\")",
            "@unittest.skipUnless(HAS_NET, \"x\")",
            "test_it = unittest.skip(\"flaky\")(test_it)",
            "        raise unittest.SkipTest(\"later\")",
            "        self.skipTest(\"later\")",
        ] {
            assert!(is_skip_line("tests/test_a.py", line), "{line}");
        }
        assert!(!is_skip_line("tests/test_a.py", "bookmark.skip_list = []"));
        assert!(!is_skip_line(
            "tests/test_a.py",
            "pytestmark = pytest.mark.slow"
        ));
    }

    #[test]
    fn rust_cfgs_that_can_never_hold_are_skips() {
        for line in [
            "#[cfg(any())]",
            "    #[cfg(FALSE)]",
            "#[cfg(false)]",
            "#[cfg(never)]",
            "#[cfg(tests)]",
            "#[cfg(not(all()))]",
            "#[cfg(all(test, any()))]",
            "#[cfg(all(test, not(test)))]",
            "#[cfg(all(test, FALSE))]",
            "#![cfg(any())]",
            "# [ cfg ( any ( ) ) ]",
            "#[cfg(any())] mod tests {",
            "#[cfg_attr(not(feature = \"slow\"), ignore)]",
            "#[cfg_attr(test, ignore = \"flaky\")]",
            "#[cfg_attr(unix, cfg(any()))]",
        ] {
            assert!(is_skip_line("src/lib.rs", line), "{line}");
        }
    }

    #[test]
    fn ordinary_rust_cfgs_are_not_skips() {
        for line in [
            "#[cfg(test)]",
            "#[cfg(feature = \"serde\")]",
            "#[cfg(not(windows))]",
            "#[cfg(not(test))]",
            "#[cfg(all())]",
            "#[cfg(not(any()))]",
            "#[cfg(any(unix, windows))]",
            "#[cfg(all(test, feature = \"never\"))]",
            "#[cfg_attr(docsrs, doc(cfg(feature = \"x\")))]",
            "#[cfg_attr(any(), ignore)]",
            "let s = \"#[cfg(any())]\";",
            "// was #[cfg(any())] until the fix",
            "if cfg!(any()) {}",
        ] {
            assert!(!is_skip_line("src/lib.rs", line), "{line}");
        }
    }

    #[test]
    fn jest_and_mocha_skips_are_skips() {
        for line in [
            "  it.skip('renders', () => {",
            "describe.skip('cart', () => {",
            "test.skip('adds', () => {})",
            "test.skip.each([1, 2])('adds %i', (n) => {})",
            "describe.skipIf(isWindows)('cart', () => {",
            "xit.each([1])('x', () => {})",
            "  this.skip();",
        ] {
            assert!(is_skip_line("web/cart.test.ts", line), "{line}");
        }
    }

    #[test]
    fn junit4_ignore_and_junit5_conditional_disabling_are_skips() {
        for line in [
            "    @Ignore",
            "    @Ignore(\"flaky on CI\")",
            "    @org.junit.Ignore",
            "    @org.junit.jupiter.api.Disabled(\"later\")",
            "    @DisabledOnOs(OS.WINDOWS)",
            "    @DisabledIfEnvironmentVariable(named = \"CI\", matches = \"true\")",
        ] {
            assert!(is_skip_line("src/test/java/CalcTest.java", line), "{line}");
            assert!(is_skip_line("src/test/kotlin/CalcTest.kt", line), "{line}");
        }
        assert!(!is_skip_line("src/Main.java", "@IgnoreProperties"));
        assert!(!is_skip_line("src/Main.java", "state = State.Disabled;"));
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
