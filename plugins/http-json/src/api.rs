//! Configuration, the operations offered, how an input becomes a request
//! and how a response becomes the output or an error.

use crate::url::{BaseUrl, check_path, encode_query};
use gyre_sdk::PluginError;
use gyre_sdk::connector::Operation;
use gyre_sdk::http::excerpt;
use gyre_sdk::http::{Request, Response};
use gyre_sdk::json::{Fields, Value, json};

const USER_AGENT: &str = concat!("gyre-http-json/", env!("CARGO_PKG_VERSION"));

/// Response headers copied into the output; the rest are dropped.
const KEPT_HEADERS: &[&str] = &[
    "content-type",
    "etag",
    "last-modified",
    "link",
    "location",
    "retry-after",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "x-request-id",
    "x-github-request-id",
];

/// Headers the transport owns; setting them by hand breaks requests or
/// smuggles new ones.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
    "trailer",
];

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub base: BaseUrl,
    /// Static headers, lowercase names.
    pub headers: Vec<(String, String)>,
    /// The name of the secret sent as `Authorization: Bearer <value>`.
    pub token_secret: Option<String>,
}

impl Config {
    pub fn from_json(value: &Value) -> Result<Self, PluginError> {
        let f = Fields::config(value)?;
        f.deny_unknown(&["base-url", "headers", "token-secret"])?;
        let base_url = f.required("base-url", f.str("base-url")?)?;
        let base = BaseUrl::parse(base_url).map_err(|why| f.error("base-url", why))?;
        let mut headers = Vec::new();
        for (name, value) in f.object("headers")?.into_iter().flatten() {
            let lower = name.to_ascii_lowercase();
            if name.is_empty() || !name.bytes().all(is_token_byte) {
                return Err(f.error("headers", format!("{name:?} is not a valid header name")));
            }
            if RESERVED_HEADERS.contains(&lower.as_str()) {
                return Err(f.error(
                    "headers",
                    format!("{name} is set by the transport and cannot be configured"),
                ));
            }
            let Some(value) = value.as_str() else {
                return Err(f.error("headers", format!("the value of {name} must be a string")));
            };
            if value.chars().any(|c| c.is_control() && c != '\t') {
                return Err(f.error(
                    "headers",
                    format!("the value of {name} must not contain control characters"),
                ));
            }
            headers.push((lower, value.to_string()));
        }
        let token_secret = f.str("token-secret")?.map(str::to_string);
        if let Some(name) = &token_secret {
            if name.is_empty() {
                return Err(f.error("token-secret", "must name a secret"));
            }
            if headers.iter().any(|(n, _)| n == "authorization") {
                return Err(f.error(
                    "token-secret",
                    "cannot be combined with an Authorization header in `headers`",
                ));
            }
        }
        Ok(Self {
            base,
            headers,
            token_secret,
        })
    }
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn path_schema() -> Value {
    json!({
        "type": "string",
        "description": "Path on the configured base URL, starting with `/` (e.g. `/repos/o/r/issues`). It may carry a query string. Percent-encode `@`, `\\`, `#` and non-ASCII characters.",
        "pattern": "^/(?!/)[!-~]*$"
    })
}

fn query_schema() -> Value {
    json!({
        "type": "object",
        "description": "Query parameters, percent-encoded for you. A list repeats the key.",
        "additionalProperties": {
            "anyOf": [
                {"type": ["string", "number", "boolean", "null"]},
                {"type": "array", "items": {"type": ["string", "number", "boolean"]}}
            ]
        }
    })
}

fn schema(with_body: bool) -> Value {
    let mut properties = json!({ "path": path_schema(), "query": query_schema() });
    if with_body {
        properties["body"] = json!({ "description": "Any JSON value, sent as the request body (application/json)." });
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": properties,
        "required": ["path"],
        "additionalProperties": false
    })
}

