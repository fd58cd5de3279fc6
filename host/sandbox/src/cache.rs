//! The on-disk compile cache. An entry is keyed by the component's sha256
//! and the engine's compatibility hash, and carries the sha256 of its own
//! payload, checked before the payload is trusted: deserializing compiled
//! code is only sound for bytes this host wrote.

use cap_std::fs::Dir;
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

const MAGIC: &[u8; 8] = b"GYRECC01";

pub struct CompileCache {
    dir: Dir,
    path: PathBuf,
    engine_hash: String,
}

/// Feeds `Hash` output into sha256, so the engine hash is stable on disk.
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

impl CompileCache {
    pub fn open(path: &Path, engine: &Engine) -> std::io::Result<Self> {
        std::fs::create_dir_all(path)?;
        let dir = Dir::open_ambient_dir(path, cap_std::ambient_authority())?;
        let mut hasher = ShaHasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        env!("CARGO_PKG_VERSION").hash(&mut hasher);
        let engine_hash = hex::encode(&hasher.0.finalize()[..8]);
        Ok(Self { dir, path: path.to_path_buf(), engine_hash })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn entry_name(&self, wasm_sha256: &str) -> String {
        format!("{wasm_sha256}-{}.cwasm", self.engine_hash)
    }

    /// The cached compilation of the component with this digest, if present
    /// and intact. A damaged entry is removed and reported as a miss.
    pub fn get(&self, engine: &Engine, wasm_sha256: &str) -> Option<Component> {
        let name = self.entry_name(wasm_sha256);
        let bytes = self.dir.read(&name).ok()?;
        let payload = match bytes.split_at_checked(MAGIC.len() + 32) {
            Some((header, payload)) if &header[..MAGIC.len()] == MAGIC && Sha256::digest(payload)[..] == header[MAGIC.len()..] => payload,
            _ => {
                tracing::warn!("compile cache entry {name} is damaged; recompiling");
                let _ = self.dir.remove_file(&name);
                return None;
            }
        };
        // SAFETY: the payload was produced by `Engine::precompile_component`
        // of an engine with the same compatibility hash (it is in the file
        // name), written by this host, and its sha256 matches the one
        // recorded next to it.
        match unsafe { Component::deserialize(engine, payload) } {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!("compile cache entry {name} is unusable ({e}); recompiling");
                let _ = self.dir.remove_file(&name);
                None
            }
        }
    }

    /// Stores a compiled artifact, atomically.
    pub fn put(&self, wasm_sha256: &str, artifact: &[u8]) -> std::io::Result<()> {
        let name = self.entry_name(wasm_sha256);
        let tmp = format!("{name}.{}.tmp", std::process::id());
        let mut file = self.dir.create(&tmp)?;
        file.write_all(MAGIC)?;
        file.write_all(&Sha256::digest(artifact))?;
        file.write_all(artifact)?;
        file.sync_all()?;
        self.dir.rename(&tmp, &self.dir, &name)
    }
}
