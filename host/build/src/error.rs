use std::path::PathBuf;

/// Why a build failed. Every message names the file, tool or plugin
/// involved and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{} is a symbolic link: gyre build writes there and never follows a link out of the plugin directory (it could point at any file of yours); remove the link and build again",
        path.display()
    )]
    Symlink { path: PathBuf },
    #[error(
        "{} leads out of the plugin directory (to {}) through a symbolic link: gyre build reads a plugin's own files only; copy the file into the plugin directory",
        path.display(),
        target.display()
    )]
    Escapes { path: PathBuf, target: PathBuf },
    #[error("{0}")]
    Manifest(String),
    #[error(
        "cannot tell the language of the plugin in {}: expected Cargo.toml (Rust), package.json or index.js (JavaScript), app.py (Python), src/main.zig (Zig) or src/*.c (C); pass --lang to choose",
        dir.display()
    )]
    UnknownLanguage { dir: PathBuf },
    #[error("{tool} is not installed (needed for {lang} plugins); install it with:\n    {install}")]
    MissingTool {
        tool: String,
        lang: &'static str,
        install: String,
    },
    #[error("{tool} failed ({status}):\n{output}")]
    ToolFailed {
        tool: String,
        status: String,
        output: String,
    },
    #[error("{tool} produced no component: {reason}")]
    NoArtifact { tool: String, reason: String },
    #[error("generating the {what}: {reason}")]
    Generate { what: String, reason: String },
    #[error("making a component of the core module: {0}")]
    Componentize(String),
    #[error("{plugin} does not match its world or manifest:\n  - {}", problems.join("\n  - "))]
    Invalid {
        plugin: String,
        problems: Vec<String>,
    },
}
