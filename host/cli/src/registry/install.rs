//! `gyre install` and `gyre upgrade`: fetch with every check, show what the
//! package asks for (or what changed), get consent, install atomically,
//! pin in gyre.lock.

use super::{ConfigArgs, Home, block_on, progress::Bars};
use crate::exit::Exit;
use anyhow::{Result, bail};
use clap::Args;
use gyre_registry::consent::{self, Approval, ApprovalFile, Change, Requests};
use gyre_registry::fetch::{self, Checks, Fetched, Pin};
use gyre_registry::lock::{LOCKFILE, Locked, Lockfile};
use gyre_registry::{InstallRecord, PackageRef, RegistryError, Timestamp, Want};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

#[derive(Args, Debug, Default)]
pub struct ConsentArgs {
    /// Approve everything the packages request without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Pre-approved requests for unattended installs (TOML; see the README).
    #[arg(long, value_name = "FILE")]
    pub grants: Option<PathBuf>,
    /// Accept unsigned packages and signers your trust policy does not know.
    /// Bad signatures and modified content are refused even so.
    #[arg(long = "dangerously-allow-untrusted")]
    pub allow_untrusted: bool,
}

#[derive(Args, Debug, Default)]
pub struct LockArgs {
    /// The lockfile [default: ./gyre.lock].
    #[arg(long, value_name = "PATH")]
    pub lock: Option<PathBuf>,
    /// Fail unless every package is already pinned in the lockfile.
    #[arg(long)]
    pub locked: bool,
}

#[derive(Args, Debug)]
pub struct InstallArgs {
    /// Packages: namespace/name[@VERSION|@RANGE|@latest].
    pub packages: Vec<String>,
    /// Install everything pinned in the lockfile.
    #[arg(long, conflicts_with = "packages")]
    pub from_lock: bool,
    /// A configured registry, oci://HOST[/PREFIX], oci+http://HOST[/PREFIX] or dir:PATH.
    #[arg(long)]
    pub registry: Option<String>,
    #[command(flatten)]
    pub consent: ConsentArgs,
    #[command(flatten)]
    pub lock: LockArgs,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub config: ConfigArgs,
}

#[derive(Args, Debug)]
pub struct UpgradeArgs {
    /// Packages to upgrade, optionally with a range [default: all installed].
    pub packages: Vec<String>,
    #[arg(long)]
    pub registry: Option<String>,
    #[command(flatten)]
    pub consent: ConsentArgs,
    /// The lockfile [default: ./gyre.lock].
    #[arg(long, value_name = "PATH")]
    pub lock: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub config: ConfigArgs,
}

pub fn run_install(a: InstallArgs, dirs: &crate::args::Dirs) -> Result<Exit> {
    super::finish(install(a, dirs))
}

pub fn run_upgrade(a: UpgradeArgs, dirs: &crate::args::Dirs) -> Result<Exit> {
    super::finish(upgrade(a, dirs))
}

fn lock_path(p: &Option<PathBuf>) -> PathBuf {
    p.clone().unwrap_or_else(|| PathBuf::from(LOCKFILE))
}

fn install(a: InstallArgs, dirs: &crate::args::Dirs) -> Result<Exit> {
    let home = Home::new(&a.config, dirs);
    let mut lock = Lockfile::open(&lock_path(&a.lock.lock))?;
    let wanted: Vec<PackageRef> = if a.from_lock {
        lock.packages()
            .iter()
            .map(|l| PackageRef {
                name: l.name.clone(),
                want: Want::Range(semver::VersionReq::STAR),
            })
            .collect()
    } else {
        a.packages
            .iter()
            .map(|p| p.parse().map_err(anyhow::Error::msg))
            .collect::<Result<_>>()?
    };
    if wanted.is_empty() {
        bail!("name a package to install (namespace/name[@range]), or pass --from-lock");
    }
    let mut session = Session::new(&home, a.registry.as_deref(), &a.consent, a.json)?;
    let mut results = Vec::new();
    for want in wanted {
        let pin = match lock.get(&want.name) {
            Some(l) => {
                if !want.want.matches(&l.version) && !a.from_lock {
                    bail!(
                        "{} is pinned at {} in {}, which does not match {}; use `gyre upgrade {}`",
                        want.name,
                        l.version,
                        lock.path().display(),
                        want.want,
                        want
                    );
                }
                Pin::Locked {
                    version: l.version.clone(),
                    digest: l.digest,
                }
            }
            None if a.lock.locked || a.from_lock => bail!(
                "{} is not pinned in {} and --locked was given",
                want.name,
                lock.path().display()
            ),
            None => Pin::Want(want.want.clone()),
        };
        let record = session.install(&want, &pin, false)?;
        pin_in_lock(&mut lock, &record)?;
        results.push(record);
    }
    session.report(&results);
    Ok(Exit::Success)
}

