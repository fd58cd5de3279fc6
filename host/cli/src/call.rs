//! `gyre plugin call`: one sandboxed call with the grants and budgets given.

use crate::args::{BudgetArgs, Dirs, GrantArgs};
use crate::exit::Exit;
use crate::render::{self, clean, clean_block, envelope, plugin_error_json};
use anyhow::{Context, Result, bail};
use clap::Args;
use gyre_manifest::{DirSource, PluginKind};
use gyre_sandbox::trigger::{Firing, WebhookRequest};
use gyre_sandbox::verifier::{Evidence, Severity, VerifyRequest};
use gyre_sandbox::{Granted, Invocation, Plugin, PluginError, Runtime, RuntimeConfig};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct CallArgs {
    /// The plugin component (.wasm).
    pub wasm: PathBuf,
    #[command(flatten)]
    pub grants: GrantArgs,
    #[command(flatten)]
    pub budget: BudgetArgs,
    /// The plugin's configuration: JSON text, or @FILE.
    #[arg(long)]
    pub config: Option<String>,
    /// Verifier: a piece of evidence, NAME=PATH[:CONTENT-TYPE] (repeatable).
    #[arg(long = "evidence", value_name = "NAME=PATH[:TYPE]")]
    pub evidence: Vec<String>,
    /// Connector: the operation to run; without it, the operations are listed.
    #[arg(long = "op", value_name = "OPERATION")]
    pub operation: Option<String>,
    /// Connector: the operation's input, JSON text or @FILE.
    #[arg(long)]
    pub input: Option<String>,
    /// Trigger: describe how it fires instead of polling.
    #[arg(long)]
    pub describe: bool,
    /// Trigger: the cursor the previous poll returned.
    #[arg(long)]
    pub cursor: Option<String>,
    /// Trigger: the time the poll sees, in ms since the epoch [default: now].
    #[arg(long)]
    pub now_ms: Option<u64>,
    /// Trigger: deliver this file as a webhook request body instead of polling.
    #[arg(long, value_name = "BODY-FILE")]
    pub webhook: Option<PathBuf>,
    /// Trigger: a webhook request header, NAME:VALUE (repeatable).
    #[arg(long = "header", value_name = "NAME:VALUE")]
    pub headers: Vec<String>,
    /// Trigger: the webhook request's method and path.
    #[arg(long, default_value = "POST")]
    pub method: String,
    #[arg(long, default_value = "/")]
    pub path: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

fn text_arg(value: &Option<String>, what: &str) -> Result<String> {
    match value.as_deref() {
        None => Ok(String::new()),
        Some(v) => match v.strip_prefix('@') {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("--{what} @{path}: cannot read")),
            None => Ok(v.to_string()),
        },
    }
}

/// Reads a file through a directory handle on its parent, the way the host
/// reads every file on a plugin's behalf.
fn read_file(path: &Path, max: usize) -> Result<Vec<u8>> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .with_context(|| format!("{} names no file", path.display()))?;
    let dir = cap_std::fs::Dir::open_ambient_dir(parent, cap_std::ambient_authority())
        .with_context(|| format!("cannot open {}", parent.display()))?;
    let meta = dir
        .metadata(name)
        .with_context(|| format!("cannot read {}", path.display()))?;
    // A FIFO or device would block or never end.
    if !meta.is_file() {
        bail!("{} is not a regular file", path.display());
    }
    let size = meta.len();
    if size > max as u64 {
        bail!(
            "{} is {size} bytes; plugin inputs are limited to {max} bytes",
            path.display()
        );
    }
    dir.read(name)
        .with_context(|| format!("cannot read {}", path.display()))
}

fn content_type(path: &str) -> &'static str {
    match Path::new(path).extension().and_then(|e| e.to_str()) {
        Some("xml") => "application/xml",
        Some("json") => "application/json",
        Some("diff" | "patch") => "text/x-diff",
        _ => "text/plain",
    }
}

