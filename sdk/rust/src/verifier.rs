//! Verifiers: check evidence and return a verdict.

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "gyre:plugin/verifier",
        with: {
            "gyre:plugin/types@0.1.0": crate::host::types,
            "gyre:plugin/log@0.1.0": crate::log,
            "gyre:plugin/kv@0.1.0": crate::kv,
            "gyre:plugin/secrets@0.1.0": crate::secrets,
        },
        pub_export_macro: true,
        export_macro_name: "__export_verifier_world",
        default_bindings_module: "gyre_sdk::verifier::bindings",
    });
}

pub use crate::PluginError;
pub use bindings::exports::gyre::plugin::verification::{
    Evidence, Finding, Severity, Verdict, VerifyRequest,
};
use serde::de::DeserializeOwned;

/// Implement this and call [`export_verifier!`](crate::export_verifier).
pub trait Verifier {
    /// The configuration, parsed from the user's JSON. Use
    /// `#[serde(default)]` so that an empty configuration works.
    type Config: DeserializeOwned;
    /// Checks the evidence. Returning an error counts as a failed check.
    fn verify(config: Self::Config, input: Input) -> Result<Verdict, PluginError>;
}

/// The evidence and workspace a verifier was given.
pub struct Input {
    pub evidence: Vec<Evidence>,
    /// Guest path of a read-only view of the workspace, if granted.
    pub workspace: Option<String>,
}

impl Input {
    /// The first piece of evidence called `name`.
    pub fn get(&self, name: &str) -> Option<&Evidence> {
        self.evidence.iter().find(|e| e.name == name)
    }

    /// The evidence called `name` as UTF-8 text, or an `invalid-input` error
    /// saying it is missing or not text.
    pub fn text(&self, name: &str) -> Result<&str, PluginError> {
        let evidence = self.get(name).ok_or_else(|| {
            let given: Vec<&str> = self.evidence.iter().map(|e| e.name.as_str()).collect();
            PluginError::invalid_input(format!(
                "evidence {name:?} is missing (given: {})",
                if given.is_empty() {
                    "none".to_string()
                } else {
                    given.join(", ")
                }
            ))
        })?;
        std::str::from_utf8(&evidence.data).map_err(|e| {
            PluginError::invalid_input(format!("evidence {name:?} is not UTF-8 text: {e}"))
        })
    }
}

impl Verdict {
    pub fn pass(summary: impl Into<String>) -> Self {
        Self {
            passed: true,
            score: None,
            summary: summary.into(),
            findings: Vec::new(),
        }
    }
    pub fn fail(summary: impl Into<String>) -> Self {
        Self {
            passed: false,
            score: None,
            summary: summary.into(),
            findings: Vec::new(),
        }
    }
    pub fn with_score(mut self, score: f64) -> Self {
        self.score = Some(score);
        self
    }
    pub fn with_finding(mut self, finding: Finding) -> Self {
        self.findings.push(finding);
        self
    }
    pub fn with_findings(mut self, findings: impl IntoIterator<Item = Finding>) -> Self {
        self.findings.extend(findings);
        self
    }
}

impl Finding {
    pub fn new(severity: Severity, message: impl Into<String>) -> Self {
        Self {
            severity,
            message: message.into(),
            file: None,
            line: None,
        }
    }
    pub fn error(message: impl Into<String>) -> Self {
        Self::new(Severity::Error, message)
    }
    pub fn warning(message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, message)
    }
    pub fn info(message: impl Into<String>) -> Self {
        Self::new(Severity::Info, message)
    }
    /// Points the finding at a file and, optionally, a 1-based line.
    pub fn at(mut self, file: impl Into<String>, line: Option<u32>) -> Self {
        self.file = Some(file.into());
        self.line = line;
        self
    }
}

#[doc(hidden)]
pub fn run<V: Verifier>(request: VerifyRequest) -> Result<Verdict, PluginError> {
    let config = crate::json::config::<V::Config>(&request.config)?;
    V::verify(
        config,
        Input {
            evidence: request.evidence,
            workspace: request.workspace,
        },
    )
}

/// Exports a [`Verifier`] as the component's `verification` interface and
/// embeds the crate's `gyre.toml`.
#[macro_export]
macro_rules! export_verifier {
    ($ty:ty) => {
        $crate::embed_manifest!();
        const _: () = {
            struct GyreVerifier;
            impl $crate::verifier::bindings::exports::gyre::plugin::verification::Guest for GyreVerifier {
                fn verify(
                    request: $crate::verifier::VerifyRequest,
                ) -> Result<$crate::verifier::Verdict, $crate::PluginError> {
                    $crate::verifier::run::<$ty>(request)
                }
            }
            // Only a wasm target can export these symbols; a native build (unit tests
            // of a plugin crate that is also an rlib/cdylib) links without them.
            // Natively nothing is exported; this keeps the plugin's type from
            // being reported as dead code there.
            #[cfg(not(target_arch = "wasm32"))]
            const _: () = {
                let _ = <GyreVerifier as $crate::verifier::bindings::exports::gyre::plugin::verification::Guest>::verify;
            };
            #[cfg(target_arch = "wasm32")]
            $crate::verifier::bindings::__export_verifier_world!(GyreVerifier with_types_in $crate::verifier::bindings);
        };
    };
}