/// Records what was installed in the lockfile, saved at once so an
/// interrupted multi-package command keeps what it finished.
fn pin_in_lock(lock: &mut Lockfile, record: &InstallRecord) -> Result<()> {
    lock.set(Locked {
        name: record.package.clone(),
        version: record.version.clone(),
        digest: record.digest,
        registry: record.registry.clone(),
    });
    lock.save()?;
    Ok(())
}

fn upgrade(a: UpgradeArgs, dirs: &crate::args::Dirs) -> Result<Exit> {
    let home = Home::new(&a.config, dirs);
    let mut lock = Lockfile::open(&lock_path(&a.lock))?;
    let wanted: Vec<PackageRef> = if a.packages.is_empty() {
        home.installed()
            .list()?
            .into_iter()
            .map(|r| PackageRef {
                name: r.package,
                want: Want::Latest,
            })
            .collect()
    } else {
        a.packages
            .iter()
            .map(|p| p.parse().map_err(anyhow::Error::msg))
            .collect::<Result<_>>()?
    };
    let mut session = Session::new(&home, a.registry.as_deref(), &a.consent, a.json)?;
    let mut results = Vec::new();
    for want in wanted {
        if home.installed().get(&want.name)?.is_none() {
            bail!(
                "{} is not installed; use `gyre install {}`",
                want.name,
                want
            );
        }
        let record = session.install(&want, &Pin::Want(want.want.clone()), true)?;
        pin_in_lock(&mut lock, &record)?;
        results.push(record);
    }
    session.report(&results);
    Ok(Exit::Success)
}

struct Session<'a> {
    home: &'a Home,
    registry: (String, gyre_registry::AnyBackend),
    consent: &'a ConsentArgs,
    approvals: ApprovalFile,
    json: bool,
}

impl<'a> Session<'a> {
    fn new(
        home: &'a Home,
        registry: Option<&str>,
        consent: &'a ConsentArgs,
        json: bool,
    ) -> Result<Self> {
        let approvals = match &consent.grants {
            Some(path) => ApprovalFile::load(path)?,
            None => ApprovalFile::default(),
        };
        if consent.allow_untrusted {
            eprintln!(
                "warning: {} is set: unsigned packages and unknown signers will be accepted",
                super::DANGER_FLAG
            );
        }
        Ok(Self {
            home,
            registry: home.registry(registry)?,
            consent,
            approvals,
            json,
        })
    }

    fn install(&mut self, want: &PackageRef, pin: &Pin, upgrading: bool) -> Result<InstallRecord> {
        let policy = self.home.trust()?;
        let mut seen = self.home.seen()?;
        let mut checks = Checks {
            policy: &policy,
            seen: &mut seen,
            allow_untrusted: self.consent.allow_untrusted,
            now: Timestamp::now(),
        };
        let bars = Bars::new(self.json);
        let backend = &self.registry.1;
        let fetched = block_on(fetch::fetch(backend, &want.name, pin, &mut checks, &bars))??;
        let installed = self.home.installed();
        let previous = installed.get(&want.name)?;
        if let Some(prev) = &previous
            && prev.digest == fetched.digest
        {
            if !self.json {
                eprintln!("{} is up to date ({})", fetched.id, fetched.digest.short());
            }
            return Ok(prev.clone());
        }
        let store = self.home.consent();
        let approved = store.get(&want.name)?;
        self.ask(&fetched, previous.as_ref(), approved.as_ref(), upgrading)?;
        let record = installed.commit(&fetched, Timestamp::now())?;
        store.put(&Approval {
            package: fetched.id.name.clone(),
            version: fetched.id.version.clone(),
            digest: fetched.digest,
            components: fetched.requests(),
        })?;
        Ok(record)
    }

