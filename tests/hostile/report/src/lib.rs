//! What the hostile plugins have in common: how they report what they tried.
//!
//! Every filesystem or socket attack returns `{"ok": <any attempt
//! succeeded>, "attempts": [...]}`, each attempt `{"op", "target", "ok",
//! "error" | "data"}` ([`attempt`], [`report`]). HTTP attacks report each
//! request as `{"url", "ok", "status", "data"} | {"url", "ok", "kind",
//! "error"}` ([`http_get`], [`http_hop`]). The tests in
//! `tests/specs/hostile.rs` read these shapes.
use gyre_sdk::http::{HttpError, Request};
use gyre_sdk::json::{Value, json};
use std::io::Write;
use wasip2::filesystem::preopens::get_directories;
use wasip2::filesystem::types::{Descriptor, ErrorCode};

/// `{"op", "target", "ok": true, "data"}` or `{"op", "target", "ok": false,
/// "error"}`.
pub fn attempt(op: &str, target: &str, result: Result<Value, String>) -> Value {
    match result {
        Ok(data) => json!({"op": op, "target": target, "ok": true, "data": data}),
        Err(error) => json!({"op": op, "target": target, "ok": false, "error": error}),
    }
}

/// Whether any attempt (or HTTP request) succeeded.
pub fn any_ok(attempts: &[Value]) -> bool {
    attempts.iter().any(|a| a["ok"] == true)
}

/// `{"ok": <any attempt succeeded>, "attempts": [...]}`.
pub fn report(attempts: Vec<Value>) -> Value {
    json!({"ok": any_ok(&attempts), "attempts": attempts})
}

/// `Kind: message`, e.g. `NotFound: No such file or directory (os error 44)`.
pub fn io_error(e: std::io::Error) -> String {
    format!("{:?}: {e}", e.kind())
}

/// `wasi error-code <name>`, for the raw `wasi:filesystem` calls.
pub fn wasi_error(e: ErrorCode) -> String {
    format!("wasi error-code {}", e.name())
}

/// The preopened directory the guest sees at `guest`; `hint` says how to
/// grant it.
pub fn preopen(guest: &str, hint: &str) -> Result<Descriptor, String> {
    get_directories()
        .into_iter()
        .find(|(_, path)| path == guest)
        .map(|(d, _)| d)
        .ok_or_else(|| format!("no {guest} preopen ({hint})"))
}

/// The first 256 bytes of the file, as (lossy) text.
pub fn read_head(path: &str) -> Result<Value, String> {
    let bytes = std::fs::read(path).map_err(io_error)?;
    Ok(json!(String::from_utf8_lossy(
        &bytes[..bytes.len().min(256)]
    )))
}

/// Up to 64 names in the directory.
pub fn list(path: &str) -> Result<Value, String> {
    let names: Vec<String> = std::fs::read_dir(path)
        .map_err(io_error)?
        .take(64)
        .map(|e| {
            e.map(|e| e.file_name().to_string_lossy().into_owned())
                .unwrap_or_else(io_error)
        })
        .collect();
    Ok(json!(names))
}

/// `{"len", "is_file"}` of the path (links followed).
pub fn metadata(path: &str) -> Result<Value, String> {
    let m = std::fs::metadata(path).map_err(io_error)?;
    Ok(json!({"len": m.len(), "is_file": m.is_file()}))
}

/// Opens the file for appending and writes `bytes` to it.
pub fn append(path: &str, bytes: &[u8]) -> Result<(), String> {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(io_error)?;
    file.write_all(bytes)
        .map_err(|e| format!("opened for append, then write failed: {}", io_error(e)))
}

/// GETs `url`: `{"url", "ok": true, "status", "data"}` (`data`: the first
/// 256 bytes of the body) or `{"url", "ok": false, "kind", "error"}`.
pub fn http_get(url: &str) -> Value {
    fetch(url, false)
}

/// Like [`http_get`], with `"location"` (before `"data"`): the `Location`
/// header of a 3xx response, else `null`.
pub fn http_hop(url: &str) -> Value {
    fetch(url, true)
}

fn fetch(url: &str, with_location: bool) -> Value {
    let r = match Request::get(url).send() {
        Ok(r) => r,
        Err(e) => return json!({"url": url, "ok": false, "kind": kind(&e), "error": e.to_string()}),
    };
    let mut out = json!({"url": url, "ok": true, "status": r.status});
    if with_location {
        let location = if (300..400).contains(&r.status) {
            r.header("location")
        } else {
            None
        };
        out["location"] = json!(location);
    }
    out["data"] = json!(String::from_utf8_lossy(&r.body[..r.body.len().min(256)]));
    out
}

fn kind(e: &HttpError) -> &'static str {
    match e {
        HttpError::Denied(_) => "denied",
        HttpError::Invalid(_) => "invalid",
        HttpError::Transport(_) => "transport",
    }
}
