//! `gyre key`: publisher keys and whom to trust.

use super::{ConfigArgs, Home};
use crate::exit::Exit;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use gyre_registry::{Namespace, PublicKey, SecretKey};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Generate an ed25519 publisher key, stored in <config>/keys/NAME.key (owner-only).
    Generate(NameArgs),
    /// List your publisher keys.
    List(ListKeys),
    /// Print a key's public half (what others put in their trust policy).
    Show(NameArgs),
    /// Trust a publisher's public key for a namespace (written to trust.toml).
    Trust(TrustArgs),
}

#[derive(Args, Debug)]
pub struct NameArgs {
    /// The key's name, e.g. your namespace.
    pub name: String,
    #[command(flatten)]
    pub config: ConfigArgs,
}

#[derive(Args, Debug)]
pub struct ListKeys {
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub config: ConfigArgs,
}

#[derive(Args, Debug)]
pub struct TrustArgs {
    /// The publisher's public key, `ed25519:<hex>`.
    pub key: String,
    /// The namespace they may publish, or a prefix ending in `*`.
    #[arg(long)]
    pub namespace: String,
    /// A name for the publisher, for your records.
    #[arg(long)]
    pub name: Option<String>,
    #[command(flatten)]
    pub config: ConfigArgs,
}

fn key_file(home: &Home, name: &str) -> Result<PathBuf> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        bail!("key name {name:?}: use letters, digits, `-` and `_`");
    }
    Ok(home.keys_dir().join(format!("{name}.key")))
}

/// Loads a key by name (from <config>/keys) or by path.
pub fn load(home: &Home, name_or_path: &str) -> Result<SecretKey> {
    let path = if name_or_path.contains('/') || name_or_path.ends_with(".key") {
        PathBuf::from(name_or_path)
    } else {
        key_file(home, name_or_path)?
    };
    if !path.exists() {
        bail!(
            "no key {name_or_path:?} at {}; create one with `gyre key generate {name_or_path}`",
            path.display()
        );
    }
    Ok(SecretKey::load(&path)?)
}

pub fn run(cmd: KeyCommand, dirs: &crate::args::Dirs) -> Result<Exit> {
    match cmd {
        KeyCommand::Generate(a) => {
            let home = Home::new(&a.config, dirs);
            let path = key_file(&home, &a.name)?;
            if path.exists() {
                bail!(
                    "{} already exists; keys are never overwritten",
                    path.display()
                );
            }
            let key = SecretKey::generate(&a.name);
            key.save(&path)?;
            println!("{}", key.public());
            eprintln!(
                "Created {} (keep it secret).\nTo install your own packages, trust it: \
                 gyre key trust {} --namespace {} --name {}",
                path.display(),
                key.public(),
                a.name,
                a.name
            );
            Ok(Exit::Success)
        }
        KeyCommand::Show(a) => {
            let home = Home::new(&a.config, dirs);
            println!("{}", load(&home, &a.name)?.public());
            Ok(Exit::Success)
        }
        KeyCommand::List(a) => {
            let home = Home::new(&a.config, dirs);
            let mut keys = Vec::new();
            if let Ok(entries) = std::fs::read_dir(home.keys_dir()) {
                for e in entries.filter_map(|e| e.ok()) {
                    let path = e.path();
                    if path.extension().is_some_and(|x| x == "key") {
                        let key = SecretKey::load(&path)?;
                        keys.push((key.name.clone(), key.public(), path));
                    }
                }
            }
            keys.sort_by(|a, b| a.0.cmp(&b.0));
            if a.json {
                let list: Vec<_> = keys
                    .iter()
                    .map(|(n, k, p)| serde_json::json!({"name": n, "public": k.to_string(), "path": p}))
                    .collect();
                super::print_json(&serde_json::Value::Array(list));
            } else {
                for (name, key, _) in &keys {
                    println!("{name}\t{key}");
                }
            }
            Ok(Exit::Success)
        }
        KeyCommand::Trust(a) => {
            let home = Home::new(&a.config, dirs);
            let key: PublicKey = a.key.parse().map_err(anyhow::Error::msg)?;
            let bare = a.namespace.trim_end_matches('*').trim_end_matches('-');
            if !(a.namespace == "*" || bare.parse::<Namespace>().is_ok()) {
                bail!(
                    "--namespace {:?}: give a namespace or a prefix ending in `*`",
                    a.namespace
                );
            }
            let mut policy = home.trust()?;
            let name = a.name.unwrap_or_else(|| key.fingerprint());
            policy.trust(&name, key, &a.namespace);
            let path = home.trust_path();
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            std::fs::write(&path, policy.to_toml())
                .with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "Trusted {key} for namespace {} in {}",
                a.namespace,
                path.display()
            );
            Ok(Exit::Success)
        }
    }
}
