//! One run of a loop, as a state machine whose every transition is written
//! to the run database before it is acted on.
//!
//! prepare (worktree) → discover → iterate: maker → checks → verifiers →
//! decide → … → ship → finished. A run resumed after a crash re-enters the
//! phase it recorded: a finished iteration is never redone, a started one
//! is redone from its first unrecorded step, and a ship step already done
//! is skipped (one started but unconfirmed is re-sent with the same
//! idempotency key).

use crate::process::{self, Spawn};
use crate::record::*;
use crate::spec::LoopSpec;
use crate::stages::Stages;
use crate::store::Store;
use crate::{RunError, RunId, now_ms, worktree};
use gyre_manifest::StepId;
use gyre_recipe::{KeepWorktrees, Project, PromptVia, ShipAction, template};
use gyre_sandbox::verifier::{Evidence, Severity, VerifyRequest};
use gyre_sandbox::{Resolve, Runtime};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Sees every journal entry as it is written (progress display, tests).
pub type Observer = Arc<dyn Fn(&RunRecord, &Journal) + Send + Sync>;

/// What runs share: the sandbox, name resolution, the user's config.
#[derive(Clone)]
pub struct Context {
    pub runtime: Runtime,
    pub resolver: Arc<dyn Resolve>,
    pub project: Arc<Project>,
    /// Sees every journal entry as it is written (progress display).
    pub observer: Observer,
    /// Where `gyre install` put packages; recipes may name them.
    pub data_dir: Option<PathBuf>,
}

impl Context {
    pub fn state_dir(&self) -> PathBuf {
        self.project.state_dir()
    }
    pub fn db_path(&self) -> PathBuf {
        self.state_dir().join("runs.db")
    }
    pub fn open_store(&self) -> Result<Store, RunError> {
        let state = self.state_dir();
        std::fs::create_dir_all(&state)
            .map_err(|e| RunError::Io(format!("cannot create {}: {e}", state.display())))?;
        // Keep run state out of `git status` when it lives inside the repo.
        let ignore = state.join(".gitignore");
        if !ignore.exists() {
            let _ = std::fs::write(&ignore, "*\n");
        }
        Ok(Store::open(&self.db_path())?)
    }
}