    /// Shows what is requested (or what changed) and gets consent, or
    /// refuses. Nothing is installed before this returns Ok.
    fn ask(
        &self,
        fetched: &Fetched,
        previous: Option<&InstallRecord>,
        approved: Option<&Approval>,
        upgrading: bool,
    ) -> Result<()> {
        let requested = fetched.requests();
        let empty = Requests::new();
        let before = approved.map_or(&empty, |a| &a.components);
        let changes = consent::diff(before, &requested);
        let widening: Vec<&Change> = changes.iter().filter(|c| c.widens).collect();
        // Another key signing an upgrade is a change of publisher: the
        // postmark-mcp pattern. It is shown and asked about like a widening.
        let signer_changed = previous.filter(|p| p.release.key != fetched.release.key);
        let mut out = String::new();
        let signer = match fetched.publisher {
            Some(k) => format!("signed by trusted key {k}"),
            None => format!(
                "NOT TRUSTED: signed by {} (accepted because of {})",
                fetched.release.key,
                super::DANGER_FLAG
            ),
        };
        match previous {
            Some(prev) => out.push_str(&format!(
                "{} {} -> {} ({}), {signer}\n",
                fetched.id.name,
                prev.version,
                fetched.id.version,
                fetched.digest.short()
            )),
            None => out.push_str(&format!(
                "{} ({}), {signer}\n",
                fetched.id,
                fetched.digest.short()
            )),
        }
        if let Some(p) = signer_changed {
            out.push_str(&format!(
                "  SIGNER CHANGED: {} was signed by {}, {} is signed by {} (its private state \
                 does not carry over)\n",
                p.version, p.release.key, fetched.id.version, fetched.release.key
            ));
        }
        if previous.is_some_and(|p| p.description != fetched.description) {
            out.push_str(&format!("  description: {:?}\n", fetched.description));
        }
        if approved.is_none() {
            for (component, req) in &requested {
                let lines = req.describe();
                out.push_str(&format!(
                    "  {component} ({}): {}\n",
                    req.kind,
                    if lines.is_empty() {
                        "requests nothing".to_string()
                    } else {
                        "requests".to_string()
                    }
                ));
                for l in lines {
                    out.push_str(&format!("    {l}\n"));
                }
            }
        } else {
            for c in &changes {
                let mark = if c.widens { " (WIDENS)" } else { "" };
                out.push_str(&format!("  {}: {}{mark}\n", c.component, c.text));
            }
        }
        if !self.json {
            // Everything above came from the registry: escape control
            // characters so a package cannot redraw the consent prompt.
            eprint!("{}", crate::render::clean_block(&out));
        }
        let needs = approved.is_none() || !widening.is_empty() || signer_changed.is_some();
        if !needs {
            return Ok(());
        }
        if self.consent.yes {
            return Ok(());
        }
        if let Some(pre) = self.approvals.packages.get(&fetched.id.name)
            && consent::covers(pre, &requested)
            && signer_changed.is_none()
        {
            return Ok(());
        }
        let what = if let Some(p) = signer_changed {
            format!(
                "{} is now signed by another key ({}, was {})",
                fetched.id.name, fetched.release.key, p.release.key
            )
        } else if upgrading || approved.is_some() {
            format!(
                "the upgrade of {} widens what it may do: {}",
                fetched.id.name,
                widening
                    .iter()
                    .map(|c| format!("{}: {}", c.component, c.text))
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        } else {
            format!("{} needs your consent for what it requests", fetched.id)
        };
        if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() && !self.json {
            eprint!("{what}. Install? [y/N] ");
            let _ = std::io::stderr().flush();
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            if matches!(line.trim(), "y" | "Y" | "yes") {
                return Ok(());
            }
        }
        Err(RegistryError::NeedsConsent(format!(
            "{what}. Nothing was installed. Approve with --yes, or list the requests in a \
             --grants file."
        ))
        .into())
    }

    fn report(&self, results: &[InstallRecord]) {
        if self.json {
            let list: Vec<_> = results.iter().map(super::manage::record_json).collect();
            super::print_json(&serde_json::Value::Array(list));
            return;
        }
        for r in results {
            println!(
                "Installed {}@{} ({}) from {}",
                r.package, r.version, r.digest, r.registry
            );
        }
    }
}
