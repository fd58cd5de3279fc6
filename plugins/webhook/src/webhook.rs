//! Configuration and the handling of one delivery.

use crate::signature::{self, Refusal};
use gyre_sdk::json::{Fields, Value};
use gyre_sdk::trigger::{Event, PluginError, WebhookRequest};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The name of the secret holding the HMAC key.
    pub secret: String,
    /// Event types (or `type.action` kinds) to accept; empty accepts all.
    pub events: Vec<String>,
    pub signature_header: String,
    pub event_header: String,
    pub delivery_header: String,
}

impl Config {
    pub fn from_json(value: &Value) -> Result<Self, PluginError> {
        let f = Fields::config(value)?;
        f.deny_unknown(&[
            "secret",
            "events",
            "signature-header",
            "event-header",
            "delivery-header",
        ])?;
        let secret = f.required("secret", f.str("secret")?)?.to_string();
        if secret.is_empty() {
            return Err(f.error("secret", "must name a secret"));
        }
        let events = f.strings("events")?.unwrap_or_default();
        if events.iter().any(|e| e.trim().is_empty()) {
            return Err(f.error("events", "must not contain empty names"));
        }
        let header = |key: &str, default: &str| -> Result<String, PluginError> {
            let name = f.str(key)?.unwrap_or(default).trim().to_ascii_lowercase();
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(f.error(key, "expected a header name such as x-hub-signature-256"));
            }
            Ok(name)
        };
        Ok(Self {
            secret,
            events,
            signature_header: header("signature-header", "x-hub-signature-256")?,
            event_header: header("event-header", "x-github-event")?,
            delivery_header: header("delivery-header", "x-github-delivery")?,
        })
    }
}

/// The event type when the sender sends no event header.
pub const DEFAULT_EVENT: &str = "webhook";