fn evidence(spec: &str, max: usize) -> Result<Evidence> {
    let (name, rest) = spec
        .split_once('=')
        .with_context(|| format!("--evidence {spec:?}: expected NAME=PATH[:TYPE]"))?;
    let (path, ty) = match rest.rsplit_once(':') {
        Some((p, t)) if t.contains('/') => (p, t.to_string()),
        _ => (rest, content_type(rest).to_string()),
    };
    let data = read_file(Path::new(path), max).with_context(|| format!("--evidence {name}"))?;
    Ok(Evidence {
        name: name.into(),
        content_type: ty,
        data,
    })
}

pub fn run(args: CallArgs, dirs: &Dirs) -> Result<Exit> {
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: dirs.cache.clone(),
        state_dir: Some(dirs.state.clone()),
        // No grant may reach the user's keys, trust policy or consent.
        protected: vec![crate::args::default_config_dir()],
        ..RuntimeConfig::default()
    })?;
    let (plugin, load) = runtime.load(&args.wasm)?;
    let ctx = Ctx {
        plugin: &plugin,
        load: &load,
    };
    let grants = args.grants.grants()?;
    let mut effective = grants.resolve(plugin.manifest());
    effective.budgets = args.budget.spec().or(effective.budgets);
    let granted = plugin.grant(&effective, args.grants.resolver()?)?;
    // A verifier's workspace view is whatever the `workspace` mount binds.
    let workspace = plugin
        .manifest()
        .capabilities
        .directories
        .iter()
        .find_map(|d| match &d.source {
            DirSource::Mount(m)
                if m.as_str() == "workspace"
                    && effective.dirs.iter().any(|e| e.guest == d.guest) =>
            {
                Some(d.guest.to_string())
            }
            _ => None,
        });
    let config = text_arg(&args.config, "config")?;

    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let exit = tokio.block_on(async {
        match plugin.kind() {
            PluginKind::Verifier => {
                if args.operation.is_some() || args.webhook.is_some() {
                    bail!(
                        "{} is a verifier: give --evidence, not --op or --webhook",
                        plugin.name()
                    );
                }
                let max = runtime.limits().max_input_bytes;
                let evidence = args
                    .evidence
                    .iter()
                    .map(|e| evidence(e, max))
                    .collect::<Result<Vec<_>>>()?;
                let request = VerifyRequest {
                    config,
                    evidence,
                    workspace,
                };
                Ok(verify(&ctx, &granted, request, args.json).await)
            }
            PluginKind::Connector => {
                if !args.evidence.is_empty() || args.webhook.is_some() {
                    bail!("{} is a connector: give --op and --input", plugin.name());
                }
                match &args.operation {
                    None => Ok(operations(&ctx, &granted, args.json).await),
                    Some(op) => {
                        let input = text_arg(&args.input, "input")?;
                        let input = if input.trim().is_empty() {
                            "{}".to_string()
                        } else {
                            input
                        };
                        Ok(invoke(&ctx, &granted, &config, op, &input, args.json).await)
                    }
                }
            }
            PluginKind::Trigger => trigger(&ctx, &granted, &config, &args).await,
        }
    });
    // A call abandoned at its deadline may leave a blocking host operation
    // behind (a guest can open a FIFO); don't wait for it to exit.
    tokio.shutdown_timeout(std::time::Duration::from_millis(100));
    exit
}

/// The exit code for a call whose plugin-level result is `result`.
fn exit_for<T>(inv: &Invocation<Result<T, PluginError>>, passed: impl Fn(&T) -> bool) -> Exit {
    match &inv.outcome {
        Err(f)
            if f.is_budget()
                || matches!(
                    f,
                    gyre_sandbox::Failure::Trapped { .. }
                        | gyre_sandbox::Failure::Instantiation { .. }
                ) =>
        {
            Exit::Budget
        }
        Err(_) => Exit::Usage,
        Ok(Err(PluginError::Denied(_))) => Exit::Denied,
        Ok(Err(_)) if !inv.denials.is_empty() => Exit::Denied,
        Ok(Err(_)) => Exit::Failed,
        Ok(Ok(v)) if passed(v) => Exit::Success,
        Ok(Ok(_)) if !inv.denials.is_empty() => Exit::Denied,
        Ok(Ok(_)) => Exit::Failed,
    }
}

/// The plugin being called and how it was loaded.
struct Ctx<'a> {
    plugin: &'a Plugin,
    load: &'a gyre_sandbox::LoadReport,
}

