//! `gyre runs`, `gyre show`, `gyre stop`, `gyre inbox`: reading and
//! steering what the run database holds.

use super::{ProjectArgs, date_time, short};
use crate::exit::Exit;
use crate::render::{clean, thousands};
use anyhow::{Result, bail};
use clap::Args;
use gyre_recipe::Project;
use gyre_runner::record::{CheckKind, IterationRecord, ShipRecord};
use gyre_runner::{RunId, RunRecord, Store, run};
use serde_json::json;

fn store(project: &Project) -> Result<Store> {
    let path = project.state_dir().join("runs.db");
    if !path.exists() {
        bail!(
            "no runs yet in {} (start one with `gyre run <loop> --once`)",
            project.root.display()
        );
    }
    Ok(Store::open(&path)?)
}

/// The one run whose id starts with `prefix`.
pub fn find_one(store: &Store, prefix: &str) -> Result<RunId> {
    let mut found = store.find_runs(prefix)?;
    match found.len() {
        0 => bail!("no run id starts with {prefix:?} (see `gyre runs`)"),
        1 => Ok(found.remove(0)),
        n => bail!("{n} runs start with {prefix:?}; type more of the id"),
    }
}

fn status(run: &RunRecord, live: bool) -> String {
    match run.reason {
        Some(r) => r.to_string(),
        None if live => "running".into(),
        None => "interrupted (gyre resume)".into(),
    }
}

#[derive(Args)]
pub struct RunsArgs {
    /// How many runs to list, newest first.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub project: ProjectArgs,
}