/// Authenticates `request` with `key` (the secret's value) and turns it
/// into at most one event.
pub fn handle(
    config: &Config,
    key: &str,
    request: &WebhookRequest,
) -> Result<Vec<Event>, PluginError> {
    if key.is_empty() {
        return Err(PluginError::invalid_config(format!(
            "secret {} is empty; an empty HMAC key authenticates nothing",
            config.secret
        )));
    }
    let header = &config.signature_header;
    signature::verify(key.as_bytes(), &request.body, request.header(header)).map_err(
        |refusal| {
            PluginError::unauthorized(match refusal {
                Refusal::Missing => format!("missing {header} header"),
                Refusal::Malformed => {
                    format!("{header} header is malformed: expected sha256=<64 hex digits>")
                }
                Refusal::Mismatch => format!("{header} does not match the request body"),
            })
        },
    )?;

    let event_type = match request.header(&config.event_header).map(str::trim) {
        None | Some("") => DEFAULT_EVENT.to_string(),
        Some(t)
            if t.len() <= 100
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-.:".contains(&b)) =>
        {
            t.to_string()
        }
        Some(_) => {
            return Err(PluginError::invalid_input(format!(
                "header {}: expected an event name of letters, digits, `_`, `-`, `.` or `:`",
                config.event_header
            )));
        }
    };
    let type_wanted = config.events.is_empty()
        || config.events.iter().any(|e| {
            *e == event_type
                || e.strip_prefix(event_type.as_str())
                    .is_some_and(|r| r.starts_with('.'))
        });
    if !type_wanted {
        return Ok(Vec::new());
    }

    let payload: Value = serde_json::from_slice(&request.body).map_err(|e| {
        PluginError::invalid_input(format!(
            "body: expected a JSON document (send the webhook as application/json): {e}"
        ))
    })?;
    let kind = match payload.get("action").and_then(Value::as_str) {
        Some(action) if !action.is_empty() => format!("{event_type}.{action}"),
        _ => event_type.clone(),
    };
    if !config.events.is_empty() && !config.events.iter().any(|e| *e == event_type || *e == kind) {
        return Ok(Vec::new());
    }

    let id = match request.header(&config.delivery_header).map(str::trim) {
        Some(d) if !d.is_empty() && d.len() <= 200 => d.to_string(),
        _ => hex::encode(Sha256::digest(&request.body)),
    };
    Ok(vec![Event {
        id,
        kind,
        payload: payload.to_string(),
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::sign;
    use gyre_sdk::json::json;

    const KEY: &str = "whsec-3f9a1c";

    const PULL_REQUEST: &str = r#"{"action":"opened","number":42,"pull_request":{"title":"Fix the parser","head":{"ref":"fix-parser"}},"repository":{"full_name":"acme/widgets"}}"#;

    fn delivery(event: Option<&str>, body: &str, signature: Option<String>) -> WebhookRequest {
        let mut headers = vec![
            ("content-type".to_string(), "application/json".to_string()),
            (
                "x-github-delivery".to_string(),
                "72d3162e-cc78-11e3-81ab-4c9367dc0958".to_string(),
            ),
        ];
        if let Some(e) = event {
            headers.push(("x-github-event".into(), e.into()));
        }
        if let Some(s) = signature {
            headers.push(("x-hub-signature-256".into(), s));
        }
        WebhookRequest {
            method: "POST".into(),
            path: "/hooks/github".into(),
            headers,
            body: body.as_bytes().to_vec(),
        }
    }

    fn signed(event: &str, body: &str) -> WebhookRequest {
        delivery(
            Some(event),
            body,
            Some(sign(KEY.as_bytes(), body.as_bytes())),
        )
    }

    fn config(value: Value) -> Config {
        Config::from_json(&value).unwrap()
    }

    fn unauthorized_message(result: Result<Vec<Event>, PluginError>) -> String {
        match result {
            Err(PluginError::Unauthorized(m)) => m,
            other => panic!("expected unauthorized, got {other:?}"),
        }
    }

    #[test]
    fn a_signed_delivery_becomes_one_event_with_action_in_its_kind() {
        let events = handle(
            &config(json!({"secret": "WEBHOOK_SECRET"})),
            KEY,
            &signed("pull_request", PULL_REQUEST),
        )
        .unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].id, "72d3162e-cc78-11e3-81ab-4c9367dc0958");
        assert_eq!(events[0].kind, "pull_request.opened");
        let payload: Value = serde_json::from_str(&events[0].payload).unwrap();
        assert_eq!(payload["number"], 42);
    }

    #[test]
    fn missing_or_wrong_signatures_are_unauthorized_without_the_expected_value() {
        let c = config(json!({"secret": "WEBHOOK_SECRET"}));
        let expected = sign(KEY.as_bytes(), PULL_REQUEST.as_bytes());
        let missing =
            unauthorized_message(handle(&c, KEY, &delivery(Some("push"), PULL_REQUEST, None)));
        assert_eq!(missing, "missing x-hub-signature-256 header");
        let forged = sign(b"guess", PULL_REQUEST.as_bytes());
        let wrong = unauthorized_message(handle(
            &c,
            KEY,
            &delivery(Some("push"), PULL_REQUEST, Some(forged)),
        ));
        assert!(
            !wrong.contains(&expected[7..]) && !wrong.contains(KEY),
            "{wrong}"
        );
        let tampered = format!("{PULL_REQUEST} ");
        let sig = Some(expected.clone());
        unauthorized_message(handle(&c, KEY, &delivery(Some("push"), &tampered, sig)));
        let malformed = unauthorized_message(handle(
            &c,
            KEY,
            &delivery(Some("push"), PULL_REQUEST, Some("sha256=abc".into())),
        ));
        assert!(malformed.contains("malformed"), "{malformed}");
    }

    #[test]
    fn signatures_are_checked_before_anything_else() {
        // Even a filtered-out event type needs a valid signature.
        let c = config(json!({"secret": "WEBHOOK_SECRET", "events": ["push"]}));
        unauthorized_message(handle(&c, KEY, &delivery(Some("issues"), "not json", None)));
    }

    #[test]
    fn filtered_out_event_types_yield_no_events() {
        let c = config(json!({"secret": "WEBHOOK_SECRET", "events": ["push", "issues"]}));
        assert!(
            handle(&c, KEY, &signed("pull_request", PULL_REQUEST))
                .unwrap()
                .is_empty()
        );
        // Filtering happens before the body is read: a non-JSON body of an
        // unwanted type is not an error.
        assert!(
            handle(&c, KEY, &signed("ping", "zen=keep it simple"))
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            handle(&c, KEY, &signed("push", r#"{"ref":"refs/heads/main"}"#)).unwrap()[0].kind,
            "push"
        );
    }

    #[test]
    fn filters_may_name_a_type_and_action() {
        let c = config(json!({"secret": "WEBHOOK_SECRET", "events": ["pull_request.opened"]}));
        assert_eq!(
            handle(&c, KEY, &signed("pull_request", PULL_REQUEST))
                .unwrap()
                .len(),
            1
        );
        let closed = PULL_REQUEST.replace("opened", "closed");
        assert!(
            handle(&c, KEY, &signed("pull_request", &closed))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_non_json_body_is_invalid_input() {
        let c = config(json!({"secret": "WEBHOOK_SECRET"}));
        let err = handle(&c, KEY, &signed("push", "payload=%7B%7D")).unwrap_err();
        assert!(matches!(err, PluginError::InvalidInput(m) if m.starts_with("body:")));
    }

    #[test]
    fn without_a_delivery_header_the_id_is_the_body_hash() {
        let c = config(
            json!({"secret": "S", "delivery-header": "x-request-id", "event-header": "x-gitea-event"}),
        );
        let body = r#"{"ref":"refs/heads/main"}"#;
        let mut request = signed("push", body);
        request
            .headers
            .push(("x-gitea-event".into(), "push".into()));
        let events = handle(&c, KEY, &request).unwrap();
        assert_eq!(events[0].id, hex::encode(Sha256::digest(body.as_bytes())));
        assert_eq!(events[0].kind, "push");
    }

    #[test]
    fn an_empty_key_is_refused() {
        let c = config(json!({"secret": "S"}));
        assert!(matches!(
            handle(&c, "", &signed("push", "{}")),
            Err(PluginError::InvalidConfig(_))
        ));
    }

    #[test]
    fn config_requires_a_secret_name() {
        let err = |v: Value| match Config::from_json(&v) {
            Err(PluginError::InvalidConfig(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(err(json!({})).contains("\"secret\": is required"));
        assert!(err(json!({"secret": "S", "events": "push"})).contains("\"events\""));
        assert!(
            err(json!({"secret": "S", "signature-header": "x sig"}))
                .contains("\"signature-header\"")
        );
        assert_eq!(
            config(json!({"secret": "S", "signature-header": "X-Signature"})).signature_header,
            "x-signature"
        );
    }
}