fn print_failure(plugin: &Plugin, failure: &gyre_sandbox::Failure) {
    println!(
        "{}: {} ({})",
        plugin.name(),
        clean(&failure.to_string()),
        failure.kind()
    );
}

async fn verify(ctx: &Ctx<'_>, granted: &Granted, request: VerifyRequest, json: bool) -> Exit {
    let plugin = ctx.plugin;
    let inv = plugin.verify(granted, request).await;
    let exit = exit_for(&inv, |v| v.passed);
    if json {
        let result = match &inv.outcome {
            Ok(Ok(v)) => json!({"status": if v.passed { "pass" } else { "fail" }, "verdict": v}),
            Ok(Err(e)) => json!({"status": "fail", "error": plugin_error_json(e)}),
            Err(f) => json!({"status": "fail", "failure": f}),
        };
        println!(
            "{}",
            envelope(ctx.plugin, ctx.load, "verify", &inv, result, &granted.notes)
        );
        return exit;
    }
    match &inv.outcome {
        Ok(Ok(v)) => {
            let score = v
                .score
                .map(|s| format!(" (score {s:.1})"))
                .unwrap_or_default();
            println!(
                "{}: {} — {}{score}",
                plugin.name(),
                if v.passed { "PASS" } else { "FAIL" },
                clean(&v.summary)
            );
            for f in &v.findings {
                let sev = match f.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                    Severity::Info => "info",
                };
                let at = match (&f.file, f.line) {
                    (Some(file), Some(line)) => format!(" {}:{line}", clean(file)),
                    (Some(file), None) => format!(" {}", clean(file)),
                    _ => String::new(),
                };
                println!("  {sev}{at}: {}", clean(&f.message));
            }
        }
        Ok(Err(e)) => println!(
            "{}: FAIL — the verifier returned an error: {}",
            plugin.name(),
            clean(&e.to_string())
        ),
        Err(f) => {
            print_failure(plugin, f);
            println!("  counted as a failed check");
        }
    }
    render::print_footer(&inv, &granted.notes);
    exit
}

async fn operations(ctx: &Ctx<'_>, granted: &Granted, json: bool) -> Exit {
    let plugin = ctx.plugin;
    let inv = plugin.operations(granted).await;
    let exit = match &inv.outcome {
        Ok(_) => Exit::Success,
        Err(f) if f.is_budget() || matches!(f, gyre_sandbox::Failure::Trapped { .. }) => {
            Exit::Budget
        }
        Err(_) => Exit::Usage,
    };
    if json {
        let result = match &inv.outcome {
            Ok(ops) => json!({"status": "ok", "operations": ops.iter().map(|o| json!({
                "name": o.name, "description": o.description, "read-only": o.read_only,
                "input-schema": serde_json::from_str::<Value>(&o.input_schema).unwrap_or(Value::String(o.input_schema.clone())),
            })).collect::<Vec<_>>()}),
            Err(f) => json!({"status": "failure", "failure": f}),
        };
        println!(
            "{}",
            envelope(
                ctx.plugin,
                ctx.load,
                "describe",
                &inv,
                result,
                &granted.notes
            )
        );
        return exit;
    }
    match &inv.outcome {
        Ok(ops) => {
            println!("{} offers {} operation(s):", plugin.name(), ops.len());
            for o in ops {
                println!(
                    "  {}{} — {}",
                    clean(&o.name),
                    if o.read_only { " (read-only)" } else { "" },
                    clean(&o.description)
                );
            }
        }
        Err(f) => print_failure(plugin, f),
    }
    render::print_footer(&inv, &granted.notes);
    exit
}

