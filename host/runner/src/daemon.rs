//! `gyre daemon`: fires loops from their triggers.
//!
//! Schedules and polls call the trigger plugin at each tick; webhooks are
//! served on a loopback address. Every fire goes through one bounded queue:
//! when it is full, a webhook gets 429 and a tick is dropped (and logged),
//! so a flood costs bounded memory. Each loop has at most one live run
//! unless its policy queues one more; `max-runs` bounds runs overall.

use crate::run::{self, Context};
use crate::spec::LoopSpec;
use crate::store::{Accepted, Store, TriggerState};
use crate::{RunError, RunId, now_ms};
use bytes::Bytes;
use gyre_manifest::{LoopName, StepId};
use gyre_recipe::{MissedFires, Overlap};
use gyre_sandbox::trigger::{Event, Firing, WebhookRequest};
use gyre_sandbox::{Granted, Plugin, PluginError};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};

/// A loop's trigger, loaded and granted.
struct Trigger {
    name: LoopName,
    spec: LoopSpec,
    plugin: Plugin,
    granted: Granted,
    config: String,
    firing: Firing,
}

/// Webhook calls into plugins at once; beyond it, 429.
const WEBHOOK_CALLS: usize = 8;
/// Open webhook connections at once; beyond it, the kernel backlog waits.
const CONNECTIONS: usize = 256;

pub struct Daemon {
    ctx: Context,
    triggers: BTreeMap<LoopName, Arc<Trigger>>,
    store: Arc<Mutex<Store>>,
    /// What the daemon reports that belongs to no run (missed fires,
    /// dropped ticks), for the terminal and tests.
    notice: Arc<dyn Fn(&str) + Send + Sync>,
    /// Loops with a live run.
    live: Mutex<HashSet<LoopName>>,
    /// Wakes the dispatcher when a fire is queued.
    queued: Notify,
}

async fn load_trigger(ctx: &Context, name: &LoopName) -> Result<Option<Trigger>, RunError> {
    let spec = LoopSpec::find(&ctx.project, name.as_str())?;
    let Some(t) = spec.recipe.trigger.clone() else {
        return Ok(None);
    };
    let located = crate::stages::locate(
        &t.plugin,
        &spec.recipe_path,
        &ctx.project,
        ctx.data_dir.as_deref(),
    )
    .map_err(|e| RunError::Refused(format!("loop {name}, trigger: {e}")))?;
    // Loading all stages up front refuses a loop with a missing plugin now,
    // not at its first fire.
    spec.load_stages(ctx)?;
    let (plugin, _) = ctx
        .runtime
        .load(&located.path)
        .map_err(|e| RunError::Refused(format!("loop {name}, trigger: {e}")))?;
    let trigger_id: StepId = "trigger".parse().map_err(RunError::Config)?;
    let mut effective = spec
        .grants
        .get(&trigger_id)
        .cloned()
        .unwrap_or_default()
        .resolve(plugin.manifest());
    if let Some(caps) = &t.capabilities {
        effective = effective.narrow(caps);
    }
    let owner = located.identity.as_deref().unwrap_or(plugin.digest());
    let state_key = spec.state_key(&ctx.project, &trigger_id, owner);
    let granted = plugin
        .grant_keyed(&effective, ctx.resolver.clone(), Some(&state_key))
        .map_err(|e| RunError::Refused(format!("loop {name}, trigger: {e}")))?;
    let config = serde_json::to_string(&t.config).map_err(|e| RunError::Config(e.to_string()))?;
    let firing = match plugin.firing(&granted, &config).await.outcome {
        Ok(Ok(f)) => f,
        Ok(Err(e)) => return Err(RunError::Refused(format!("loop {name}, trigger: {e:?}"))),
        Err(f) => return Err(RunError::Refused(format!("loop {name}, trigger: {f}"))),
    };
    Ok(Some(Trigger {
        name: name.clone(),
        spec,
        plugin,
        granted,
        config,
        firing,
    }))
}

