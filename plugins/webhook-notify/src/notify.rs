//! Configuration, the `notify` operation, the message it posts and how the
//! webhook's answer becomes the output or an error.
//!
//! A webhook URL from a secret is a credential: it never appears in an
//! error. Errors say "the webhook URL from secret NAME" instead, and
//! transport messages are scrubbed of the URL and its path.

use gyre_sdk::PluginError;
use gyre_sdk::connector::Operation;
use gyre_sdk::http::excerpt;
use gyre_sdk::http::{HttpError, Request, Response};
use gyre_sdk::json::{Fields, Value, json};

/// Where the webhook URL comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The name of a granted secret holding the URL.
    Secret(String),
    /// A plain URL, for local receivers.
    Plain(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub source: Source,
}

impl Config {
    pub fn from_json(value: &Value) -> Result<Self, PluginError> {
        let f = Fields::config(value)?;
        f.deny_unknown(&["url-secret", "url"])?;
        let source = match (f.str("url-secret")?, f.str("url")?) {
            (Some(name), None) if !name.is_empty() => Source::Secret(name.to_string()),
            (None, Some(url)) => {
                check_url(url).map_err(|why| f.error("url", why))?;
                Source::Plain(url.to_string())
            }
            (Some(_), None) => return Err(f.error("url-secret", "must name a secret")),
            (Some(_), Some(_)) => {
                return Err(PluginError::invalid_config(
                    "config: set exactly one of `url-secret` and `url`, not both",
                ));
            }
            (None, None) => {
                return Err(PluginError::invalid_config(
                    "config: set `url-secret` (the name of a secret holding the webhook URL) or `url`",
                ));
            }
        };
        Ok(Self { source })
    }

    /// How errors refer to the webhook.
    pub fn target(&self) -> String {
        match &self.source {
            Source::Secret(name) => format!("the webhook URL from secret {name}"),
            Source::Plain(url) => format!("webhook {url}"),
        }
    }

    /// The URL to post to, given the secret's value when there is one.
    pub fn url(&self, secret_value: Option<&str>) -> Result<String, PluginError> {
        match (&self.source, secret_value) {
            (Source::Plain(url), _) => Ok(url.clone()),
            (Source::Secret(_), Some(value)) => {
                let value = value.trim();
                // The reason may quote the URL: keep it to ourselves.
                check_url(value).map_err(|_| {
                    PluginError::invalid_config(format!(
                        "{} is not an http(s) URL with a host and no spaces",
                        self.target()
                    ))
                })?;
                Ok(value.to_string())
            }
            (Source::Secret(name), None) => Err(PluginError::denied(format!(
                "secret {name} was not provided"
            ))),
        }
    }
}

/// An http(s) URL with a host and no credentials, spaces or control
/// characters.
fn check_url(url: &str) -> Result<(), String> {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces or control characters".into());
    }
    let (scheme, rest) = url
        .split_once("://")
        .ok_or("expected an http:// or https:// URL")?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(format!(
            "scheme {scheme:?} is not supported; use http or https"
        ));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() || authority.starts_with(':') {
        return Err("has no host".into());
    }
    if authority.contains(['@', '\\']) || rest.contains('\\') {
        return Err("must not contain credentials (`@`) or backslashes".into());
    }
    Ok(())
}

pub fn operations() -> Vec<Operation> {
    vec![
        Operation::new(
            "notify",
            "Post a message to the configured Slack-compatible incoming webhook. Returns {delivered, status}.",
        )
        .schema(json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "text": {"type": "string", "minLength": 1, "description": "The message (Slack mrkdwn); also the fallback when blocks are given."},
                "blocks": {"type": "array", "items": {"type": "object"}, "description": "Slack Block Kit blocks."},
                "username": {"type": "string", "description": "Display name override, where the webhook allows it."},
                "icon_emoji": {"type": "string", "pattern": "^:[^:\\s]+:$", "description": "Icon override, e.g. :robot_face:."},
                "channel": {"type": "string", "description": "Channel override, where the webhook allows it."},
                "idempotency-key": {"type": "string", "maxLength": 255, "description": "Sent as the Idempotency-Key header, so a re-sent message can be dropped by the receiver."}
            },
            "required": ["text"],
            "additionalProperties": false
        })),
    ]
}

/// The JSON message for a `notify` input.
pub fn message(input: &Value) -> Result<Value, PluginError> {
    let f = Fields::input(input)?;
    f.deny_unknown(&[
        "text",
        "blocks",
        "username",
        "icon_emoji",
        "channel",
        "idempotency-key",
    ])?;
    let text = f.required("text", f.str("text")?)?;
    if text.trim().is_empty() {
        return Err(f.error("text", "must not be empty"));
    }
    let mut message = json!({ "text": text });
    if let Some(blocks) = f.array("blocks")? {
        if let Some(i) = blocks.iter().position(|b| !b.is_object()) {
            return Err(f.error("blocks", format!("item {i} is not an object")));
        }
        message["blocks"] = Value::Array(blocks.clone());
    }
    for key in ["username", "icon_emoji", "channel"] {
        if let Some(value) = f.str(key)? {
            message[key] = Value::String(value.to_string());
        }
    }
    Ok(message)
}

