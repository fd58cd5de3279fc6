//! Filesystem: only granted directories are preopened. wasmtime-wasi
//! resolves every guest path inside a cap-std directory handle, so `..` and
//! symlinks cannot leave a grant, and read-only grants refuse writes.

use gyre_manifest::{Access, EffectiveDir};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

pub fn preopen(builder: &mut WasiCtxBuilder, dirs: &[EffectiveDir]) -> Result<(), String> {
    for dir in dirs {
        let perms = match dir.access {
            Access::ReadOnly => FsPerms::ReadOnly,
            Access::ReadWrite => FsPerms::ReadWrite,
        };
        builder
            .preopened_dir(&dir.host, dir.guest.as_str(), perms)
            .map_err(|e| format!("cannot open {} for {}: {e}", dir.host.display(), dir.guest))?;
    }
    Ok(())
}
