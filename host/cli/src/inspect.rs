//! `gyre plugin inspect`.

use crate::exit::Exit;
use anyhow::{Context, Result};
use clap::Args;
use gyre_manifest::{DirSource, Manifest};
use gyre_sandbox::inspect::{self, Severity};
use serde_json::json;
use std::path::PathBuf;

#[derive(Args)]
pub struct InspectArgs {
    /// The plugin component (.wasm).
    pub wasm: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: InspectArgs) -> Result<Exit> {
    let path = &args.wasm;
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let info = inspect::read(&bytes).map_err(|why| anyhow::anyhow!("{}: {why}", path.display()))?;
    let origin = format!("{} (embedded gyre.toml)", path.display());
    let manifest = match &info.manifest_text {
        Some(text) => Some(Manifest::parse(text, &origin)),
        None => None,
    };
    let mut mismatches = match &manifest {
        Some(Ok(m)) => inspect::check(m, &info),
        _ => Vec::new(),
    };
    match &manifest {
        None => mismatches.push(inspect::Mismatch {
            severity: Severity::Error,
            message: "no embedded gyre.toml (custom section `gyre-manifest`): build it with a gyre SDK export macro".into(),
        }),
        Some(Err(e)) => mismatches.push(inspect::Mismatch { severity: Severity::Error, message: e.to_string() }),
        Some(Ok(_)) => {}
    }
    let worlds = inspect::exported_worlds(&info);
    let digest = gyre_sandbox::digest(&bytes);
    let manifest = manifest.and_then(Result::ok);

    if args.json {
        let out = json!({
            "file": path.display().to_string(),
            "size": info.size,
            "digest": format!("sha256:{digest}"),
            "worlds": worlds.iter().map(|(k, v)| json!({"kind": k.as_str(), "api-version": v})).collect::<Vec<_>>(),
            "manifest": manifest,
            "imports": info.imports,
            "exports": info.exports,
            "mismatches": mismatches,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        match &manifest {
            Some(m) => {
                let p = &m.plugin;
                println!("{} {} — {}", p.name, p.version, p.kind);
                if !p.description.is_empty() {
                    println!("  {}", crate::render::clean(&p.description));
                }
            }
            None => println!("{} — no usable manifest", path.display()),
        }
        for (kind, version) in &worlds {
            println!("  world: gyre:plugin/{kind}@{version}");
        }
        println!(
            "  component: {}, sha256:{digest}",
            crate::render::bytes(info.size as u64)
        );
        if let Some(m) = &manifest {
            print_requests(m);
        }
        println!("imports:");
        for i in &info.imports {
            println!("  {i}");
        }
        println!("exports:");
        for e in &info.exports {
            println!("  {e}");
        }
        if mismatches.is_empty() {
            println!("mismatches: none");
        } else {
            println!("mismatches:");
            for m in &mismatches {
                let tag = if m.severity == Severity::Error {
                    "error"
                } else {
                    "warning"
                };
                println!("  {tag}: {}", m.message);
            }
        }
    }
    Ok(
        if mismatches.iter().any(|m| m.severity == Severity::Error) {
            Exit::Usage
        } else {
            Exit::Success
        },
    )
}

fn print_requests(m: &Manifest) {
    let caps = &m.capabilities;
    println!("requests:");
    if caps.is_empty() {
        println!("  nothing: no directories, no network, no secrets");
    }
    for d in &caps.directories {
        let from = match &d.source {
            DirSource::Mount(name) => format!("mount `{name}`"),
            DirSource::Host(h) => h.clone(),
        };
        println!("  directory {} ← {from} ({})", d.guest, d.access.as_str());
    }
    for o in &caps.http {
        println!("  http {o}");
    }
    for s in &caps.secrets {
        println!("  secret {s}");
    }
    let b = &m.budgets;
    let show = |v: Option<u64>, unit: &str| {
        v.map_or("host default".to_string(), |v| {
            format!("{} {unit}", crate::render::thousands(v))
        })
    };
    println!(
        "  budgets: fuel {}, timeout {}, memory {}",
        show(b.fuel, ""),
        show(b.timeout_ms, "ms"),
        show(b.memory_mib, "MiB")
    );
}
