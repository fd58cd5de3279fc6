//! `http-json`: a connector for JSON HTTP APIs at one configured base URL.
//!
//! | field | default | meaning |
//! |---|---|---|
//! | `base-url` | required | `http(s)://host[:port][/prefix]`; no credentials, query or fragment |
//! | `headers` | `{}` | static request headers (name → value) |
//! | `token-secret` | none | name of a granted secret, sent as `Authorization: Bearer <value>` |
//!
//! Operations: `get` (read-only; input `{path, query?}`) and `post`, `put`,
//! `patch`, `delete` (input `{path, query?, body?}`). The output is
//! `{status, headers, body}`, with the body parsed as JSON when it is JSON.
//!
//! The base URL may carry a path prefix (`http://127.0.0.1:8080/api/v1`):
//! every `path` is appended to it. A path must start with `/` and may not
//! start with `//`, hold `@`, `\`, `#`, a scheme or `.`/`..` segments, so
//! a request always goes to the base URL's origin, under its prefix.
//!
//! The manifest asks for `http://127.0.0.1:*`, `http://localhost:*` and
//! `https://api.github.com`; the user's grant decides which origin is
//! really reachable, and the host refuses the rest (→ `denied`). Redirects
//! are never followed: a 3xx is an `upstream` error naming its location;
//! 404 is `not-found`; other non-2xx statuses are `upstream` errors.

pub mod api;
pub mod url;

use gyre_sdk::connector::{Connector, Operation, PluginError, Value};

// Never constructed: only its trait impl is exported.
enum HttpJson {}

impl Connector for HttpJson {
    type Config = Value;

    fn operations() -> Vec<Operation> {
        api::operations()
    }

    fn invoke(config: Value, operation: &str, input: Value) -> Result<Value, PluginError> {
        let config = api::Config::from_json(&config)?;
        let call = api::Call::new(&config, operation, &input)?;
        let token = config
            .token_secret
            .as_deref()
            .map(gyre_sdk::secrets::require)
            .transpose()?;
        let response = call.request(&config, token.as_deref()).send()?;
        call.respond(&response, token.as_deref())
    }
}

gyre_sdk::export_connector!(HttpJson);
