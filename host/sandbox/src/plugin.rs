//! A loaded plugin and its calls. Each call gets a fresh store from the
//! pre-instantiated component, runs under its budget, and is classified
//! into a result or a typed failure; the store is dropped either way.

use crate::Granted;
use crate::bindings::{connector, trigger, types::PluginError, verifier};
use crate::caps::secrets::SecretValues;
use crate::engine::Runtime;
use crate::inspect::ComponentInfo;
use crate::invocation::Denial;
use crate::invocation::{Failure, Invocation, Output, Usage};
use crate::limiter::MemoryLimitExceeded;
use crate::state::StoreState;
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
    pub fn new(
        linker: &Linker<StoreState>,
        component: &Component,
        kind: PluginKind,
    ) -> wasmtime::Result<Self> {
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
    bytes: std::sync::Arc<[u8]>,
    digest: std::sync::OnceLock<String>,
    pre: PluginPre,
}

enum Call {
    Verify(verifier::VerifyRequest),
    Operations,
    Invoke {
        config: String,
        operation: String,
        input: String,
    },
    Firing {
        config: String,
    },
    Poll {
        config: String,
        cursor: Option<String>,
        now_ms: u64,
    },
    Webhook {
        config: String,
        request: trigger::WebhookRequest,
    },
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
            Call::Verify(r) => {
                r.config.len()
                    + r.evidence
                        .iter()
                        .map(|e| e.data.len() + e.name.len() + e.content_type.len())
                        .sum::<usize>()
            }
            Call::Operations => 0,
            Call::Invoke {
                config,
                operation,
                input,
            } => config.len() + operation.len() + input.len(),
            Call::Firing { config } => config.len(),
            Call::Poll { config, cursor, .. } => {
                config.len() + cursor.as_ref().map_or(0, String::len)
            }
            Call::Webhook { config, request } => {
                config.len()
                    + request.body.len()
                    + request.path.len()
                    + request
                        .headers
                        .iter()
                        .map(|(k, v)| k.len() + v.len())
                        .sum::<usize>()
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
                v.summary.len()
                    + v.findings
                        .iter()
                        .map(|f| f.message.len() + f.file.as_ref().map_or(0, String::len) + 16)
                        .sum::<usize>()
            }),
            Reply::Operations(ops) => ops
                .iter()
                .map(|o| o.name.len() + o.description.len() + o.input_schema.len())
                .sum(),
            Reply::Invoke(r) => result_bytes(r, String::len),
            Reply::Firing(r) => result_bytes(r, |f| match f {
                trigger::Firing::Cron(c) => c.len(),
                _ => 16,
            }),
            Reply::Poll(r) => result_bytes(r, |p| {
                p.events.iter().map(event_bytes).sum::<usize>()
                    + p.cursor.as_ref().map_or(0, String::len)
            }),
            Reply::Webhook(r) => result_bytes(r, |events| events.iter().map(event_bytes).sum()),
        }
    }
}

/// Failure messages carry guest text (trap messages, backtraces): redact
/// them and keep them short.
fn redact_failure(failure: Failure, secrets: &SecretValues, panic: Option<&str>) -> Failure {
    const MAX: usize = 4096;
    let clean = |m: String| crate::caps::log::truncate(secrets.redact(&m), MAX);
    match failure {
        Failure::Trapped { message } => Failure::Trapped {
            message: clean(match panic {
                Some(panic) => format!("{message} ({panic})"),
                None => message,
            }),
        },
        Failure::Instantiation { message } => Failure::Instantiation {
            message: clean(message),
        },
        other => other,
    }
}

fn redact_error(e: &mut PluginError, secrets: &SecretValues) {
    use PluginError as E;
    match e {
        E::InvalidConfig(m)
        | E::InvalidInput(m)
        | E::NotFound(m)
        | E::Denied(m)
        | E::Unauthorized(m)
        | E::Internal(m) => *m = secrets.redact(m),
        E::Upstream(u) => u.message = secrets.redact(&u.message),
    }
}

fn redact_result<T>(
    r: &mut Result<T, PluginError>,
    secrets: &SecretValues,
    ok: impl FnOnce(&mut T),
) {
    match r {
        Ok(v) => ok(v),
        Err(e) => redact_error(e, secrets),
    }
}

