//! A small, non-validating XML tokenizer for reading reports (JUnit,
//! Cobertura, Checkstyle) inside a plugin without a heavy dependency.
//!
//! It yields start tags (with unescaped attributes), end tags and text, and
//! skips declarations, processing instructions, comments and DOCTYPEs. It
//! does not check that tags nest properly: callers that care track depth
//! themselves. Malformed markup is an error, never a panic.
//!
//! ```
//! use gyre_sdk::xml::{Token, Tokenizer};
//! let mut names = Vec::new();
//! for token in Tokenizer::new(r#"<a x="1 &lt; 2"><b/>text</a>"#) {
//!     if let Token::Start(tag) = token.unwrap() {
//!         names.push((tag.name.to_string(), tag.attr("x").map(str::to_string)));
//!     }
//! }
//! assert_eq!(names, [("a".to_string(), Some("1 < 2".to_string())), ("b".to_string(), None)]);
//! ```

use std::borrow::Cow;
use std::fmt;

/// A start tag such as `<testcase name="x">` or `<skipped/>`.
#[derive(Debug, Clone, PartialEq)]
pub struct StartTag<'a> {
    /// The tag name as written, namespace prefix included.
    pub name: &'a str,
    pub attrs: Vec<(&'a str, Cow<'a, str>)>,
    /// True for `<tag/>`: no matching end tag follows.
    pub self_closing: bool,
}

impl StartTag<'_> {
    /// The value of attribute `name`, unescaped.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_ref())
    }

    /// The name without its namespace prefix (`ns:testcase` → `testcase`).
    pub fn local_name(&self) -> &str {
        local_name(self.name)
    }
}

/// The name without its namespace prefix.
pub fn local_name(name: &str) -> &str {
    name.rsplit_once(':').map_or(name, |(_, local)| local)
}

#[derive(Debug, Clone, PartialEq)]
pub enum Token<'a> {
    Start(StartTag<'a>),
    /// An end tag `</name>`.
    End(&'a str),
    /// Character data between tags, unescaped; CDATA sections come through
    /// as text too.
    Text(Cow<'a, str>),
}

/// Tracks which elements are open, so a parser can refuse mis-nested
/// markup and notice a document cut off before its root element closes:
/// evidence that is truncated must never read as complete.
#[derive(Debug, Default)]
pub struct Nesting<'a> {
    open: Vec<&'a str>,
}

impl<'a> Nesting<'a> {
    /// Records `token`. An end tag that does not close the innermost open
    /// element is an error.
    pub fn track(&mut self, token: &Token<'a>) -> Result<(), String> {
        match token {
            Token::Start(tag) if !tag.self_closing => self.open.push(tag.name),
            Token::End(name) => match self.open.pop() {
                Some(start) if start == *name => {}
                Some(start) => return Err(format!("malformed XML: </{name}> closes <{start}>")),
                None => return Err(format!("malformed XML: </{name}> closes no open element")),
            },
            _ => {}
        }
        Ok(())
    }

    /// The outermost element still open, if the document ended early.
    pub fn unclosed_root(&self) -> Option<&'a str> {
        self.open.first().copied()
    }
}

/// Malformed markup, with the byte offset where it was noticed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError {
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed XML at byte {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for XmlError {}

/// Iterates over the tokens of a document. After the first error it stops.
pub struct Tokenizer<'a> {
    text: &'a str,
    pos: usize,
    failed: bool,
}

impl<'a> Tokenizer<'a> {
    pub fn new(text: &'a str) -> Self {
        // A byte-order mark is not content.
        let pos = if text.starts_with('\u{feff}') {
            '\u{feff}'.len_utf8()
        } else {
            0
        };
        Self {
            text,
            pos,
            failed: false,
        }
    }

    fn error(
        &mut self,
        offset: usize,
        message: impl Into<String>,
    ) -> Option<Result<Token<'a>, XmlError>> {
        self.failed = true;
        Some(Err(XmlError {
            offset,
            message: message.into(),
        }))
    }

    /// Skips past `terminator`, starting at `from`; None when it is missing.
    fn skip_past(&self, from: usize, terminator: &str) -> Option<usize> {
        self.text[from..]
            .find(terminator)
            .map(|i| from + i + terminator.len())
    }
}

