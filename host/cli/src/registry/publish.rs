//! `gyre publish`: sign and push a package.

use super::{ConfigArgs, Home, block_on, progress::Bars};
use crate::exit::Exit;
use anyhow::{Context, Result, bail};
use clap::Args;
use gyre_registry::publish::{self, DEFAULT_VALIDITY_SECS, PublishOptions};
use gyre_registry::{Namespace, PackageName, Timestamp, parse_duration_secs};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct PublishArgs {
    /// The component(s) to publish; the package version is theirs.
    pub components: Vec<PathBuf>,
    /// The namespace to publish into; your key must be trusted for it.
    #[arg(long)]
    pub namespace: String,
    /// The package name [default: the component's plugin name].
    #[arg(long)]
    pub name: Option<String>,
    /// Your publisher key: a name under <config>/keys, or a path.
    #[arg(long)]
    pub key: String,
    /// A configured registry, oci://HOST[/PREFIX], oci+http://HOST[/PREFIX] or dir:PATH
    /// [default: the embedded registry].
    #[arg(long)]
    pub registry: Option<String>,
    /// How long the signed index stays valid, e.g. 90d, 12h.
    #[arg(long, value_parser = parse_duration_secs, value_name = "DURATION")]
    pub expires_in: Option<u64>,
    /// Re-sign the namespace's index with a fresh expiry; publish nothing.
    #[arg(long)]
    pub refresh_index: bool,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub config: ConfigArgs,
}

pub fn run(a: PublishArgs, dirs: &crate::args::Dirs) -> Result<Exit> {
    super::finish(publish_cmd(a, dirs))
}

fn publish_cmd(a: PublishArgs, dirs: &crate::args::Dirs) -> Result<Exit> {
    let home = Home::new(&a.config, dirs);
    let key = super::key::load(&home, &a.key)?;
    let policy = home.trust()?;
    let (reg_name, backend) = home.registry(a.registry.as_deref())?;
    let namespace: Namespace = a.namespace.parse().map_err(anyhow::Error::msg)?;
    let opts = PublishOptions {
        key: &key,
        policy: &policy,
        now: Timestamp::now(),
        valid_for: a.expires_in.unwrap_or(DEFAULT_VALIDITY_SECS),
    };
    if a.refresh_index {
        let (version, expires) = block_on(publish::refresh(&backend, &namespace, &opts))??;
        eprintln!(
            "Re-signed the index of {namespace} in {reg_name}: version {version}, valid until {expires}"
        );
        return Ok(Exit::Success);
    }
    if a.components.is_empty() {
        bail!("give at least one component (.wasm) to publish");
    }
    let mut components = Vec::new();
    for path in &a.components {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let file = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        components.push((file, bytes));
    }
    let name = match &a.name {
        Some(n) => n.clone(),
        None => {
            let info = gyre_sandbox::inspect::read(&components[0].1)
                .map_err(anyhow::Error::msg)
                .with_context(|| a.components[0].display().to_string())?;
            let text = info.manifest_text.unwrap_or_default();
            gyre_sandbox::manifest::Manifest::parse(&text, &a.components[0].display().to_string())?
                .plugin
                .name
                .to_string()
        }
    };
    let name: PackageName = format!("{namespace}/{name}")
        .parse()
        .map_err(anyhow::Error::msg)?;
    let bars = Bars::new(a.json);
    let published = block_on(publish::publish(&backend, &name, components, &opts, &bars))??;
    if a.json {
        super::print_json(&serde_json::json!({
            "package": published.id.name.to_string(),
            "version": published.id.version.to_string(),
            "digest": published.digest.to_string(),
            "registry": reg_name,
            "index_version": published.index_version,
            "expires": published.expires.0,
            "new": published.new,
        }));
    } else if published.new {
        println!(
            "Published {} ({}) to {reg_name}, signed by {}; index version {}, valid until {}",
            published.id,
            published.digest,
            key.public(),
            published.index_version,
            published.expires
        );
    } else {
        println!(
            "{} ({}) is already published in {reg_name}; nothing to do",
            published.id, published.digest
        );
    }
    Ok(Exit::Success)
}