fn redact_event(e: &mut trigger::Event, secrets: &SecretValues) {
    e.id = secrets.redact(&e.id);
    e.kind = secrets.redact(&e.kind);
    e.payload = secrets.redact_json(&e.payload);
}

impl Reply {
    /// Removes every granted secret value from what the plugin returned, so
    /// nothing the host shows or passes on can carry one.
    fn redact(&mut self, secrets: &SecretValues) {
        if secrets.is_empty() {
            return;
        }
        let r = |s: &mut String| *s = secrets.redact(s);
        match self {
            Reply::Verify(v) => redact_result(v, secrets, |v| {
                r(&mut v.summary);
                for f in &mut v.findings {
                    r(&mut f.message);
                    if let Some(file) = &mut f.file {
                        r(file);
                    }
                }
            }),
            Reply::Operations(ops) => {
                for op in ops {
                    r(&mut op.name);
                    r(&mut op.description);
                    op.input_schema = secrets.redact_json(&op.input_schema);
                }
            }
            Reply::Invoke(out) => {
                redact_result(out, secrets, |out| *out = secrets.redact_json(out))
            }
            Reply::Firing(f) => redact_result(f, secrets, |f| {
                if let trigger::Firing::Cron(c) = f {
                    r(c);
                }
            }),
            Reply::Poll(p) => redact_result(p, secrets, |p| {
                p.events.iter_mut().for_each(|e| redact_event(e, secrets));
                if let Some(c) = &mut p.cursor {
                    r(c);
                }
            }),
            Reply::Webhook(events) => redact_result(events, secrets, |events| {
                events.iter_mut().for_each(|e| redact_event(e, secrets));
            }),
        }
    }
}

