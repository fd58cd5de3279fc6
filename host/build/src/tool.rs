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
        install: lang.install().into(),
    }
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
