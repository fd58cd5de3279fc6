//! The one engine every plugin shares, and loading plugins into it.

use crate::bindings::imports::Imports;
use crate::cache::CompileCache;
use crate::caps::kv::KvStore;
use crate::plugin::{Plugin, PluginPre};
use crate::state::StoreState;
use crate::{HostLimits, SandboxError, inspect};
use gyre_manifest::Manifest;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances; a runaway guest yields to the executor
/// at least this often, so deadlines fire on time.
const EPOCH_TICK: Duration = Duration::from_millis(5);

#[derive(Debug, Clone, Default)]
pub struct RuntimeConfig {
    /// Where compiled components are cached; `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
    /// Where plugins' private key-value stores live; `None` gives plugins
    /// no store.
    pub state_dir: Option<PathBuf>,
    pub limits: HostLimits,
    /// Instances that may be alive at once across all plugins.
    pub max_concurrent_instances: Option<u32>,
    /// Directories no grant may reach into or contain: the user's keys,
    /// trust policy, consent records, installed packages, run state. The
    /// state and cache directories are always protected too.
    pub protected: Vec<PathBuf>,
    /// For benchmarks only: no fuel metering, to measure what it costs.
    /// Budgets then bound time and memory alone.
    #[doc(hidden)]
    pub unmetered: bool,
}

pub(crate) struct RuntimeInner {
    pub engine: Engine,
    pub linker: Linker<StoreState>,
    pub limits: HostLimits,
    pub unmetered: bool,
    cache: Option<CompileCache>,
    state_dir: Option<PathBuf>,
    protected: Vec<PathBuf>,
    ticker_stop: Arc<AtomicBool>,
}

impl Drop for RuntimeInner {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

/// Owns the engine, the linker and the compile cache. Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Arc<RuntimeInner>,
}

/// How a plugin was loaded.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// False when the compile cache supplied the code.
    pub compiled: bool,
    pub load_time: Duration,
}

impl Runtime {
    pub fn new(config: RuntimeConfig) -> Result<Self, SandboxError> {
        let limits = config.limits;
        let mut pool = PoolingAllocationConfig::default();
        let concurrent = config.max_concurrent_instances.unwrap_or(64);
        pool.total_component_instances(concurrent)
            .total_core_instances(concurrent * limits.max_instances.min(32))
            .total_memories(concurrent * limits.max_memories)
            .total_tables(concurrent * limits.max_tables)
            .total_stacks(concurrent)
            .max_memories_per_component(limits.max_memories)
            .max_memories_per_module(limits.max_memories)
            .max_tables_per_component(limits.max_tables)
            .max_core_instances_per_component(limits.max_instances)
            .max_memory_size(limits.max_memory as usize)
            // Reset small instances with memset instead of returning pages to
            // the kernel: a fresh store then starts without page faults.
            .linear_memory_keep_resident(256 << 10)
            .table_keep_resident(64 << 10);

        let mut wasm = Config::new();
        wasm.wasm_component_model(true)
            // Trap reports name the function; the wasm byte offsets an
            // address map adds would grow every cached artifact (and its
            // load) for little use: a plugin's own message (a Rust panic)
            // comes through its stderr.
            .generate_address_map(false)
            .consume_fuel(!config.unmetered)
            .epoch_interruption(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&wasm).map_err(|e| SandboxError::Engine(e.to_string()))?;

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| SandboxError::Engine(e.to_string()))?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
            .map_err(|e| SandboxError::Engine(e.to_string()))?;
        Imports::add_to_linker::<_, HasSelf<StoreState>>(&mut linker, |s| s)
            .map_err(|e| SandboxError::Engine(e.to_string()))?;

        let cache = match &config.cache_dir {
            Some(dir) => {
                Some(
                    CompileCache::open(dir, &engine).map_err(|e| SandboxError::Cache {
                        path: dir.clone(),
                        reason: e.to_string(),
                    })?,
                )
            }
            None => None,
        };

        let ticker_stop = Arc::new(AtomicBool::new(false));
        let weak = engine.weak();
        let stop = ticker_stop.clone();
        std::thread::Builder::new()
            .name("gyre-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .map_err(|e| SandboxError::Engine(format!("cannot start the epoch thread: {e}")))?;

        Ok(Self {
            inner: Arc::new(RuntimeInner {
                engine,
                linker,
                limits,
                cache,
                protected: config
                    .protected
                    .iter()
                    .chain(config.state_dir.iter())
                    .chain(config.cache_dir.iter())
                    .cloned()
                    .collect(),
                state_dir: config.state_dir,
                unmetered: config.unmetered,
                ticker_stop,
            }),
        })
    }