pub fn operations() -> Vec<Operation> {
    vec![
        Operation::new("get", "GET a path on the configured base URL and return the status, selected headers and the JSON (or text) body.")
            .schema(schema(false))
            .read_only(),
        Operation::new("post", "POST a JSON body to a path on the configured base URL.").schema(schema(true)),
        Operation::new("put", "PUT a JSON body to a path on the configured base URL.").schema(schema(true)),
        Operation::new("patch", "PATCH a path on the configured base URL with a JSON body.").schema(schema(true)),
        Operation::new("delete", "DELETE a path on the configured base URL, optionally with a JSON body.").schema(schema(true)),
    ]
}

/// A validated call, ready to become a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub method: &'static str,
    pub path: String,
    pub url: String,
    pub body: Option<Value>,
}

impl Call {
    pub fn new(config: &Config, operation: &str, input: &Value) -> Result<Self, PluginError> {
        let method = match operation {
            "get" => "GET",
            "post" => "POST",
            "put" => "PUT",
            "patch" => "PATCH",
            "delete" => "DELETE",
            other => return Err(PluginError::not_found(format!("no operation {other:?}"))),
        };
        let f = Fields::input(input)?;
        let body = if method == "GET" {
            f.deny_unknown(&["path", "query"])?;
            None
        } else {
            f.deny_unknown(&["path", "query", "body"])?;
            f.get("body").cloned()
        };
        let path = f.required("path", f.str("path")?)?;
        check_path(path).map_err(|why| f.error("path", why))?;
        let query = match f.object("query")? {
            Some(q) => encode_query(q).map_err(|why| f.error("query", why))?,
            None => String::new(),
        };
        Ok(Self {
            method,
            path: path.to_string(),
            url: config.base.join(path, &query),
            body,
        })
    }

    pub fn request(&self, config: &Config, token: Option<&str>) -> Request {
        let mut request = Request::new(self.method, self.url.clone())
            .header("accept", "application/json")
            .header("user-agent", USER_AGENT);
        // Configured headers replace the defaults of the same name.
        request
            .headers
            .retain(|(n, _)| !config.headers.iter().any(|(c, _)| c == n));
        for (name, value) in &config.headers {
            request = request.header(name, value);
        }
        if let Some(token) = token {
            request = request.header("authorization", &format!("Bearer {token}"));
        }
        match &self.body {
            Some(body) => request.json(body),
            None => request,
        }
    }

    /// The output for a response, or the error it stands for. `token` is
    /// scrubbed from everything returned, in case the upstream echoes it.
    pub fn respond(&self, response: &Response, token: Option<&str>) -> Result<Value, PluginError> {
        let what = format!("{} {}", self.method, self.path);
        let status = response.status;
        let result = match status {
            200..=299 => {
                let mut headers = serde_json::Map::new();
                for name in KEPT_HEADERS {
                    let values: Vec<&str> = response
                        .headers
                        .iter()
                        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                        .map(|(_, v)| v.as_str())
                        .collect();
                    if !values.is_empty() {
                        headers.insert((*name).to_string(), Value::String(values.join(", ")));
                    }
                }
                Ok(json!({ "status": status, "headers": headers, "body": body_value(response) }))
            }
            300..=399 => Err(PluginError::upstream(
                status,
                match response.header("location") {
                    Some(location) => format!(
                        "{what}: {status}: redirect to {} not followed",
                        excerpt(location, 300)
                    ),
                    None => format!("{what}: {status}: redirect not followed (no location given)"),
                },
            )),
            404 => Err(PluginError::not_found(format!(
                "{what}: 404 {}",
                reason(response)
            ))),
            _ => Err(PluginError::upstream(
                status,
                format!("{what}: {status} {}", reason(response)),
            )),
        };
        match token.filter(|t| t.len() >= 4) {
            None => result,
            Some(token) => match result {
                Ok(value) => Ok(scrub(value, token)),
                Err(PluginError::NotFound(m)) => {
                    Err(PluginError::NotFound(m.replace(token, "[redacted]")))
                }
                Err(PluginError::Upstream(mut u)) => {
                    u.message = u.message.replace(token, "[redacted]");
                    Err(PluginError::Upstream(u))
                }
                Err(other) => Err(other),
            },
        }
    }
}

