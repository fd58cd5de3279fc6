use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

/// How a recipe names a plugin: a component file next to the recipe, or a
/// package name the user maps (in `gyre.toml [plugins]`) or installs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum PluginRef {
    /// `./x.wasm`, `../plugins/x.wasm` or an absolute path: relative to the
    /// file that names it.
    Path(PathBuf),
    /// `namespace/name` or `name`, optionally `@version-requirement`.
    Package(String),
}

impl TryFrom<String> for PluginRef {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        if s.starts_with("./") || s.starts_with("../") || s.starts_with('/') {
            return Ok(Self::Path(PathBuf::from(s)));
        }
        let name = s.split_once('@').map_or(s.as_str(), |(n, _)| n);
        let ok = !name.is_empty()
            && name.split('/').count() <= 2
            && name.split('/').all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            });
        if !ok {
            return Err(format!(
                "{s:?} is not a plugin reference: write a path starting with ./ or ../ \
                 (e.g. ./plugins/check.wasm), or a package name like gyre/tests-green"
            ));
        }
        Ok(Self::Package(s))
    }
}

impl From<PluginRef> for String {
    fn from(r: PluginRef) -> String {
        r.to_string()
    }
}

impl fmt::Display for PluginRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Path(p) => write!(f, "{}", p.display()),
            Self::Package(p) => f.write_str(p),
        }
    }
}