fn period(firing: &Firing) -> Option<Duration> {
    match firing {
        // Cron has minute resolution: ask every minute; the plugin knows
        // which minutes are due.
        Firing::Cron(_) => Some(Duration::from_secs(60)),
        Firing::Interval(s) | Firing::Poll(s) => Some(Duration::from_secs((*s).max(1))),
        Firing::Webhook => None,
    }
}

fn jitter(max: Option<gyre_recipe::HumanDuration>) -> Duration {
    let Some(max) = max else {
        return Duration::ZERO;
    };
    let mut noise = [0u8; 8];
    let _ = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut noise));
    let ms = max.0.as_millis() as u64;
    Duration::from_millis(if ms == 0 {
        0
    } else {
        u64::from_le_bytes(noise) % ms
    })
}

impl Daemon {
    /// Loads every enabled loop with a trigger (or only `only`). A loop
    /// that cannot load refuses the daemon: a silently dead schedule is
    /// worse than no daemon.
    pub async fn new(
        ctx: Context,
        only: Option<&LoopName>,
        notice: Arc<dyn Fn(&str) + Send + Sync>,
    ) -> Result<Self, RunError> {
        let store = Arc::new(Mutex::new(ctx.open_store()?));
        let mut triggers = BTreeMap::new();
        for (name, config) in &ctx.project.loops {
            if only.is_some_and(|o| o != name) || (!config.enabled && only.is_none()) {
                continue;
            }
            if let Some(t) = load_trigger(&ctx, name).await? {
                triggers.insert(name.clone(), Arc::new(t));
            }
        }
        if let Some(o) = only
            && !triggers.contains_key(o)
        {
            return Err(RunError::Config(format!(
                "loop {o} has no trigger (or is not in gyre.toml); run it once with `gyre run {o} --once`"
            )));
        }
        Ok(Self {
            ctx,
            triggers,
            store,
            notice,
            live: Mutex::default(),
            queued: Notify::new(),
        })
    }

    pub fn loops(&self) -> Vec<(String, String)> {
        self.triggers
            .values()
            .map(|t| {
                let how = match &t.firing {
                    Firing::Cron(c) => format!("cron {c}"),
                    Firing::Interval(s) => format!("every {s}s"),
                    Firing::Poll(s) => format!("polls every {s}s"),
                    Firing::Webhook => format!("webhook /hooks/{}", t.name),
                };
                (t.name.to_string(), how)
            })
            .collect()
    }

    fn has_webhooks(&self) -> bool {
        self.triggers
            .values()
            .any(|t| matches!(t.firing, Firing::Webhook))
    }

    /// Binds the webhook listener (when a loop needs one). Separate from
    /// [`Daemon::serve`] so the caller can print the address first.
    pub async fn bind(&self) -> Result<Option<tokio::net::TcpListener>, RunError> {
        if !self.has_webhooks() {
            return Ok(None);
        }
        let addr = self.ctx.project.daemon.listen;
        tokio::net::TcpListener::bind(addr)
            .await
            .map(Some)
            .map_err(|e| RunError::Io(format!("cannot listen on {addr}: {e}")))
    }

    /// Runs until `shutdown` resolves.
    pub async fn serve(
        self,
        listener: Option<tokio::net::TcpListener>,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), RunError> {
        if let Ok(store) = self.store.lock() {
            let lost = store.requeue_lost_fires()?;
            if lost > 0 {
                tracing::warn!("{lost} fire(s) whose run never started are queued again");
            }
        }
        let this = Arc::new(self);

        // Runs a crashed process left behind come first.
        let orphans = {
            let ctx = this.ctx.clone();
            tokio::spawn(async move {
                if let Err(e) = run::resume_orphans(&ctx).await {
                    tracing::error!("resuming interrupted runs: {e}");
                }
            })
        };

        let mut tasks = vec![orphans];
        for t in this.triggers.values() {
            if let Some(every) = period(&t.firing) {
                tasks.push(tokio::spawn(this.clone().schedule(t.clone(), every)));
            }
        }
        if let Some(listener) = listener {
            tasks.push(tokio::spawn(this.clone().webhooks(listener)));
        }
        tasks.push(tokio::spawn(this.clone().dispatch()));
        shutdown.await;
        for t in tasks {
            t.abort();
        }
        // Live runs are interrupted, not stopped: they resume on the next
        // start. Their commands go now rather than run on unattended.
        if let Ok(store) = this.store.lock() {
            for run in store.unfinished().unwrap_or_default() {
                if let Some(pgid) = run.child_pgid {
                    crate::process::kill_leftover(pgid, &run.worktree);
                }
            }
        }
        Ok(())
    }