    /// Refuses a directory grant that reaches into, or contains, a
    /// directory the host keeps from plugins.
    pub(crate) fn check_protected(
        &self,
        plugin: &str,
        dirs: &[gyre_manifest::EffectiveDir],
    ) -> Result<(), SandboxError> {
        let real =
            |p: &std::path::Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        for dir in dirs {
            let granted = real(&dir.host);
            for protected in &self.inner.protected {
                let protected = real(protected);
                if granted.starts_with(&protected) || protected.starts_with(&granted) {
                    return Err(SandboxError::Grant {
                        plugin: plugin.into(),
                        what: format!("directory {}", dir.guest),
                        reason: format!(
                            "{} overlaps {}, which holds Gyre's own keys, trust, packages or state; grant a directory outside it",
                            dir.host.display(),
                            protected.display()
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    pub fn limits(&self) -> &HostLimits {
        &self.inner.limits
    }

    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// Loads the plugin at `path`.
    pub fn load(&self, path: &Path) -> Result<(Plugin, LoadReport), SandboxError> {
        let bytes = std::fs::read(path).map_err(|source| SandboxError::Read {
            path: path.into(),
            source,
        })?;
        self.load_bytes(bytes, &path.display().to_string())
    }

    /// Loads a plugin from its component bytes; `origin` names it in errors.
    pub fn load_bytes(
        &self,
        bytes: Vec<u8>,
        origin: &str,
    ) -> Result<(Plugin, LoadReport), SandboxError> {
        let start = Instant::now();
        let info = inspect::read(&bytes).map_err(|reason| SandboxError::NotAComponent {
            plugin: origin.into(),
            reason,
        })?;
        let text = info
            .manifest_text
            .as_deref()
            .ok_or_else(|| SandboxError::NoManifest {
                plugin: origin.into(),
            })?;
        let manifest =
            Manifest::parse(text, &format!("{origin} (embedded gyre.toml)")).map_err(|e| {
                SandboxError::BadManifest {
                    plugin: origin.into(),
                    reason: e.to_string(),
                }
            })?;
        let errors: Vec<String> = inspect::check(&manifest, &info)
            .into_iter()
            .filter(|m| m.severity == inspect::Severity::Error)
            .map(|m| m.message)
            .collect();
        if !errors.is_empty() {
            return Err(SandboxError::Incompatible {
                plugin: origin.into(),
                reason: errors.join("; "),
            });
        }

        // Checked before compiling: the pooling allocator would refuse later
        // with a less helpful message.
        let max = self.inner.limits.max_memories;
        if info.memories > max {
            return Err(SandboxError::Incompatible {
                plugin: origin.into(),
                reason: format!(
                    "it defines {} linear memories; this host allows at most {max} per plugin",
                    info.memories
                ),
            });
        }
        let key = blake3::hash(&bytes).to_hex();
        let (component, compiled) = self.compile(&bytes, &key, origin)?;
        let pre =
            PluginPre::new(&self.inner.linker, &component, manifest.plugin.kind).map_err(|e| {
                SandboxError::Incompatible {
                    plugin: origin.into(),
                    reason: format!("cannot link: {e}"),
                }
            })?;
        let report = LoadReport {
            compiled,
            load_time: start.elapsed(),
        };
        Ok((
            Plugin::new(self.clone(), manifest, info, bytes.into(), pre),
            report,
        ))
    }

    fn compile(
        &self,
        bytes: &[u8],
        key: &str,
        origin: &str,
    ) -> Result<(Component, bool), SandboxError> {
        let engine = &self.inner.engine;
        if let Some(cache) = &self.inner.cache {
            if let Some(component) = cache.get(engine, key) {
                return Ok((component, false));
            }
            let artifact =
                engine
                    .precompile_component(bytes)
                    .map_err(|e| SandboxError::Compile {
                        plugin: origin.into(),
                        reason: e.to_string(),
                    })?;
            if let Err(e) = cache.put(key, &artifact) {
                tracing::warn!(
                    "cannot write the compile cache at {}: {e}",
                    cache.path().display()
                );
            }
            // SAFETY: `artifact` was produced just now by this engine.
            let component = unsafe { Component::deserialize(engine, &artifact) }.map_err(|e| {
                SandboxError::Compile {
                    plugin: origin.into(),
                    reason: e.to_string(),
                }
            })?;
            return Ok((component, true));
        }
        let component = Component::new(engine, bytes).map_err(|e| SandboxError::Compile {
            plugin: origin.into(),
            reason: e.to_string(),
        })?;
        Ok((component, true))
    }

    /// The private key-value store named `namespace` (a plugin's content
    /// digest), if this runtime keeps state.
    pub(crate) fn kv_store(&self, namespace: &str) -> Result<Option<KvStore>, SandboxError> {
        let Some(root) = &self.inner.state_dir else {
            return Ok(None);
        };
        let dir = root.join("plugins").join(namespace).join("kv");
        KvStore::open(&dir, &self.inner.limits)
            .map(Some)
            .map_err(|e| SandboxError::Grant {
                plugin: namespace.to_string(),
                what: "key-value store".into(),
                reason: format!("{}: {e}", dir.display()),
            })
    }
}
