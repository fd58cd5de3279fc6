//! The languages `gyre build` knows, how it recognizes them, and how each
//! toolchain is installed.

use crate::BuildError;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    Rust,
    Js,
    Python,
    C,
    Zig,
}

impl Lang {
    pub const ALL: [Lang; 5] = [Lang::Rust, Lang::Js, Lang::Python, Lang::C, Lang::Zig];

    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Js => "js",
            Lang::Python => "python",
            Lang::C => "c",
            Lang::Zig => "zig",
        }
    }

    /// The name people use, for messages.
    pub fn display_name(self) -> &'static str {
        match self {
            Lang::Rust => "Rust",
            Lang::Js => "JavaScript",
            Lang::Python => "Python",
            Lang::C => "C",
            Lang::Zig => "Zig",
        }
    }

    /// The one command that installs this language's toolchain, at the
    /// version Gyre is tested with.
    pub fn install(self) -> &'static str {
        match self {
            Lang::Rust => "rustup target add wasm32-wasip2",
            Lang::Js => "npm install -g @bytecodealliance/componentize-js@0.23.0",
            Lang::Python => "pip install componentize-py==0.25.1",
            Lang::C => "apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32",
            Lang::Zig => "pip install ziglang==0.17.0",
        }
    }

    /// Recognizes the language of the plugin in `dir` by its files.
    pub fn detect(dir: &Path) -> Result<Lang, BuildError> {
        let has = |p: &str| dir.join(p).exists();
        let lang = if has("Cargo.toml") {
            Lang::Rust
        } else if has("package.json") || has("index.js") {
            Lang::Js
        } else if has("app.py") || has("pyproject.toml") {
            Lang::Python
        } else if has("build.zig") || has("src/main.zig") {
            Lang::Zig
        } else if std::fs::read_dir(dir.join("src")).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| e.path().extension().is_some_and(|x| x == "c"))
        }) {
            Lang::C
        } else {
            return Err(BuildError::UnknownLanguage { dir: dir.into() });
        };
        Ok(lang)
    }
}

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Lang::ALL
            .into_iter()
            .find(|l| l.as_str() == s || (s == "javascript" && *l == Lang::Js))
            .ok_or_else(|| format!("unknown language {s:?}; expected rust, js, python, c or zig"))
    }
}
