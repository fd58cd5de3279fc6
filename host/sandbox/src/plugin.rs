//! A loaded plugin and its calls. Each call gets a fresh store from the
//! pre-instantiated component, runs under its budget, and is classified
//! into a result or a typed failure; the store is dropped either way.

use crate::bindings::{connector, trigger, types::PluginError, verifier};
use crate::engine::Runtime;
use crate::inspect::ComponentInfo;
use crate::invocation::{Failure, Invocation, Output, Usage};
use crate::limiter::MemoryLimitExceeded;
use crate::state::StoreState;
use crate::Granted;
use gyre_manifest::{Manifest, PluginKind};
use std::time::Instant;
use wasmtime::component::{Component, Linker};
use wasmtime::{Store, Trap, UpdateDeadline};

pub(crate) enum PluginPre {
    Verifier(verifier::VerifierPre<StoreState>),
    Connector(connector::ConnectorPre<StoreState>),
    Trigger(trigger::TriggerPre<StoreState>),
}

impl PluginPre {
    pub fn new(linker: &Linker<StoreState>, component: &Component, kind: PluginKind) -> wasmtime::Result<Self> {
        let pre = linker.instantiate_pre(component)?;
        Ok(match kind {
            PluginKind::Verifier => Self::Verifier(verifier::VerifierPre::new(pre)?),
            PluginKind::Connector => Self::Connector(connector::ConnectorPre::new(pre)?),
            PluginKind::Trigger => Self::Trigger(trigger::TriggerPre::new(pre)?),
        })
    }
}

/// A plugin ready to call. Cheap to share: calls take `&self`.
pub struct Plugin {
    runtime: Runtime,
    manifest: Manifest,
    info: ComponentInfo,
    digest: String,
    pre: PluginPre,
}

enum Call {
    Verify(verifier::VerifyRequest),
    Operations,
    Invoke { config: String, operation: String, input: String },
    Firing { config: String },
    Poll { config: String, cursor: Option<String>, now_ms: u64 },
    Webhook { config: String, request: trigger::WebhookRequest },
}

enum Reply {
    Verify(Result<verifier::Verdict, PluginError>),
    Operations(Vec<connector::Operation>),
    Invoke(Result<String, PluginError>),
    Firing(Result<trigger::Firing, PluginError>),
    Poll(Result<trigger::PollResult, PluginError>),
    Webhook(Result<Vec<trigger::Event>, PluginError>),
}

impl Call {
    fn input_bytes(&self) -> usize {
        match self {
            Call::Verify(r) => r.config.len() + r.evidence.iter().map(|e| e.data.len() + e.name.len() + e.content_type.len()).sum::<usize>(),
            Call::Operations => 0,
            Call::Invoke { config, operation, input } => config.len() + operation.len() + input.len(),
            Call::Firing { config } => config.len(),
            Call::Poll { config, cursor, .. } => config.len() + cursor.as_ref().map_or(0, String::len),
            Call::Webhook { config, request } => {
                config.len() + request.body.len() + request.path.len() + request.headers.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
            }
        }
    }
}

fn error_bytes(e: &PluginError) -> usize {
    e.to_string().len()
}

fn result_bytes<T>(r: &Result<T, PluginError>, ok: impl Fn(&T) -> usize) -> usize {
    match r {
        Ok(v) => ok(v),
        Err(e) => error_bytes(e),
    }
}

fn event_bytes(e: &trigger::Event) -> usize {
    e.id.len() + e.kind.len() + e.payload.len()
}

impl Reply {
    fn size(&self) -> usize {
        match self {
            Reply::Verify(r) => result_bytes(r, |v| {
                v.summary.len() + v.findings.iter().map(|f| f.message.len() + f.file.as_ref().map_or(0, String::len) + 16).sum::<usize>()
            }),
            Reply::Operations(ops) => ops.iter().map(|o| o.name.len() + o.description.len() + o.input_schema.len()).sum(),
            Reply::Invoke(r) => result_bytes(r, String::len),
            Reply::Firing(r) => result_bytes(r, |_| 16),
            Reply::Poll(r) => result_bytes(r, |p| p.events.iter().map(event_bytes).sum::<usize>() + p.cursor.as_ref().map_or(0, String::len)),
            Reply::Webhook(r) => result_bytes(r, |events| events.iter().map(event_bytes).sum()),
        }
    }
}

