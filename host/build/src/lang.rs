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
    /// version Gyre is tested with, on a machine without surprises (see
    /// [`Lang::install_hint`] for this machine's).
    pub fn install(self) -> &'static str {
        match self {
            Lang::Rust => "rustup target add wasm32-wasip2",
            Lang::Js => "npm install -g @bytecodealliance/componentize-js@0.23.0",
            Lang::Python => "python3 -m pip install componentize-py==0.25.1",
            Lang::C => "apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32",
            Lang::Zig => "python3 -m pip install ziglang==0.17.0",
        }
    }

    /// The toolchain program whose version Gyre pins, and that version
    /// (sdk/README.md).
    pub fn pinned(self) -> Option<(&'static str, &'static str)> {
        match self {
            Lang::Js => Some(("componentize-js", "0.23.0")),
            Lang::Python => Some(("componentize-py", "0.25.1")),
            Lang::Zig => Some(("zig", "0.17.0")),
            Lang::Rust | Lang::C => None,
        }
    }

    /// How to install this language's toolchain here: the command of
    /// [`Lang::install`] adapted to what this machine has (a Python that
    /// refuses `pip install` under PEP 668, the LLVM version clang is),
    /// with the alternatives when that cannot be told.
    pub fn install_hint(self) -> String {
        match self {
            Lang::Rust => self.install().into(),
            Lang::Js => format!(
                "{}{}\n    (npm's global directory is usually root's: prefix sudo when not root)",
                if is_root() { "" } else { "sudo " },
                self.install()
            ),
            Lang::Python | Lang::Zig => {
                let package = match self {
                    Lang::Python => "componentize-py==0.25.1",
                    _ => "ziglang==0.17.0",
                };
                // componentize-py is a program (pipx fits); ziglang is run as
                // `python3 -m ziglang`, so it must be in python3's own path.
                let pipx = if self == Lang::Python {
                    format!("pipx install {package}, or ")
                } else {
                    String::new()
                };
                let user = format!(
                    "{pipx}python3 -m pip install --user --break-system-packages {package} (then put ~/.local/bin on PATH)"
                );
                match externally_managed() {
                    Some(true) => format!(
                        "{user}\n    (this python3 is externally managed (PEP 668, as on Debian 12 and Ubuntu 23.04+): plain `python3 -m pip install {package}` is refused)"
                    ),
                    Some(false) => self.install().into(),
                    None => format!(
                        "{}\n    (on Debian 12, Ubuntu 23.04+ and other PEP 668 systems, where pip refuses that: {user})",
                        self.install()
                    ),
                }
            }
            Lang::C => {
                let llvm = llvm_major().unwrap_or(14);
                format!(
                    "{}apt-get install -y clang lld wasi-libc libclang-rt-{llvm}-dev-wasm32",
                    if is_root() { "" } else { "sudo " }
                )
            }
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

/// Whether this process runs as root (Linux; elsewhere assumed not).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|uids| uids.split_whitespace().nth(1))
            == Some("0")
    })
}

/// Whether the python3 on PATH refuses `pip install` outside a virtual
/// environment (PEP 668: an `EXTERNALLY-MANAGED` file beside its standard
/// library); `None` when there is no python3 to ask.
fn externally_managed() -> Option<bool> {
    let python = crate::tool::which("python3")?;
    let out = std::process::Command::new(python)
        .args([
            "-c",
            "import os, sys, sysconfig; print(sys.prefix == sys.base_prefix and os.path.isfile(os.path.join(sysconfig.get_path('stdlib'), 'EXTERNALLY-MANAGED')))",
        ])
        .output()
        .ok()?;
    match String::from_utf8_lossy(&out.stdout).trim() {
        "True" => Some(true),
        "False" => Some(false),
        _ => None,
    }
}

/// The LLVM major version of the clang on PATH, else of the only LLVM
/// under /usr/lib, for Debian's `libclang-rt-N-dev-wasm32`.
fn llvm_major() -> Option<u32> {
    if let Some(clang) = crate::tool::which("clang") {
        let out = std::process::Command::new(clang)
            .arg("--version")
            .output()
            .ok()?;
        return parse_clang_major(&String::from_utf8_lossy(&out.stdout));
    }
    let mut versions: Vec<u32> = std::fs::read_dir("/usr/lib")
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.strip_prefix("llvm-")?.parse().ok())
        .collect();
    versions.sort();
    versions.dedup();
    match versions.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

/// `14` from "Debian clang version 14.0.6" (or "clang version 18.1.3 (…)").
pub(crate) fn parse_clang_major(text: &str) -> Option<u32> {
    let rest = &text[text.find("clang version ")? + "clang version ".len()..];
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_llvm_version_is_read_from_clang() {
        assert_eq!(
            parse_clang_major("Debian clang version 14.0.6\nTarget: x"),
            Some(14)
        );
        assert_eq!(
            parse_clang_major("Ubuntu clang version 18.1.3 (1ubuntu1)"),
            Some(18)
        );
        assert_eq!(parse_clang_major("gcc (Debian 12.2.0-14) 12.2.0"), None);
    }
}