    fn say(&self, message: &str) {
        tracing::info!(target: "gyre::daemon", "{message}");
        (self.notice)(message);
    }

    fn trigger_state(&self, name: &LoopName) -> TriggerState {
        self.store
            .lock()
            .ok()
            .and_then(|s| s.trigger_state(name.as_str()).ok())
            .unwrap_or_default()
    }

    async fn schedule(self: Arc<Self>, t: Arc<Trigger>, every: Duration) {
        let policy = self
            .ctx
            .project
            .loops
            .get(&t.name)
            .map(|l| l.schedule.clone())
            .unwrap_or_default();
        // Only clock-driven triggers owe fires for time the daemon was down;
        // a poll trigger's events are distinct work items, never coalesced.
        let clock = matches!(t.firing, Firing::Cron(_) | Firing::Interval(_));
        let mut first = true;
        loop {
            let mut state = self.trigger_state(&t.name);
            let now = now_ms();
            let missed = clock
                && first
                && state.last_poll_ms.is_some_and(|last| {
                    now.saturating_sub(last) > (every.as_millis() as u64).saturating_mul(2)
                });
            let inv = t
                .plugin
                .poll(&t.granted, &t.config, state.cursor.as_deref(), now)
                .await;
            match inv.outcome {
                Ok(Ok(result)) => {
                    if result.cursor.is_some() {
                        state.cursor = result.cursor;
                    }
                    state.last_poll_ms = Some(now);
                    let mut events = result.events;
                    if missed && !events.is_empty() {
                        match policy.missed {
                            MissedFires::Skip => {
                                self.say(&format!(
                                    "loop {}: skipped {} fire(s) that came due while the daemon was down (missed = \"skip\")",
                                    t.name,
                                    events.len()
                                ));
                                events.clear();
                            }
                            MissedFires::RunOnce => {
                                self.say(&format!(
                                    "loop {}: fires came due while the daemon was down; running once now (missed = \"run-once\")",
                                    t.name
                                ));
                                events.drain(..events.len().saturating_sub(1));
                            }
                        }
                    }
                    let wait = jitter(policy.jitter);
                    if !events.is_empty() && !wait.is_zero() {
                        tokio::time::sleep(wait).await;
                    }
                    // The cursor moves only with the fires it produced.
                    let _ = self.accept(&t.name, events, Some(&state));
                }
                Ok(Err(e)) => self.say(&format!("loop {}: trigger poll failed: {e:?}", t.name)),
                Err(f) => self.say(&format!("loop {}: trigger poll failed: {f}", t.name)),
            }
            first = false;
            tokio::time::sleep(every).await;
        }
    }

    fn overlap(&self, name: &LoopName) -> Overlap {
        self.ctx
            .project
            .loops
            .get(name)
            .map(|l| l.schedule.overlap)
            .unwrap_or_default()
    }

    fn is_live(&self, name: &LoopName) -> bool {
        self.live.lock().map(|l| l.contains(name)).unwrap_or(true)
    }

