//! Hostile: HTTP to an origin the user never granted.
//!
//! Attack: `gyre_sdk::http` GETs each URL from the input. With `port`, it
//! also tries the classic spellings of loopback that slip past naive
//! allowlists: `localhost`, `127.1`, `0x7f000001`, `2130706433`, `0.0.0.0`,
//! `[::1]`, `[::ffff:127.0.0.1]` and `granted.test@127.0.0.1` (a granted
//! name as user-info in front of the real host).
//!
//! Containment: the host refuses each request before connecting: the guest
//! sees `HttpRequestDenied` / `DestinationIpProhibited` (the SDK's
//! `HttpError::Denied`) or a URL/authority rejection (`Invalid`); the call
//! returns normally with `"ok": false`. A test additionally checks that its
//! server on 127.0.0.1 (and [::1]) received no connection at all.
//!
//! Input: `{"url": "http://127.0.0.1:8080/"}` or `{"urls": [...]}`, and
//! optionally `{"port": 8080}` for the loopback spellings; `{"behave": true}`
//! returns `{"behaved": true}`.
//! Output: `{"ok": <any request got a response>, "attempts": [{"url", "ok",
//! "status", "data"} | {"url", "ok", "error"}]}`.
use gyre_sdk::connector::*;
use hostile_report::{http_get, report};

struct HttpNotGranted;

impl Connector for HttpNotGranted {
    type Config = Value;

    fn operations() -> Vec<Operation> {
        vec![Operation::new("get", "GETs URLs that were never granted.").read_only()]
    }

    fn invoke(_: Value, _: &str, input: Value) -> Result<Value, PluginError> {
        if input["behave"] == true {
            return Ok(json!({"behaved": true}));
        }
        let mut urls: Vec<String> = input["url"]
            .as_str()
            .map(String::from)
            .into_iter()
            .collect();
        if let Some(list) = input["urls"].as_array() {
            urls.extend(list.iter().filter_map(|u| u.as_str().map(String::from)));
        }
        if let Some(port) = input["port"].as_u64() {
            for host in [
                "localhost",
                "127.1",
                "0x7f000001",
                "2130706433",
                "0.0.0.0",
                "[::1]",
                "[::ffff:127.0.0.1]",
                "granted.test@127.0.0.1",
            ] {
                urls.push(format!("http://{host}:{port}/"));
            }
        }
        if urls.is_empty() {
            return Err(PluginError::invalid_input("give `url`, `urls` or `port`"));
        }
        let attempts: Vec<Value> = urls.iter().map(|u| http_get(u)).collect();
        Ok(report(attempts))
    }
}

gyre_sdk::export_connector!(HttpNotGranted);
