//! Hostile: climbs out of a granted directory with `..`.
//!
//! Attack: with `/data` granted read-only (the test puts `inside.txt` and an
//! empty `sub/` in it, and `outside.txt` next to it on the host), reads
//! `/data/../outside.txt`, `/data/../../etc/passwd`,
//! `/data/sub/../../outside.txt` and spelling variants (`./`, `//`, many
//! `..`), lists `/data/..`, stats `/data/../outside.txt` (existence is a leak
//! too) and asks `canonicalize` for the real path. Then it repeats the
//! escape on the raw `wasi:filesystem` API, handing `../outside.txt`,
//! `sub/../../outside.txt`, `..` and the absolute `/etc/passwd` to `open-at`
//! on the preopened descriptor itself, so the host sees the `..` and not
//! wasi-libc's view of it.
//!
//! Containment: the host resolves every path beneath the preopen and refuses
//! anything that leaves it (`NotPermitted`/`PermissionDenied`/`NotFound`);
//! the call returns normally with `"ok": false`. A test additionally checks
//! that the content of `outside.txt` appears nowhere in the result.
//!
//! Input: `{"paths": [...]}` adds paths to read; `{"behave": true, "path":
//! "/data/inside.txt"}` only reads that granted file (default shown) and
//! returns `{"behaved": true, "read": {attempt}}`, so a test sees the grant
//! itself still works.
//! Output: `{"ok": <any escape succeeded>, "attempts": [{"op", "target",
//! "ok", "error" | "data"}]}`.
use gyre_sdk::connector::*;
use hostile_report::{attempt, io_error, list, metadata, preopen, read_head, report, wasi_error};
use wasip2::filesystem::types::{Descriptor, DescriptorFlags, OpenFlags, PathFlags};

const ESCAPES: &[&str] = &[
    "/data/../outside.txt",
    "/data/../../etc/passwd",
    "/data/sub/../../outside.txt",
    "/data/./../outside.txt",
    "/data//../outside.txt",
    "/data/sub/./../../outside.txt",
    "/data/sub/../../../../../../../../etc/passwd",
    "/data/..//outside.txt",
];

/// Paths handed to `open-at` on the `/data` descriptor as they are.
const RAW_ESCAPES: &[&str] = &[
    "../outside.txt",
    "sub/../../outside.txt",
    "/etc/passwd",
    "..",
    "./../outside.txt",
];

struct DotDot;

impl Connector for DotDot {
    type Config = Value;

    fn operations() -> Vec<Operation> {
        vec![Operation::new("read", "Reads files through `..` paths.").read_only()]
    }

    fn invoke(_: Value, _: &str, input: Value) -> Result<Value, PluginError> {
        if input["behave"] == true {
            let path = input["path"].as_str().unwrap_or("/data/inside.txt");
            return Ok(json!({"behaved": true, "read": attempt("read", path, read_head(path))}));
        }
        let mut paths: Vec<String> = ESCAPES.iter().map(|p| p.to_string()).collect();
        if let Some(extra) = input["paths"].as_array() {
            paths.extend(extra.iter().filter_map(|p| p.as_str().map(String::from)));
        }
        let mut attempts: Vec<Value> = paths
            .iter()
            .map(|p| attempt("read", p, read_head(p)))
            .collect();
        attempts.push(attempt("read_dir", "/data/..", list("/data/..")));
        attempts.push(attempt(
            "metadata",
            "/data/../outside.txt",
            metadata("/data/../outside.txt"),
        ));
        attempts.push(attempt(
            "canonicalize",
            "/data/../outside.txt",
            canonicalize("/data/../outside.txt"),
        ));
        for path in RAW_ESCAPES {
            attempts.push(attempt("wasi open-at on /data", path, raw_read(path)));
            attempts.push(attempt("wasi stat-at on /data", path, raw_stat(path)));
        }
        Ok(report(attempts))
    }
}

fn canonicalize(path: &str) -> Result<Value, String> {
    let real = std::fs::canonicalize(path).map_err(io_error)?;
    Ok(json!(real.display().to_string()))
}

/// Opens `path` relative to the `/data` preopen with the raw WASI call.
fn raw_read(path: &str) -> Result<Value, String> {
    let dir = data_dir()?;
    let file = dir
        .open_at(
            PathFlags::SYMLINK_FOLLOW,
            path,
            OpenFlags::empty(),
            DescriptorFlags::READ,
        )
        .map_err(wasi_error)?;
    let (bytes, _eof) = file
        .read(256, 0)
        .map_err(|e| format!("opened, then read failed: {}", wasi_error(e)))?;
    Ok(json!(String::from_utf8_lossy(&bytes)))
}

fn raw_stat(path: &str) -> Result<Value, String> {
    let stat = data_dir()?
        .stat_at(PathFlags::SYMLINK_FOLLOW, path)
        .map_err(wasi_error)?;
    Ok(json!({"type": format!("{:?}", stat.type_), "size": stat.size}))
}

fn data_dir() -> Result<Descriptor, String> {
    preopen("/data", "grant it read-only at /data")
}

gyre_sdk::export_connector!(DotDot);
