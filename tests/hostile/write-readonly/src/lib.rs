//! Hostile: writes to a directory granted read-only.
//!
//! Attack: with `/data` granted read-only (the test puts `existing.txt` and
//! an empty `sub/` in it), the plugin tries every kind of mutation: create a
//! file, overwrite, append, open for writing, `set_len` and `set_modified` on
//! a file opened read-only, delete, rename, hard-link, `mkdir`, `rmdir`, and
//! on the raw `wasi:filesystem` API `open-at` with `write`, `symlink-at`,
//! and `open-at(".")` asking for a `mutate-directory` descriptor of the
//! grant itself, then creating through it. (wasmtime 48 hands out that
//! descriptor; what matters is that creating through it still fails.)
//!
//! Containment: each attempt fails inside the guest (`ReadOnlyFilesystem`,
//! `PermissionDenied`, `NotPermitted` or similar) and the call returns
//! normally with `"ok": false`. A test additionally checks that the host
//! directory is unchanged: same names, same bytes, same mtime of
//! `existing.txt`.
//!
//! Input: `{"existing": "existing.txt", "subdir": "sub"}` (names inside
//! /data; these are the defaults), or `{"behave": true}` to only read
//! `/data/<existing>` and return `{"behaved": true, "read": {attempt}}`.
//! Output: `{"ok": <any mutation succeeded>, "attempts": [{"op", "target",
//! "ok", "error" | "data"}]}`.
use gyre_sdk::connector::*;
use hostile_report::{attempt, io_error, preopen, report, wasi_error};
use std::fs::{self, File, OpenOptions};
use wasip2::filesystem::types::{Descriptor, DescriptorFlags, OpenFlags, PathFlags};

const MARKER: &[u8] = b"gyre-hostile-write-readonly-marker\n";

struct WriteReadonly;

impl Connector for WriteReadonly {
    type Config = Value;

    fn operations() -> Vec<Operation> {
        vec![Operation::new(
            "mutate",
            "Tries to change a read-only directory.",
        )]
    }

    fn invoke(_: Value, _: &str, input: Value) -> Result<Value, PluginError> {
        let name = input["existing"].as_str().unwrap_or("existing.txt");
        let existing = format!("/data/{name}");
        if input["behave"] == true {
            let read = fs::read(&existing)
                .map(|b| json!(String::from_utf8_lossy(&b)))
                .map_err(io_error);
            return Ok(json!({"behaved": true, "read": attempt("read", &existing, read)}));
        }
        let subdir = format!("/data/{}", input["subdir"].as_str().unwrap_or("sub"));
        let attempts = vec![
            attempt(
                "create",
                "/data/gyre-new.txt",
                done(File::create("/data/gyre-new.txt")),
            ),
            attempt("overwrite", &existing, done(fs::write(&existing, MARKER))),
            attempt("append", &existing, append(&existing)),
            attempt(
                "open for write",
                &existing,
                done(OpenOptions::new().write(true).open(&existing)),
            ),
            attempt(
                "set_len(0) on a read-only handle",
                &existing,
                done(File::open(&existing).and_then(|f| f.set_len(0))),
            ),
            attempt(
                "set_modified on a read-only handle",
                &existing,
                done(File::open(&existing).and_then(|f| f.set_modified(std::time::UNIX_EPOCH))),
            ),
            attempt("remove_file", &existing, done(fs::remove_file(&existing))),
            attempt(
                "rename",
                &existing,
                done(fs::rename(&existing, "/data/gyre-renamed.txt")),
            ),
            attempt(
                "hard_link",
                &existing,
                done(fs::hard_link(&existing, "/data/gyre-hardlink.txt")),
            ),
            attempt(
                "create_dir",
                "/data/gyre-new-dir",
                done(fs::create_dir("/data/gyre-new-dir")),
            ),
            attempt("remove_dir", &subdir, done(fs::remove_dir(&subdir))),
            attempt(
                "wasi open-at write",
                name,
                raw_open(name, OpenFlags::empty(), DescriptorFlags::WRITE),
            ),
            attempt(
                "wasi open-at create|truncate",
                "gyre-raw-new.txt",
                raw_open(
                    "gyre-raw-new.txt",
                    OpenFlags::CREATE | OpenFlags::TRUNCATE,
                    DescriptorFlags::WRITE,
                ),
            ),
            attempt(
                "wasi open-at . mutate-directory, then create in it",
                ".",
                escalate(),
            ),
            attempt(
                "wasi symlink-at",
                "gyre-link -> existing",
                raw_symlink(name, "gyre-link"),
            ),
        ];
        Ok(report(attempts))
    }
}

fn done<T>(result: std::io::Result<T>) -> Result<Value, String> {
    result.map(|_| json!("done")).map_err(io_error)
}

fn append(path: &str) -> Result<Value, String> {
    hostile_report::append(path, MARKER)?;
    Ok(json!("appended"))
}

fn raw_open(name: &str, open: OpenFlags, flags: DescriptorFlags) -> Result<Value, String> {
    let file = data_dir()?
        .open_at(PathFlags::empty(), name, open, flags)
        .map_err(wasi_error)?;
    if flags.contains(DescriptorFlags::WRITE) {
        let n = file
            .write(MARKER, 0)
            .map_err(|e| format!("opened, then write failed: {}", wasi_error(e)))?;
        return Ok(json!(format!("opened and wrote {n} bytes")));
    }
    Ok(json!("opened"))
}

/// Asks for a `mutate-directory` descriptor of `/data` itself, which a
/// read-only grant must not hand out or, if it does, must not honor: a
/// mutation through it is what counts.
fn escalate() -> Result<Value, String> {
    let flags = DescriptorFlags::READ | DescriptorFlags::MUTATE_DIRECTORY;
    let dir = data_dir()?
        .open_at(PathFlags::empty(), ".", OpenFlags::DIRECTORY, flags)
        .map_err(wasi_error)?;
    let mkdir = dir.create_directory_at("gyre-escalated-dir");
    let create = dir.open_at(
        PathFlags::empty(),
        "gyre-escalated.txt",
        OpenFlags::CREATE,
        DescriptorFlags::WRITE,
    );
    match (mkdir, create) {
        (Err(a), Err(b)) => Err(format!(
            "opened, then create-directory-at failed: wasi error-code {}; open-at create failed: wasi error-code {}",
            a.name(),
            b.name()
        )),
        (a, b) => Ok(json!(format!(
            "opened; create-directory-at ok: {}; open-at create ok: {}",
            a.is_ok(),
            b.is_ok()
        ))),
    }
}

fn raw_symlink(target: &str, link: &str) -> Result<Value, String> {
    data_dir()?.symlink_at(target, link).map_err(wasi_error)?;
    Ok(json!("created"))
}

fn data_dir() -> Result<Descriptor, String> {
    preopen("/data", "grant it at /data")
}

gyre_sdk::export_connector!(WriteReadonly);
