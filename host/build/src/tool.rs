//! Running a toolchain program: found on PATH or reported missing with its
//! install command, its output kept for the error when it fails.

use crate::{BuildError, Lang};
use std::path::PathBuf;
use std::process::Command;

/// The full path of `program` on PATH, if any.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// A command for `program`, or the error that names how to install it.
pub fn command(program: &str, lang: Lang) -> Result<Command, BuildError> {
    match which(program) {
        Some(path) => Ok(Command::new(path)),
        None => Err(missing(program, lang)),
    }
}

pub fn missing(program: &str, lang: Lang) -> BuildError {
    BuildError::MissingTool {
        tool: program.into(),
        lang: lang.display_name(),
        install: lang.install_hint(),
    }
}

/// A warning when the installed version of `lang`'s pinned toolchain
/// (asked with `cmd`, e.g. `componentize-py --version`) is not the one
/// Gyre is tested with. Nothing when it matches or cannot be told: an
/// untested version may well work, so this never fails a build.
pub fn version_note(mut cmd: Command, lang: Lang) -> Option<String> {
    let (tool, tested) = lang.pinned()?;
    let out = cmd.output().ok().filter(|o| o.status.success())?;
    let installed = parse_version(&String::from_utf8_lossy(&out.stdout))?;
    (installed != tested).then(|| {
        format!(
            "{tool} {installed} is installed; Gyre is tested with {tool} {tested} (sdk/README.md). If the build or the plugin misbehaves, install the tested version: {}",
            lang.install()
        )
    })
}

/// The version in a `--version` answer: its last word that looks like
/// one ("componentize-py 0.25.1", "0.23.0", "v0.17.0").
pub(crate) fn parse_version(text: &str) -> Option<String> {
    text.split_whitespace()
        .rev()
        .map(|w| w.trim_start_matches('v'))
        .find(|w| {
            w.contains('.')
                && w.starts_with(|c: char| c.is_ascii_digit())
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-+".contains(c))
        })
        .map(str::to_string)
}

/// Runs `cmd` to completion; a failure carries its combined output.
pub fn run(mut cmd: Command, tool: &str) -> Result<std::process::Output, BuildError> {
    tracing::debug!(?cmd, "running");
    let output = cmd.output().map_err(|e| BuildError::ToolFailed {
        tool: tool.into(),
        status: "could not start".into(),
        output: e.to_string(),
    })?;
    if !output.status.success() {
        let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stdout));
        return Err(BuildError::ToolFailed {
            tool: tool.into(),
            status: output.status.to_string(),
            output: text.trim_end().to_string(),
        });
    }
    Ok(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_what_each_tool_prints() {
        assert_eq!(
            parse_version("componentize-py 0.25.1\n").as_deref(),
            Some("0.25.1")
        );
        assert_eq!(parse_version("0.23.0\n").as_deref(), Some("0.23.0"));
        assert_eq!(
            parse_version("0.16.0-dev.123+abc").as_deref(),
            Some("0.16.0-dev.123+abc")
        );
        assert_eq!(parse_version("command not found").as_deref(), None);
    }
}