async fn invoke(
    ctx: &Ctx<'_>,
    granted: &Granted,
    config: &str,
    op: &str,
    input: &str,
    json: bool,
) -> Exit {
    let plugin = ctx.plugin;
    let inv = plugin.invoke(granted, config, op, input).await;
    let exit = exit_for(&inv, |_| true);
    if json {
        let result = match &inv.outcome {
            Ok(Ok(out)) => {
                json!({"status": "ok", "output": serde_json::from_str::<Value>(out).unwrap_or(Value::String(out.clone()))})
            }
            Ok(Err(e)) => json!({"status": "error", "error": plugin_error_json(e)}),
            Err(f) => json!({"status": "failure", "failure": f}),
        };
        println!(
            "{}",
            envelope(ctx.plugin, ctx.load, op, &inv, result, &granted.notes)
        );
        return exit;
    }
    match &inv.outcome {
        Ok(Ok(out)) => {
            let pretty = serde_json::from_str::<Value>(out)
                .ok()
                .and_then(|v| serde_json::to_string_pretty(&v).ok());
            println!("{} {op}: ok", plugin.name());
            println!("{}", clean_block(&pretty.unwrap_or_else(|| out.clone())));
        }
        Ok(Err(e)) => println!(
            "{} {}: error — {}",
            plugin.name(),
            clean(op),
            clean(&e.to_string())
        ),
        Err(f) => print_failure(plugin, f),
    }
    render::print_footer(&inv, &granted.notes);
    exit
}

async fn trigger(ctx: &Ctx<'_>, granted: &Granted, config: &str, args: &CallArgs) -> Result<Exit> {
    let plugin = ctx.plugin;
    let events_json = |events: &[gyre_sandbox::trigger::Event]| {
        events
            .iter()
            .map(|e| {
                let payload = serde_json::from_str::<Value>(&e.payload)
                    .unwrap_or(Value::String(e.payload.clone()));
                json!({"id": e.id, "kind": e.kind, "payload": payload})
            })
            .collect::<Vec<_>>()
    };
    if args.describe {
        let inv = plugin.firing(granted, config).await;
        let firing = |f: &Firing| match f {
            Firing::Cron(c) => json!({"firing": {"cron": c}}),
            Firing::Interval(s) => json!({"firing": {"interval-seconds": s}}),
            Firing::Poll(s) => json!({"firing": {"poll-seconds": s}}),
            Firing::Webhook => json!({"firing": "webhook"}),
        };
        return Ok(finish(ctx, granted, "describe", &inv, firing, args.json));
    }
    if let Some(body) = &args.webhook {
        let headers = args
            .headers
            .iter()
            .map(|h| {
                h.split_once(':')
                    .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            })
            .collect::<Option<Vec<_>>>()
            .context("--header: expected NAME:VALUE")?;
        let body = read_file(body, plugin.runtime().limits().max_input_bytes)?;
        let request = WebhookRequest {
            method: args.method.clone(),
            path: args.path.clone(),
            headers,
            body,
        };
        let inv = plugin.webhook(granted, config, request).await;
        return Ok(finish(
            ctx,
            granted,
            "webhook",
            &inv,
            |events| json!({"events": events_json(events)}),
            args.json,
        ));
    }
    let now = args.now_ms.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    });
    let inv = plugin
        .poll(granted, config, args.cursor.as_deref(), now)
        .await;
    let poll = |p: &gyre_sandbox::trigger::PollResult| json!({"events": events_json(&p.events), "cursor": p.cursor});
    Ok(finish(ctx, granted, "poll", &inv, poll, args.json))
}

/// Prints a trigger call's result, as JSON or for a person, and returns its
/// exit code.
fn finish<T>(
    ctx: &Ctx<'_>,
    granted: &Granted,
    call: &str,
    inv: &Invocation<Result<T, PluginError>>,
    ok: impl Fn(&T) -> Value,
    json: bool,
) -> Exit {
    let result = match &inv.outcome {
        Ok(Ok(value)) => {
            let mut result = ok(value);
            result["status"] = "ok".into();
            result
        }
        Ok(Err(e)) => json!({"status": "error", "error": plugin_error_json(e)}),
        Err(f) => json!({"status": "failure", "failure": f}),
    };
    if json {
        println!(
            "{}",
            envelope(ctx.plugin, ctx.load, call, inv, result, &granted.notes)
        );
    } else {
        println!("{} {call}:", ctx.plugin.name());
        // JSON escapes control characters, so guest text prints safely.
        println!(
            "{}",
            serde_json::to_string_pretty(&result).unwrap_or_default()
        );
        render::print_footer(inv, &granted.notes);
    }
    exit_for(inv, |_| true)
}
