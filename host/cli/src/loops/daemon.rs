//! `gyre daemon`, and `gyre run <loop>` without `--once` (the daemon for
//! one loop, in the foreground).

use super::{ProjectArgs, context, journal_line, tokio};
use crate::args::Dirs;
use crate::exit::Exit;
use anyhow::Result;
use clap::Args;
use gyre_manifest::LoopName;
use gyre_recipe::Project;
use gyre_runner::daemon::Daemon;
use std::sync::Arc;

#[derive(Args)]
pub struct DaemonArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
}

pub fn run(args: DaemonArgs, dirs: &Dirs) -> Result<Exit> {
    serve(args.project.load()?, None, dirs)
}

pub fn serve_one(project: Project, target: &str, dirs: &Dirs) -> Result<Exit> {
    let name = match project.find_loop(target) {
        Some((name, _)) => name,
        None => target
            .parse::<LoopName>()
            .map_err(|e| anyhow::anyhow!("{e}; to run a recipe file directly, pass --once"))?,
    };
    serve(project, Some(name), dirs)
}

fn serve(project: Project, only: Option<LoopName>, dirs: &Dirs) -> Result<Exit> {
    let observer = Arc::new(|run: &gyre_runner::RunRecord, j: &gyre_runner::Journal| {
        println!("{}", journal_line(run, j));
    });
    let ctx = context(project, dirs, observer)?;
    let tokio = tokio()?;
    let result = tokio.block_on(async {
        let notice = Arc::new(|m: &str| println!("{} daemon          {m}", super::clock(gyre_runner::now_ms())));
        let daemon = Daemon::new(ctx, only.as_ref(), notice).await?;
        for (name, how) in daemon.loops() {
            println!("loop {name}: {how}");
        }
        let listener = daemon.bind().await?;
        if let Some(l) = &listener {
            println!("webhooks on http://{}/hooks/<loop>", l.local_addr()?);
        }
        println!("daemon ready (Ctrl-C to stop; interrupted runs resume on the next start)");
        let shutdown = async {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
            }
        };
        daemon.serve(listener, shutdown).await?;
        Ok::<_, anyhow::Error>(())
    });
    tokio.shutdown_timeout(std::time::Duration::from_millis(200));
    result?;
    Ok(Exit::Success)
}