/// The input's `idempotency-key`: printable ASCII, at most 255 bytes, as a
/// header value must be.
pub fn idempotency_key(input: &Value) -> Result<Option<&str>, PluginError> {
    let f = Fields::input(input)?;
    let Some(key) = f.str("idempotency-key")? else {
        return Ok(None);
    };
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| (0x21..0x7f).contains(&b)) {
        return Err(f.error(
            "idempotency-key",
            "must be 1 to 255 printable ASCII characters without spaces",
        ));
    }
    Ok(Some(key))
}

pub fn request(url: &str, message: &Value, idempotency_key: Option<&str>) -> Request {
    let request = Request::post(url).header(
        "user-agent",
        concat!("gyre-webhook-notify/", env!("CARGO_PKG_VERSION")),
    );
    match idempotency_key {
        Some(key) => request.header("idempotency-key", key),
        None => request,
    }
    .json(message)
}

/// `{delivered: true, status}` for a 2xx answer, else the error.
pub fn respond(config: &Config, url: &str, response: &Response) -> Result<Value, PluginError> {
    let status = response.status;
    let target = config.target();
    let body = scrub(config, url, &excerpt(response.text().trim(), 200));
    match status {
        200..=299 => Ok(json!({ "delivered": true, "status": status })),
        300..=399 => {
            // A redirect target may carry the secret path along: only name
            // it for a plain URL.
            let location = match (&config.source, response.header("location")) {
                (Source::Plain(_), Some(location)) => format!(" to {}", excerpt(location, 300)),
                _ => String::new(),
            };
            Err(PluginError::upstream(
                status,
                format!("{target} answered {status}: redirect{location} not followed"),
            ))
        }
        404 => Err(PluginError::not_found(format!(
            "{target} was not found (404 {body})"
        ))),
        _ => Err(PluginError::upstream(
            status,
            format!("{target} answered {status}: {body}"),
        )),
    }
}

/// A transport failure, told without the URL.
pub fn transport_error(config: &Config, url: &str, error: HttpError) -> PluginError {
    let target = config.target();
    match error {
        HttpError::Denied(m) => {
            PluginError::denied(format!("{target}: {}", scrub(config, url, &m)))
        }
        HttpError::Invalid(_) => {
            PluginError::invalid_config(format!("{target} was rejected by the HTTP client"))
        }
        HttpError::Transport(m) => {
            PluginError::upstream(502, format!("{target}: {}", scrub(config, url, &m)))
        }
    }
}

