//! What the binary carries for non-Rust plugins: the WIT they build
//! against and each language's SDK helper, written into `DIR/.gyre/` at
//! build time. The gyre binary and its SDKs thus never disagree on the API.

use crate::BuildError;
use gyre_manifest::PluginKind;
use std::path::{Path, PathBuf};

macro_rules! files {
    ($base:literal: $($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../", $base, "/", $name)))),*]
    };
}

/// `gyre:plugin`, the repository's `wit/`.
const PLUGIN_WIT: &[(&str, &str)] = files!("wit":
    "types.wit", "host.wit", "verifier.wit", "connector.wit", "trigger.wit");
/// The WASI interfaces the host links.
const WASI_WIT: &[(&str, &str)] = files!("sdk/wit/deps":
    "cli.wit", "clocks.wit", "filesystem.wit", "http.wit", "io.wit", "random.wit", "sockets.wit");
const SDK_WIT: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../sdk/wit/gyre-sdk.wit"
));

pub const PYTHON: &[(&str, &str)] = files!("sdk/python": "gyre_sdk.py");
pub const JS: &[(&str, &str)] = files!("sdk/js": "gyre.js", "gyre-http.js");
pub const C: &[(&str, &str)] = files!("sdk/c": "gyre.h", "gyre.c");
pub const ZIG: &[(&str, &str)] = files!("sdk/zig": "gyre.zig");

/// The world of `gyre:sdk` (in `sdk/wit/gyre-sdk.wit`) a plugin of `kind`
/// is built against.
pub fn world(kind: PluginKind) -> &'static str {
    kind.as_str()
}

/// Like [`world`], but without wasi:http when the plugin may not use it
/// (`http` false): `connector-offline`, `trigger-offline`.
pub fn world_with_http(kind: PluginKind, http: bool) -> &'static str {
    match (kind, http) {
        (PluginKind::Connector, false) => "connector-offline",
        (PluginKind::Trigger, false) => "trigger-offline",
        (kind, _) => world(kind),
    }
}

/// Writes the `gyre:sdk` WIT package and its dependencies to `dir` and
/// returns `dir`. With `with_wasi = false` the WASI packages are left out
/// and the worlds are `gyre:plugin`'s own (for toolchains that bring their
/// own WASI, like componentize-js).
pub fn write_wit(dir: &Path, with_wasi: bool) -> Result<PathBuf, BuildError> {
    let _ = std::fs::remove_dir_all(dir);
    if with_wasi {
        crate::write(&dir.join("gyre-sdk.wit"), SDK_WIT)?;
        for (name, text) in PLUGIN_WIT {
            crate::write(&dir.join("deps/plugin").join(name), text)?;
        }
        for (name, text) in WASI_WIT {
            crate::write(&dir.join("deps").join(name), text)?;
        }
    } else {
        for (name, text) in PLUGIN_WIT {
            crate::write(&dir.join(name), text)?;
        }
    }
    Ok(dir.to_path_buf())
}

/// Writes one language's SDK helper files into `dir`.
pub fn write_helpers(dir: &Path, files: &[(&str, &str)]) -> Result<(), BuildError> {
    for (name, text) in files {
        crate::write(&dir.join(name), text)?;
    }
    Ok(())
}
