//! The data of one store: a fresh one per call, so nothing leaks between
//! calls or between plugins.

use crate::HostLimits;
use crate::bindings::imports::gyre::plugin::{kv, log, secrets, types};
use crate::caps::http::EgressHooks;
use crate::caps::kv::{KvError, KvStore};
use crate::caps::log::LogBuffer;
use crate::caps::output::BoundedOutput;
use crate::caps::secrets::SecretValues;
use crate::caps::{Granted, fs};
use crate::invocation::Denial;
use crate::limiter::Limiter;
use std::sync::{Arc, Mutex};
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

pub struct StoreState {
    wasi: WasiCtx,
    table: ResourceTable,
    http: WasiHttpCtx,
    hooks: EgressHooks,
    pub limiter: Limiter,
    pub logs: LogBuffer,
    pub stdout: BoundedOutput,
    pub stderr: BoundedOutput,
    pub secrets: Arc<SecretValues>,
    kv: Option<KvStore>,
    pub denials: Arc<Mutex<Denials>>,
}

impl StoreState {
    pub fn new(granted: &Granted, limits: &HostLimits) -> Result<Self, String> {
        let slack = granted.secrets.longest();
        let stdout = BoundedOutput::with_slack(limits.max_output_bytes, slack);
        let stderr = BoundedOutput::with_slack(limits.max_output_bytes, slack);
        let mut builder = WasiCtxBuilder::new();
        // Nothing is inherited from the host: no environment, no arguments,
        // no stdin, no sockets, no name lookups. Outbound HTTP goes through
        // wasi:http and its egress policy only.
        builder
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }));
        fs::preopen(&mut builder, &granted.dirs)?;
        let denials = Arc::new(Mutex::new(Denials::new(limits.max_denials)));
        let budget = granted.budget;
        let mut table = ResourceTable::new();
        table.set_max_capacity(limits.max_resources);
        Ok(Self {
            wasi: builder.build(),
            table,
            http: {
                // Header maps count against no memory budget; keep them small.
                let mut http = WasiHttpCtx::new();
                http.set_field_size_limit(32 * 1024);
                http
            },
            hooks: EgressHooks {
                policy: granted.egress.clone(),
                denials: denials.clone(),
            },
            limiter: Limiter::new(
                budget.memory,
                limits.max_memories,
                limits.max_tables,
                limits.max_instances,
            ),
            logs: LogBuffer::new(
                limits.max_log_lines,
                limits.max_log_line_bytes,
                limits.max_log_bytes,
            ),
            stdout,
            stderr,
            secrets: granted.secrets.clone(),
            kv: granted.kv.clone(),
            denials,
        })
    }

    fn deny(&self, denial: Denial) {
        self.denials
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(denial);
    }
}

/// The denials of one call: the first `max` kept, the rest counted.
#[derive(Debug, Default)]
pub struct Denials {
    pub kept: Vec<Denial>,
    pub dropped: u64,
    max: usize,
}

impl Denials {
    pub fn new(max: usize) -> Self {
        Self {
            kept: Vec::new(),
            dropped: 0,
            max,
        }
    }
    pub fn push(&mut self, denial: Denial) {
        if self.kept.len() < self.max {
            self.kept.push(denial);
        } else {
            self.dropped += 1;
        }
    }
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for StoreState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

impl types::Host for StoreState {}

impl log::Host for StoreState {
    fn emit(&mut self, level: log::Level, message: String, fields: Vec<log::Field>) {
        self.logs.push(level, message, fields, &self.secrets);
    }
}

impl secrets::Host for StoreState {
    fn get(&mut self, name: String) -> Result<String, secrets::SecretError> {
        match self.secrets.get(&name) {
            Some(value) => Ok(value.to_string()),
            None => {
                let shown: String = name.chars().take(128).collect();
                // Quoted and escaped: a name is guest input and may hold
                // control characters.
                self.deny(Denial::secret(format!("{shown:?} is not granted")));
                Err(secrets::SecretError::NotGranted(format!(
                    "secret {shown:?} is not granted to this plugin"
                )))
            }
        }
    }
}

fn kv_error(e: KvError) -> kv::KvError {
    match e {
        KvError::InvalidKey(m) => kv::KvError::InvalidKey(m),
        KvError::Quota(m) => kv::KvError::QuotaExceeded(m),
        KvError::Io(m) => kv::KvError::Unavailable(m),
    }
}

impl StoreState {
    fn store(&self) -> Result<&KvStore, kv::KvError> {
        self.kv.as_ref().ok_or_else(|| {
            kv::KvError::Unavailable("this plugin has no key-value store here".into())
        })
    }
}

impl kv::Host for StoreState {
    fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, kv::KvError> {
        self.store()?.get(&key).map_err(kv_error)
    }
    fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), kv::KvError> {
        self.store()?.set(&key, &value).map_err(kv_error)
    }
    fn delete(&mut self, key: String) -> Result<(), kv::KvError> {
        self.store()?.delete(&key).map_err(kv_error)
    }
    fn keys(&mut self) -> Result<Vec<String>, kv::KvError> {
        self.store()?.keys().map_err(kv_error)
    }
}