impl<'a> Iterator for Tokenizer<'a> {
    type Item = Result<Token<'a>, XmlError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.failed || self.pos >= self.text.len() {
                return None;
            }
            let start = self.pos;
            let rest = &self.text[start..];
            if !rest.starts_with('<') {
                let end = rest.find('<').map_or(self.text.len(), |i| start + i);
                self.pos = end;
                return Some(Ok(Token::Text(unescape(&self.text[start..end]))));
            }
            if rest.starts_with("<!--") {
                match self.skip_past(start + 4, "-->") {
                    Some(end) => self.pos = end,
                    None => return self.error(start, "unterminated comment"),
                }
                continue;
            }
            if rest.starts_with("<![CDATA[") {
                let body = start + 9;
                return match self.text[body..].find("]]>") {
                    Some(i) => {
                        self.pos = body + i + 3;
                        Some(Ok(Token::Text(Cow::Borrowed(&self.text[body..body + i]))))
                    }
                    None => self.error(start, "unterminated CDATA section"),
                };
            }
            if rest.starts_with("<?") {
                match self.skip_past(start + 2, "?>") {
                    Some(end) => self.pos = end,
                    None => return self.error(start, "unterminated processing instruction"),
                }
                continue;
            }
            if rest.starts_with("<!") {
                // DOCTYPE, possibly with an internal subset in brackets.
                let mut depth = 0usize;
                let mut end = None;
                for (i, b) in rest.bytes().enumerate().skip(2) {
                    match b {
                        b'[' => depth += 1,
                        b']' => depth = depth.saturating_sub(1),
                        b'>' if depth == 0 => {
                            end = Some(start + i + 1);
                            break;
                        }
                        _ => {}
                    }
                }
                match end {
                    Some(end) => self.pos = end,
                    None => return self.error(start, "unterminated declaration"),
                }
                continue;
            }
            if let Some(after) = rest.strip_prefix("</") {
                let Some(close) = after.find('>') else {
                    return self.error(start, "unterminated end tag");
                };
                let name = after[..close].trim();
                if name.is_empty() || !name.chars().all(is_name_char) {
                    return self.error(start, format!("bad end tag name {name:?}"));
                }
                self.pos = start + 2 + close + 1;
                return Some(Ok(Token::End(name)));
            }
            return match parse_start_tag(self.text, start) {
                Ok((tag, end)) => {
                    self.pos = end;
                    Some(Ok(Token::Start(tag)))
                }
                Err(e) => {
                    self.failed = true;
                    Some(Err(e))
                }
            };
        }
    }
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':')
}

/// Parses `<name attr="v" ...>` starting at `start` (which holds `<`).
fn parse_start_tag(text: &str, start: usize) -> Result<(StartTag<'_>, usize), XmlError> {
    let err = |offset: usize, message: String| Err(XmlError { offset, message });
    let bytes = text.as_bytes();
    let mut i = start + 1;
    let name_start = i;
    while i < text.len() && text[i..].chars().next().is_some_and(is_name_char) {
        i += text[i..].chars().next().map_or(1, char::len_utf8);
    }
    let name = &text[name_start..i];
    if name.is_empty() {
        return err(start, "expected a tag name after `<`".into());
    }
    let mut attrs = Vec::new();
    loop {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        match bytes.get(i) {
            None => return err(start, format!("unterminated tag <{name}>")),
            Some(b'>') => {
                return Ok((
                    StartTag {
                        name,
                        attrs,
                        self_closing: false,
                    },
                    i + 1,
                ));
            }
            Some(b'/') => {
                if bytes.get(i + 1) == Some(&b'>') {
                    return Ok((
                        StartTag {
                            name,
                            attrs,
                            self_closing: true,
                        },
                        i + 2,
                    ));
                }
                return err(i, format!("expected `>` after `/` in <{name}>"));
            }
            Some(_) => {}
        }
        let attr_start = i;
        while i < text.len() && text[i..].chars().next().is_some_and(is_name_char) {
            i += text[i..].chars().next().map_or(1, char::len_utf8);
        }
        let attr = &text[attr_start..i];
        if attr.is_empty() {
            return err(i, format!("unexpected character in <{name}>"));
        }
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if bytes.get(i) != Some(&b'=') {
            return err(i, format!("attribute {attr} in <{name}> has no value"));
        }
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let quote = match bytes.get(i) {
            Some(&q @ (b'"' | b'\'')) => q,
            _ => return err(i, format!("attribute {attr} in <{name}> is not quoted")),
        };
        let value_start = i + 1;
        let Some(len) = text[value_start..].find(quote as char) else {
            return err(
                i,
                format!("unterminated value of attribute {attr} in <{name}>"),
            );
        };
        attrs.push((attr, unescape(&text[value_start..value_start + len])));
        i = value_start + len + 1;
    }
}

