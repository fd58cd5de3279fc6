//! The check every built component passes: it is the plugin its manifest
//! describes, and imports nothing beyond its world and the capabilities
//! the manifest requests.

use crate::BuildError;
use gyre_manifest::Manifest;
use gyre_sandbox::inspect;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub is_error: bool,
    pub message: String,
}

/// WASI interfaces every language runtime needs (its libc: clocks,
/// random, stdio, environment, preopened files) and the host links for
/// every plugin; it grants files only per directory. CPython's libc also
/// imports wasi:sockets, which the host links and refuses at every call.
const BASELINE: &[&str] = &[
    "wasi:io/",
    "wasi:clocks/",
    "wasi:random/",
    "wasi:cli/",
    "wasi:filesystem/",
    "wasi:sockets/",
];

/// The interfaces of `gyre:plugin`'s `imports` world.
const GYRE: &[&str] = &[
    "gyre:plugin/types@",
    "gyre:plugin/log@",
    "gyre:plugin/kv@",
    "gyre:plugin/secrets@",
];

/// Whether a plugin may import `import`; wasi:http only with an origin.
fn allowed(import: &str, wants_http: bool) -> bool {
    BASELINE.iter().any(|p| import.starts_with(p))
        || GYRE.iter().any(|p| import.starts_with(p))
        || (wants_http && import.starts_with("wasi:http/"))
}

/// Checks `component` against `manifest`.
pub fn check(component: &[u8], manifest: &Manifest) -> Result<Vec<Problem>, BuildError> {
    let info = inspect::read(component)
        .map_err(|reason| BuildError::Componentize(format!("the built component: {reason}")))?;
    let mut problems: Vec<Problem> = inspect::check(manifest, &info)
        .into_iter()
        .map(|m| Problem {
            is_error: m.severity == inspect::Severity::Error,
            message: m.message,
        })
        .collect();
    // One note for the sockets a language runtime imports, not one per
    // interface.
    let sockets = problems
        .iter()
        .filter(|p| p.message.contains("wasi:sockets/"))
        .count();
    problems.retain(|p| !p.message.contains("wasi:sockets/"));
    if sockets > 0 {
        problems.push(Problem {
            is_error: false,
            message: "it imports wasi:sockets (its language runtime does): the host refuses every socket and DNS lookup; reach services through HTTP".into(),
        });
    }
    let wants_http = !manifest.capabilities.http.is_empty();
    for import in &info.imports {
        let allowed = allowed(import, wants_http);
        let message = if import.starts_with("wasi:http/") {
            format!(
                "it imports {import} but its manifest requests no HTTP origin; add [capabilities] http = [...] to gyre.toml, or stop using HTTP"
            )
        } else {
            format!("it imports {import}, which is not part of its world")
        };
        if !allowed && !problems.iter().any(|p| p.message.contains(import.as_str())) {
            problems.push(Problem {
                is_error: true,
                message,
            });
        } else if !allowed {
            // inspect flagged it already (as a warning, e.g. sockets): a
            // built plugin must not import it at all.
            for p in problems
                .iter_mut()
                .filter(|p| p.message.contains(import.as_str()))
            {
                p.is_error = true;
            }
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(http: bool) -> Manifest {
        let caps = if http {
            "[capabilities]\nhttp = [\"http://127.0.0.1:*\"]\n"
        } else {
            ""
        };
        Manifest::parse(
            &format!("[plugin]\nname = \"p\"\nversion = \"0.1.0\"\nkind = \"verifier\"\ndescription = \"d\"\n{caps}"),
            "test",
        )
        .unwrap()
    }

    #[test]
    fn a_core_module_is_not_a_plugin() {
        let core = wasm_encoder::Module::new().finish();
        assert!(check(&core, &manifest(false)).is_err());
    }

    #[test]
    fn baseline_wasi_is_allowed_and_http_needs_an_origin() {
        assert!(allowed("wasi:io/streams@0.2.0", false));
        assert!(allowed("gyre:plugin/log@0.1.0", false));
        assert!(!allowed("wasi:http/outgoing-handler@0.2.12", false));
        assert!(allowed("wasi:http/outgoing-handler@0.2.12", true));
        assert!(allowed("wasi:sockets/tcp@0.2.0", false));
        assert!(!allowed("acme:evil/backdoor", true));
    }

    #[test]
    fn the_manifest_decides_whether_http_is_allowed() {
        assert!(manifest(false).capabilities.http.is_empty());
        assert!(!manifest(true).capabilities.http.is_empty());
    }
}
