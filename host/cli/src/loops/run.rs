//! `gyre run <loop|recipe> [--once]` and `gyre resume`.

use super::{ProjectArgs, context, journal_line, tokio};
use crate::args::Dirs;
use crate::exit::Exit;
use anyhow::Result;
use clap::Args;
use gyre_runner::{LoopSpec, RunRecord, StopReason, run};
use serde_json::json;
use std::sync::Arc;

#[derive(Args)]
pub struct RunArgs {
    /// A loop named in gyre.toml, or a recipe file.
    pub target: String,
    /// Run once now instead of waiting for the loop's trigger.
    #[arg(long)]
    pub once: bool,
    /// The event the run sees as `{{event}}` (JSON) [default: a manual fire].
    #[arg(long)]
    pub event: Option<String>,
    /// Print the finished run as JSON instead of progress lines.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub project: ProjectArgs,
}

#[derive(Args)]
pub struct ResumeArgs {
    /// A run id (or a prefix); without it, every interrupted run.
    pub run: Option<String>,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub project: ProjectArgs,
}

/// 0: the goal holds (or there was nothing to do); 1: the run stopped
/// without meeting it.
pub fn exit_for(run: &RunRecord) -> Exit {
    match run.reason {
        Some(StopReason::GoalMet | StopReason::NoWork) => Exit::Success,
        _ => Exit::Failed,
    }
}

fn printer(json: bool) -> gyre_runner::Observer {
    Arc::new(move |run: &RunRecord, j: &gyre_runner::Journal| {
        if !json {
            println!("{}", journal_line(run, j));
        }
    })
}

pub fn print_outcome(run: &RunRecord, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(run).unwrap_or_default());
        return;
    }
    let t = run.totals;
    println!();
    println!(
        "run {} ended: {} ({})",
        run.id,
        run.reason.map_or("unfinished", StopReason::as_str),
        run.detail.as_deref().unwrap_or("")
    );
    println!(
        "budget used: {:.1}s active, {} fuel in {} plugin calls, ${:.2} agent spend",
        t.active_ms as f64 / 1000.0,
        crate::render::thousands(t.fuel),
        t.plugin_calls,
        t.spend_usd
    );
    if run.worktree_kept {
        println!("worktree kept for review: {}", run.worktree.display());
    }
    println!("details: gyre show {}", super::short(run.id.as_str()));
}

pub fn run(args: RunArgs, dirs: &Dirs) -> Result<Exit> {
    let project = args.project.load()?;
    if !args.once {
        return super::daemon::serve_one(project, &args.target, dirs);
    }
    let spec = LoopSpec::find(&project, &args.target)?;
    let event = match &args.event {
        Some(text) => {
            serde_json::from_str(text).map_err(|e| anyhow::anyhow!("--event: not JSON: {e}"))?
        }
        None => json!({"id": "manual", "kind": "manual", "payload": {}}),
    };
    let ctx = context(project, dirs, printer(args.json))?;
    let tokio = tokio()?;
    // Ctrl-C is the kill switch for this run: the runner stops its command
    // and records `stopped`, instead of leaving the agent running unowned.
    let id = gyre_runner::RunId::new();
    let finished = tokio.block_on(async {
        // The run goes on a worker, so this task stays free to hear Ctrl-C
        // while the run waits on its command.
        let mut run = tokio::spawn({
            let (ctx, id) = (ctx.clone(), id.clone());
            async move { run::start_as(&ctx, spec, event, id).await }
        });
        let joined = tokio::select! {
            joined = &mut run => joined,
            _ = tokio::signal::ctrl_c() => {
                eprintln!("\nstopping run {id} (Ctrl-C)…");
                if let Ok(store) = ctx.open_store() {
                    let _ = store.request_stop(&id);
                }
                run.await
            }
        };
        joined.map_err(|e| gyre_runner::RunError::Io(format!("the run task failed: {e}")))?
    });
    tokio.shutdown_timeout(std::time::Duration::from_millis(100));
    let finished = finished?;
    print_outcome(&finished, args.json);
    Ok(exit_for(&finished))
}

pub fn resume(args: ResumeArgs, dirs: &Dirs) -> Result<Exit> {
    let project = args.project.load()?;
    let ctx = context(project, dirs, printer(args.json))?;
    let tokio = tokio()?;
    let result = tokio.block_on(async {
        match &args.run {
            Some(prefix) => {
                let id = super::history::find_one(&ctx.open_store()?, prefix)?;
                Ok::<_, anyhow::Error>(vec![run::resume(&ctx, &id).await?])
            }
            None => Ok(run::resume_orphans(&ctx).await?),
        }
    });
    tokio.shutdown_timeout(std::time::Duration::from_millis(100));
    let runs = result?;
    if runs.is_empty() {
        println!("no interrupted runs");
        return Ok(Exit::Success);
    }
    let mut exit = Exit::Success;
    for r in &runs {
        print_outcome(r, args.json);
        if exit_for(r) != Exit::Success {
            exit = Exit::Failed;
        }
    }
    Ok(exit)
}
