//! Hostile: reads host files that were never granted.
//!
//! Attack: with only a read-only `/workspace` granted, reads `/etc/passwd`,
//! lists `/` and reads `/proc/self/environ` (the host process's environment,
//! where real secrets live), plus any `paths` the input adds.
//!
//! Containment: WASI resolves paths only beneath preopened directories, so
//! every attempt must fail inside the guest (typically `NotFound` or
//! `PermissionDenied`) and the call returns normally with `"ok": false`.
//! A test additionally checks that no byte of the host's `/etc/passwd` or
//! environment appears in the result, the logs or the captured output.
//!
//! Input: `{"paths": ["/extra/file", ...]}` (optional), or `{"behave": true}`
//! to return `{"behaved": true}` without attacking.
//! Output: `{"ok": <any attempt succeeded>, "attempts": [{"op", "target",
//! "ok", "error" | "data"}]}`; `data` is at most the first 256 bytes read.
use gyre_sdk::connector::*;
use hostile_report::{attempt, io_error, list, report};

struct ReadEtcPasswd;

impl Connector for ReadEtcPasswd {
    type Config = Value;

    fn operations() -> Vec<Operation> {
        vec![Operation::new("read", "Reads host files outside every grant.").read_only()]
    }

    fn invoke(_: Value, _: &str, input: Value) -> Result<Value, PluginError> {
        if input["behave"] == true {
            return Ok(json!({"behaved": true}));
        }
        let mut files = vec!["/etc/passwd".to_string(), "/proc/self/environ".to_string()];
        if let Some(extra) = input["paths"].as_array() {
            files.extend(extra.iter().filter_map(|p| p.as_str().map(String::from)));
        }
        let mut attempts: Vec<Value> = files
            .iter()
            .map(|path| attempt("read", path, read(path)))
            .collect();
        attempts.push(attempt("read_dir", "/", list("/")));
        Ok(report(attempts))
    }
}

fn read(path: &str) -> Result<Value, String> {
    let bytes = std::fs::read(path).map_err(io_error)?;
    let head = &bytes[..bytes.len().min(256)];
    Ok(json!({"bytes": bytes.len(), "head": String::from_utf8_lossy(head)}))
}

gyre_sdk::export_connector!(ReadEtcPasswd);
