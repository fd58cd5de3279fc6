//! `webhook`: a trigger that turns signed webhook deliveries into events.
//!
//! | field | default | meaning |
//! |---|---|---|
//! | `secret` | required | name of a granted secret holding the HMAC key |
//! | `events` | `[]` (all) | event types to accept, or `type.action` kinds (`pull_request.opened`) |
//! | `signature-header` | `x-hub-signature-256` | carries `sha256=<hex HMAC-SHA256 of the raw body>` |
//! | `event-header` | `x-github-event` | the event type (`webhook` when absent) |
//! | `delivery-header` | `x-github-delivery` | the event id (else the hex SHA-256 of the body) |
//!
//! Every delivery is authenticated first, in constant time; a missing or
//! wrong signature is `unauthorized` and starts nothing. A delivery of an
//! unwanted type yields no event. Otherwise the JSON body becomes the
//! payload of one event whose kind is the event type, plus `.action` when
//! the body has an `action` string. A body that is not JSON is
//! `invalid-input`. `poll` emits nothing.

pub mod signature;
pub mod webhook;

use gyre_sdk::json::Value;
use gyre_sdk::trigger::{Event, Firing, PluginError, Trigger, WebhookRequest};

// Never constructed: only its trait impl is exported.
enum Webhook {}

impl Trigger for Webhook {
    type Config = Value;

    fn describe(config: &Value) -> Result<Firing, PluginError> {
        webhook::Config::from_json(config)?;
        Ok(Firing::Webhook)
    }

    fn handle_webhook(config: Value, request: WebhookRequest) -> Result<Vec<Event>, PluginError> {
        let config = webhook::Config::from_json(&config)?;
        let key = gyre_sdk::secrets::require(&config.secret)?;
        webhook::handle(&config, &key, &request)
    }
}

gyre_sdk::export_trigger!(Webhook);