async fn dispatch(store: &mut Store<StoreState>, pre: &PluginPre, call: Call) -> wasmtime::Result<Reply> {
    match (pre, call) {
        (PluginPre::Verifier(pre), Call::Verify(request)) => {
            let instance = pre.instantiate_async(&mut *store).await?;
            let api = instance.gyre_plugin_verification();
            Ok(Reply::Verify(api.call_verify(&mut *store, &request).await?))
        }
        (PluginPre::Connector(pre), Call::Operations) => {
            let instance = pre.instantiate_async(&mut *store).await?;
            Ok(Reply::Operations(instance.gyre_plugin_operations().call_describe(&mut *store).await?))
        }
        (PluginPre::Connector(pre), Call::Invoke { config, operation, input }) => {
            let instance = pre.instantiate_async(&mut *store).await?;
            let api = instance.gyre_plugin_operations();
            Ok(Reply::Invoke(api.call_invoke(&mut *store, &config, &operation, &input).await?))
        }
        (PluginPre::Trigger(pre), Call::Firing { config }) => {
            let instance = pre.instantiate_async(&mut *store).await?;
            Ok(Reply::Firing(instance.gyre_plugin_events().call_describe(&mut *store, &config).await?))
        }
        (PluginPre::Trigger(pre), Call::Poll { config, cursor, now_ms }) => {
            let instance = pre.instantiate_async(&mut *store).await?;
            let api = instance.gyre_plugin_events();
            Ok(Reply::Poll(api.call_poll(&mut *store, &config, cursor.as_deref(), now_ms).await?))
        }
        (PluginPre::Trigger(pre), Call::Webhook { config, request }) => {
            let instance = pre.instantiate_async(&mut *store).await?;
            let api = instance.gyre_plugin_events();
            Ok(Reply::Webhook(api.call_handle_webhook(&mut *store, &config, &request).await?))
        }
        _ => Err(wasmtime::Error::new(WrongKind)),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("wrong kind")]
struct WrongKind;

/// Turns an error out of a call into the failure it stands for.
fn classify(err: &wasmtime::Error, state: &StoreState, budget: &crate::Budget) -> Failure {
    if state.limiter.hit_memory_limit || err.is::<MemoryLimitExceeded>() {
        return Failure::MemoryLimit { limit_bytes: budget.memory };
    }
    if let Some(trap) = err.downcast_ref::<Trap>() {
        return match trap {
            Trap::OutOfFuel => Failure::OutOfFuel { budget: budget.fuel },
            Trap::Interrupt => Failure::TimedOut { after_ms: budget.timeout.as_millis() as u64 },
            Trap::StackOverflow => Failure::Trapped { message: "stack overflow".into() },
            other => Failure::Trapped { message: other.to_string() },
        };
    }
    let chain: Vec<String> = err.chain().map(|c| c.to_string()).collect();
    let text = chain.join(": ");
    // Limits checked while instantiating (memories, tables, instances)
    // surface as plain errors, not traps.
    if text.contains("memory count") || text.contains("memories") && text.contains("limit") {
        return Failure::MemoryLimit { limit_bytes: budget.memory };
    }
    if text.contains("resource limit exceeded") || text.contains("Insufficient resources") {
        return Failure::Instantiation { message: text };
    }
    Failure::Trapped { message: text }
}

/// The panic message a Rust guest printed before trapping, if any.
fn panic_line(stderr: &str) -> Option<&str> {
    stderr.lines().find(|l| l.contains("panicked at")).map(|l| l.trim())
}

impl Plugin {
    pub(crate) fn new(runtime: Runtime, manifest: Manifest, info: ComponentInfo, digest: String, pre: PluginPre) -> Self {
        Self { runtime, manifest, info, digest, pre }
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }
    pub fn name(&self) -> &str {
        self.manifest.plugin.name.as_str()
    }
    pub fn kind(&self) -> PluginKind {
        self.manifest.plugin.kind
    }
    pub fn info(&self) -> &ComponentInfo {
        &self.info
    }
    /// sha256 of the component, hex.
    pub fn digest(&self) -> &str {
        &self.digest
    }
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// Grants `effective` to this plugin, with its private store.
    pub fn grant(
        &self,
        effective: &gyre_manifest::Effective,
        resolver: std::sync::Arc<dyn crate::Resolve>,
    ) -> Result<Granted, crate::SandboxError> {
        let kv = self.runtime.kv_store(&self.manifest.plugin.name)?;
        Granted::new(self.name(), effective, self.runtime.limits(), resolver, kv)
    }

    async fn run(&self, granted: &Granted, call: Call) -> Invocation<Reply> {
        let inner = &self.runtime.inner;
        let limits = &inner.limits;
        let budget = granted.budget;
        let start = Instant::now();
        let mut usage = Usage {
            fuel_budget: budget.fuel,
            timeout_ms: budget.timeout.as_millis() as u64,
            memory_cap_bytes: budget.memory,
            ..Usage::default()
        };
        let early = |failure: Failure, usage: Usage| Invocation { outcome: Err(failure), usage, output: Output::default(), denials: Vec::new() };

        let input = call.input_bytes();
        if input > limits.max_input_bytes {
            return early(Failure::InputTooLarge { bytes: input, limit: limits.max_input_bytes }, usage);
        }
        let state = match StoreState::new(granted, limits) {
            Ok(s) => s,
            Err(message) => return early(Failure::Instantiation { message }, usage),
        };
        let mut store = Store::new(&inner.engine, state);
        store.limiter(|s| &mut s.limiter);
        if let Err(e) = store.set_fuel(budget.fuel) {
            return early(Failure::Instantiation { message: e.to_string() }, usage);
        }
        // Yield to the executor at every epoch tick so the deadline below
        // can fire even while the guest spins.
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|_| Ok(UpdateDeadline::Yield(1)));

        // The deadline covers the guest's own work and time blocked in host
        // calls (HTTP, file I/O) alike.
        let result = tokio::time::timeout(budget.timeout, dispatch(&mut store, &self.pre, call)).await;

        usage.wall_time_us = start.elapsed().as_micros() as u64;
        usage.fuel_consumed = budget.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
        let state = store.data();
        usage.peak_memory_bytes = state.limiter.peak;
        let outcome = match result {
            Err(_) => Err(Failure::TimedOut { after_ms: budget.timeout.as_millis() as u64 }),
            Ok(Err(e)) if e.is::<WrongKind>() => Err(Failure::Unsupported {
                message: format!("{} is a {}; it does not answer that call", self.name(), self.kind()),
            }),
            Ok(Err(e)) => Err(classify(&e, state, &budget)),
            Ok(Ok(reply)) => {
                let bytes = reply.size();
                if bytes > limits.max_result_bytes {
                    Err(Failure::ResultTooLarge { bytes, limit: limits.max_result_bytes })
                } else {
                    Ok(reply)
                }
            }
        };
        let secrets = state.secrets.clone();
        let (stdout, stdout_dropped) = state.stdout.take();
        let (stderr, stderr_dropped) = state.stderr.take();
        let outcome = outcome.map_err(|f| match f {
            Failure::Trapped { message } => Failure::Trapped {
                message: secrets.redact(&match panic_line(&stderr) {
                    Some(panic) => format!("{message} ({panic})"),
                    None => message,
                }),
            },
            other => other,
        });
        let store_state = store.into_data();
        let mut logs = store_state.logs;
        for line in &mut logs.lines {
            line.message = secrets.redact(&line.message);
            for (_, v) in &mut line.fields {
                *v = secrets.redact(v);
            }
        }
        let denials = store_state.denials.lock().unwrap_or_else(|p| p.into_inner()).clone();
        Invocation {
            outcome,
            usage,
            output: Output {
                logs: logs.lines,
                logs_dropped: logs.dropped,
                stdout: secrets.redact(&stdout),
                stdout_dropped,
                stderr: secrets.redact(&stderr),
                stderr_dropped,
            },
            denials,
        }
    }

    /// Redacts granted secret values from a plugin error's message.
    fn redact_error(granted: &Granted, e: PluginError) -> PluginError {
        use PluginError as E;
        let r = |m: String| granted.secrets.redact(&m);
        match e {
            E::InvalidConfig(m) => E::InvalidConfig(r(m)),
            E::InvalidInput(m) => E::InvalidInput(r(m)),
            E::NotFound(m) => E::NotFound(r(m)),
            E::Denied(m) => E::Denied(r(m)),
            E::Unauthorized(m) => E::Unauthorized(r(m)),
            E::Upstream(mut u) => {
                u.message = r(u.message);
                E::Upstream(u)
            }
            E::Internal(m) => E::Internal(r(m)),
        }
    }

    /// Runs a verifier on `request`.
    pub async fn verify(&self, granted: &Granted, request: verifier::VerifyRequest) -> Invocation<Result<verifier::Verdict, PluginError>> {
        self.run(granted, Call::Verify(request)).await.map(|reply| match reply {
            Reply::Verify(r) => Ok(r
                .map(|mut v| {
                    v.summary = granted.secrets.redact(&v.summary);
                    for f in &mut v.findings {
                        f.message = granted.secrets.redact(&f.message);
                    }
                    v
                })
                .map_err(|e| Self::redact_error(granted, e))),
            _ => Err(mismatched()),
        })
    }

    /// Lists a connector's operations.
    pub async fn operations(&self, granted: &Granted) -> Invocation<Vec<connector::Operation>> {
        self.run(granted, Call::Operations).await.map(|reply| match reply {
            Reply::Operations(ops) => Ok(ops),
            _ => Err(mismatched()),
        })
    }

    /// Runs one connector operation. The output is JSON text.
    pub async fn invoke(&self, granted: &Granted, config: &str, operation: &str, input: &str) -> Invocation<Result<String, PluginError>> {
        let call = Call::Invoke { config: config.into(), operation: operation.into(), input: input.into() };
        self.run(granted, call).await.map(|reply| match reply {
            Reply::Invoke(r) => Ok(r.map(|out| granted.secrets.redact(&out)).map_err(|e| Self::redact_error(granted, e))),
            _ => Err(mismatched()),
        })
    }

    /// How a trigger fires under `config`.
    pub async fn firing(&self, granted: &Granted, config: &str) -> Invocation<Result<trigger::Firing, PluginError>> {
        self.run(granted, Call::Firing { config: config.into() }).await.map(|reply| match reply {
            Reply::Firing(r) => Ok(r.map_err(|e| Self::redact_error(granted, e))),
            _ => Err(mismatched()),
        })
    }

    /// Polls a trigger.
    pub async fn poll(&self, granted: &Granted, config: &str, cursor: Option<&str>, now_ms: u64) -> Invocation<Result<trigger::PollResult, PluginError>> {
        let call = Call::Poll { config: config.into(), cursor: cursor.map(str::to_string), now_ms };
        self.run(granted, call).await.map(|reply| match reply {
            Reply::Poll(r) => Ok(r.map_err(|e| Self::redact_error(granted, e))),
            _ => Err(mismatched()),
        })
    }

    /// Hands an incoming webhook request to a trigger.
    pub async fn webhook(&self, granted: &Granted, config: &str, request: trigger::WebhookRequest) -> Invocation<Result<Vec<trigger::Event>, PluginError>> {
        self.run(granted, Call::Webhook { config: config.into(), request }).await.map(|reply| match reply {
            Reply::Webhook(r) => Ok(r.map_err(|e| Self::redact_error(granted, e))),
            _ => Err(mismatched()),
        })
    }
}

fn mismatched() -> Failure {
    Failure::Unsupported { message: "the plugin answered a different call".into() }
}