    /// Queues `events` durably (with the trigger state, when given). A
    /// loop with a live run and `overlap = "skip"` takes none.
    fn accept(
        &self,
        name: &LoopName,
        events: Vec<Event>,
        state: Option<&TriggerState>,
    ) -> Result<Accepted, RunError> {
        let skip = self.overlap(name) == Overlap::Skip && self.is_live(name);
        let offered: Vec<(String, Value)> = if skip {
            for e in &events {
                self.say(&format!(
                    "loop {name}: a run is live; event {} is skipped (overlap = \"skip\")",
                    e.id
                ));
            }
            Vec::new()
        } else {
            events
                .into_iter()
                .map(|e| {
                    let payload: Value = serde_json::from_str(&e.payload)
                        .unwrap_or(Value::String(e.payload.clone()));
                    let event = json!({"id": e.id, "kind": e.kind, "payload": payload});
                    (e.id, event)
                })
                .collect()
        };
        let accepted = {
            let store = self
                .store
                .lock()
                .map_err(|_| RunError::Io("the daemon's database handle is poisoned".into()))?;
            store.accept_fires(
                name.as_str(),
                &offered,
                state,
                self.ctx.project.daemon.queue,
            )?
        };
        if accepted.full {
            self.say(&format!(
                "loop {name}: the fire queue is full; {} event(s) refused",
                offered.len()
            ));
        }
        if accepted.queued > 0 {
            self.queued.notify_one();
        }
        Ok(accepted)
    }

