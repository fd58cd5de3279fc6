//! `gyre daemon`: fires loops from their triggers.
//!
//! Schedules and polls call the trigger plugin at each tick; webhooks are
//! served on a loopback address. Every fire goes through one bounded queue:
//! when it is full, a webhook gets 429 and a tick is dropped (and logged),
//! so a flood costs bounded memory. Each loop has at most one live run
//! unless its policy queues one more; `max-runs` bounds runs overall.

use crate::run::{self, Context};
use crate::spec::LoopSpec;
use crate::stages::Stages;
use crate::store::{Store, TriggerState};
use crate::{RunError, now_ms};
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
use tokio::sync::{Semaphore, mpsc};

/// A loop's trigger, loaded and granted.
struct Trigger {
    name: LoopName,
    spec: LoopSpec,
    plugin: Plugin,
    granted: Granted,
    config: String,
    firing: Firing,
}

/// Something that should start a run.
#[derive(Debug)]
pub struct Fire {
    pub loop_name: LoopName,
    pub event: Value,
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
}

/// What became of a fire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Enqueued {
    Queued,
    /// The loop has a live run and its policy skips overlapping fires.
    Skipped,
    /// The queue is full.
    Full,
}

async fn load_trigger(ctx: &Context, name: &LoopName) -> Result<Option<Trigger>, RunError> {
    let spec = LoopSpec::find(&ctx.project, name.as_str())?;
    let Some(t) = spec.recipe.trigger.clone() else {
        return Ok(None);
    };
    let path = crate::stages::locate(&t.plugin, &spec.recipe_path, &ctx.project)
        .map_err(|e| RunError::Refused(format!("loop {name}, trigger: {e}")))?;
    // Loading all stages up front refuses a loop with a missing plugin now,
    // not at its first fire.
    Stages::load(&ctx.runtime, &ctx.project, &spec.recipe, &spec.recipe_path)?;
    let (plugin, _) = ctx
        .runtime
        .load(&path)
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
    let granted = plugin
        .grant(&effective, ctx.resolver.clone())
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
        let config = self.ctx.project.daemon.clone();
        let (tx, rx) = mpsc::channel::<Fire>(config.queue);
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
                tasks.push(tokio::spawn(this.clone().schedule(
                    t.clone(),
                    every,
                    tx.clone(),
                )));
            }
        }
        if let Some(listener) = listener {
            tasks.push(tokio::spawn(this.clone().webhooks(listener, tx.clone())));
        }
        drop(tx);
        tasks.push(tokio::spawn(this.clone().dispatch(rx)));
        shutdown.await;
        for t in tasks {
            t.abort();
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

    fn save_trigger_state(&self, name: &LoopName, state: &TriggerState) {
        if let Ok(s) = self.store.lock()
            && let Err(e) = s.save_trigger_state(name.as_str(), state)
        {
            tracing::error!("{e}");
        }
    }

    /// Keeps events not seen before, remembering them.
    fn fresh(&self, state: &mut TriggerState, events: Vec<Event>) -> Vec<Event> {
        let mut out = Vec::new();
        for e in events {
            if !state.seen.contains(&e.id) {
                state.seen.push(e.id.clone());
                out.push(e);
            }
        }
        out
    }

    async fn schedule(self: Arc<Self>, t: Arc<Trigger>, every: Duration, tx: mpsc::Sender<Fire>) {
        let policy = self
            .ctx
            .project
            .loops
            .get(&t.name)
            .map(|l| l.schedule.clone())
            .unwrap_or_default();
        let mut first = true;
        loop {
            let mut state = self.trigger_state(&t.name);
            let now = now_ms();
            let missed = first
                && state
                    .last_poll_ms
                    .is_some_and(|last| now.saturating_sub(last) > 2 * every.as_millis() as u64);
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
                    let mut events = self.fresh(&mut state, result.events);
                    self.save_trigger_state(&t.name, &state);
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
                    for e in events {
                        let wait = jitter(policy.jitter);
                        if !wait.is_zero() {
                            tokio::time::sleep(wait).await;
                        }
                        let _ = self.enqueue(&tx, &t.name, e);
                    }
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

    fn enqueue(&self, tx: &mpsc::Sender<Fire>, name: &LoopName, e: Event) -> Enqueued {
        if self.overlap(name) == Overlap::Skip && self.is_live(name) {
            self.say(&format!(
                "loop {name}: a run is live; event {} is skipped (overlap = \"skip\")",
                e.id
            ));
            return Enqueued::Skipped;
        }
        let payload: Value =
            serde_json::from_str(&e.payload).unwrap_or(Value::String(e.payload.clone()));
        let fire = Fire {
            loop_name: name.clone(),
            event: json!({"id": e.id, "kind": e.kind, "payload": payload}),
        };
        match tx.try_send(fire) {
            Ok(()) => Enqueued::Queued,
            Err(_) => {
                self.say(&format!(
                    "loop {name}: the fire queue is full; dropped event {}",
                    e.id
                ));
                Enqueued::Full
            }
        }
    }

    /// Starts fires in order. A fire waits (out of the queue, so the queue
    /// stays bounded) for its loop's live run to end and for a run slot.
    async fn dispatch(self: Arc<Self>, mut rx: mpsc::Receiver<Fire>) {
        let slots = Arc::new(Semaphore::new(self.ctx.project.daemon.max_runs));
        'fires: while let Some(fire) = rx.recv().await {
            while self.is_live(&fire.loop_name) {
                if self.overlap(&fire.loop_name) == Overlap::Skip {
                    self.say(&format!(
                        "loop {}: a run is live; a fire is skipped (overlap = \"skip\")",
                        fire.loop_name
                    ));
                    continue 'fires;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let Some(spec) = self.triggers.get(&fire.loop_name).map(|t| t.spec.clone()) else {
                continue;
            };
            if let Ok(mut live) = self.live.lock() {
                live.insert(fire.loop_name.clone());
            }
            let this = self.clone();
            tokio::spawn(async move {
                let ctx = this.ctx.clone();
                if let Err(e) = run::start(&ctx, spec, fire.event).await {
                    this.say(&format!(
                        "loop {}: the run could not start: {e}",
                        fire.loop_name
                    ));
                }
                if let Ok(mut live) = this.live.lock() {
                    live.remove(&fire.loop_name);
                }
                drop(slot);
            });
        }
    }

    async fn webhooks(self: Arc<Self>, listener: tokio::net::TcpListener, tx: mpsc::Sender<Fire>) {
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
            let tx = tx.clone();
            let calls = calls.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let this = this.clone();
                    let tx = tx.clone();
                    let calls = calls.clone();
                    async move { Ok::<_, std::convert::Infallible>(this.hook(req, &tx, &calls).await) }
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

    async fn hook(
        &self,
        req: Request<Incoming>,
        tx: &mpsc::Sender<Fire>,
        calls: &Semaphore,
    ) -> Response<Full<Bytes>> {
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
        if tx.capacity() == 0 {
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
        let mut state = self.trigger_state(&t.name);
        let events = self.fresh(&mut state, events);
        self.save_trigger_state(&t.name, &state);
        let (mut queued, mut skipped) = (0, 0);
        for e in events {
            match self.enqueue(tx, &t.name, e) {
                Enqueued::Queued => queued += 1,
                Enqueued::Skipped => skipped += 1,
                Enqueued::Full => {
                    let mut r = reply(
                        StatusCode::TOO_MANY_REQUESTS,
                        "the fire queue is full; retry later",
                    );
                    r.headers_mut()
                        .insert("retry-after", hyper::header::HeaderValue::from_static("5"));
                    return r;
                }
            }
        }
        if queued == 0 && skipped > 0 {
            return reply(
                StatusCode::OK,
                "skipped: a run of this loop is live (overlap = \"skip\")",
            );
        }
        reply(StatusCode::ACCEPTED, &format!("{queued} event(s) queued"))
    }
}
