//! Rust: cargo builds a wasm32-wasip2 component directly; the SDK's export
//! macro has already embedded the manifest.

use crate::{BuildError, Job, Lang, Output, tool};

const TARGET: &str = "wasm32-wasip2";

pub fn build(job: &Job) -> Result<Output, BuildError> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = match tool::which(&cargo) {
        Some(path) => std::process::Command::new(path),
        None if std::path::Path::new(&cargo).is_file() => std::process::Command::new(&cargo),
        None => return Err(tool::missing("cargo", Lang::Rust)),
    };
    cmd.current_dir(job.dir)
        .args(["build", "--release", "--target", TARGET])
        .args(["--message-format", "json-render-diagnostics"]);
    // Flags meant for a host build (when gyre runs under cargo) must not
    // leak into the guest build.
    for var in ["CARGO_ENCODED_RUSTFLAGS", "RUSTFLAGS", "CARGO_BUILD_TARGET"] {
        cmd.env_remove(var);
    }
    let output = tool::run(cmd, "cargo build").map_err(|e| match e {
        BuildError::ToolFailed { output, .. }
            if output.contains("target may not be installed")
                || output.contains("can't find crate for `core`") =>
        {
            tool::missing("the wasm32-wasip2 target", Lang::Rust)
        }
        e => e,
    })?;
    // The last cdylib artifact cargo reports is the plugin.
    let stdout = String::from_utf8_lossy(&output.stdout);
    let wasm = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact")
        .filter_map(|m| {
            m["filenames"].as_array().and_then(|files| {
                files
                    .iter()
                    .filter_map(|f| f.as_str())
                    .find(|f| f.ends_with(".wasm"))
                    .map(std::path::PathBuf::from)
            })
        })
        .next_back()
        .ok_or_else(|| BuildError::NoArtifact {
            tool: "cargo build".into(),
            reason: format!(
                "no .wasm file; does {} say crate-type = [\"cdylib\"]?",
                job.dir.join("Cargo.toml").display()
            ),
        })?;
    Ok(Output::Component(crate::read(&wasm, "the cargo artifact")?))
}
