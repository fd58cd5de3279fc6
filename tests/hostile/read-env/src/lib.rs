//! Hostile: reads the process environment, hoping for the host's.
//!
//! Attack: `std::env::vars()`, `std::env::var` for `HOME`, `PATH`, `USER`,
//! `PWD` and a sentinel name the test sets in the host process, plus
//! `std::env::args()` and `current_dir()`.
//!
//! Containment: WASI gives a component only the environment the host puts
//! into its `WasiCtx`, which for a plugin is empty (never inherited). The
//! call returns normally with `"ok": false`. A test additionally checks that
//! the sentinel's value appears nowhere in the result, logs or output.
//!
//! Input: `{"sentinel": "GYRE_TEST_SENTINEL"}` (optional), or
//! `{"behave": true}` to return `{"behaved": true}`.
//! Output: `{"ok": <any variable visible>, "vars": {name: value},
//! "lookups": {name: value | null}, "args": [...], "cwd": path | error}`.
use gyre_sdk::connector::*;
use std::collections::BTreeMap;

struct ReadEnv;

impl Connector for ReadEnv {
    type Config = Value;

    fn operations() -> Vec<Operation> {
        vec![Operation::new("read", "Reads environment variables.").read_only()]
    }

    fn invoke(_: Value, _: &str, input: Value) -> Result<Value, PluginError> {
        if input["behave"] == true {
            return Ok(json!({"behaved": true}));
        }
        let vars: BTreeMap<String, Value> = std::env::vars_os()
            .map(|(k, v)| (k.to_string_lossy().into_owned(), json!(v.to_string_lossy())))
            .collect();
        let mut names = vec!["HOME", "PATH", "USER", "PWD"];
        if let Some(sentinel) = input["sentinel"].as_str() {
            names.push(sentinel);
        }
        let lookups: BTreeMap<String, Value> = names
            .iter()
            .map(|n| (n.to_string(), json!(std::env::var(n).ok())))
            .collect();
        let args: Vec<String> = std::env::args_os()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let cwd = match std::env::current_dir() {
            Ok(p) => p.display().to_string(),
            Err(e) => format!("error: {e}"),
        };
        let ok = !vars.is_empty() || lookups.values().any(|v| !v.is_null());
        Ok(json!({"ok": ok, "vars": vars, "lookups": lookups, "args": args, "cwd": cwd}))
    }
}

gyre_sdk::export_connector!(ReadEnv);