/// The body as JSON when it parses, else as text; empty is null.
fn body_value(response: &Response) -> Value {
    if response.body.iter().all(u8::is_ascii_whitespace) {
        return Value::Null;
    }
    serde_json::from_slice(&response.body).unwrap_or_else(|_| Value::String(response.text()))
}

/// A short reason from an error body: its JSON `message`/`error`, or its
/// first characters.
fn reason(response: &Response) -> String {
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(&response.body) {
        for key in ["message", "error_description", "error", "detail", "title"] {
            if let Some(Value::String(s)) = map.get(key) {
                return excerpt(s, 300);
            }
        }
    }
    let text = response.text();
    if text.trim().is_empty() {
        "(empty body)".to_string()
    } else {
        excerpt(text.trim(), 300)
    }
}

fn scrub(value: Value, token: &str) -> Value {
    match value {
        Value::String(s) if s.contains(token) => Value::String(s.replace(token, "[redacted]")),
        Value::Array(items) => Value::Array(items.into_iter().map(|v| scrub(v, token)).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, scrub(v, token))).collect())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(value: Value) -> Config {
        Config::from_json(&value).unwrap()
    }

    fn local() -> Config {
        config(
            json!({"base-url": "http://127.0.0.1:8080/api", "headers": {"X-Team": "core", "Accept": "application/vnd.github+json"}, "token-secret": "HTTP_JSON_TOKEN"}),
        )
    }

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
        Response::new(status, headers, body.as_bytes())
    }

    #[test]
    fn builds_requests_on_the_base_url_with_headers_token_and_body() {
        let config = local();
        let call = Call::new(
            &config,
            "post",
            &json!({"path": "/issues", "query": {"dry": true}, "body": {"title": "x"}}),
        )
        .unwrap();
        let req = call.request(&config, Some("s3cret-token"));
        assert_eq!(req.method, "POST");
        assert_eq!(req.url, "http://127.0.0.1:8080/api/issues?dry=true");
        let header = |n: &str| {
            req.headers
                .iter()
                .filter(|(k, _)| k == n)
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(header("accept"), ["application/vnd.github+json"]);
        assert_eq!(header("x-team"), ["core"]);
        assert_eq!(header("authorization"), ["Bearer s3cret-token"]);
        assert_eq!(header("content-type"), ["application/json"]);
        assert_eq!(req.body, br#"{"title":"x"}"#);
    }

    #[test]
    fn get_takes_no_body_and_refuses_unknown_fields() {
        let config = local();
        let err = Call::new(&config, "get", &json!({"path": "/x", "body": 1})).unwrap_err();
        assert!(
            matches!(err, PluginError::InvalidInput(m) if m.contains("unknown field \"body\""))
        );
        let get = Call::new(&config, "get", &json!({"path": "/x"})).unwrap();
        assert!(get.request(&config, None).body.is_empty());
    }

    #[test]
    fn hostile_paths_are_invalid_input_naming_the_field() {
        let config = local();
        for path in [
            "//evil.com/",
            "/@evil.com",
            "https://evil.com/",
            "/a/../../admin",
            "relative",
        ] {
            match Call::new(&config, "get", &json!({ "path": path })) {
                Err(PluginError::InvalidInput(m)) => assert!(m.contains("\"path\""), "{m}"),
                other => panic!("{path}: {other:?}"),
            }
        }
        assert!(
            matches!(Call::new(&config, "get", &json!({})), Err(PluginError::InvalidInput(m)) if m.contains("is required"))
        );
    }

    #[test]
    fn success_returns_status_selected_headers_and_parsed_body() {
        let config = local();
        let call = Call::new(&config, "get", &json!({"path": "/issues/1"})).unwrap();
        let r = response(
            200,
            &[
                ("Content-Type", "application/json"),
                ("Set-Cookie", "a=b"),
                ("ETag", "\"abc\""),
            ],
            r#"{"number": 1}"#,
        );
        let out = call.respond(&r, None).unwrap();
        assert_eq!(
            out,
            json!({"status": 200, "headers": {"content-type": "application/json", "etag": "\"abc\""}, "body": {"number": 1}})
        );
        let text = call
            .respond(&response(200, &[], "plain words"), None)
            .unwrap();
        assert_eq!(text["body"], "plain words");
        assert_eq!(
            call.respond(&response(204, &[], ""), None).unwrap()["body"],
            Value::Null
        );
    }

    #[test]
    fn errors_map_to_not_found_upstream_and_unfollowed_redirects() {
        let config = local();
        let call = Call::new(&config, "get", &json!({"path": "/repos/x"})).unwrap();
        let err = call
            .respond(&response(404, &[], r#"{"message":"Not Found"}"#), None)
            .unwrap_err();
        assert!(
            matches!(&err, PluginError::NotFound(m) if m == "GET /repos/x: 404 Not Found"),
            "{err:?}"
        );
        match call
            .respond(&response(502, &[], "<html>bad gateway</html>"), None)
            .unwrap_err()
        {
            PluginError::Upstream(u) => assert_eq!(
                (u.status, u.message.as_str()),
                (502, "GET /repos/x: 502 <html>bad gateway</html>")
            ),
            other => panic!("{other:?}"),
        }
        match call
            .respond(
                &response(302, &[("Location", "http://169.254.169.254/latest")], ""),
                None,
            )
            .unwrap_err()
        {
            PluginError::Upstream(u) => {
                assert_eq!(u.status, 302);
                assert!(
                    u.message
                        .contains("redirect to http://169.254.169.254/latest not followed"),
                    "{}",
                    u.message
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_echoed_token_is_scrubbed_from_output_and_errors() {
        let config = local();
        let call = Call::new(&config, "get", &json!({"path": "/anything"})).unwrap();
        let out = call
            .respond(
                &response(
                    200,
                    &[],
                    r#"{"headers":{"Authorization":"Bearer s3cret-token"}}"#,
                ),
                Some("s3cret-token"),
            )
            .unwrap();
        assert_eq!(out["body"]["headers"]["Authorization"], "Bearer [redacted]");
        match call
            .respond(
                &response(401, &[], r#"{"message":"bad token s3cret-token"}"#),
                Some("s3cret-token"),
            )
            .unwrap_err()
        {
            PluginError::Upstream(u) => assert!(!u.message.contains("s3cret"), "{}", u.message),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn config_is_checked_field_by_field() {
        let err = |v: Value| match Config::from_json(&v) {
            Err(PluginError::InvalidConfig(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(err(json!({})).contains("\"base-url\": is required"));
        assert!(err(json!({"base-url": "http://a@b.com"})).contains("\"base-url\""));
        assert!(
            err(json!({"base-url": "http://x", "headers": {"Host": "evil"}}))
                .contains("set by the transport")
        );
        assert!(
            err(json!({"base-url": "http://x", "headers": {"X-A": "b\r\nX-Injected: 1"}}))
                .contains("control characters")
        );
        assert!(
            err(json!({"base-url": "http://x", "headers": {"Bad Name": "v"}}))
                .contains("not a valid header name")
        );
        assert!(err(json!({"base-url": "http://x", "headers": {"Authorization": "Basic x"}, "token-secret": "T"})).contains("cannot be combined"));
    }

    #[test]
    fn every_operation_has_an_object_schema_requiring_path() {
        let ops = operations();
        assert_eq!(
            ops.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(),
            ["get", "post", "put", "patch", "delete"]
        );
        for op in &ops {
            let schema: Value = serde_json::from_str(&op.input_schema).unwrap();
            assert_eq!(schema["type"], "object");
            assert_eq!(schema["required"], json!(["path"]));
            assert_eq!(op.read_only, op.name == "get");
        }
    }
}
