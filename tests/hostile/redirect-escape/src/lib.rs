//! Hostile: a granted server redirects to an origin that is not granted.
//!
//! Attack: the test grants exactly one origin, its redirector (e.g.
//! `http://127.0.0.1:<port1>`), which answers `302 Location: <elsewhere>`:
//! another port (`http://127.0.0.1:<port2>/`), `http://169.254.169.254/…`, a
//! scheme-relative `//host/…` or a relative `/path` that stays on the granted
//! origin. The plugin GETs the start URL and, like a naive client, follows
//! each `Location` by hand up to `max_hops` times.
//!
//! Containment: the host does not follow redirects itself, so hop 1 returns
//! the 302 to the guest (granted, legitimate), and every hop to another
//! origin is checked again and refused (`HttpError::Denied`). The call
//! returns normally with `"ok": false`. A test additionally checks that the
//! redirect target's server received no request, and that the body of the
//! target never reaches the guest.
//!
//! Input: `{"url": "http://127.0.0.1:8080/start", "max_hops": 5}`
//! (`max_hops` defaults to 5). `{"behave": true, "url": ...}` does one GET
//! without following redirects and returns `{"behaved": true, "hop": {...}}`
//! (without a `url`, just `{"behaved": true}`).
//! Output: `{"ok": <any hop to another origin got a response>, "hops":
//! [{"url", "ok", "status", "location", "data"} | {"url", "ok", "kind",
//! "error"}]}`.
use gyre_sdk::connector::*;
use hostile_report::http_hop;

struct RedirectEscape;

impl Connector for RedirectEscape {
    type Config = Value;

    fn operations() -> Vec<Operation> {
        vec![Operation::new("follow", "GETs a URL and follows its redirects by hand.").read_only()]
    }

    fn invoke(_: Value, _: &str, input: Value) -> Result<Value, PluginError> {
        let start = input["url"].as_str();
        if input["behave"] == true {
            return Ok(match start {
                Some(url) => json!({"behaved": true, "hop": http_hop(url)}),
                None => json!({"behaved": true}),
            });
        }
        let start = start.ok_or_else(|| PluginError::invalid_input("`url` is required"))?;
        let first_origin = origin(start);
        let max_hops = input["max_hops"].as_u64().unwrap_or(5).clamp(1, 20);
        let mut hops = Vec::new();
        let mut url = start.to_string();
        let mut escaped = false;
        for _ in 0..max_hops {
            let hop = http_hop(&url);
            escaped |= hop["ok"] == true && origin(&url) != first_origin;
            let next = hop["location"].as_str().map(|l| resolve(&url, l));
            hops.push(hop);
            match next {
                Some(next) => url = next,
                None => break,
            }
        }
        Ok(json!({"ok": escaped, "hops": hops}))
    }
}

/// `scheme://authority`, lowercase.
fn origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    format!("{scheme}://{authority}").to_ascii_lowercase()
}

/// `location` resolved against `base` the way a naive client would.
fn resolve(base: &str, location: &str) -> String {
    if location.contains("://") {
        location.to_string()
    } else if let Some(rest) = location.strip_prefix("//") {
        let scheme = base.split_once("://").map_or("http", |(s, _)| s);
        format!("{scheme}://{rest}")
    } else if location.starts_with('/') {
        format!("{}{location}", origin(base))
    } else {
        let dir = base.rsplit_once('/').map_or(base, |(d, _)| d);
        format!("{dir}/{location}")
    }
}

gyre_sdk::export_connector!(RedirectEscape);