/// Replaces the predefined entities and character references. Unknown or
/// malformed references are kept as written.
pub fn unescape(text: &str) -> Cow<'_, str> {
    if !text.contains('&') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let replacement = rest
            .find(';')
            .filter(|&semi| semi <= 12)
            .and_then(|semi| entity(&rest[1..semi]).map(|c| (c, semi)));
        match replacement {
            Some((c, semi)) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

fn entity(name: &str) -> Option<char> {
    match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let code =
                if let Some(hex) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                    u32::from_str_radix(hex, 16).ok()?
                } else {
                    name.strip_prefix('#')?.parse().ok()?
                };
            char::from_u32(code)
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn nesting_refuses_misnested_markup_and_reports_a_cut_off_root() {
        let mut nesting = Nesting::default();
        for token in Tokenizer::new("<a><b></b>") {
            nesting.track(&token.unwrap()).unwrap();
        }
        assert_eq!(nesting.unclosed_root(), Some("a"));
        let mut nesting = Nesting::default();
        let errors: Vec<String> = Tokenizer::new("<a><b></a>")
            .filter_map(|t| nesting.track(&t.unwrap()).err())
            .collect();
        assert_eq!(errors, vec!["malformed XML: </a> closes <b>".to_string()]);
    }

    use super::*;

    fn tokens(text: &str) -> Result<Vec<Token<'_>>, XmlError> {
        Tokenizer::new(text).collect()
    }

    #[test]
    fn reads_tags_attributes_and_text_skipping_prolog_and_comments() {
        let doc = "\u{feff}<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY a \"b\">]><!-- c -->\
                   <ns:a k='v &amp; w' n = \"1\"><b/>t&#65;&#x42;<![CDATA[<raw>]]></ns:a>";
        let toks = tokens(doc).unwrap();
        let Token::Start(a) = &toks[1] else {
            panic!("{toks:?}")
        };
        assert_eq!(a.name, "ns:a");
        assert_eq!(a.local_name(), "a");
        assert_eq!(a.attr("k"), Some("v & w"));
        assert_eq!(a.attr("n"), Some("1"));
        assert!(!a.self_closing);
        assert!(matches!(&toks[2], Token::Start(b) if b.name == "b" && b.self_closing));
        assert_eq!(toks[3], Token::Text(Cow::Borrowed("tAB")));
        assert_eq!(toks[4], Token::Text(Cow::Borrowed("<raw>")));
        assert_eq!(toks[5], Token::End("ns:a"));
    }

    #[test]
    fn unknown_entities_are_kept_as_written() {
        assert_eq!(unescape("a &nbsp; & b &#xZZ;"), "a &nbsp; & b &#xZZ;");
    }

    #[test]
    fn malformed_markup_is_an_error_not_a_panic() {
        for bad in [
            "<a",
            "<a b>",
            "<a b=c>",
            "<a b=\"c>",
            "<!-- x",
            "</a",
            "<>",
            "<a/ >",
            "<![CDATA[x",
        ] {
            assert!(tokens(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn stops_after_the_first_error() {
        let mut t = Tokenizer::new("<a b><c/>");
        assert!(t.next().unwrap().is_err());
        assert!(t.next().is_none());
    }
}
