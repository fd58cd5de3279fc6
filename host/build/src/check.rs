//! The check every built component passes: it is the plugin its manifest
//! describes, and imports nothing beyond its world and the capabilities
//! the manifest requests. The rules live in gyre-sandbox
//! ([`inspect::world_problems`]), shared with `gyre plugin test`; the
//! build only says, per language, what the toolchain imports unasked.

use crate::{BuildError, Lang};
use gyre_manifest::Manifest;
use gyre_sandbox::inspect::{self, Severity, WorldPolicy};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub is_error: bool,
    pub message: String,
}

/// What `lang`'s toolchain imports whatever the plugin's code does.
pub fn policy(lang: Lang) -> WorldPolicy {
    match lang {
        // CPython's libc imports wasi:sockets; componentize-py binds every
        // interface of the world, secrets included.
        Lang::Python => WorldPolicy {
            sockets: Severity::Warning,
            unrequested_secrets: Severity::Warning,
            unrequested_http: Severity::Error,
        },
        // componentize-js imports every interface of the world too, but no
        // sockets.
        Lang::Js => WorldPolicy {
            unrequested_secrets: Severity::Warning,
            ..WorldPolicy::STRICT
        },
        // cargo, clang and zig import only what the code calls.
        Lang::Rust | Lang::C | Lang::Zig => WorldPolicy::STRICT,
    }
}

/// Checks `component`, built from `lang`, against `manifest`.
pub fn check(
    component: &[u8],
    manifest: &Manifest,
    lang: Lang,
) -> Result<Vec<Problem>, BuildError> {
    let info = inspect::read(component)
        .map_err(|reason| BuildError::Componentize(format!("the built component: {reason}")))?;
    Ok(inspect::world_problems(manifest, &info, policy(lang))
        .into_iter()
        .map(|m| Problem {
            is_error: m.severity == Severity::Error,
            message: m.message,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest::parse(
            "[plugin]\nname = \"p\"\nversion = \"0.1.0\"\nkind = \"verifier\"\ndescription = \"d\"\n",
            "test",
        )
        .unwrap()
    }

    #[test]
    fn a_core_module_is_not_a_plugin() {
        let core = wasm_encoder::Module::new().finish();
        assert!(check(&core, &manifest(), Lang::C).is_err());
    }

    #[test]
    fn only_python_may_import_sockets() {
        for lang in Lang::ALL {
            assert_eq!(
                policy(lang).sockets == Severity::Warning,
                lang == Lang::Python,
                "{lang}"
            );
            assert_eq!(policy(lang).unrequested_http, Severity::Error, "{lang}");
        }
    }

    #[test]
    fn only_runtimes_that_bind_the_whole_world_may_import_unrequested_secrets() {
        for lang in Lang::ALL {
            assert_eq!(
                policy(lang).unrequested_secrets == Severity::Warning,
                matches!(lang, Lang::Js | Lang::Python),
                "{lang}"
            );
        }
    }
}
