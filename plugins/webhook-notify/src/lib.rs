//! `webhook-notify`: a connector that posts a message to a Slack-compatible
//! incoming webhook.
//!
//! | field | meaning |
//! |---|---|
//! | `url-secret` | name of a granted secret holding the webhook URL (the normal way: Slack webhook URLs are credentials) |
//! | `url` | a plain webhook URL, for local receivers |
//!
//! Exactly one of them. Operation `notify` takes `{text, blocks?, username?,
//! icon_emoji?, channel?, idempotency-key?}`, POSTs it as JSON (the key goes
//! in an `Idempotency-Key` header, so a receiver can drop a re-sent message) and returns `{delivered: true,
//! status}`. 404 is `not-found`, other non-2xx answers are `upstream`
//! errors, redirects are not followed, a refused origin is `denied`. A URL
//! from a secret never appears in an error or a log line.
//!
//! The manifest asks for `https://hooks.slack.com`, `http://127.0.0.1:*`
//! and `http://localhost:*`; the user's grant decides which is reachable.

pub mod notify;

use gyre_sdk::connector::{Connector, Operation, PluginError, Value};
use notify::Source;

// Never constructed: only its trait impl is exported.
enum WebhookNotify {}

impl Connector for WebhookNotify {
    type Config = Value;

    fn operations() -> Vec<Operation> {
        notify::operations()
    }

    fn invoke(config: Value, _operation: &str, input: Value) -> Result<Value, PluginError> {
        let config = notify::Config::from_json(&config)?;
        let message = notify::message(&input)?;
        let secret = match &config.source {
            Source::Secret(name) => Some(gyre_sdk::secrets::require(name)?),
            Source::Plain(_) => None,
        };
        let url = config.url(secret.as_deref())?;
        let response = notify::request(&url, &message, notify::idempotency_key(&input)?)
            .send()
            .map_err(|e| notify::transport_error(&config, &url, e))?;
        notify::respond(&config, &url, &response)
    }
}

gyre_sdk::export_connector!(WebhookNotify);
