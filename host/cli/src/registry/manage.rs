//! `gyre remove`, `gyre list`, `gyre search`, `gyre verify`.

use super::{ConfigArgs, Home, block_on};
use crate::exit::Exit;
use anyhow::Result;
use clap::Args;
use gyre_registry::fetch::{self, Checks};
use gyre_registry::lock::{LOCKFILE, Lockfile};
use gyre_registry::{Backend, InstallRecord, PackageName, Timestamp};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct RemoveArgs {
    /// Installed packages to remove (namespace/name).
    #[arg(required = true)]
    pub packages: Vec<String>,
    /// The lockfile to drop them from [default: ./gyre.lock].
    #[arg(long, value_name = "PATH")]
    pub lock: Option<PathBuf>,
    #[command(flatten)]
    pub config: ConfigArgs,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub config: ConfigArgs,
}

#[derive(Args, Debug)]
pub struct SearchArgs {
    /// Words to look for in package names and descriptions [default: list all].
    pub query: Option<String>,
    /// Search only this registry [default: every configured registry].
    #[arg(long)]
    pub registry: Option<String>,
    /// Also list namespaces whose index your trust policy does not trust.
    #[arg(long = "dangerously-allow-untrusted")]
    pub allow_untrusted: bool,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub config: ConfigArgs,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// Packages to check [default: everything installed].
    pub packages: Vec<String>,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub config: ConfigArgs,
}

pub fn record_json(r: &InstallRecord) -> serde_json::Value {
    serde_json::json!({
        "package": r.package.to_string(),
        "version": r.version.to_string(),
        "digest": r.digest.to_string(),
        "registry": r.registry,
        "publisher": r.publisher.map(|k| k.to_string()),
        "components": r.components.iter().map(|c| serde_json::json!({
            "plugin": c.plugin.to_string(), "kind": c.kind.as_str(), "file": c.file,
            "digest": c.digest.to_string(),
        })).collect::<Vec<_>>(),
    })
}

fn names(list: &[String]) -> Result<Vec<PackageName>> {
    list.iter()
        .map(|p| p.parse().map_err(anyhow::Error::msg))
        .collect()
}

pub fn run_remove(a: RemoveArgs, dirs: &crate::args::Dirs) -> Result<Exit> {
    super::finish((|| {
        let home = Home::new(&a.config, dirs);
        let mut lock = Lockfile::open(&a.lock.clone().unwrap_or_else(|| PathBuf::from(LOCKFILE)))?;
        let mut code = Exit::Success;
        for name in names(&a.packages)? {
            if home.installed().remove(&name)? {
                home.consent().remove(&name)?;
                if lock.remove(&name) {
                    lock.save()?;
                }
                println!(
                    "Removed {name} (its private state is kept under {})",
                    home.data.join("plugins").display()
                );
            } else {
                eprintln!("error: {name} is not installed");
                code = Exit::Failed;
            }
        }
        Ok(code)
    })())
}

pub fn run_list(a: ListArgs, dirs: &crate::args::Dirs) -> Result<Exit> {
    super::finish((|| {
        let home = Home::new(&a.config, dirs);
        let records = home.installed().list()?;
        if a.json {
            super::print_json(&serde_json::Value::Array(
                records.iter().map(record_json).collect(),
            ));
        } else {
            for r in &records {
                let signer = r
                    .publisher
                    .map_or("UNTRUSTED".to_string(), |k| k.fingerprint());
                println!(
                    "{}@{}\t{}\t{}\t{}",
                    r.package,
                    r.version,
                    r.digest.short(),
                    signer,
                    r.registry
                );
            }
        }
        Ok(Exit::Success)
    })())
}

pub fn run_verify(a: VerifyArgs, dirs: &crate::args::Dirs) -> Result<Exit> {
    super::finish((|| {
        let home = Home::new(&a.config, dirs);
        let policy = home.trust()?;
        let installed = home.installed();
        let targets = if a.packages.is_empty() {
            installed.list()?.into_iter().map(|r| r.package).collect()
        } else {
            names(&a.packages)?
        };
        let mut code = Exit::Success;
        let mut report = Vec::new();
        for name in targets {
            match installed.verify(&name, &policy) {
                Ok(r) => {
                    if !a.json {
                        println!("ok      {}@{} ({})", r.package, r.version, r.digest.short());
                    }
                    report.push(serde_json::json!({"package": name.to_string(), "ok": true}));
                }
                Err(e) => {
                    code = Exit::Failed;
                    if !a.json {
                        println!("FAILED  {name}: {e}");
                    }
                    report.push(serde_json::json!({"package": name.to_string(), "ok": false, "error": e.to_string()}));
                }
            }
        }
        if a.json {
            super::print_json(&serde_json::Value::Array(report));
        }
        Ok(code)
    })())
}

pub fn run_search(a: SearchArgs, dirs: &crate::args::Dirs) -> Result<Exit> {
    super::finish((|| {
        let home = Home::new(&a.config, dirs);
        let policy = home.trust()?;
        let mut seen = home.seen()?;
        let registries = match &a.registry {
            Some(r) => vec![
                home.registries()?
                    .pick(Some(r), &home.embedded_registry())?,
            ],
            None => home.all_registries()?,
        };
        let query = a.query.clone().unwrap_or_default().to_lowercase();
        let mut hits = Vec::new();
        for (reg_name, spec) in registries {
            let backend = spec.open();
            let mut namespaces = match block_on(backend.namespaces())? {
                Ok(ns) => ns,
                Err(e) => {
                    eprintln!("warning: {reg_name}: {e}");
                    continue;
                }
            };
            namespaces.extend(policy.exact_namespaces());
            namespaces.sort();
            namespaces.dedup();
            for ns in namespaces {
                let mut checks = Checks {
                    policy: &policy,
                    seen: &mut seen,
                    allow_untrusted: a.allow_untrusted,
                    now: Timestamp::now(),
                };
                let index = match block_on(fetch::index(&backend, &ns, &mut checks))? {
                    Ok(i) => i,
                    Err(gyre_registry::RegistryError::NotFound { .. }) => continue,
                    Err(e) => {
                        eprintln!("warning: {reg_name}: skipping namespace {ns}: {e}");
                        continue;
                    }
                };
                for (name, entry) in &index.body.packages {
                    let full = format!("{ns}/{name}");
                    if !query.is_empty()
                        && !full.contains(&query)
                        && !entry.description.to_lowercase().contains(&query)
                    {
                        continue;
                    }
                    let latest = entry
                        .releases
                        .keys()
                        .next_back()
                        .map(|v| v.to_string())
                        .unwrap_or_default();
                    hits.push(serde_json::json!({
                        "package": full, "latest": latest, "description": entry.description,
                        "registry": reg_name, "trusted": index.signer.is_some(),
                    }));
                }
            }
        }
        if a.json {
            super::print_json(&serde_json::Value::Array(hits));
        } else if hits.is_empty() {
            eprintln!("no packages found");
        } else {
            for h in &hits {
                // Registry-supplied text: escaped for the terminal.
                let field = |k: &str| crate::render::clean(h[k].as_str().unwrap_or(""));
                println!(
                    "{}@{}\t{}\t({})",
                    field("package"),
                    field("latest"),
                    field("description"),
                    field("registry")
                );
            }
        }
        Ok(Exit::Success)
    })())
}
