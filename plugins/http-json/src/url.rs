//! The configured base URL, the caller's path and query, and how they are
//! joined so that a request can never leave the base URL's origin.

use gyre_sdk::json::Value;

/// `scheme://host[:port]` plus an optional path prefix, e.g.
/// `http://127.0.0.1:8080/api/v1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    /// Lowercase `scheme://host[:port]`.
    pub origin: String,
    /// Empty, or `/segment...` without a trailing slash.
    pub prefix: String,
}

impl BaseUrl {
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("must not contain spaces or control characters".into());
        }
        let (scheme, rest) = text
            .split_once("://")
            .ok_or("expected http://host[:port][/prefix] or https://...")?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(format!(
                "scheme {scheme:?} is not supported; use http or https"
            ));
        }
        if rest.contains(['?', '#', '\\', '@']) {
            return Err(
                "must not contain a query, a fragment, credentials (`@`) or backslashes".into(),
            );
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let host = check_authority(authority)?;
        let prefix = path.trim_end_matches('/');
        if !prefix.is_empty() {
            check_path_segments(prefix)?;
        }
        let port = &authority[host.len()..];
        Ok(Self {
            origin: format!("{scheme}://{}{port}", host.to_ascii_lowercase()),
            prefix: prefix.to_string(),
        })
    }

    /// The full URL for a validated `path` (and already encoded query).
    pub fn join(&self, path: &str, query: &str) -> String {
        let mut url = format!("{}{}{}", self.origin, self.prefix, path);
        if !query.is_empty() {
            url.push(if path.contains('?') { '&' } else { '?' });
            url.push_str(query);
        }
        url
    }
}

/// Checks `host[:port]` and returns the host part.
fn check_authority(authority: &str) -> Result<&str, String> {
    let (host, port) = if authority.starts_with('[') {
        let end = authority
            .find(']')
            .ok_or("unclosed `[` in an IPv6 address")?
            + 1;
        let host = &authority[..end];
        if !host[1..end - 1]
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
            || end == 2
        {
            return Err(format!("{host:?} is not an IPv6 address"));
        }
        (host, &authority[end..])
    } else {
        match authority.split_once(':') {
            Some((h, _)) => (h, &authority[h.len()..]),
            None => (authority, ""),
        }
    };
    if host.is_empty() {
        return Err("has no host".into());
    }
    if !host.starts_with('[')
        && (!host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
            || host.starts_with(['.', '-'])
            || host.contains(".."))
    {
        return Err(format!("host {host:?} is not a valid host name or address"));
    }
    if !port.is_empty() {
        let digits = port
            .strip_prefix(':')
            .ok_or("unexpected text after the host")?;
        match digits.parse::<u16>() {
            Ok(p) if p > 0 && !digits.starts_with('+') => {}
            _ => return Err(format!("port {digits:?} is not a number from 1 to 65535")),
        }
    }
    Ok(host)
}

/// Refuses `.` and `..` segments (also percent-encoded), empty segments and
/// bad percent escapes, so that a path cannot climb out of the prefix.
fn check_path_segments(path: &str) -> Result<(), String> {
    for segment in path.split('/').skip(1) {
        if segment.is_empty() {
            return Err("must not contain empty segments (`//`)".into());
        }
        let decoded = segment.replace("%2e", ".").replace("%2E", ".");
        if decoded == "." || decoded == ".." {
            return Err("must not contain `.` or `..` segments".into());
        }
    }
    check_escapes(path)
}

fn check_escapes(text: &str) -> Result<(), String> {
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'%'
            && !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
        {
            return Err("has a `%` that is not followed by two hex digits".into());
        }
    }
    Ok(())
}