/// Removes the secret URL, and its path (the secret part of a Slack
/// webhook), from `text`.
fn scrub(config: &Config, url: &str, text: &str) -> String {
    if !matches!(config.source, Source::Secret(_)) {
        return text.to_string();
    }
    let mut out = text.replace(url, "[redacted]");
    if let Some((_, rest)) = url.split_once("://")
        && let Some(i) = rest.find('/')
    {
        let path = &rest[i..];
        if path.len() > 1 {
            out = out.replace(path, "[redacted]");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET_URL: &str =
        "https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX";

    fn secret_config() -> Config {
        Config::from_json(&json!({"url-secret": "SLACK_WEBHOOK_URL"})).unwrap()
    }

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
        Response::new(status, headers, body.as_bytes())
    }

    fn message_of(err: &PluginError) -> String {
        match err {
            PluginError::InvalidConfig(m)
            | PluginError::InvalidInput(m)
            | PluginError::NotFound(m)
            | PluginError::Denied(m)
            | PluginError::Unauthorized(m)
            | PluginError::Internal(m) => m.clone(),
            PluginError::Upstream(u) => u.message.clone(),
        }
    }

    #[test]
    fn config_needs_exactly_one_url_source() {
        assert_eq!(
            secret_config().source,
            Source::Secret("SLACK_WEBHOOK_URL".into())
        );
        let plain = Config::from_json(&json!({"url": "http://127.0.0.1:9000/hook"})).unwrap();
        assert_eq!(
            plain.source,
            Source::Plain("http://127.0.0.1:9000/hook".into())
        );
        for bad in [
            json!({}),
            json!({"url": "http://x/h", "url-secret": "S"}),
            json!({"url": "ftp://x"}),
            json!({"url-secret": ""}),
            json!({"uri": "http://x"}),
        ] {
            assert!(
                matches!(Config::from_json(&bad), Err(PluginError::InvalidConfig(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn posts_text_and_the_optional_fields_as_json() {
        let input = json!({"text": "Loop *green* :tada:", "username": "gyre", "icon_emoji": ":robot_face:", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]});
        let message = message(&input).unwrap();
        assert_eq!(message["text"], "Loop *green* :tada:");
        assert_eq!(message["username"], "gyre");
        assert_eq!(message["blocks"][0]["type"], "section");
        assert!(message.get("channel").is_none());
        let req = request(SECRET_URL, &message, None);
        assert_eq!(req.method, "POST");
        assert!(!req.headers.iter().any(|(k, _)| k == "idempotency-key"));
        assert!(
            req.headers
                .iter()
                .any(|(k, v)| k == "content-type" && v == "application/json")
        );
        assert_eq!(serde_json_from(&req.body), message);
    }

    #[test]
    fn an_idempotency_key_goes_in_a_header_not_the_message() {
        let input = json!({"text": "shipped", "idempotency-key": "gyre-0123abcd"});
        let message = message(&input).unwrap();
        assert!(message.get("idempotency-key").is_none());
        let key = idempotency_key(&input).unwrap();
        assert_eq!(key, Some("gyre-0123abcd"));
        let req = request(SECRET_URL, &message, key);
        assert!(
            req.headers
                .iter()
                .any(|(k, v)| k == "idempotency-key" && v == "gyre-0123abcd")
        );
        for bad in ["", "has space", "new\nline", &"k".repeat(256)] {
            let input = json!({"text": "x", "idempotency-key": bad});
            assert!(
                matches!(idempotency_key(&input), Err(PluginError::InvalidInput(_))),
                "{bad:?}"
            );
        }
    }

    fn serde_json_from(bytes: &[u8]) -> Value {
        gyre_sdk::json::input(std::str::from_utf8(bytes).unwrap()).unwrap()
    }

    #[test]
    fn text_is_required_and_unknown_fields_are_refused() {
        for bad in [
            json!({}),
            json!({"text": "  "}),
            json!({"text": 5}),
            json!({"text": "x", "blocks": ["a"]}),
            json!({"text": "x", "attachments": []}),
        ] {
            assert!(
                matches!(message(&bad), Err(PluginError::InvalidInput(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn delivery_reports_the_status() {
        let out = respond(&secret_config(), SECRET_URL, &response(200, &[], "ok")).unwrap();
        assert_eq!(out, json!({"delivered": true, "status": 200}));
    }

    #[test]
    fn errors_never_echo_a_secret_url() {
        let config = secret_config();
        let cases = [
            respond(&config, SECRET_URL, &response(404, &[], "no_service")).unwrap_err(),
            respond(
                &config,
                SECRET_URL,
                &response(400, &[], &format!("invalid_payload for {SECRET_URL}")),
            )
            .unwrap_err(),
            respond(
                &config,
                SECRET_URL,
                &response(302, &[("location", &format!("{SECRET_URL}/x"))], ""),
            )
            .unwrap_err(),
            transport_error(
                &config,
                SECRET_URL,
                HttpError::Invalid(format!("authority rejected: {SECRET_URL}")),
            ),
            transport_error(
                &config,
                SECRET_URL,
                HttpError::Transport(
                    "connection to /services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX reset".into(),
                ),
            ),
            transport_error(
                &config,
                SECRET_URL,
                HttpError::Denied("outbound request not allowed".into()),
            ),
            config
                .url(Some("hooks.slack.com/services/T0000/B0000/XXXX"))
                .unwrap_err(),
        ];
        for err in &cases {
            let m = message_of(err);
            assert!(
                !m.contains("T0000") && !m.contains("XXXX"),
                "leaks the URL: {m}"
            );
            assert!(
                m.contains("the webhook URL from secret SLACK_WEBHOOK_URL"),
                "{m}"
            );
        }
        assert!(matches!(&cases[0], PluginError::NotFound(_)));
        assert!(matches!(&cases[1], PluginError::Upstream(u) if u.status == 400));
        assert!(
            matches!(&cases[2], PluginError::Upstream(u) if u.status == 302 && u.message.contains("not followed"))
        );
        assert!(matches!(&cases[5], PluginError::Denied(_)));
    }

    #[test]
    fn a_plain_url_may_be_named_in_errors() {
        let config = Config::from_json(&json!({"url": "http://127.0.0.1:9000/hook"})).unwrap();
        let err = respond(
            &config,
            "http://127.0.0.1:9000/hook",
            &response(301, &[("location", "https://elsewhere/")], ""),
        )
        .unwrap_err();
        assert!(
            message_of(&err).contains("redirect to https://elsewhere/ not followed"),
            "{err:?}"
        );
    }

    #[test]
    fn the_operation_schema_requires_text() {
        let ops = operations();
        assert_eq!(ops.len(), 1);
        assert!(!ops[0].read_only);
        let schema = serde_json_from(ops[0].input_schema.as_bytes());
        assert_eq!(schema["required"], json!(["text"]));
    }
}
