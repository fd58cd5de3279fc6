//! Each run works in its own git worktree on its own branch.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, thiserror::Error)]
#[error("git {args}: {message}")]
pub struct GitError {
    pub args: String,
    pub message: String,
}

fn git(dir: &Path, args: &[&str]) -> Result<String, GitError> {
    let fail = |message: String| GitError {
        args: args.join(" "),
        message,
    };
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .map_err(|e| fail(format!("cannot run git: {e} (is git installed?)")))?;
    if !out.status.success() {
        return Err(fail(format!(
            "in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The commit `HEAD` points at in `repo`.
pub fn head(repo: &Path) -> Result<String, GitError> {
    Ok(git(repo, &["rev-parse", "--verify", "HEAD^{commit}"])?
        .trim()
        .to_string())
}

/// Creates `path` as a worktree of `repo` on a new `branch` at `base`.
/// Idempotent: a worktree already there (a resumed run) is kept.
pub fn create(repo: &Path, path: &Path, branch: &str, base: &str) -> Result<(), GitError> {
    if path.join(".git").exists() {
        return Ok(());
    }
    let p = path.to_string_lossy();
    let exists = git(
        repo,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/heads/{branch}"),
        ],
    )
    .is_ok();
    if exists {
        git(repo, &["worktree", "add", &p, branch])?;
    } else {
        git(repo, &["worktree", "add", "-b", branch, &p, base])?;
    }
    Ok(())
}

/// The worktree's changes against `base`, untracked files included.
pub struct Diff {
    pub text: String,
    pub digest: String,
    pub lines: u64,
}

pub fn diff(worktree: &Path, base: &str) -> Result<Diff, GitError> {
    git(worktree, &["add", "-A"])?;
    let text = git(
        worktree,
        &["diff", "--cached", "--no-color", "--no-ext-diff", base],
    )?;
    let lines = text
        .lines()
        .filter(|l| {
            (l.starts_with('+') && !l.starts_with("+++"))
                || (l.starts_with('-') && !l.starts_with("---"))
        })
        .count() as u64;
    Ok(Diff {
        digest: hex::encode(Sha256::digest(text.as_bytes())),
        text,
        lines,
    })
}

/// Commits the worktree's changes; returns the commit (HEAD if nothing
/// changed).
pub fn commit(worktree: &Path, message: &str) -> Result<String, GitError> {
    git(worktree, &["add", "-A"])?;
    let clean = git(worktree, &["diff", "--cached", "--quiet"]).is_ok();
    if !clean {
        git(
            worktree,
            &[
                "-c",
                "user.name=gyre",
                "-c",
                "user.email=gyre@localhost",
                "commit",
                "--no-verify",
                "-q",
                "-m",
                message,
            ],
        )?;
    }
    head(worktree)
}

/// Removes the worktree directory; the branch stays.
pub fn remove(repo: &Path, path: &Path) -> Result<(), GitError> {
    if !path.exists() {
        return Ok(());
    }
    git(
        repo,
        &["worktree", "remove", "--force", &path.to_string_lossy()],
    )
    .map(|_| ())
}

/// Where run `id`'s worktree lives under the state directory.
pub fn path_for(state: &Path, id: &str) -> PathBuf {
    state.join("worktrees").join(id)
}