pub fn runs(args: RunsArgs) -> Result<Exit> {
    let project = args.project.load()?;
    let store = store(&project)?;
    let runs = store.runs(args.limit)?;
    let state = project.state_dir();
    if args.json {
        let list: Vec<_> = runs
            .iter()
            .map(|r| {
                let iterations = store.iterations(&r.id).map(|i| i.len()).unwrap_or(0);
                json!({"run": r, "iterations": iterations, "live": run::is_live(&state, &r.id)})
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(Exit::Success);
    }
    if runs.is_empty() {
        println!("no runs yet");
        return Ok(Exit::Success);
    }
    println!(
        "{:<15}  {:<16}  {:<20}  {:>5}  {:<16}",
        "RUN", "LOOP", "STATUS", "ITERS", "STARTED (UTC)"
    );
    for r in &runs {
        let iterations = store.iterations(&r.id)?.len();
        println!(
            "{:<15}  {:<16}  {:<20}  {:>5}  {}",
            short(r.id.as_str()),
            r.loop_name,
            status(r, run::is_live(&state, &r.id)),
            iterations,
            date_time(r.created_ms)
        );
    }
    Ok(Exit::Success)
}

#[derive(Args)]
pub struct ShowArgs {
    /// A run id or a prefix of one.
    pub run: String,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub project: ProjectArgs,
}

pub fn show(args: ShowArgs) -> Result<Exit> {
    let project = args.project.load()?;
    let store = store(&project)?;
    let id = find_one(&store, &args.run)?;
    let Some(run) = store.run(&id)? else {
        bail!("no run {id}");
    };
    let iterations = store.iterations(&id)?;
    let ships = store.ships(&id)?;
    let journal = store.journal_since(&id, 0)?;
    if args.json {
        let doc = json!({"run": run, "iterations": iterations, "ships": ships, "journal": journal});
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(Exit::Success);
    }
    let live = run::is_live(&project.state_dir(), &id);
    println!("run      {}", run.id);
    println!(
        "loop     {} (recipe {})",
        run.loop_name,
        run.recipe_path.display()
    );
    println!("status   {}", status(&run, live));
    if let Some(d) = &run.detail {
        println!("         {}", clean(d));
    }
    println!(
        "branch   {} from {}",
        run.branch,
        &run.base[..run.base.len().min(12)]
    );
    if let Some(c) = &run.commit {
        println!("commit   {c}");
    }
    if run.worktree_kept || run.reason.is_none() {
        println!("worktree {}", run.worktree.display());
    }
    let t = run.totals;
    println!(
        "budget   {:.1}s active, {} fuel in {} plugin calls, ${:.2} agent spend",
        t.active_ms as f64 / 1000.0,
        thousands(t.fuel),
        t.plugin_calls,
        t.spend_usd
    );
    for it in &iterations {
        print_iteration(it);
    }
    print_ships(&ships);
    println!("\njournal");
    for j in &journal {
        println!(
            "  {} {:<10} {}",
            super::clock(j.at_ms),
            j.kind,
            clean(&j.message)
        );
    }
    Ok(Exit::Success)
}

fn print_iteration(it: &IterationRecord) {
    let goal = match it.goal_met {
        Some(true) => "goal met",
        Some(false) => "goal not met",
        None => "unfinished",
    };
    println!("\niteration {}: {goal}", it.n);
    if let Some(m) = &it.maker {
        let spend = m
            .spend_usd
            .map(|s| format!(", ${s:.2}"))
            .unwrap_or_default();
        let exit = match (m.exit, m.timed_out) {
            (_, true) => "timed out".to_string(),
            (Some(c), _) => format!("exit {c}"),
            (None, _) => "killed".to_string(),
        };
        println!(
            "  maker    {} ({exit}, {:.1}s{spend}) log {}",
            m.role,
            m.duration_ms as f64 / 1000.0,
            m.log.display()
        );
    }
    if let Some(lines) = it.diff_lines {
        println!("  diff     {lines} changed line(s)");
    }
    for c in it.checks.iter().flatten() {
        let mark = if c.passed { "pass" } else { "FAIL" };
        let kind = match c.kind {
            CheckKind::Command => "command",
            CheckKind::Verifier => "verifier",
        };
        let optional = if c.required { "" } else { " (not required)" };
        println!(
            "  {mark}     {} [{kind}{optional}] {}",
            c.id,
            clean(&c.summary)
        );
        for f in c.findings.iter().take(10) {
            let at = match (&f.file, f.line) {
                (Some(file), Some(line)) => format!(" {file}:{line}"),
                (Some(file), None) => format!(" {file}"),
                _ => String::new(),
            };
            println!("             {}{at}: {}", f.severity, clean(&f.message));
        }
        if c.findings.len() > 10 {
            println!("             … {} more finding(s)", c.findings.len() - 10);
        }
        for d in &c.denials {
            println!("             denied: {}", clean(d));
        }
    }
}

fn print_ships(ships: &[ShipRecord]) {
    if ships.is_empty() {
        return;
    }
    println!("\nship");
    for s in ships {
        let what = match (&s.output, &s.error) {
            (_, Some(e)) => format!("failed: {}", clean(e)),
            (Some(o), _) => clean(&o.to_string()),
            _ => String::new(),
        };
        println!(
            "  {:<10} {:?} (attempts {}, key {}) {what}",
            s.step, s.status, s.attempts, s.idempotency_key
        );
    }
}

#[derive(Args)]
pub struct StopArgs {
    /// A run id or a prefix of one.
    pub run: Option<String>,
    /// Every unfinished run.
    #[arg(long, conflicts_with = "run")]
    pub all: bool,
    #[command(flatten)]
    pub project: ProjectArgs,
}

pub fn stop(args: StopArgs) -> Result<Exit> {
    let project = args.project.load()?;
    let store = store(&project)?;
    let ids: Vec<RunId> = match (&args.run, args.all) {
        (Some(prefix), _) => vec![find_one(&store, prefix)?],
        (None, true) => store.unfinished()?.into_iter().map(|r| r.id).collect(),
        (None, false) => bail!("name a run (see `gyre runs`) or pass --all"),
    };
    for id in ids {
        if store.request_stop(&id)? {
            if run::is_live(&project.state_dir(), &id) {
                println!("stopping {id}: its process ends the current step and records `stopped`");
            } else {
                println!(
                    "{id} is not live; it ends as `stopped` when resumed (gyre resume {})",
                    short(id.as_str())
                );
            }
        } else {
            println!("{id} has already finished");
        }
    }
    Ok(Exit::Success)
}

#[derive(Args)]
pub struct InboxArgs {
    /// Remove a run from the inbox once you have looked at it.
    #[arg(long, value_name = "RUN")]
    pub dismiss: Option<String>,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub project: ProjectArgs,
}

pub fn inbox(args: InboxArgs) -> Result<Exit> {
    let project = args.project.load()?;
    let store = store(&project)?;
    if let Some(prefix) = &args.dismiss {
        let id = find_one(&store, prefix)?;
        if store.dismiss(&id)? {
            println!("dismissed {id}");
        } else {
            println!("{id} is not in the inbox");
        }
        return Ok(Exit::Success);
    }
    let runs = store.inbox()?;
    if args.json {
        let list: Vec<_> = runs
            .iter()
            .map(|r| {
                let last = store.iterations(&r.id).ok().and_then(|i| i.last().cloned());
                json!({"run": r, "last_iteration": last})
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(Exit::Success);
    }
    if runs.is_empty() {
        println!("inbox empty: every finished run met its goal");
        return Ok(Exit::Success);
    }
    for r in &runs {
        println!(
            "{}  {}  {}  {}",
            short(r.id.as_str()),
            r.loop_name,
            r.reason.map_or("?", |x| x.as_str()),
            date_time(r.created_ms)
        );
        if let Some(d) = &r.detail {
            println!("    {}", clean(d));
        }
        if let Some(last) = store.iterations(&r.id)?.last() {
            for c in last.checks.iter().flatten().filter(|c| !c.passed) {
                let evidence = c
                    .evidence
                    .as_ref()
                    .map(|p| format!(" ({})", p.display()))
                    .unwrap_or_default();
                println!("    failing {}: {}{evidence}", c.id, clean(&c.summary));
            }
        }
        if r.worktree_kept {
            println!("    worktree {}", r.worktree.display());
        }
    }
    println!("\n`gyre show <run>` for the evidence; `gyre inbox --dismiss <run>` once handled");
    Ok(Exit::Success)
}
