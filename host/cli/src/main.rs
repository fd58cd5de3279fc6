//! `gyre`: run untrusted loop plugins in a sandbox.

mod args;
mod build;
mod call;
mod conformance;
mod exit;
mod inspect;
mod loops;
mod new;
mod registry;
mod render;

use clap::{Parser, Subcommand};
use exit::Exit;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "gyre",
    version,
    about = "A sandboxed WebAssembly plugin host for autonomous AI loops"
)]
#[command(
    after_help = "Exit codes: 0 success, 1 verdict fail or plugin error, 2 usage or configuration error, \
3 budget exhausted or trap, 4 capability denied."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Where compiled plugins are cached [default: $XDG_CACHE_HOME/gyre/compiled].
    #[arg(long, global = true, env = "GYRE_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// Where plugins' private state lives [default: $XDG_DATA_HOME/gyre].
    #[arg(long, global = true, env = "GYRE_STATE_DIR")]
    state_dir: Option<PathBuf>,
    /// Compile every time instead of using the cache.
    #[arg(long, global = true)]
    no_cache: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Work with plugin components.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Scaffold a new plugin that builds to a component out of the box.
    New(new::NewArgs),
    /// Run a loop: once now (--once), or whenever its trigger fires.
    Run(loops::run::RunArgs),
    /// Fire every enabled loop from its schedule, poll or webhook.
    Daemon(loops::daemon::DaemonArgs),
    /// List runs, newest first.
    Runs(loops::history::RunsArgs),
    /// Show a run: iterations, verdicts, findings, budget used, stop reason.
    Show(loops::history::ShowArgs),
    /// Stop a live run (kill switch); it records `stopped`.
    Stop(loops::history::StopArgs),
    /// Runs that stopped without meeting their goal, with the evidence.
    Inbox(loops::history::InboxArgs),
    /// Resume runs interrupted by a crash, from their last checkpoint.
    Resume(loops::run::ResumeArgs),
    /// Sign and publish a package to a registry (the embedded one by default).
    Publish(registry::publish::PublishArgs),
    /// Install packages: verified, shown, approved, pinned in gyre.lock.
    Install(registry::install::InstallArgs),
    /// Upgrade installed packages, asking again if anything widens.
    Upgrade(registry::install::UpgradeArgs),
    /// Remove installed packages.
    Remove(registry::manage::RemoveArgs),
    /// List installed packages.
    List(registry::manage::ListArgs),
    /// Search the packages of configured registries.
    Search(registry::manage::SearchArgs),
    /// Re-check installed packages: files, digests, signatures, trust.
    Verify(registry::manage::VerifyArgs),
    /// Publisher keys and the trust policy.
    #[command(subcommand)]
    Key(registry::key::KeyCommand),
    /// Build a plugin (Rust, JavaScript, Python, C or Zig) into a checked component.
    Build(build::BuildArgs),
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Show a component's kind, manifest, requested capabilities, imports and exports, and any mismatch.
    Inspect(inspect::InspectArgs),
    /// Run one call of a plugin in the sandbox with the grants and budgets given.
    Call(Box<call::CallArgs>),
    /// Run the conformance battery and the author's cases (gyre-test.toml) against a component.
    Test(conformance::TestArgs),
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GYRE_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let dirs = args::Dirs::new(cli.cache_dir, cli.state_dir, cli.no_cache);
    let result = match cli.command {
        Command::Plugin(PluginCommand::Inspect(a)) => inspect::run(a),
        Command::Plugin(PluginCommand::Call(a)) => call::run(*a, &dirs),
        Command::New(a) => new::run(a),
        Command::Run(a) => loops::run::run(a, &dirs),
        Command::Daemon(a) => loops::daemon::run(a, &dirs),
        Command::Runs(a) => loops::history::runs(a),
        Command::Show(a) => loops::history::show(a),
        Command::Stop(a) => loops::history::stop(a),
        Command::Inbox(a) => loops::history::inbox(a),
        Command::Resume(a) => loops::run::resume(a, &dirs),
        Command::Publish(a) => registry::publish::run(a, &dirs),
        Command::Install(a) => registry::install::run_install(a, &dirs),
        Command::Upgrade(a) => registry::install::run_upgrade(a, &dirs),
        Command::Remove(a) => registry::manage::run_remove(a, &dirs),
        Command::List(a) => registry::manage::run_list(a, &dirs),
        Command::Search(a) => registry::manage::run_search(a, &dirs),
        Command::Verify(a) => registry::manage::run_verify(a, &dirs),
        Command::Key(a) => registry::key::run(a, &dirs),
        Command::Build(a) => build::run(a),
        Command::Plugin(PluginCommand::Test(a)) => conformance::run(a, &dirs),
    };
    let code = match result {
        Ok(exit) => exit,
        Err(e) => {
            // Errors quote untrusted text (a manifest line, a registry
            // answer): escaped, so it cannot drive the terminal.
            eprintln!("error: {}", render::clean_block(&format!("{e:#}")));
            Exit::Usage
        }
    };
    std::process::exit(code as i32);
}
