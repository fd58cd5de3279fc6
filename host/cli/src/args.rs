//! Command-line grants, budgets and directories, parsed into the types the
//! sandbox uses.

use anyhow::{Context, Result, bail};
use clap::Args;
use gyre_manifest::{
    Access, BudgetSpec, DirGrant, Grants, GuestPath, MountGrant, MountName, OriginPattern,
    SecretName, SecretSource,
};
use gyre_sandbox::{Resolve, StaticResolver, SystemResolver};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub struct Dirs {
    pub cache: Option<PathBuf>,
    pub state: PathBuf,
}

fn xdg(var: &str, fallback: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(fallback)))
        .unwrap_or_else(|| std::env::temp_dir().join("gyre-home").join(fallback))
        .join("gyre")
}

/// The user's Gyre config directory (keys, trust policy, consent):
/// `$GYRE_CONFIG_DIR`, else `$XDG_CONFIG_HOME/gyre`.
pub fn default_config_dir() -> PathBuf {
    std::env::var_os("GYRE_CONFIG_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| xdg("XDG_CONFIG_HOME", ".config"))
}

impl Dirs {
    pub fn new(cache: Option<PathBuf>, state: Option<PathBuf>, no_cache: bool) -> Self {
        let cache = if no_cache {
            None
        } else {
            Some(cache.unwrap_or_else(|| xdg("XDG_CACHE_HOME", ".cache").join("compiled")))
        };
        Self {
            cache,
            state: state.unwrap_or_else(|| xdg("XDG_DATA_HOME", ".local/share")),
        }
    }
}

/// What the user grants the plugin for this call.
#[derive(Args, Debug, Default)]
pub struct GrantArgs {
    /// A grants file (TOML): http, directories, mounts, secrets, budgets.
    #[arg(long, value_name = "FILE")]
    pub grants: Option<PathBuf>,
    /// Grant a host directory at a guest path: HOST:GUEST[:ro|rw] (read-only unless rw).
    #[arg(long = "dir", value_name = "HOST:GUEST[:ro|rw]")]
    pub dirs: Vec<String>,
    /// Bind a named mount the plugin requests: NAME=HOST[:ro|rw].
    #[arg(long = "mount", value_name = "NAME=HOST[:ro|rw]")]
    pub mounts: Vec<String>,
    /// Allow outbound HTTP to an origin: scheme://host[:port|:*].
    #[arg(long = "allow-http", value_name = "ORIGIN")]
    pub http: Vec<String>,
    /// Grant a secret: NAME (from the environment variable NAME), NAME=env:VAR, NAME=file:PATH.
    #[arg(long = "secret", value_name = "NAME[=env:VAR|file:PATH]")]
    pub secrets: Vec<String>,
    /// Pin a host name to an address for outbound HTTP, like curl: HOST:IP.
    #[arg(long = "resolve", value_name = "HOST:IP")]
    pub resolve: Vec<String>,
}

/// Budgets for this call, within the host's ceilings.
#[derive(Args, Debug, Default)]
pub struct BudgetArgs {
    /// Fuel (roughly, wasm instructions).
    #[arg(long)]
    pub fuel: Option<u64>,
    /// Wall-clock deadline, e.g. 500ms, 5s, 2m.
    #[arg(long, value_parser = parse_duration_ms, value_name = "DURATION")]
    pub timeout: Option<u64>,
    /// Cap on linear memory (all memories together), in MiB.
    #[arg(long = "memory", value_name = "MIB")]
    pub memory_mib: Option<u64>,
}

impl BudgetArgs {
    pub fn spec(&self) -> BudgetSpec {
        BudgetSpec {
            fuel: self.fuel,
            timeout_ms: self.timeout,
            memory_mib: self.memory_mib,
        }
    }
}

pub fn parse_duration_ms(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 500ms, 5s or 2m"))?;
    let factor = match unit {
        "ms" => 1,
        "" | "s" => 1000,
        "m" => 60_000,
        other => return Err(format!("unknown unit {other:?} in {s:?}; use ms, s or m")),
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("{s:?} is too long"))
}

fn split_access(s: &str) -> (&str, Access) {
    match s.rsplit_once(':') {
        Some((rest, "rw")) => (rest, Access::ReadWrite),
        Some((rest, "ro")) => (rest, Access::ReadOnly),
        _ => (s, Access::ReadOnly),
    }
}

fn absolute(path: &str) -> Result<PathBuf> {
    let p = Path::new(path);
    let p = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()?.join(p)
    };
    std::fs::canonicalize(&p).with_context(|| format!("{} does not exist", p.display()))
}