    /// Starts queued fires, oldest first, as run slots free up. A fire
    /// whose loop has a live run waits (or, with `overlap = "skip"`, is
    /// dropped) without holding up other loops' fires.
    async fn dispatch(self: Arc<Self>) {
        let slots = Arc::new(Semaphore::new(self.ctx.project.daemon.max_runs));
        loop {
            let pending = match self.store.lock() {
                Ok(store) => store.pending_fires().unwrap_or_default(),
                Err(_) => return,
            };
            for fire in pending {
                let Ok(name) = fire.loop_name.parse::<LoopName>() else {
                    continue;
                };
                let Some(spec) = self.triggers.get(&name).map(|t| t.spec.clone()) else {
                    continue;
                };
                if self.is_live(&name) {
                    if self.overlap(&name) == Overlap::Skip {
                        self.say(&format!(
                            "loop {name}: a run is live; a fire is skipped (overlap = \"skip\")"
                        ));
                        if let Ok(store) = self.store.lock() {
                            let _ = store.fire_handled(fire.seq, "skipped", None);
                        }
                    }
                    continue;
                }
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    break;
                };
                let id = RunId::new();
                // The fire names its run before the run exists: if the daemon
                // dies in between, the next start queues the fire again.
                let marked = match self.store.lock() {
                    Ok(store) => store.fire_handled(fire.seq, "started", Some(&id)).is_ok(),
                    Err(_) => false,
                };
                if !marked {
                    continue;
                }
                if let Ok(mut live) = self.live.lock() {
                    live.insert(name.clone());
                }
                let this = self.clone();
                tokio::spawn(async move {
                    let ctx = this.ctx.clone();
                    if let Err(e) = run::start_as(&ctx, spec, fire.event, id).await {
                        this.say(&format!("loop {name}: the run could not start: {e}"));
                    }
                    if let Ok(mut live) = this.live.lock() {
                        live.remove(&name);
                    }
                    drop(slot);
                    this.queued.notify_one();
                });
            }
            let _ = tokio::time::timeout(Duration::from_millis(500), self.queued.notified()).await;
        }
    }

    async fn webhooks(self: Arc<Self>, listener: tokio::net::TcpListener) {
        let connections = Arc::new(Semaphore::new(CONNECTIONS));
        let calls = Arc::new(Semaphore::new(WEBHOOK_CALLS));
        loop {
            let Ok(permit) = connections.clone().acquire_owned().await else {
                return;
            };
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let this = self.clone();
            let calls = calls.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let this = this.clone();
                    let calls = calls.clone();
                    async move { Ok::<_, std::convert::Infallible>(this.hook(req, &calls).await) }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(10))
                    .max_buf_size(64 * 1024)
                    .serve_connection(io, service);
                let _ = tokio::time::timeout(Duration::from_secs(60), conn).await;
                drop(permit);
            });
        }
    }

    async fn hook(&self, req: Request<Incoming>, calls: &Semaphore) -> Response<Full<Bytes>> {
        let reply = |status: StatusCode, message: &str| {
            let mut r = Response::new(Full::new(Bytes::from(format!("{message}\n"))));
            *r.status_mut() = status;
            r
        };
        let path = req.uri().path().to_string();
        let Some(name) = path.strip_prefix("/hooks/") else {
            return reply(
                StatusCode::NOT_FOUND,
                "webhooks are served at /hooks/<loop>",
            );
        };
        let trigger = name
            .parse::<LoopName>()
            .ok()
            .and_then(|n| self.triggers.get(&n))
            .filter(|t| matches!(t.firing, Firing::Webhook));
        let Some(t) = trigger.cloned() else {
            return reply(
                StatusCode::NOT_FOUND,
                "no loop with a webhook trigger by that name",
            );
        };
        // Full queue: say so before reading the body or calling the plugin.
        let pending = self
            .store
            .lock()
            .ok()
            .and_then(|s| s.pending_count().ok())
            .unwrap_or(0);
        if pending >= self.ctx.project.daemon.queue {
            let mut r = reply(
                StatusCode::TOO_MANY_REQUESTS,
                "the fire queue is full; retry later",
            );
            r.headers_mut()
                .insert("retry-after", hyper::header::HeaderValue::from_static("5"));
            return r;
        }
        let Ok(_call) = calls.try_acquire() else {
            let mut r = reply(
                StatusCode::TOO_MANY_REQUESTS,
                "too many webhook deliveries at once; retry later",
            );
            r.headers_mut()
                .insert("retry-after", hyper::header::HeaderValue::from_static("1"));
            return r;
        };
        let max = self.ctx.project.daemon.max_body_bytes;
        let method = req.method().to_string();
        let path_q = req
            .uri()
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default();
        let headers: Vec<(String, String)> = req
            .headers()
            .iter()
            .filter_map(|(k, v)| {
                Some((
                    k.as_str().to_ascii_lowercase(),
                    v.to_str().ok()?.to_string(),
                ))
            })
            .collect();
        let body = match Limited::new(req.into_body(), max).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => {
                return reply(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &format!("bodies are limited to {max} bytes"),
                );
            }
        };
        let request = WebhookRequest {
            method,
            path: path_q,
            headers,
            body: body.to_vec(),
        };
        let inv = t.plugin.webhook(&t.granted, &t.config, request).await;
        let events = match inv.outcome {
            Ok(Ok(events)) => events,
            Ok(Err(PluginError::Unauthorized(_))) => {
                return reply(StatusCode::UNAUTHORIZED, "unauthorized");
            }
            Ok(Err(e)) => return reply(StatusCode::BAD_REQUEST, &format!("{e:?}")),
            Err(f) => {
                self.say(&format!("loop {}: webhook trigger failed: {f}", t.name));
                return reply(StatusCode::INTERNAL_SERVER_ERROR, "the trigger failed");
            }
        };
        // 202 only once the fires are durable: a delivery acknowledged is
        // never lost to a restart.
        match self.accept(&t.name, events, None) {
            Err(e) => {
                self.say(&format!("loop {}: {e}", t.name));
                reply(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &format!("cannot queue the delivery ({e}); retry later"),
                )
            }
            Ok(a) if a.full => {
                let mut r = reply(
                    StatusCode::TOO_MANY_REQUESTS,
                    "the fire queue is full; retry later",
                );
                r.headers_mut()
                    .insert("retry-after", hyper::header::HeaderValue::from_static("5"));
                r
            }
            Ok(a) if a.queued == 0 && a.duplicates == 0 => reply(
                StatusCode::OK,
                "skipped: a run of this loop is live (overlap = \"skip\")",
            ),
            Ok(a) => reply(
                StatusCode::ACCEPTED,
                &format!(
                    "{} event(s) queued, {} already seen",
                    a.queued, a.duplicates
                ),
            ),
        }
    }
}
