//! Files in a plugin directory that may not be the user's own (a stranger's
//! recipe, a cloned repository): anything in it may be a symbolic link
//! placed so that a write "into the plugin directory" lands elsewhere, such
//! as `NAME.wasm -> ~/.bashrc` or `.gyre -> ~/.config`.
//!
//! The rule: `gyre build` never writes through a symbolic link. Every path
//! it writes, and every directory it writes into below the plugin
//! directory, must not be one; finding one is an error naming it. Files are
//! written as a new file in the same directory renamed over the old one, so
//! a hard link (or a link that appears meanwhile) is replaced, never
//! written through.

use crate::BuildError;
use std::io::Write;
use std::path::{Path, PathBuf};

fn io(what: &str, path: &Path, source: std::io::Error) -> BuildError {
    BuildError::Io {
        what: what.into(),
        path: path.to_path_buf(),
        source,
    }
}

/// An error if `path` is a symbolic link (a missing path is fine).
pub fn refuse_link(path: &Path) -> Result<(), BuildError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(BuildError::Symlink {
            path: path.to_path_buf(),
        }),
        _ => Ok(()),
    }
}

/// Makes `dir`, at or below `root`, a real directory: each of its
/// components below `root` that exists must be a directory, not a link;
/// missing ones are created.
pub fn real_dir(root: &Path, dir: &Path) -> Result<(), BuildError> {
    let rel = dir.strip_prefix(root).map_err(|_| BuildError::Symlink {
        path: dir.to_path_buf(),
    })?;
    let mut at = root.to_path_buf();
    for part in rel.components() {
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(BuildError::Symlink { path: at });
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(io(
                    "expected a directory at",
                    &at,
                    std::io::Error::from(std::io::ErrorKind::AlreadyExists),
                ));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir(&at)
                .map_err(|source| io("creating the directory", &at, source))?,
            Err(source) => return Err(io("inspecting", &at, source)),
        }
    }
    Ok(())
}

/// An error naming the first symbolic link anywhere below `dir`, links
/// not followed (e.g. `.gyre/zig-cache/o -> ~`, where a toolchain would
/// write through it).
pub fn refuse_links_within(dir: &Path) -> Result<(), BuildError> {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        let entries = std::fs::read_dir(&at).map_err(|source| io("listing", &at, source))?;
        for entry in entries {
            let entry = entry.map_err(|source| io("listing", &at, source))?;
            let kind = entry
                .file_type()
                .map_err(|source| io("inspecting", &entry.path(), source))?;
            if kind.is_symlink() {
                return Err(BuildError::Symlink { path: entry.path() });
            }
            if kind.is_dir() {
                stack.push(entry.path());
            }
        }
    }
    Ok(())
}

/// An error if `path` (a file or directory inside `root`, which is
/// canonical) resolves to somewhere outside `root` through a link.
pub fn refuse_escape(root: &Path, path: &Path) -> Result<(), BuildError> {
    match std::fs::canonicalize(path) {
        Ok(real) if !real.starts_with(root) => Err(BuildError::Escapes {
            path: path.to_path_buf(),
            target: real,
        }),
        Ok(_) => Ok(()),
        // A dangling link is not followed now, but could be later: refuse.
        Err(_) if path.is_symlink() => Err(BuildError::Escapes {
            path: path.to_path_buf(),
            target: std::fs::read_link(path).unwrap_or_default(),
        }),
        Err(_) => Ok(()),
    }
}

/// Writes `bytes` to `path` as a new file in its directory renamed into
/// place; an existing symbolic link at `path` is an error.
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), BuildError> {
    refuse_link(path)?;
    let name = path
        .file_name()
        .ok_or_else(|| {
            io(
                "writing",
                path,
                std::io::Error::from(std::io::ErrorKind::InvalidInput),
            )
        })?
        .to_string_lossy();
    let temp: PathBuf = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    // A leftover of a crashed build (or a planted link): create_new refuses
    // to open any existing path, links included, so remove it first.
    let _ = std::fs::remove_file(&temp);
    let result = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp)
        .and_then(|mut f| f.write_all(bytes).and_then(|_| f.sync_all()))
        .and_then(|_| std::fs::rename(&temp, path));
    result.map_err(|source| {
        let _ = std::fs::remove_file(&temp);
        io("writing", path, source)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("gyre-fsx-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::canonicalize(dir).unwrap()
    }

    #[test]
    fn a_write_never_goes_through_a_link() {
        let dir = scratch("write");
        let outside = dir.join("outside");
        std::fs::write(&outside, "precious").unwrap();
        let inside = dir.join("plugin");
        std::fs::create_dir(&inside).unwrap();
        std::os::unix::fs::symlink(&outside, inside.join("out.wasm")).unwrap();
        let err = write(&inside.join("out.wasm"), b"wasm").unwrap_err();
        assert!(err.to_string().contains("out.wasm"), "{err}");
        // A hard link is replaced, not written through.
        std::fs::remove_file(inside.join("out.wasm")).unwrap();
        std::fs::hard_link(&outside, inside.join("out.wasm")).unwrap();
        write(&inside.join("out.wasm"), b"wasm").unwrap();
        assert_eq!(std::fs::read(inside.join("out.wasm")).unwrap(), b"wasm");
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "precious");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn directories_below_the_root_must_not_be_links() {
        let dir = scratch("dirs");
        let elsewhere = dir.join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        let root = dir.join("plugin");
        std::fs::create_dir(&root).unwrap();
        real_dir(&root, &root.join(".gyre/c")).unwrap();
        assert!(root.join(".gyre/c").is_dir());
        std::os::unix::fs::symlink(&elsewhere, root.join("src")).unwrap();
        let err = real_dir(&root, &root.join("src")).unwrap_err();
        assert!(err.to_string().contains("src"), "{err}");
        std::os::unix::fs::symlink(&elsewhere, root.join(".gyre/c/zig-cache")).unwrap();
        let err = refuse_links_within(&root.join(".gyre")).unwrap_err();
        assert!(err.to_string().contains("zig-cache"), "{err}");
        assert!(refuse_escape(&root, &root.join("src")).is_err());
        assert!(refuse_escape(&root, &root.join(".gyre")).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