async fn dispatch(
    store: &mut Store<StoreState>,
    pre: &PluginPre,
    call: Call,
) -> wasmtime::Result<Reply> {
    match (pre, call) {
        (PluginPre::Verifier(pre), Call::Verify(request)) => {
            let instance = pre.instantiate_async(&mut *store).await?;
            let api = instance.gyre_plugin_verification();
            Ok(Reply::Verify(api.call_verify(&mut *store, &request).await?))
        }
        (PluginPre::Connector(pre), Call::Operations) => {
            let instance = pre.instantiate_async(&mut *store).await?;
            Ok(Reply::Operations(
                instance
                    .gyre_plugin_operations()
                    .call_describe(&mut *store)
                    .await?,
            ))
        }
        (
            PluginPre::Connector(pre),
            Call::Invoke {
                config,
                operation,
                input,
            },
        ) => {
            let instance = pre.instantiate_async(&mut *store).await?;
            let api = instance.gyre_plugin_operations();
            Ok(Reply::Invoke(
                api.call_invoke(&mut *store, &config, &operation, &input)
                    .await?,
            ))
        }
        (PluginPre::Trigger(pre), Call::Firing { config }) => {
            let instance = pre.instantiate_async(&mut *store).await?;
            Ok(Reply::Firing(
                instance
                    .gyre_plugin_events()
                    .call_describe(&mut *store, &config)
                    .await?,
            ))
        }
        (
            PluginPre::Trigger(pre),
            Call::Poll {
                config,
                cursor,
                now_ms,
            },
        ) => {
            let instance = pre.instantiate_async(&mut *store).await?;
            let api = instance.gyre_plugin_events();
            Ok(Reply::Poll(
                api.call_poll(&mut *store, &config, cursor.as_deref(), now_ms)
                    .await?,
            ))
        }
        (PluginPre::Trigger(pre), Call::Webhook { config, request }) => {
            let instance = pre.instantiate_async(&mut *store).await?;
            let api = instance.gyre_plugin_events();
            Ok(Reply::Webhook(
                api.call_handle_webhook(&mut *store, &config, &request)
                    .await?,
            ))
        }
        _ => Err(wasmtime::Error::new(WrongKind)),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("wrong kind")]
struct WrongKind;

/// Turns an error out of a call into the failure it stands for.
fn classify(
    err: &wasmtime::Error,
    state: &StoreState,
    budget: &crate::Budget,
    limits: &crate::HostLimits,
) -> Failure {
    if state.limiter.hit_memory_limit || err.is::<MemoryLimitExceeded>() {
        return Failure::MemoryLimit {
            limit_bytes: budget.memory,
        };
    }
    if let Some(trap) = err.downcast_ref::<Trap>() {
        return match trap {
            Trap::OutOfFuel => Failure::OutOfFuel {
                budget: budget.fuel,
            },
            Trap::Interrupt => Failure::TimedOut {
                after_ms: budget.timeout.as_millis() as u64,
            },
            Trap::StackOverflow => Failure::Trapped {
                message: "stack overflow".into(),
            },
            other => Failure::Trapped {
                message: other.to_string(),
            },
        };
    }
    let chain: Vec<String> = err.chain().map(|c| c.to_string()).collect();
    let text = chain.join(": ");
    if text.contains("too much data is being copied") || text.contains("hostcall fuel") {
        return Failure::PayloadTooLarge {
            limit: limits.max_hostcall_bytes,
        };
    }
    // Limits checked while instantiating (memories, tables, instances)
    // surface as plain errors, not traps.
    if text.contains("memory count") || text.contains("memories") && text.contains("limit") {
        return Failure::MemoryLimit {
            limit_bytes: budget.memory,
        };
    }
    if text.contains("resource limit exceeded") || text.contains("Insufficient resources") {
        return Failure::Instantiation { message: text };
    }
    Failure::Trapped { message: text }
}

/// The panic message a Rust guest printed before trapping, if any.
fn panic_line(stderr: &str) -> Option<&str> {
    stderr
        .lines()
        .find(|l| l.contains("panicked at"))
        .map(|l| l.trim())
}

impl Plugin {
    pub(crate) fn new(
        runtime: Runtime,
        manifest: Manifest,
        info: ComponentInfo,
        bytes: std::sync::Arc<[u8]>,
        pre: PluginPre,
    ) -> Self {
        Self {
            runtime,
            manifest,
            info,
            bytes,
            digest: std::sync::OnceLock::new(),
            pre,
        }
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
    /// sha256 of the component, hex: its identity. Computed on first use,
    /// off the load path.
    pub fn digest(&self) -> &str {
        self.digest.get_or_init(|| crate::digest(&self.bytes))
    }

    /// The component's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
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
        // State belongs to this exact component: another component cannot
        // reach it by declaring the same name.
        self.grant_keyed(effective, resolver, None)
    }

    /// Like [`Plugin::grant`], with the private store under `state_key`
    /// instead of the content digest: an installed package passes its
    /// signed identity, so its state survives upgrades. Only the host
    /// chooses the key; it must be a plain name (`[a-z0-9._-]`, not
    /// starting with a dot, at most 200 bytes).
    pub fn grant_keyed(
        &self,
        effective: &gyre_manifest::Effective,
        resolver: std::sync::Arc<dyn crate::Resolve>,
        state_key: Option<&str>,
    ) -> Result<Granted, crate::SandboxError> {
        let key = match state_key {
            None => self.digest(),
            Some(k) => {
                let plain = !k.is_empty()
                    && k.len() <= 200
                    && !k.starts_with('.')
                    && k.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)
                    });
                if !plain {
                    return Err(crate::SandboxError::Grant {
                        plugin: self.name().into(),
                        what: "key-value store".into(),
                        reason: format!("state key {k:?} is not a plain name"),
                    });
                }
                k
            }
        };
        self.runtime.check_protected(self.name(), &effective.dirs)?;
        let kv = self.runtime.kv_store(key)?;
        let mut granted =
            Granted::new(self.name(), effective, self.runtime.limits(), resolver, kv)?;
        granted.bound_to = Some(self.digest().to_string());
        Ok(granted)
    }

    /// A fresh store for one call: limits, fuel and the epoch deadline set.
    fn new_store(&self, granted: &Granted) -> Result<Store<StoreState>, Failure> {
        let inner = &self.runtime.inner;
        let state = StoreState::new(granted, &inner.limits)
            .map_err(|message| Failure::Instantiation { message })?;
        let mut store = Store::new(&inner.engine, state);
        store.limiter(|s| &mut s.limiter);
        if !inner.unmetered {
            store
                .set_fuel(granted.budget.fuel)
                .map_err(|e| Failure::Instantiation {
                    message: e.to_string(),
                })?;
        }
        // Bounds what wasmtime copies out of the guest for one host call or
        // one result, before any size check of ours can run.
        store.set_hostcall_fuel(inner.limits.max_hostcall_bytes);
        // Yield to the executor at every epoch tick so the deadline can fire
        // even while the guest spins.
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|_| Ok(UpdateDeadline::Yield(1)));
        Ok(store)
    }

    /// For benchmarks only: the time of each of `calls` verifications on one
    /// instance. The host itself never reuses an instance across calls; this
    /// measures what a call costs once the instance exists.
    #[doc(hidden)]
    pub async fn bench_warm_verify(
        &self,
        granted: &Granted,
        request: &verifier::VerifyRequest,
        calls: usize,
    ) -> Result<Vec<std::time::Duration>, Failure> {
        let PluginPre::Verifier(pre) = &self.pre else {
            return Err(Failure::Unsupported {
                message: format!("{} is not a verifier", self.name()),
            });
        };
        let mut store = self.new_store(granted)?;
        let budget = granted.budget;
        let limits = self.runtime.limits();
        let fail = |e: wasmtime::Error, store: &Store<StoreState>| {
            classify(&e, store.data(), &budget, limits)
        };
        let instance = match pre.instantiate_async(&mut store).await {
            Ok(i) => i,
            Err(e) => return Err(fail(e, &store)),
        };
        let api = instance.gyre_plugin_verification();
        let mut times = Vec::with_capacity(calls);
        for _ in 0..calls {
            let start = Instant::now();
            let result = api.call_verify(&mut store, request).await;
            times.push(start.elapsed());
            if let Err(e) = result {
                return Err(fail(e, &store));
            }
        }
        Ok(times)
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
        let early = |failure: Failure, usage: Usage| Invocation {
            outcome: Err(failure),
            usage,
            output: Output::default(),
            denials: Vec::new(),
            denials_dropped: 0,
        };

        if granted
            .bound_to
            .as_deref()
            .is_some_and(|d| d != self.digest())
        {
            let message = format!(
                "these grants were made for another plugin than {}",
                self.name()
            );
            return early(Failure::Unsupported { message }, usage);
        }
        let input = call.input_bytes();
        if input > limits.max_input_bytes {
            return early(
                Failure::InputTooLarge {
                    bytes: input,
                    limit: limits.max_input_bytes,
                },
                usage,
            );
        }
        let mut store = match self.new_store(granted) {
            Ok(store) => store,
            Err(failure) => return early(failure, usage),
        };

        // The deadline covers the guest's own work and time blocked in host
        // calls (HTTP, file I/O) alike.
        let result =
            tokio::time::timeout(budget.timeout, dispatch(&mut store, &self.pre, call)).await;

        usage.wall_time_us = start.elapsed().as_micros() as u64;
        usage.fuel_consumed = budget.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
        let state = store.data();
        usage.peak_memory_bytes = state.limiter.peak;
        let outcome = match result {
            Err(_) => Err(Failure::TimedOut {
                after_ms: budget.timeout.as_millis() as u64,
            }),
            Ok(Err(e)) if e.is::<WrongKind>() => Err(Failure::Unsupported {
                message: format!(
                    "{} is a {}; it does not answer that call",
                    self.name(),
                    self.kind()
                ),
            }),
            Ok(Err(e)) => Err(classify(&e, state, &budget, limits)),
            Ok(Ok(reply)) => {
                let bytes = reply.size();
                if bytes > limits.max_result_bytes {
                    Err(Failure::ResultTooLarge {
                        bytes,
                        limit: limits.max_result_bytes,
                    })
                } else {
                    Ok(reply)
                }
            }
        };
        let secrets = state.secrets.clone();
        let (stdout, stdout_dropped) = state.stdout.take(&secrets);
        let (stderr, stderr_dropped) = state.stderr.take(&secrets);
        let outcome = match outcome {
            Ok(mut reply) => {
                reply.redact(&secrets);
                Ok(reply)
            }
            Err(failure) => Err(redact_failure(failure, &secrets, panic_line(&stderr))),
        };
        let store_state = store.into_data();
        let logs = store_state.logs;
        let denials = std::mem::take(
            &mut *store_state
                .denials
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        let kept: Vec<Denial> = denials
            .kept
            .into_iter()
            .map(|d| Denial {
                capability: d.capability,
                detail: secrets.redact(&d.detail),
            })
            .collect();
        for d in &kept {
            tracing::info!(target: "gyre::denied", plugin = self.name(), capability = %d.capability, "{}", d.detail);
        }
        tracing::debug!(
            target: "gyre::call",
            plugin = self.name(),
            outcome = match &outcome { Ok(_) => "returned", Err(f) => f.kind() },
            fuel = usage.fuel_consumed,
            wall_us = usage.wall_time_us,
            peak_memory = usage.peak_memory_bytes,
        );
        Invocation {
            outcome,
            usage,
            output: Output {
                logs: logs.lines,
                logs_dropped: logs.dropped,
                stdout,
                stdout_dropped,
                stderr,
                stderr_dropped,
            },
            denials: kept,
            denials_dropped: denials.dropped,
        }
    }

    /// Runs a verifier on `request`.
    pub async fn verify(
        &self,
        granted: &Granted,
        request: verifier::VerifyRequest,
    ) -> Invocation<Result<verifier::Verdict, PluginError>> {
        self.run(granted, Call::Verify(request))
            .await
            .map(|reply| match reply {
                Reply::Verify(r) => Ok(r),
                _ => Err(mismatched()),
            })
    }

    /// Lists a connector's operations.
    pub async fn operations(&self, granted: &Granted) -> Invocation<Vec<connector::Operation>> {
        self.run(granted, Call::Operations)
            .await
            .map(|reply| match reply {
                Reply::Operations(ops) => Ok(ops),
                _ => Err(mismatched()),
            })
    }

    /// Runs one connector operation. The output is JSON text.
    pub async fn invoke(
        &self,
        granted: &Granted,
        config: &str,
        operation: &str,
        input: &str,
    ) -> Invocation<Result<String, PluginError>> {
        let call = Call::Invoke {
            config: config.into(),
            operation: operation.into(),
            input: input.into(),
        };
        self.run(granted, call).await.map(|reply| match reply {
            Reply::Invoke(r) => Ok(r),
            _ => Err(mismatched()),
        })
    }

    /// How a trigger fires under `config`.
    pub async fn firing(
        &self,
        granted: &Granted,
        config: &str,
    ) -> Invocation<Result<trigger::Firing, PluginError>> {
        self.run(
            granted,
            Call::Firing {
                config: config.into(),
            },
        )
        .await
        .map(|reply| match reply {
            Reply::Firing(r) => Ok(r),
            _ => Err(mismatched()),
        })
    }

    /// Polls a trigger.
    pub async fn poll(
        &self,
        granted: &Granted,
        config: &str,
        cursor: Option<&str>,
        now_ms: u64,
    ) -> Invocation<Result<trigger::PollResult, PluginError>> {
        let call = Call::Poll {
            config: config.into(),
            cursor: cursor.map(str::to_string),
            now_ms,
        };
        self.run(granted, call).await.map(|reply| match reply {
            Reply::Poll(r) => Ok(r),
            _ => Err(mismatched()),
        })
    }

    /// Hands an incoming webhook request to a trigger.
    pub async fn webhook(
        &self,
        granted: &Granted,
        config: &str,
        request: trigger::WebhookRequest,
    ) -> Invocation<Result<Vec<trigger::Event>, PluginError>> {
        self.run(
            granted,
            Call::Webhook {
                config: config.into(),
                request,
            },
        )
        .await
        .map(|reply| match reply {
            Reply::Webhook(r) => Ok(r),
            _ => Err(mismatched()),
        })
    }
}

fn mismatched() -> Failure {
    Failure::Unsupported {
        message: "the plugin answered a different call".into(),
    }
}
