//! Hostile: follows symlinks inside a granted directory to files outside it.
//!
//! Attack: with `/data` granted read-write, the test plants symlinks inside
//! the host directory that point outside it (e.g. `escape -> /tmp/x/outside.txt`
//! and `escape-dir -> /tmp/x/`). The plugin reads through each file link,
//! stats it, appends a marker through it, and does the same with the raw
//! `open-at` (following and not following links). Through each directory
//! link it lists the target and tries to create `gyre-planted.txt`. Finally
//! it plants its own links, one absolute (`-> /etc/passwd`) and one relative
//! (`-> ../outside.txt`), and reads through them.
//!
//! Containment: the host resolves symlinks itself, beneath the preopen, and
//! refuses any that lead out (absolute targets always). Every attempt fails
//! inside the guest and the call returns normally with `"ok": false`. A test
//! additionally checks that the outside file is byte-for-byte unchanged, that
//! no `gyre-planted.txt` appeared outside, and that the outside content is
//! not in the result. Creating a link, or reading one's target text, is not
//! an escape: those are reported under `notes`.
//!
//! Input: `{"links": ["escape"], "dir_links": ["escape-dir"]}` (names inside
//! /data; these are the defaults), or `{"behave": true}` to return
//! `{"behaved": true}`.
//! Output: `{"ok": <any escape succeeded>, "attempts": [...], "notes": [...]}`,
//! each entry `{"op", "target", "ok", "error" | "data"}`.
use gyre_sdk::connector::*;
use hostile_report::{any_ok, attempt, io_error, list, metadata, preopen, read_head, wasi_error};
use wasip2::filesystem::types::{Descriptor, DescriptorFlags, OpenFlags, PathFlags};

const MARKER: &[u8] = b"gyre-hostile-symlink-escape-marker\n";

struct SymlinkEscape;

impl Connector for SymlinkEscape {
    type Config = Value;

    fn operations() -> Vec<Operation> {
        vec![Operation::new(
            "follow",
            "Reads and writes through symlinks in /data.",
        )]
    }

    fn invoke(_: Value, _: &str, input: Value) -> Result<Value, PluginError> {
        if input["behave"] == true {
            return Ok(json!({"behaved": true}));
        }
        let names = |key: &str, default: &str| -> Vec<String> {
            match input[key].as_array() {
                Some(list) => list
                    .iter()
                    .filter_map(|n| n.as_str().map(String::from))
                    .collect(),
                None => vec![default.to_string()],
            }
        };
        let mut attempts = Vec::new();
        let mut notes = Vec::new();
        for name in names("links", "escape") {
            let path = format!("/data/{name}");
            notes.push(attempt("read_link", &path, read_link(&path)));
            attempts.push(attempt("read", &path, read_head(&path)));
            attempts.push(attempt("metadata", &path, metadata(&path)));
            attempts.push(attempt("append", &path, append(&path)));
            attempts.push(attempt(
                "wasi open-at follow, read",
                &name,
                raw_open(&name, true, false),
            ));
            attempts.push(attempt(
                "wasi open-at follow, write",
                &name,
                raw_open(&name, true, true),
            ));
            attempts.push(attempt(
                "wasi open-at nofollow, read",
                &name,
                raw_open(&name, false, false),
            ));
        }
        for name in names("dir_links", "escape-dir") {
            let dir = format!("/data/{name}");
            attempts.push(attempt("read_dir", &dir, list(&dir)));
            let planted = format!("{dir}/gyre-planted.txt");
            attempts.push(attempt("create", &planted, create(&planted)));
        }
        // Links the plugin makes itself: creating them may be allowed (a
        // link is only text), following them out must not be.
        for (target, link) in [
            ("/etc/passwd", "/data/gyre-own-abs-link"),
            ("../outside.txt", "/data/gyre-own-rel-link"),
        ] {
            notes.push(attempt(
                "symlink",
                &format!("{link} -> {target}"),
                symlink(target, link),
            ));
            attempts.push(attempt("read", link, read_head(link)));
        }
        let ok = any_ok(&attempts);
        Ok(json!({"ok": ok, "attempts": attempts, "notes": notes}))
    }
}

fn read_link(path: &str) -> Result<Value, String> {
    Ok(json!(
        std::fs::read_link(path)
            .map_err(io_error)?
            .display()
            .to_string()
    ))
}

fn append(path: &str) -> Result<Value, String> {
    hostile_report::append(path, MARKER)?;
    Ok(json!(format!("appended {} bytes", MARKER.len())))
}

fn create(path: &str) -> Result<Value, String> {
    std::fs::write(path, MARKER).map_err(io_error)?;
    Ok(json!("created"))
}

/// `symlink-at` on the `/data` descriptor (std's wrapper is unstable).
fn symlink(target: &str, link: &str) -> Result<Value, String> {
    let name = link.strip_prefix("/data/").unwrap_or(link);
    data_dir()?.symlink_at(target, name).map_err(wasi_error)?;
    Ok(json!("created"))
}

fn data_dir() -> Result<Descriptor, String> {
    preopen("/data", "grant it read-write at /data")
}

/// `open-at` on the `/data` descriptor itself, following links or not,
/// then one read or one write of the marker.
fn raw_open(name: &str, follow: bool, write: bool) -> Result<Value, String> {
    let dir = data_dir()?;
    let path_flags = if follow {
        PathFlags::SYMLINK_FOLLOW
    } else {
        PathFlags::empty()
    };
    let flags = if write {
        DescriptorFlags::WRITE
    } else {
        DescriptorFlags::READ
    };
    let file = dir
        .open_at(path_flags, name, OpenFlags::empty(), flags)
        .map_err(wasi_error)?;
    if write {
        let stat = file
            .stat()
            .map_err(|e| format!("opened, then stat failed: {}", wasi_error(e)))?;
        let n = file
            .write(MARKER, stat.size)
            .map_err(|e| format!("opened, then write failed: {}", wasi_error(e)))?;
        Ok(json!(format!("wrote {n} bytes")))
    } else {
        let (bytes, _) = file
            .read(256, 0)
            .map_err(|e| format!("opened, then read failed: {}", wasi_error(e)))?;
        Ok(json!(String::from_utf8_lossy(&bytes)))
    }
}

gyre_sdk::export_connector!(SymlinkEscape);
