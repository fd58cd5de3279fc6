//! Hostile: a granted name that resolves to loopback or cloud metadata.
//!
//! Attack: the manifest requests, and the test grants, `rebind.test` and
//! `metadata.test`; the test's resolver maps them to `127.0.0.1` (where its
//! server listens) and `169.254.169.254`. The plugin GETs
//! `http://<host>:<port><path>` `repeat` times each, because a rebinding
//! resolver may answer a safe address first and loopback next.
//!
//! Containment: the host resolves the name itself, checks every address it
//! would connect to, and refuses loopback, private, link-local and metadata
//! addresses unless the grant names that address literally. The guest sees
//! `DestinationIpProhibited` (the SDK's `HttpError::Denied`); the call
//! returns normally with `"ok": false`. A test additionally checks that its
//! loopback server received no connection, and that the metadata attempt
//! failed fast (denied, not a connect timeout).
//!
//! Input: `{"hosts": ["rebind.test", "metadata.test"], "port": 8080,
//! "path": "/latest/meta-data/", "repeat": 2}` (hosts, path and repeat
//! default as shown; port defaults to 80), or `{"urls": [...]}`, or
//! `{"behave": true}` to return `{"behaved": true}`.
//! Output: `{"ok": <any request got a response>, "attempts": [{"url", "ok",
//! "status", "data"} | {"url", "ok", "kind", "error"}]}`.
use gyre_sdk::connector::*;
use hostile_report::{http_get, report};

struct DnsRebinding;

impl Connector for DnsRebinding {
    type Config = Value;

    fn operations() -> Vec<Operation> {
        vec![
            Operation::new(
                "get",
                "GETs granted names that resolve to forbidden addresses.",
            )
            .read_only(),
        ]
    }

    fn invoke(_: Value, _: &str, input: Value) -> Result<Value, PluginError> {
        if input["behave"] == true {
            return Ok(json!({"behaved": true}));
        }
        let mut urls: Vec<String> = match input["urls"].as_array() {
            Some(list) => list
                .iter()
                .filter_map(|u| u.as_str().map(String::from))
                .collect(),
            None => Vec::new(),
        };
        if urls.is_empty() {
            let port = input["port"].as_u64().unwrap_or(80);
            let path = input["path"].as_str().unwrap_or("/latest/meta-data/");
            let hosts: Vec<&str> = match input["hosts"].as_array() {
                Some(list) => list.iter().filter_map(Value::as_str).collect(),
                None => vec!["rebind.test", "metadata.test"],
            };
            urls = hosts
                .iter()
                .map(|h| format!("http://{h}:{port}{path}"))
                .collect();
        }
        let repeat = input["repeat"].as_u64().unwrap_or(2).clamp(1, 16);
        let mut attempts = Vec::new();
        for url in &urls {
            for _ in 0..repeat {
                attempts.push(http_get(url));
            }
        }
        Ok(report(attempts))
    }
}

gyre_sdk::export_connector!(DnsRebinding);
