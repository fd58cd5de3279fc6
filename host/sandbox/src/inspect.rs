//! Reads what a component is without running or compiling it: its imports,
//! exports and embedded manifest; and checks the manifest against them.

use gyre_manifest::{Manifest, PluginKind};
use serde::Serialize;
use wasmparser::{Parser, Payload};

/// The custom section the SDKs embed `gyre.toml` in.
pub const MANIFEST_SECTION: &str = "gyre-manifest";
/// The WIT package version this host implements.
pub const API_VERSION: &str = "0.1.0";

#[derive(Debug, Clone, Serialize)]
pub struct ComponentInfo {
    pub size: usize,
    pub imports: Vec<String>,
    pub exports: Vec<String>,
    /// Linear memories defined across all core modules, and the most any
    /// one module defines.
    pub memories: u32,
    pub max_memories_per_module: u32,
    #[serde(skip)]
    pub manifest_text: Option<String>,
}

/// Parses the top-level imports and exports of a component and finds the
/// embedded manifest, at the top level or inside a nested core module.
pub fn read(bytes: &[u8]) -> Result<ComponentInfo, String> {
    if !Parser::is_component(bytes) {
        return Err(if Parser::is_core_wasm(bytes) {
            "it is a core WebAssembly module, not a component".into()
        } else {
            "it is not WebAssembly".into()
        });
    }
    let mut info = ComponentInfo {
        size: bytes.len(),
        imports: Vec::new(),
        exports: Vec::new(),
        memories: 0,
        max_memories_per_module: 0,
        manifest_text: None,
    };
    let mut manifests = 0;
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(|e| format!("malformed component: {e}"))? {
            Payload::Version { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(reader) if depth == 1 => {
                for import in reader {
                    info.imports
                        .push(import.map_err(|e| e.to_string())?.name.name.to_string());
                }
            }
            Payload::ComponentExportSection(reader) if depth == 1 => {
                for export in reader {
                    info.exports
                        .push(export.map_err(|e| e.to_string())?.name.name.to_string());
                }
            }
            Payload::MemorySection(reader) => {
                let count = reader.count();
                info.memories = info.memories.saturating_add(count);
                info.max_memories_per_module = info.max_memories_per_module.max(count);
            }
            Payload::CustomSection(section) if section.name() == MANIFEST_SECTION => {
                manifests += 1;
                let text = std::str::from_utf8(section.data())
                    .map_err(|_| format!("the `{MANIFEST_SECTION}` section is not UTF-8"))?;
                info.manifest_text = Some(text.to_string());
            }
            _ => {}
        }
    }
    if manifests > 1 {
        return Err(format!(
            "it embeds {manifests} `{MANIFEST_SECTION}` sections; a plugin has exactly one"
        ));
    }
    Ok(info)
}

/// The Gyre worlds a component's exports implement, as (kind, version).
pub fn exported_worlds(info: &ComponentInfo) -> Vec<(PluginKind, String)> {
    let mut out = Vec::new();
    for export in &info.exports {
        for kind in PluginKind::ALL {
            if let Some(version) = export
                .strip_prefix(kind.export_interface())
                .and_then(|rest| rest.strip_prefix('@'))
            {
                out.push((kind, version.to_string()));
            }
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// The plugin cannot run as described.
    Error,
    /// It runs, but something is off.
    Warning,
}

#[derive(Debug, Clone, Serialize)]
pub struct Mismatch {
    pub severity: Severity,
    pub message: String,
}

fn imports_any(info: &ComponentInfo, prefix: &str) -> bool {
    info.imports.iter().any(|i| i.starts_with(prefix))
}

/// Compares what the manifest says with what the component does.
pub fn check(manifest: &Manifest, info: &ComponentInfo) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let mut flag = |severity, message: String| out.push(Mismatch { severity, message });
    let kind = manifest.plugin.kind;
    let worlds = exported_worlds(info);
    match worlds.iter().find(|(k, _)| *k == kind) {
        None => flag(
            Severity::Error,
            format!(
                "the manifest says {kind}, but the component does not export {}",
                kind.export_interface()
            ),
        ),
        Some((_, version)) if version != API_VERSION => flag(
            Severity::Error,
            format!(
                "it targets gyre:plugin@{version}; this host implements gyre:plugin@{API_VERSION}"
            ),
        ),
        Some(_) => {}
    }
    for (other, _) in worlds.iter().filter(|(k, _)| *k != kind) {
        flag(
            Severity::Warning,
            format!("it also exports the {other} interface, which the host will not call"),
        );
    }
    for import in &info.imports {
        if !(import.starts_with("wasi:") || import.starts_with("gyre:plugin/")) {
            flag(
                Severity::Error,
                format!("it imports {import}, which Gyre does not provide"),
            );
        }
    }
    let caps = &manifest.capabilities;
    if imports_any(info, "wasi:http/outgoing-handler") && caps.http.is_empty() {
        flag(
            Severity::Warning,
            "it imports wasi:http but requests no origin: every request will be denied".into(),
        );
    }
    if !caps.http.is_empty() && !imports_any(info, "wasi:http/outgoing-handler") {
        flag(
            Severity::Warning,
            "it requests HTTP origins but does not import wasi:http".into(),
        );
    }
    if !caps.secrets.is_empty() && !imports_any(info, "gyre:plugin/secrets") {
        flag(
            Severity::Warning,
            "it requests secrets but does not import gyre:plugin/secrets".into(),
        );
    }
    if imports_any(info, "gyre:plugin/secrets") && caps.secrets.is_empty() {
        flag(
            Severity::Warning,
            "it imports gyre:plugin/secrets but requests no secret: every lookup will be refused"
                .into(),
        );
    }
    if !caps.directories.is_empty() && !imports_any(info, "wasi:filesystem/preopens") {
        flag(
            Severity::Warning,
            "it requests directories but does not import wasi:filesystem".into(),
        );
    }
    for socket in [
        "wasi:sockets/tcp",
        "wasi:sockets/udp",
        "wasi:sockets/ip-name-lookup",
    ] {
        if imports_any(info, socket) {
            flag(
                Severity::Warning,
                format!(
                    "it imports {socket}: Gyre denies raw sockets and guest DNS; use wasi:http"
                ),
            );
        }
    }
    out
}