impl GrantArgs {
    /// The grants file, if any, with the command-line grants on top.
    pub fn grants(&self) -> Result<Grants> {
        let mut grants = match &self.grants {
            Some(path) => Grants::load(path)?,
            None => Grants::default(),
        };
        let mut flags = Grants::default();
        for d in &self.dirs {
            let (rest, access) = split_access(d);
            let (host, guest) = rest
                .split_once(':')
                .with_context(|| format!("--dir {d:?}: expected HOST:GUEST[:ro|rw]"))?;
            let guest: GuestPath = guest
                .parse()
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("--dir {d:?}"))?;
            flags.directories.push(DirGrant {
                host: absolute(host).with_context(|| format!("--dir {d:?}"))?,
                guest,
                access,
            });
        }
        for m in &self.mounts {
            let (name, rest) = m
                .split_once('=')
                .with_context(|| format!("--mount {m:?}: expected NAME=HOST[:ro|rw]"))?;
            let (host, access) = split_access(rest);
            let name: MountName = name
                .parse()
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("--mount {m:?}"))?;
            flags.mounts.insert(
                name,
                MountGrant {
                    host: absolute(host).with_context(|| format!("--mount {m:?}"))?,
                    access,
                },
            );
        }
        for h in &self.http {
            flags.http.push(
                OriginPattern::parse(h)
                    .map_err(anyhow::Error::msg)
                    .context("--allow-http")?,
            );
        }
        for s in &self.secrets {
            let (name, source) = match s.split_once('=') {
                None => (s.as_str(), SecretSource::Env(s.clone())),
                Some((name, src)) => match src.split_once(':') {
                    Some(("env", var)) => (name, SecretSource::Env(var.into())),
                    Some(("file", path)) => (name, SecretSource::File(path.into())),
                    _ => bail!(
                        "--secret {name}=…: expected env:VAR or file:PATH (values are never taken on the command line)"
                    ),
                },
            };
            let name: SecretName = name
                .parse()
                .map_err(anyhow::Error::msg)
                .context("--secret")?;
            flags.secrets.insert(name, source);
        }
        grants.merge(flags);
        Ok(grants)
    }

    pub fn resolver(&self) -> Result<Arc<dyn Resolve>> {
        if self.resolve.is_empty() {
            return Ok(Arc::new(SystemResolver));
        }
        let mut resolver = StaticResolver::new(Some(Arc::new(SystemResolver)));
        for r in &self.resolve {
            let (host, ip) = r
                .split_once(':')
                .with_context(|| format!("--resolve {r:?}: expected HOST:IP"))?;
            let ip: IpAddr = ip
                .parse()
                .with_context(|| format!("--resolve {r:?}: {ip:?} is not an IP address"))?;
            resolver.insert(host, ip);
        }
        Ok(Arc::new(resolver))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration_ms("250ms"), Ok(250));
        assert_eq!(parse_duration_ms("5s"), Ok(5000));
        assert_eq!(parse_duration_ms("2m"), Ok(120_000));
        assert_eq!(parse_duration_ms("3"), Ok(3000));
        assert!(parse_duration_ms("5h").is_err());
        assert!(parse_duration_ms("fast").is_err());
    }

    #[test]
    fn secret_values_are_never_taken_from_the_command_line() {
        let args = GrantArgs {
            secrets: vec!["TOKEN=hunter2".into()],
            ..Default::default()
        };
        assert!(args.grants().is_err());
    }

    #[test]
    fn directories_default_to_read_only() {
        let args = GrantArgs {
            dirs: vec!["/tmp:/data".into(), "/tmp:/out:rw".into()],
            ..Default::default()
        };
        let g = args.grants().unwrap();
        assert_eq!(g.directories[0].access, Access::ReadOnly);
        assert_eq!(g.directories[1].access, Access::ReadWrite);
    }
}
