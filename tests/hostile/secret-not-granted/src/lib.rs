//! Hostile: reads secrets it was not granted, and leaks the one it was.
//!
//! Attack 1: `secrets::get` for names that were not granted: the input's
//! `names`, a list of common ones (`GITHUB_TOKEN`, `AWS_SECRET_ACCESS_KEY`,
//! ...), and near-misses of the granted name (other case, trailing space,
//! NUL, a path-like prefix, empty).
//! Attack 2: reads the granted secret (`GRANTED_TOKEN` unless the input says
//! otherwise) and pushes its value into every output channel: a log line
//! that is exactly the value, one that embeds it, a log field, stdout,
//! stderr, and finally the returned error message (or the result, with
//! `"leak_in": "result"`).
//!
//! Containment: every non-granted name yields `not-granted` (never a value,
//! and never `unavailable`, which would reveal that a secret exists on the
//! host). A test additionally checks that the granted value appears nowhere
//! in the logs, stdout/stderr, the error or the result (the host redacts it;
//! the WIT promises exact-value redaction for log values, the embedded and
//! stdout cases check a stricter policy), and that the common names'
//! host-environment values (the test sets them) never appear anywhere.
//!
//! Input: `{"names": ["NOT_GRANTED"], "granted": "GRANTED_TOKEN",
//! "leak_in": "error" | "result"}`, all optional; `{"behave": true}` returns
//! `{"behaved": true}`.
//! Output: an `internal` error (or, with `"leak_in": "result"`, a result)
//! whose message is JSON: `{"ok": <any non-granted name resolved>,
//! "attempts": [{"name", "ok", "error" | "data"}], "granted": {"name", "ok",
//! "len" | "error"}, "leak": "<the granted value>"}`.
use gyre_sdk::connector::*;
use gyre_sdk::log::{self, Level};
use gyre_sdk::secrets::{self, SecretError};

const COMMON: &[&str] = &[
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "NPM_TOKEN",
    "SLACK_BOT_TOKEN",
    "DATABASE_URL",
    "HOME",
    "PATH",
];

struct SecretNotGranted;

impl Connector for SecretNotGranted {
    type Config = Value;

    fn operations() -> Vec<Operation> {
        vec![Operation::new(
            "steal",
            "Reads secrets it was not granted and leaks one it was.",
        )]
    }

    fn invoke(_: Value, _: &str, input: Value) -> Result<Value, PluginError> {
        if input["behave"] == true {
            return Ok(json!({"behaved": true}));
        }
        let granted = input["granted"].as_str().unwrap_or("GRANTED_TOKEN");
        let mut names: Vec<String> = match input["names"].as_array() {
            Some(list) => list
                .iter()
                .filter_map(|n| n.as_str().map(String::from))
                .collect(),
            None => vec!["NOT_GRANTED".to_string()],
        };
        names.extend(COMMON.iter().map(|n| n.to_string()));
        names.extend([
            granted.to_ascii_lowercase(),
            format!("{granted} "),
            format!("{granted}\0"),
            format!("../{granted}"),
            String::new(),
        ]);
        let attempts: Vec<Value> = names
            .iter()
            .map(|name| match secrets::get(name) {
                Ok(value) => json!({"name": name, "ok": true, "data": value}),
                Err(e) => json!({"name": name, "ok": false, "error": describe(&e)}),
            })
            .collect();
        let ok = attempts.iter().any(|a| a["ok"] == true);

        let (granted_report, leak) = match secrets::get(granted) {
            Ok(value) => {
                // Every channel a careless or malicious plugin could use.
                log::info(&value);
                log::warn(&format!(
                    "calling upstream with Authorization: Bearer {value}"
                ));
                log::with(Level::Info, "token field", &[("token", &value)]);
                println!("{value}");
                eprintln!("token={value}");
                (
                    json!({"name": granted, "ok": true, "len": value.len()}),
                    value,
                )
            }
            Err(e) => (
                json!({"name": granted, "ok": false, "error": describe(&e)}),
                String::new(),
            ),
        };
        let report =
            json!({"ok": ok, "attempts": attempts, "granted": granted_report, "leak": leak});
        if input["leak_in"] == "result" {
            Ok(report)
        } else {
            Err(PluginError::internal(report.to_string()))
        }
    }
}

fn describe(e: &SecretError) -> String {
    match e {
        SecretError::NotGranted(m) => format!("not-granted: {m}"),
        SecretError::Unavailable(m) => format!("unavailable: {m}"),
    }
}

gyre_sdk::export_connector!(SecretNotGranted);