/// Holds a run for one process: the lock is released when the process
/// ends, however it ends, so a crashed run can be claimed.
struct RunLock(#[allow(dead_code)] std::fs::File);

fn claim(state: &Path, id: &RunId) -> Result<Option<RunLock>, RunError> {
    let dir = state.join("locks");
    std::fs::create_dir_all(&dir)
        .map_err(|e| RunError::Io(format!("cannot create {}: {e}", dir.display())))?;
    let path = dir.join(format!("{id}.lock"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| RunError::Io(format!("cannot open {}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(RunLock(file))),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(RunError::Io(format!("cannot lock {}: {e}", path.display())))
        }
    }
}

/// Whether a process holds `id` right now.
pub fn is_live(state: &Path, id: &RunId) -> bool {
    matches!(claim(state, id), Ok(None))
}

pub struct Runner {
    ctx: Context,
    store: Store,
    spec: LoopSpec,
    stages: Stages,
    run: RunRecord,
    _lock: RunLock,
    segment: Instant,
    active_before: u64,
    /// What the sandbox refused the last connector call.
    last_denials: Vec<String>,
}

/// Starts a new run of `spec` for `event` and drives it to its end.
pub async fn start(ctx: &Context, spec: LoopSpec, event: Value) -> Result<RunRecord, RunError> {
    start_as(ctx, spec, event, RunId::new()).await
}

/// [`start`] with an id chosen beforehand (the daemon records it on the
/// fire first, so a fire is never lost between the two writes).
pub async fn start_as(
    ctx: &Context,
    spec: LoopSpec,
    event: Value,
    id: RunId,
) -> Result<RunRecord, RunError> {
    let mut runner = Runner::create(ctx, spec, event, id)?;
    runner.drive().await
}

/// Resumes run `id` from its last checkpoint. Refused while another
/// process holds it.
pub async fn resume(ctx: &Context, id: &RunId) -> Result<RunRecord, RunError> {
    let store = ctx.open_store()?;
    if let Some(run) = store.run(id)?
        && run.phase == Phase::Finished
    {
        // Finished, but perhaps interrupted while cleaning up.
        tidy(&run);
        return Ok(run);
    }
    drop(store);
    let mut runner = Runner::reopen(ctx, id)?;
    runner.drive().await
}

/// Removes the worktree of a finished run that was not kept for review,
/// if a crash during cleanup left it behind.
fn tidy(run: &RunRecord) {
    if run.phase == Phase::Finished
        && !run.worktree_kept
        && run.worktree.exists()
        && let Err(e) = worktree::remove(&run.repo, &run.worktree)
    {
        tracing::warn!("{e}");
    }
}

/// Resumes every run a crashed process left unfinished.
pub async fn resume_orphans(ctx: &Context) -> Result<Vec<RunRecord>, RunError> {
    let store = ctx.open_store()?;
    let state = ctx.state_dir();
    for run in store.runs(200)? {
        if !is_live(&state, &run.id) {
            tidy(&run);
        }
    }
    let mut done = Vec::new();
    for run in store.unfinished()? {
        if is_live(&ctx.state_dir(), &run.id) {
            continue;
        }
        match resume(ctx, &run.id).await {
            Ok(r) => done.push(r),
            // Every run ends with a recorded reason, even one that can no
            // longer be resumed (a role unbound since, a plugin removed).
            Err(e) => {
                tracing::error!(run = %run.id, "cannot resume: {e}");
                if let Some(r) = abandon(ctx, &run.id, &format!("cannot resume: {e}"))? {
                    done.push(r);
                }
            }
        }
    }
    Ok(done)
}

/// Ends run `id` with `error` without running anything, if no process
/// holds it.
pub fn abandon(ctx: &Context, id: &RunId, detail: &str) -> Result<Option<RunRecord>, RunError> {
    let store = ctx.open_store()?;
    let Some(_lock) = claim(&ctx.state_dir(), id)? else {
        return Ok(None);
    };
    let Some(mut run) = store.run(id)? else {
        return Ok(None);
    };
    if run.phase == Phase::Finished {
        return Ok(Some(run));
    }
    if let Some(pgid) = run.child_pgid.take() {
        process::kill_leftover(pgid, &run.worktree);
    }
    run.phase = Phase::Finished;
    run.reason = Some(StopReason::Error);
    run.detail = Some(detail.to_string());
    run.finished_ms = Some(now_ms());
    run.worktree_kept = run.worktree.exists();
    store.save_run(&run)?;
    let entry = store.journal(id, "finished", &format!("error: {detail}"))?;
    (ctx.observer)(&run, &entry);
    Ok(Some(run))
}

impl Runner {
    fn create(ctx: &Context, spec: LoopSpec, event: Value, id: RunId) -> Result<Self, RunError> {
        let project = &ctx.project;
        // Everything that can refuse the run happens before it exists.
        let stages = spec.load_stages(ctx)?;
        let repo = project.repo();
        let base = worktree::head(&repo)?;
        let store = ctx.open_store()?;
        let lock = claim(&ctx.state_dir(), &id)?
            .ok_or_else(|| RunError::Io(format!("run {id} is already locked")))?;
        let now = now_ms();
        let run = RunRecord {
            branch: format!("gyre/{}/{id}", spec.name),
            worktree: worktree::path_for(&ctx.state_dir(), id.as_str()),
            id,
            loop_name: spec.name.to_string(),
            configured: spec.configured,
            recipe_path: spec.recipe_path.clone(),
            recipe_text: spec.recipe_text.clone(),
            recipe_digest: spec.recipe_digest(),
            project: project.root.clone(),
            repo,
            base,
            event,
            findings: json!({}),
            phase: Phase::Prepare,
            reason: None,
            detail: None,
            totals: Totals::default(),
            created_ms: now,
            updated_ms: now,
            finished_ms: None,
            commit: None,
            worktree_kept: false,
            child_pgid: None,
        };
        store.insert_run(&run)?;
        let mut runner = Self {
            ctx: ctx.clone(),
            store,
            spec,
            stages,
            run,
            _lock: lock,
            segment: Instant::now(),
            active_before: 0,
            last_denials: Vec::new(),
        };
        runner.note(
            "started",
            &format!(
                "loop {} (recipe {}), branch {}",
                runner.run.loop_name, runner.spec.recipe.name, runner.run.branch
            ),
        )?;
        Ok(runner)
    }

    fn reopen(ctx: &Context, id: &RunId) -> Result<Self, RunError> {
        let store = ctx.open_store()?;
        let lock = claim(&ctx.state_dir(), id)?.ok_or_else(|| {
            RunError::Refused(format!(
                "run {id} is live in another process; stop it with `gyre stop {id}`"
            ))
        })?;
        let run = store
            .run(id)?
            .ok_or_else(|| RunError::Config(format!("no run {id}")))?;
        if run.phase == Phase::Finished {
            return Err(RunError::Refused(format!(
                "run {id} has already finished ({})",
                run.reason.map_or("?", |r| r.as_str())
            )));
        }
        if let Some(pgid) = run.child_pgid {
            process::kill_leftover(pgid, &run.worktree);
        }
        let spec = LoopSpec::from_recorded(
            &ctx.project,
            run.configured.then_some(run.loop_name.as_str()),
            &run.recipe_path,
            &run.recipe_text,
        )?;
        let stages = spec.load_stages(ctx)?;
        let mut runner = Self {
            ctx: ctx.clone(),
            store,
            spec,
            stages,
            active_before: run.totals.active_ms,
            run,
            _lock: lock,
            segment: Instant::now(),
            last_denials: Vec::new(),
        };
        let phase = runner.run.phase;
        runner.note(
            "resumed",
            &format!("from {phase:?} after an interruption").to_lowercase(),
        )?;
        Ok(runner)
    }

    /// Writes the run as it stands (checkpoint).
    fn save(&mut self) -> Result<(), RunError> {
        self.run.totals.active_ms = self.active_before + self.segment.elapsed().as_millis() as u64;
        self.run.updated_ms = now_ms();
        self.store.save_run(&self.run)?;
        Ok(())
    }

    fn note(&mut self, kind: &str, message: &str) -> Result<(), RunError> {
        let entry = self.store.journal(&self.run.id, kind, message)?;
        tracing::info!(target: "gyre::run", run = %self.run.id, kind, "{message}");
        (self.ctx.observer)(&self.run, &entry);
        Ok(())
    }

    /// Fault injection for the crash specs: `GYRE_CRASH_AT=<name>` aborts
    /// the process here, as abruptly as `kill -9` (no destructor runs).
    fn checkpoint(&self, name: &str) {
        if std::env::var("GYRE_CRASH_AT").is_ok_and(|v| v == name) {
            eprintln!("gyre: GYRE_CRASH_AT={name}: aborting");
            std::process::abort();
        }
    }

    fn set_phase(&mut self, phase: Phase) -> Result<(), RunError> {
        self.run.phase = phase;
        self.save()
    }

    async fn drive(&mut self) -> Result<RunRecord, RunError> {
        let outcome = self.drive_phases().await;
        let (reason, detail) = match outcome {
            Ok(end) => end,
            Err(e) => (StopReason::Error, e.to_string()),
        };
        self.finish(reason, &detail)?;
        Ok(self.run.clone())
    }

    async fn drive_phases(&mut self) -> Result<(StopReason, String), RunError> {
        if self.store.stop_requested(&self.run.id)? {
            return Ok((StopReason::Stopped, "stopped on request (gyre stop)".into()));
        }
        if self.run.phase == Phase::Prepare {
            worktree::create(
                &self.run.repo,
                &self.run.worktree,
                &self.run.branch,
                &self.run.base,
            )?;
            self.checkpoint("worktree");
            self.note(
                "worktree",
                &format!("{} on {}", self.run.worktree.display(), self.run.branch),
            )?;
            self.set_phase(Phase::Discover)?;
        }
        if !self.run.worktree.join(".git").exists() {
            return Err(RunError::Io(format!(
                "the run's worktree {} is gone; the run cannot continue",
                self.run.worktree.display()
            )));
        }
        self.stages.grant(
            &self.spec,
            &self.ctx.project,
            &self.run.worktree,
            &self.ctx.resolver,
        )?;
        for (id, step) in &self.stages.steps {
            for n in &step.notes {
                tracing::debug!(target: "gyre::grants", step = %id, "{n}");
            }
        }
        if self.run.phase == Phase::Discover {
            if let Some(end) = self.discover().await? {
                return Ok(end);
            }
            self.checkpoint("discovered");
            self.set_phase(Phase::Iterate)?;
        }
        if self.run.phase == Phase::Iterate {
            if let Some(end) = self.iterate().await? {
                return Ok(end);
            }
            self.checkpoint("goal-met");
            let message = format!("gyre: {} (run {})", self.spec.recipe.name, self.run.id);
            self.run.commit = Some(worktree::commit(&self.run.worktree, &message)?);
            self.checkpoint("committed");
            self.set_phase(Phase::Ship)?;
        }
        if self.run.phase == Phase::Ship
            && let Some(end) = self.ship().await?
        {
            return Ok(end);
        }
        Ok((
            StopReason::GoalMet,
            "the goal holds and every ship step is done".into(),
        ))
    }

    fn finish(&mut self, reason: StopReason, detail: &str) -> Result<(), RunError> {
        if self.run.phase == Phase::Finished {
            return Ok(());
        }
        let keep = match self.ctx.project.project.keep_worktrees {
            KeepWorktrees::Always => true,
            KeepWorktrees::Never => false,
            KeepWorktrees::OnFailure => reason.needs_review(),
        };
        // The outcome is recorded first: a crash while cleaning up must not
        // turn a finished run into an unfinished one.
        self.run.worktree_kept = keep && self.run.worktree.exists();
        self.run.reason = Some(reason);
        self.run.detail = Some(detail.to_string());
        self.run.finished_ms = Some(now_ms());
        self.run.child_pgid = None;
        self.run.phase = Phase::Finished;
        self.save()?;
        self.checkpoint("finishing");
        if !keep && let Err(e) = worktree::remove(&self.run.repo, &self.run.worktree) {
            tracing::warn!("{e}");
        }
        let t = self.run.totals;
        self.note(
            "finished",
            &format!(
                "{reason}: {detail} | used {:.1}s active, {} fuel in {} plugin calls, ${:.2} agent spend",
                t.active_ms as f64 / 1000.0,
                t.fuel,
                t.plugin_calls,
                t.spend_usd
            ),
        )
    }

    /// The stop reason, if a guardrail or the kill switch says stop now.
    fn guard(&mut self) -> Result<Option<(StopReason, String)>, RunError> {
        if self.store.stop_requested(&self.run.id)? {
            return Ok(Some((
                StopReason::Stopped,
                "stopped on request (gyre stop)".into(),
            )));
        }
        self.save()?;
        let g = &self.spec.guardrails;
        let t = &self.run.totals;
        if t.active_ms >= g.max_wall_time.0.as_millis() as u64 {
            return Ok(Some((
                StopReason::Budget,
                format!("wall time reached max-wall-time {}", g.max_wall_time),
            )));
        }
        if let Some(max) = g.max_fuel
            && t.fuel >= max
        {
            return Ok(Some((
                StopReason::Budget,
                format!("plugins used {} fuel of max-fuel {max}", t.fuel),
            )));
        }
        if let Some(max) = g.max_spend_usd
            && t.spend_usd >= max
        {
            return Ok(Some((
                StopReason::Budget,
                format!(
                    "agent spend ${:.2} reached max-spend-usd ${max:.2}",
                    t.spend_usd
                ),
            )));
        }
        Ok(None)
    }

    fn remaining_wall(&self) -> Duration {
        let used = self.active_before + self.segment.elapsed().as_millis() as u64;
        Duration::from_millis(
            (self.spec.guardrails.max_wall_time.0.as_millis() as u64).saturating_sub(used),
        )
    }

    fn vars(&self, iteration: u32, previous: String) -> BTreeMap<&'static str, String> {
        let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
        BTreeMap::from([
            ("loop", self.run.loop_name.clone()),
            ("run", self.run.id.to_string()),
            ("branch", self.run.branch.clone()),
            ("iteration", iteration.to_string()),
            (
                "max-iterations",
                self.spec.guardrails.max_iterations.to_string(),
            ),
            ("event", pretty(&self.run.event)),
            ("findings", pretty(&self.run.findings)),
            ("previous", previous),
        ])
    }

    /// Adds a plugin call's fuel to the run's totals; its denials, as text.
    fn account<T>(&mut self, inv: &gyre_sandbox::Invocation<T>) -> Vec<String> {
        self.run.totals.fuel += inv.usage.fuel_consumed;
        self.run.totals.plugin_calls += 1;
        inv.denials
            .iter()
            .map(|d| format!("{}: {}", d.capability, d.detail))
            .collect()
    }

    // ---- discovery -------------------------------------------------------

    async fn discover(&mut self) -> Result<Option<(StopReason, String)>, RunError> {
        let steps = self.spec.recipe.discover.clone();
        for d in steps {
            if let Some(end) = self.guard()? {
                return Ok(Some(end));
            }
            let input = template::render_json(&d.input, &self.vars(0, String::new()))
                .map_err(|e| RunError::Config(format!("discover.{}.input: {e}", d.id)))?;
            let output = self
                .invoke(&d.id, &d.operation, &input)
                .await
                .map_err(|e| RunError::Step(format!("discovery step `{}` failed: {e}", d.id)))?;
            let items = match &d.items {
                Some(p) => output.pointer(p).cloned().unwrap_or(Value::Null),
                None => output.clone(),
            };
            let empty = match &items {
                Value::Null => true,
                Value::Array(a) => a.is_empty(),
                Value::Object(o) => o.is_empty(),
                _ => false,
            };
            self.note("discovered", &format!("{}: {}", d.id, summarize(&items)))?;
            if let Value::Object(map) = &mut self.run.findings {
                map.insert(d.id.to_string(), items);
            }
            self.save()?;
            if empty && d.skip_if_empty {
                return Ok(Some((
                    StopReason::NoWork,
                    format!("discovery step `{}` found nothing to do", d.id),
                )));
            }
        }
        Ok(None)
    }

    /// Runs one connector operation of step `id`; the output is JSON.
    async fn invoke(
        &mut self,
        id: &StepId,
        operation: &str,
        input: &Value,
    ) -> Result<Value, String> {
        let (step, granted) = self.stages.get(id).map_err(|e| e.to_string())?;
        let input = serde_json::to_string(input).map_err(|e| e.to_string())?;
        let inv = step
            .plugin
            .invoke(granted, &step.config, operation, &input)
            .await;
        let denials = self.account(&inv);
        for d in &denials {
            let _ = self.note("denied", &format!("{id}: {d}"));
        }
        self.last_denials = denials;
        match inv.outcome {
            Err(failure) => Err(failure.to_string()),
            Ok(Err(e)) => Err(format!("{e:?}")),
            Ok(Ok(text)) => serde_json::from_str(&text)
                .map_err(|e| format!("the connector returned output that is not JSON: {e}")),
        }
    }

    // ---- iterations ------------------------------------------------------

    async fn iterate(&mut self) -> Result<Option<(StopReason, String)>, RunError> {
        loop {
            let done = self.store.iterations(&self.run.id)?;
            // Resumed after the goal held: go on to ship, never iterate past it.
            if done
                .last()
                .is_some_and(|l| l.done() && l.goal_met == Some(true))
            {
                return Ok(None);
            }
            let mut it = match done.last() {
                Some(last) if !last.done() => last.clone(),
                last => {
                    let n = last.map_or(1, |l| l.n + 1);
                    if n > self.spec.guardrails.max_iterations {
                        return Ok(Some((
                            StopReason::MaxIterations,
                            format!("the goal did not hold after {} iterations", n - 1),
                        )));
                    }
                    if let Some(end) = self.guard()? {
                        return Ok(Some(end));
                    }
                    let it = IterationRecord {
                        n,
                        started_ms: now_ms(),
                        maker: None,
                        checks: None,
                        diff_digest: None,
                        diff_lines: None,
                        failing_digest: None,
                        goal_met: None,
                        finished_ms: None,
                    };
                    self.store.save_iteration(&self.run.id, &it)?;
                    self.note(
                        "iteration",
                        &format!("{n} of at most {}", self.spec.guardrails.max_iterations),
                    )?;
                    it
                }
            };
            let previous = done
                .iter()
                .rev()
                .find(|p| p.n < it.n && p.done())
                .map(previous_text)
                .unwrap_or_else(|| "(none: this is the first iteration)".into());

            if it.maker.is_none() {
                let (record, end) = self.maker(&it, previous)?;
                it.maker = Some(record);
                self.store.save_iteration(&self.run.id, &it)?;
                self.checkpoint("maker");
                if let Some(end) = end {
                    return Ok(Some(end));
                }
            }
            if let Some(end) = self.guard()? {
                return Ok(Some(end));
            }
            if it.checks.is_none() {
                let (checks, diff, end) = self.checks(&it).await?;
                if let Some(end) = end {
                    return Ok(Some(end));
                }
                it.diff_digest = Some(diff.digest);
                it.diff_lines = Some(diff.lines);
                it.checks = Some(checks);
                self.store.save_iteration(&self.run.id, &it)?;
                self.checkpoint("checks");
            }
            let checks = it.checks.clone().unwrap_or_default();
            let met = checks.iter().filter(|c| c.required).all(|c| c.passed)
                && checks.iter().any(|c| c.required);
            it.goal_met = Some(met);
            it.failing_digest = Some(failing_digest(&checks));
            it.finished_ms = Some(now_ms());
            self.store.save_iteration(&self.run.id, &it)?;
            let failing: Vec<&str> = checks
                .iter()
                .filter(|c| c.required && !c.passed)
                .map(|c| c.id.as_str())
                .collect();
            if met {
                self.note("goal", &format!("iteration {}: the goal holds", it.n))?;
                return Ok(None);
            }
            self.note(
                "goal",
                &format!(
                    "iteration {}: not yet; failing: {}",
                    it.n,
                    failing.join(", ")
                ),
            )?;
            if let Some(end) = self.no_progress()? {
                return Ok(Some(end));
            }
        }
    }

    /// Stops when the last `no-progress` iterations all left the same diff,
    /// or all failed the same way.
    fn no_progress(&mut self) -> Result<Option<(StopReason, String)>, RunError> {
        let n = self.spec.guardrails.no_progress as usize;
        if n < 2 {
            return Ok(None);
        }
        let done: Vec<IterationRecord> = self
            .store
            .iterations(&self.run.id)?
            .into_iter()
            .filter(|i| i.done())
            .collect();
        if done.len() < n {
            return Ok(None);
        }
        let tail = &done[done.len() - n..];
        let same = |f: fn(&IterationRecord) -> &Option<String>| {
            let first = f(&tail[0]);
            first.is_some() && tail.iter().all(|i| f(i) == first)
        };
        if same(|i| &i.diff_digest) {
            return Ok(Some((
                StopReason::NoProgress,
                format!("the last {n} iterations left the same diff"),
            )));
        }
        if same(|i| &i.failing_digest) {
            return Ok(Some((
                StopReason::NoProgress,
                format!("the last {n} iterations failed the same checks with the same findings"),
            )));
        }
        Ok(None)
    }

    fn run_dir(&self) -> PathBuf {
        self.ctx.state_dir().join("runs").join(self.run.id.as_str())
    }

    /// Runs a bound command in the worktree, honouring the kill switch and
    /// the run's remaining wall time.
    fn spawn(
        &mut self,
        argv: Vec<String>,
        pass_env: &[String],
        timeout: Duration,
        stdin: Option<String>,
        log: PathBuf,
        iteration: u32,
        extra_env: Vec<(String, String)>,
        agent: bool,
    ) -> Result<(process::Finished, bool), RunError> {
        let remaining = self.remaining_wall();
        let wall_bound = remaining < timeout;
        let mut set_env = extra_env;
        set_env.extend([
            ("GYRE_RUN".to_string(), self.run.id.to_string()),
            ("GYRE_LOOP".to_string(), self.run.loop_name.clone()),
            ("GYRE_ITERATION".to_string(), iteration.to_string()),
            (
                "GYRE_WORKTREE".to_string(),
                self.run.worktree.display().to_string(),
            ),
        ]);
        let cwd = self.run.worktree.clone();
        let spawn = Spawn {
            argv,
            cwd: &cwd,
            pass_env,
            set_env,
            // Only an agent (fed a prompt) reports on stdout.
            keep_stdout: agent,
            stdin,
            timeout: timeout.min(remaining),
            log,
        };
        let db = self.ctx.db_path();
        let id = self.run.id.clone();
        // A second connection: this one is busy with the run.
        let watcher = Store::open(&db)?;
        let last_check = std::cell::Cell::new(Instant::now());
        let stop = || {
            if last_check.get().elapsed() < Duration::from_millis(250) {
                return false;
            }
            last_check.set(Instant::now());
            watcher.stop_requested(&id).unwrap_or(false)
        };
        let run = &mut self.run;
        let store = &self.store;
        let started = |pgid: i32| {
            run.child_pgid = Some(pgid);
            let _ = store.save_run(run);
        };
        let started_cell = std::cell::RefCell::new(started);
        // A command may run for half an hour: let the executor move its
        // other tasks (webhooks, schedules, other runs) off this thread.
        let finished = tokio::task::block_in_place(|| {
            process::run(spawn, &stop, &|pgid| (started_cell.borrow_mut())(pgid))
        })
        .map_err(|e| RunError::Step(e.to_string()))?;
        self.run.child_pgid = None;
        Ok((finished, wall_bound))
    }

    fn maker(
        &mut self,
        it: &IterationRecord,
        previous: String,
    ) -> Result<(MakerRecord, Option<(StopReason, String)>), RunError> {
        let role = self.spec.recipe.maker.role.clone();
        let binding = self.ctx.project.agents.get(&role).cloned().ok_or_else(|| {
            RunError::Refused(format!("agent role `{role}` is not bound in gyre.toml"))
        })?;
        let prompt = template::render(&self.spec.recipe.maker.prompt, &self.vars(it.n, previous))
            .map_err(|e| RunError::Config(format!("maker.prompt: {e}")))?;
        let mut argv = binding.run.argv();
        let stdin = match binding.prompt {
            PromptVia::Stdin => Some(prompt),
            PromptVia::Arg => {
                // The recipe wrote the prompt: it must not become an option.
                if prompt.trim_start().starts_with('-') {
                    return Err(RunError::Refused(
                        "the maker prompt starts with `-`, which the agent would read as an option; \
                         the recipe's prompt was refused"
                            .into(),
                    ));
                }
                argv.push(prompt);
                None
            }
        };
        let log = self
            .run_dir()
            .join(format!("iter-{}", it.n))
            .join("maker.log");
        self.note(
            "maker",
            &format!(
                "iteration {}: agent role `{role}` working in the worktree",
                it.n
            ),
        )?;
        let (f, wall_bound) = self.spawn(
            argv,
            &binding.env,
            binding.timeout.0,
            stdin,
            log.clone(),
            it.n,
            Vec::new(),
            true,
        )?;
        let spend = binding
            .spend
            .as_deref()
            .and_then(|p| reported_spend(&f.stdout, p));
        let record = MakerRecord {
            role: role.to_string(),
            exit: f.exit,
            timed_out: f.timed_out,
            duration_ms: f.duration.as_millis() as u64,
            spend_usd: spend,
            log,
        };
        if let Some(s) = spend {
            self.run.totals.spend_usd += s;
        }
        self.save()?;
        let status = match (f.exit, f.timed_out, f.stopped) {
            (_, _, true) => "stopped".to_string(),
            (_, true, _) => format!("timed out after {:.1}s", f.duration.as_secs_f64()),
            (Some(code), ..) => format!("exited {code}"),
            (None, ..) => "killed by a signal".to_string(),
        };
        let spend_text = spend
            .map(|s| format!(", spent ${s:.2}"))
            .unwrap_or_default();
        self.note(
            "maker",
            &format!(
                "iteration {}: agent {status} in {:.1}s{spend_text}",
                it.n,
                f.duration.as_secs_f64()
            ),
        )?;
        let end = if f.stopped {
            Some((
                StopReason::Stopped,
                "stopped on request (gyre stop) while the maker worked".into(),
            ))
        } else if f.timed_out && wall_bound {
            Some((
                StopReason::Budget,
                format!(
                    "wall time reached max-wall-time {}",
                    self.spec.guardrails.max_wall_time
                ),
            ))
        } else if binding.spend.is_some()
            && spend.is_none()
            && self.spec.guardrails.max_spend_usd.is_some()
        {
            Some((
                StopReason::Budget,
                "the agent reported no spend, so max-spend-usd cannot be enforced".into(),
            ))
        } else {
            None
        };
        Ok((record, end))
    }

    async fn checks(
        &mut self,
        it: &IterationRecord,
    ) -> Result<
        (
            Vec<CheckRecord>,
            worktree::Diff,
            Option<(StopReason, String)>,
        ),
        RunError,
    > {
        let dir = self.run_dir().join(format!("iter-{}", it.n));
        let mut records = Vec::new();
        let mut evidence: Vec<(String, String, PathBuf)> = Vec::new();
        let require = self.spec.recipe.goal.require.clone();
        let required = |id: &StepId, default: bool| {
            if require.is_empty() {
                default
            } else {
                require.contains(id)
            }
        };

        // The maker's work, before any check command can write files (reports,
        // snapshots) into the worktree.
        let diff = worktree::diff(&self.run.worktree, &self.run.base)?;
        std::fs::create_dir_all(&dir).map_err(|e| RunError::Io(e.to_string()))?;
        let diff_path = dir.join("diff.patch");
        std::fs::write(&diff_path, &diff.text).map_err(|e| RunError::Io(e.to_string()))?;

        for check in self.spec.recipe.check.clone() {
            let id = check.id();
            let binding = self
                .ctx
                .project
                .commands
                .get(&check.role)
                .cloned()
                .ok_or_else(|| {
                    RunError::Refused(format!(
                        "command role `{}` is not bound in gyre.toml",
                        check.role
                    ))
                })?;
            let log = dir.join(format!("{id}.log"));
            let (f, wall_bound) = self.spawn(
                binding.run.argv(),
                &binding.env,
                binding.timeout.0,
                None,
                log.clone(),
                it.n,
                Vec::new(),
                false,
            )?;
            if f.stopped {
                return Ok((
                    records,
                    diff,
                    Some((StopReason::Stopped, "stopped on request (gyre stop)".into())),
                ));
            }
            if f.timed_out && wall_bound {
                return Ok((
                    records,
                    diff,
                    Some((
                        StopReason::Budget,
                        format!(
                            "wall time reached max-wall-time {}",
                            self.spec.guardrails.max_wall_time
                        ),
                    )),
                ));
            }
            let summary = match (f.exit, f.timed_out) {
                (_, true) => format!("`{}` timed out after {}", check.role, binding.timeout),
                (Some(0), _) => format!("`{}` passed", check.role),
                (Some(c), _) => format!("`{}` exited {c}", check.role),
                (None, _) => format!("`{}` was killed by a signal", check.role),
            };
            let truncated = if f.log_truncated {
                " (output truncated)"
            } else {
                ""
            };
            self.note("check", &format!("{id}: {summary}{truncated}"))?;
            records.push(CheckRecord {
                id: id.to_string(),
                kind: CheckKind::Command,
                passed: f.success(),
                required: required(&id, check.must_pass),
                summary,
                findings: Vec::new(),
                score: None,
                evidence: Some(log.clone()),
                output_digest: Some(output_digest(&log)),
                fuel: 0,
                duration_ms: f.duration.as_millis() as u64,
                denials: Vec::new(),
            });
            evidence.push((id.to_string(), "text/plain".into(), log));
        }

        evidence.push(("diff".into(), "text/x-diff".into(), diff_path));

        for v in self.spec.recipe.verify.clone() {
            if let Some(end) = self.guard()? {
                return Ok((records, diff, Some(end)));
            }
            let wanted: Vec<&(String, String, PathBuf)> = evidence
                .iter()
                .filter(|(name, ..)| v.evidence.as_ref().is_none_or(|list| list.contains(name)))
                .collect();
            let mut items = Vec::new();
            for (name, content_type, path) in wanted {
                items.push(Evidence {
                    name: name.clone(),
                    content_type: content_type.clone(),
                    data: read_evidence(path)?,
                });
            }
            let record = self.verify(&v.id, items, required(&v.id, true)).await?;
            self.note(
                "verify",
                &format!(
                    "{}: {} — {}",
                    v.id,
                    if record.passed { "pass" } else { "fail" },
                    record.summary
                ),
            )?;
            records.push(record);
        }
        Ok((records, diff, None))
    }

    async fn verify(
        &mut self,
        id: &StepId,
        evidence: Vec<Evidence>,
        required: bool,
    ) -> Result<CheckRecord, RunError> {
        let (step, granted) = self.stages.get(id)?;
        let workspace = step.workspace.clone();
        let request = VerifyRequest {
            config: step.config.clone(),
            evidence,
            workspace,
        };
        let start = Instant::now();
        let inv = step.plugin.verify(granted, request).await;
        let denials = self.account(&inv);
        let mut record = CheckRecord {
            id: id.to_string(),
            kind: CheckKind::Verifier,
            passed: false,
            required,
            summary: String::new(),
            findings: Vec::new(),
            score: None,
            evidence: None,
            output_digest: None,
            fuel: inv.usage.fuel_consumed,
            duration_ms: start.elapsed().as_millis() as u64,
            denials: denials.clone(),
        };
        // Fail closed: a trap, a timeout, an exhausted budget, an error or a
        // denied capability is a failed check, whatever else happened.
        match inv.outcome {
            Err(failure) => record.summary = format!("the verifier failed: {failure}"),
            Ok(Err(e)) => record.summary = format!("the verifier returned an error: {e:?}"),
            Ok(Ok(verdict)) => {
                record.passed = verdict.passed;
                record.summary = verdict.summary;
                record.score = verdict.score;
                record.findings = verdict
                    .findings
                    .into_iter()
                    .map(|f| Finding {
                        severity: match f.severity {
                            Severity::Info => "info",
                            Severity::Warning => "warning",
                            Severity::Error => "error",
                        }
                        .into(),
                        message: f.message,
                        file: f.file,
                        line: f.line,
                    })
                    .collect();
            }
        }
        if !denials.is_empty() {
            if record.passed {
                record.summary = format!(
                    "counted as failed: the verifier was denied {}",
                    denials.join("; ")
                );
            }
            record.passed = false;
        }
        Ok(record)
    }

    // ---- ship ------------------------------------------------------------

    async fn ship(&mut self) -> Result<Option<(StopReason, String)>, RunError> {
        let iterations = self.store.iterations(&self.run.id)?;
        let last = iterations.last();
        let goal = last
            .map(|i| format!("goal met in iteration {}", i.n))
            .unwrap_or_default();
        for step in self.spec.recipe.ship.clone() {
            let previous = self.store.ship(&self.run.id, step.id.as_str())?;
            if previous
                .as_ref()
                .is_some_and(|p| p.status == ShipStatus::Done)
            {
                continue;
            }
            if self.store.stop_requested(&self.run.id)? {
                return Ok(Some((
                    StopReason::Stopped,
                    "stopped on request before shipping".into(),
                )));
            }
            let key = idempotency_key(&self.run.id, &step.id);
            // A connector call interrupted mid-flight may have been
            // delivered. Re-send it only when the receiver can recognise the
            // repeat by its idempotency key; otherwise a person decides.
            let keyed = match step.action() {
                Some(ShipAction::Connector { input, .. }) => {
                    input.to_string().contains("{{idempotency-key}}")
                }
                _ => true,
            };
            if previous
                .as_ref()
                .is_some_and(|p| p.status == ShipStatus::Started)
                && !keyed
            {
                return Ok(Some((
                    StopReason::Error,
                    format!(
                        "ship step `{}` was interrupted mid-call and may have been delivered; it carries no \
                         {{{{idempotency-key}}}}, so it is not re-sent: check its target, then run the loop again",
                        step.id
                    ),
                )));
            }
            let mut record = ShipRecord {
                step: step.id.to_string(),
                idempotency_key: key.clone(),
                status: ShipStatus::Started,
                attempts: previous.map_or(0, |p| p.attempts) + 1,
                output: None,
                error: None,
            };
            self.store.save_ship(&self.run.id, &record)?;
            let mut vars = self.vars(last.map_or(0, |i| i.n), String::new());
            vars.insert("goal", goal.clone());
            let t = self.run.totals;
            vars.insert(
                "usage",
                format!(
                    "{:.1}s active, {} fuel, ${:.2} agent spend",
                    t.active_ms as f64 / 1000.0,
                    t.fuel,
                    t.spend_usd
                ),
            );
            vars.insert("idempotency-key", key.clone());
            self.checkpoint("ship-started");
            let result = match step.action() {
                Some(ShipAction::Connector {
                    operation, input, ..
                }) => {
                    let input = template::render_json(&input, &vars)
                        .map_err(|e| RunError::Config(format!("ship.{}.input: {e}", step.id)))?;
                    self.last_denials.clear();
                    let result = self.invoke(&step.id, &operation, &input).await;
                    // Fail closed: a ship step refused a capability did not
                    // do what the recipe meant, even if the plugin carried on.
                    if !self.last_denials.is_empty() {
                        record.output = result.ok();
                        Err(format!(
                            "the plugin was denied {}",
                            self.last_denials.join("; ")
                        ))
                    } else {
                        result
                    }
                }
                Some(ShipAction::Command(role)) => {
                    let binding =
                        self.ctx
                            .project
                            .commands
                            .get(&role)
                            .cloned()
                            .ok_or_else(|| {
                                RunError::Refused(format!(
                                    "command role `{role}` is not bound in gyre.toml"
                                ))
                            })?;
                    let log = self.run_dir().join("ship").join(format!("{}.log", step.id));
                    let (f, _) = self.spawn(
                        binding.run.argv(),
                        &binding.env,
                        binding.timeout.0,
                        None,
                        log,
                        0,
                        vec![("GYRE_IDEMPOTENCY_KEY".to_string(), key.clone())],
                        false,
                    )?;
                    if f.success() {
                        Ok(json!({ "exit": 0 }))
                    } else {
                        Err(format!(
                            "`{role}` exited {:?}{}",
                            f.exit,
                            if f.timed_out { " (timed out)" } else { "" }
                        ))
                    }
                }
                None => Err("neither a connector nor a command".into()),
            };
            self.checkpoint("ship-called");
            match result {
                Ok(output) => {
                    record.status = ShipStatus::Done;
                    self.note(
                        "ship",
                        &format!("{}: done ({})", step.id, summarize(&output)),
                    )?;
                    record.output = Some(output);
                    self.store.save_ship(&self.run.id, &record)?;
                }
                Err(e) => {
                    record.status = ShipStatus::Failed;
                    record.error = Some(e.clone());
                    self.store.save_ship(&self.run.id, &record)?;
                    return Ok(Some((
                        StopReason::Error,
                        format!("ship step `{}` failed: {e}", step.id),
                    )));
                }
            }
        }
        Ok(None)
    }
}

/// Stable per run and step, so a re-sent ship call can be recognised.
pub fn idempotency_key(run: &RunId, step: &StepId) -> String {
    let digest = Sha256::digest(format!("gyre-ship:{run}:{step}").as_bytes());
    format!("gyre-{}", &hex::encode(digest)[..32])
}

/// Evidence files are the host's own, under the state directory; read them
/// through a directory handle all the same, and refuse anything but a
/// regular file.
fn read_evidence(path: &Path) -> Result<Vec<u8>, RunError> {
    let parent = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| RunError::Io(format!("{} names no file", path.display())))?;
    let dir = cap_std::fs::Dir::open_ambient_dir(parent, cap_std::ambient_authority())
        .map_err(|e| RunError::Io(format!("cannot open {}: {e}", parent.display())))?;
    let meta = dir
        .symlink_metadata(name)
        .map_err(|e| RunError::Io(format!("{}: {e}", path.display())))?;
    if !meta.is_file() {
        return Err(RunError::Io(format!(
            "{} is not a regular file",
            path.display()
        )));
    }
    dir.read(name)
        .map_err(|e| RunError::Io(format!("{}: {e}", path.display())))
}

/// The spend an agent reported: its stdout as JSON, or its last line.
fn reported_spend(stdout: &[u8], pointer: &str) -> Option<f64> {
    let text = String::from_utf8_lossy(stdout);
    let whole = serde_json::from_str::<Value>(text.trim()).ok();
    let last = || {
        text.lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .and_then(|l| serde_json::from_str::<Value>(l).ok())
    };
    let value = whole.or_else(last)?;
    let spend = value.pointer(pointer)?.as_f64()?;
    (spend.is_finite() && spend >= 0.0).then_some(spend)
}

/// What the maker reads about the previous iteration's failures.
fn previous_text(it: &IterationRecord) -> String {
    let mut out = String::new();
    for c in it.checks.iter().flatten().filter(|c| !c.passed) {
        out.push_str(&format!("- {} failed: {}\n", c.id, c.summary));
        for f in c.findings.iter().take(50) {
            let at = match (&f.file, f.line) {
                (Some(file), Some(line)) => format!(" ({file}:{line})"),
                (Some(file), None) => format!(" ({file})"),
                _ => String::new(),
            };
            out.push_str(&format!("  - {}: {}{at}\n", f.severity, f.message));
        }
        if let Some(path) = &c.evidence {
            out.push_str(&format!("  (full output: {})\n", path.display()));
        }
    }
    if out.is_empty() {
        out.push_str("(no failed checks)");
    }
    out
}

/// A command's output with digits dropped, hashed: two runs that failed
/// the same way hash alike even when timings and counters differ.
fn output_digest(log: &Path) -> String {
    let mut hasher = Sha256::new();
    if let Ok(bytes) = std::fs::read(log) {
        let kept: Vec<u8> = bytes.into_iter().filter(|b| !b.is_ascii_digit()).collect();
        hasher.update(&kept);
    }
    hex::encode(hasher.finalize())
}

/// The identity of "how it failed": failing checks with their findings
/// (and a command's output, which has no findings).
fn failing_digest(checks: &[CheckRecord]) -> String {
    let mut failing: Vec<(&str, Vec<&Finding>, Option<&str>)> = checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| {
            let mut f: Vec<&Finding> = c.findings.iter().collect();
            f.sort();
            (c.id.as_str(), f, c.output_digest.as_deref())
        })
        .collect();
    failing.sort_by(|a, b| a.0.cmp(b.0));
    let text = serde_json::to_string(&failing).unwrap_or_default();
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn summarize(v: &Value) -> String {
    match v {
        Value::Array(a) => format!("{} item(s)", a.len()),
        Value::Object(o) => {
            let keys: Vec<&str> = o.keys().take(6).map(String::as_str).collect();
            format!("{{{}}}", keys.join(", "))
        }
        other => {
            let s = other.to_string();
            if s.len() > 80 {
                format!("{}…", &s[..s.floor_char_boundary(80)])
            } else {
                s
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(id: &str, passed: bool, findings: &[&str]) -> CheckRecord {
        CheckRecord {
            id: id.into(),
            kind: CheckKind::Verifier,
            passed,
            required: true,
            summary: format!("{id} summary"),
            findings: findings
                .iter()
                .map(|m| Finding {
                    severity: "error".into(),
                    message: m.to_string(),
                    file: None,
                    line: None,
                })
                .collect(),
            score: None,
            evidence: None,
            output_digest: None,
            fuel: 0,
            duration_ms: 0,
            denials: Vec::new(),
        }
    }

    #[test]
    fn idempotency_keys_are_stable_per_run_and_step_and_differ_otherwise() {
        let run = RunId::from_stored("0123".into());
        let other = RunId::from_stored("0124".into());
        let step: StepId = "notify".parse().unwrap();
        let push: StepId = "push".parse().unwrap();
        assert_eq!(idempotency_key(&run, &step), idempotency_key(&run, &step));
        assert_ne!(idempotency_key(&run, &step), idempotency_key(&other, &step));
        assert_ne!(idempotency_key(&run, &step), idempotency_key(&run, &push));
        assert!(idempotency_key(&run, &step).starts_with("gyre-"));
    }

    #[test]
    fn the_failing_digest_ignores_order_and_passing_checks_but_not_findings() {
        let a = [check("t", false, &["x", "y"]), check("d", true, &[])];
        let b = [check("d", true, &["other"]), check("t", false, &["y", "x"])];
        assert_eq!(failing_digest(&a), failing_digest(&b));
        let c = [check("t", false, &["x", "z"])];
        assert_ne!(failing_digest(&a), failing_digest(&c));
    }

    #[test]
    fn spend_is_read_from_the_whole_output_or_its_last_json_line() {
        assert_eq!(
            reported_spend(br#"{"total_cost_usd": 0.25}"#, "/total_cost_usd"),
            Some(0.25)
        );
        let lines = b"working...\n{\"usage\": {\"usd\": 1.5}}\n\n";
        assert_eq!(reported_spend(lines, "/usage/usd"), Some(1.5));
        assert_eq!(reported_spend(b"no json here", "/total_cost_usd"), None);
        assert_eq!(
            reported_spend(br#"{"total_cost_usd": -3}"#, "/total_cost_usd"),
            None
        );
        assert_eq!(
            reported_spend(br#"{"total_cost_usd": "free"}"#, "/total_cost_usd"),
            None
        );
    }

    #[test]
    fn the_maker_reads_what_failed_with_findings_and_where_the_log_is() {
        let mut failed = check("tests-green", false, &["test adds failed"]);
        failed.evidence = Some("/tmp/test.log".into());
        let it = IterationRecord {
            n: 1,
            started_ms: 0,
            maker: None,
            checks: Some(vec![failed, check("diff-guard", true, &[])]),
            diff_digest: None,
            diff_lines: None,
            failing_digest: None,
            goal_met: Some(false),
            finished_ms: Some(1),
        };
        let text = previous_text(&it);
        assert!(
            text.contains("tests-green failed") && text.contains("test adds failed"),
            "{text}"
        );
        assert!(text.contains("/tmp/test.log"));
        assert!(!text.contains("diff-guard"));
    }
}