/// Checks the caller's `path`: absolute (`/...`), not `//...`, printable
/// ASCII, no `@` or `\`, no scheme, no dot segments. It may carry a query.
pub fn check_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err("must start with `/`".into());
    }
    if path.starts_with("//") {
        return Err("must not start with `//`".into());
    }
    if let Some(c) = path.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(format!(
            "must be printable ASCII without spaces (percent-encode {c:?})"
        ));
    }
    if path.contains(['@', '\\', '#']) {
        return Err("must not contain `@`, `\\` or `#` (percent-encode them, e.g. %40)".into());
    }
    let (route, query) = path.split_once('?').unwrap_or((path, ""));
    if route.contains("://") {
        return Err("must be a path on the base URL, not a URL".into());
    }
    check_path_segments(route.trim_end_matches('/'))?;
    check_escapes(query)
}

/// Encodes a `query` object: scalars as `k=v`, arrays as repeated keys,
/// nulls skipped.
pub fn encode_query(query: &serde_json::Map<String, Value>) -> Result<String, String> {
    let mut pairs = Vec::new();
    for (key, value) in query {
        let values: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        for v in values {
            let text = match v {
                Value::Null => continue,
                Value::String(s) => s.clone(),
                Value::Bool(_) | Value::Number(_) => v.to_string(),
                _ => {
                    return Err(format!(
                        "query {key:?}: expected a string, number, boolean or a list of them"
                    ));
                }
            };
            pairs.push(format!("{}={}", encode(key), encode(&text)));
        }
    }
    Ok(pairs.join("&"))
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use gyre_sdk::json::json;

    #[test]
    fn base_urls_keep_their_origin_and_prefix() {
        let b = BaseUrl::parse("HTTPS://API.GitHub.com/").unwrap();
        assert_eq!(
            (b.origin.as_str(), b.prefix.as_str()),
            ("https://api.github.com", "")
        );
        let b = BaseUrl::parse("http://127.0.0.1:8080/api/v1/").unwrap();
        assert_eq!(
            (b.origin.as_str(), b.prefix.as_str()),
            ("http://127.0.0.1:8080", "/api/v1")
        );
        assert_eq!(
            b.join("/users", "page=2"),
            "http://127.0.0.1:8080/api/v1/users?page=2"
        );
        assert!(BaseUrl::parse("http://[::1]:9000").is_ok());
    }

    #[test]
    fn base_urls_with_tricks_are_refused() {
        for bad in [
            "ftp://example.com",
            "example.com",
            "http://user:pw@example.com",
            "http://example.com?x=1",
            "http://example.com#top",
            "http://example.com:0",
            "http://example.com:99999",
            "http://exa mple.com",
            "http://example.com\\@evil.com",
            "http:///path",
            "http://example.com/a/../b",
            "http://example.com/a/%2E%2E/b",
            "http://-bad.com",
        ] {
            assert!(BaseUrl::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn paths_must_stay_on_the_base_url() {
        for good in [
            "/",
            "/repos/o/r/issues",
            "/search?q=a%20b&x=1",
            "/a/b/",
            "/files/v1.2.tar.gz",
        ] {
            assert!(check_path(good).is_ok(), "{good} should be accepted");
        }
        for bad in [
            "repos",
            "//evil.com/x",
            "/\\evil.com",
            "/@evil.com",
            "/x#frag",
            "/http://evil.com",
            "/a/../admin",
            "/a/%2e%2e/admin",
            "/a//b",
            "/a b",
            "/caf\u{e9}",
            "/x%zz",
        ] {
            assert!(check_path(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn queries_are_percent_encoded_and_lists_repeat_the_key() {
        let q = json!({"q": "is:open label:bug", "per_page": 50, "state": ["open", "closed"], "skip": null, "draft": false});
        let encoded = encode_query(q.as_object().unwrap()).unwrap();
        // Key order follows the JSON map; compare as a set of pairs.
        let mut pairs: Vec<&str> = encoded.split('&').collect();
        pairs.sort();
        assert_eq!(
            pairs,
            [
                "draft=false",
                "per_page=50",
                "q=is%3Aopen%20label%3Abug",
                "state=closed",
                "state=open"
            ]
        );
        assert!(encode_query(json!({"x": {"y": 1}}).as_object().unwrap()).is_err());
    }
}
