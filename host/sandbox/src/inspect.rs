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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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

/// Whether the component imports the interface `ns:pkg/iface` (any
/// version), compared part by part: `wasi:http/outgoing-handler-x` is not
/// `wasi:http/outgoing-handler`.
fn imports_any(info: &ComponentInfo, interface: &str) -> bool {
    info.imports
        .iter()
        .filter_map(|i| InterfaceName::parse(i))
        .any(|n| n.unversioned() == interface)
}

/// An interface name as a component imports it: `ns:pkg/iface@version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterfaceName<'a> {
    pub namespace: &'a str,
    pub package: &'a str,
    pub interface: &'a str,
    pub version: Option<&'a str>,
    /// `ns:pkg/iface`, borrowed from the original name.
    path: &'a str,
}

impl<'a> InterfaceName<'a> {
    /// Parses `ns:pkg/iface[@version]`; `None` for anything else (a plain
    /// kebab name, an empty or malformed part).
    pub fn parse(name: &'a str) -> Option<Self> {
        let (path, version) = match name.split_once('@') {
            Some((path, version)) => (path, Some(version)),
            None => (name, None),
        };
        let (namespace, rest) = path.split_once(':')?;
        let (package, interface) = rest.split_once('/')?;
        let word =
            |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        let version_ok = version.is_none_or(|v| {
            !v.is_empty()
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-+".contains(&b))
        });
        (word(namespace) && word(package) && word(interface) && version_ok).then_some(Self {
            namespace,
            package,
            interface,
            version,
            path,
        })
    }

    /// `ns:pkg/iface`, without the version.
    pub fn unversioned(&self) -> &'a str {
        self.path
    }
}

/// The WASI 0.2 interfaces the host links for every plugin (wasmtime-wasi
/// and wasmtime-wasi-http 48), by package. wasi:sockets is linked so that
/// runtimes whose libc imports it (CPython) instantiate; every socket and
/// DNS call is refused.
const WASI_LINKED: &[(&str, &[&str])] = &[
    ("io", &["error", "poll", "streams"]),
    ("clocks", &["monotonic-clock", "wall-clock"]),
    ("random", &["random", "insecure", "insecure-seed"]),
    (
        "cli",
        &[
            "environment",
            "exit",
            "stdin",
            "stdout",
            "stderr",
            "terminal-input",
            "terminal-output",
            "terminal-stdin",
            "terminal-stdout",
            "terminal-stderr",
        ],
    ),
    ("filesystem", &["types", "preopens"]),
    (
        "sockets",
        &[
            "network",
            "instance-network",
            "ip-name-lookup",
            "tcp",
            "tcp-create-socket",
            "udp",
            "udp-create-socket",
        ],
    ),
    ("http", &["types", "outgoing-handler"]),
];

/// The interfaces of `gyre:plugin`'s `imports` world.
const GYRE_IMPORTS: &[&str] = &["types", "log", "kv", "secrets"];

/// Compares what the manifest says with what the component does. This is
/// the check every load runs; [`world_problems`] is the stricter one that
/// `gyre build` and `gyre plugin test` hold a plugin to.
pub fn check(manifest: &Manifest, info: &ComponentInfo) -> Vec<Mismatch> {
    let mut out = export_problems(manifest, info);
    let mut flag = |severity, message: String| out.push(Mismatch { severity, message });
    for import in &info.imports {
        // Exact namespace and package: `wasi:http-evil/x` is not wasi:http.
        let provided = InterfaceName::parse(import).is_some_and(|n| {
            (n.namespace == "wasi" && WASI_LINKED.iter().any(|(p, _)| *p == n.package))
                || (n.namespace == "gyre" && n.package == "plugin")
        });
        if !provided {
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
    if imports_any(info, "gyre:plugin/secrets") && caps.secrets.is_empty() {
        flag(
            Severity::Warning,
            "it imports gyre:plugin/secrets but requests no secret: every lookup will be refused"
                .into(),
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
    out.extend(unused_requests(manifest, info));
    out
}

/// Whether the component exports the world its manifest names, at this
/// host's API version.
fn export_problems(manifest: &Manifest, info: &ComponentInfo) -> Vec<Mismatch> {
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
    out
}

/// Capabilities the manifest requests that the component cannot use.
fn unused_requests(manifest: &Manifest, info: &ComponentInfo) -> Vec<Mismatch> {
    let caps = &manifest.capabilities;
    let mut out = Vec::new();
    let mut warn = |message: &str| {
        out.push(Mismatch {
            severity: Severity::Warning,
            message: message.into(),
        })
    };
    if !caps.http.is_empty() && !imports_any(info, "wasi:http/outgoing-handler") {
        warn("it requests HTTP origins but does not import wasi:http");
    }
    if !caps.secrets.is_empty() && !imports_any(info, "gyre:plugin/secrets") {
        warn("it requests secrets but does not import gyre:plugin/secrets");
    }
    if !caps.directories.is_empty() && !imports_any(info, "wasi:filesystem/preopens") {
        warn("it requests directories but does not import wasi:filesystem");
    }
    out
}

/// How [`world_problems`] judges imports a plugin's own code may not need
/// but its language runtime or bindings bring in regardless.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorldPolicy {
    /// Any `wasi:sockets` import. The host links wasi:sockets and refuses
    /// every call; only CPython's libc imports it unasked.
    pub sockets: Severity,
    /// `gyre:plugin/secrets` when the manifest requests no secret (every
    /// lookup would be refused). componentize-py and componentize-js
    /// import every interface of the world, used or not.
    pub unrequested_secrets: Severity,
    /// `wasi:http` when the manifest requests no origin (every request
    /// would be denied).
    pub unrequested_http: Severity,
}

impl WorldPolicy {
    /// A plugin imports only what its world and manifest need: `gyre build`
    /// of Rust, C and Zig.
    pub const STRICT: WorldPolicy = WorldPolicy {
        sockets: Severity::Error,
        unrequested_secrets: Severity::Error,
        unrequested_http: Severity::Error,
    };

    /// A component of unknown origin (`gyre plugin test`): what a language
    /// runtime may import unasked, and the host refuses at run time, is a
    /// warning.
    pub const UNKNOWN_TOOLCHAIN: WorldPolicy = WorldPolicy {
        sockets: Severity::Warning,
        unrequested_secrets: Severity::Warning,
        unrequested_http: Severity::Warning,
    };
}

/// Holds a component to its world: it exports the world its manifest
/// names, at this host's API version, and imports nothing beyond the
/// interfaces the host links for that world (Gyre's `types`, `log`, `kv`,
/// `secrets`; WASI `io`, `clocks`, `random`, `cli`, `filesystem`) and the
/// capabilities the manifest requests, with sockets, unrequested secrets
/// and unrequested HTTP judged by `policy`. Names are compared by
/// namespace, package and interface exactly, never by prefix.
pub fn world_problems(
    manifest: &Manifest,
    info: &ComponentInfo,
    policy: WorldPolicy,
) -> Vec<Mismatch> {
    let mut out = export_problems(manifest, info);
    let caps = &manifest.capabilities;
    let mut sockets = Vec::new();
    let mut secrets = None;
    let mut http = Vec::new();
    for import in &info.imports {
        let Some(name) = InterfaceName::parse(import) else {
            out.push(Mismatch {
                severity: Severity::Error,
                message: format!(
                    "it imports `{import}`, which is not part of its world: Gyre provides only WASI 0.2 and gyre:plugin interfaces"
                ),
            });
            continue;
        };
        let linked = match name.namespace {
            "wasi" => WASI_LINKED
                .iter()
                .find(|(p, _)| *p == name.package)
                .is_some_and(|(_, ifaces)| ifaces.contains(&name.interface)),
            "gyre" => name.package == "plugin" && GYRE_IMPORTS.contains(&name.interface),
            _ => false,
        };
        if !linked {
            out.push(Mismatch {
                severity: Severity::Error,
                message: format!(
                    "it imports {import}, which is not part of its world: remove what uses it (Gyre links gyre:plugin/{{types,log,kv,secrets}}, wasi:io, clocks, random, cli, filesystem, and wasi:http for a requested origin)"
                ),
            });
            continue;
        }
        // The linker matches semver-compatibly: WASI 0.2.x, gyre:plugin 0.1.x.
        let wanted = if name.namespace == "wasi" {
            "0.2."
        } else {
            "0.1."
        };
        if let Some(version) = name.version.filter(|v| !v.starts_with(wanted)) {
            let linked = if name.namespace == "wasi" {
                "WASI 0.2".to_string()
            } else {
                format!("gyre:plugin@{API_VERSION}")
            };
            out.push(Mismatch {
                severity: Severity::Error,
                message: format!(
                    "it imports {import}, version {version}; this host links {linked}: rebuild against it"
                ),
            });
            continue;
        }
        match (name.namespace, name.package, name.interface) {
            ("wasi", "sockets", _) => sockets.push(import.as_str()),
            ("wasi", "http", _) if caps.http.is_empty() => http.push(import.as_str()),
            ("gyre", "plugin", "secrets") if caps.secrets.is_empty() => {
                secrets = Some(import.as_str())
            }
            _ => {}
        }
    }
    // One message for a build that must refuse, another for a host that
    // only warns.
    let mismatch = |severity: Severity, error: String, warning: String| Mismatch {
        severity,
        message: match severity {
            Severity::Error => error,
            Severity::Warning => warning,
        },
    };
    if !sockets.is_empty() {
        let list = sockets.join(", ");
        out.push(mismatch(
            policy.sockets,
            format!(
                "it imports {list}: Gyre refuses every raw socket and DNS lookup, so a plugin must not use them; reach services through HTTP (the SDK's request helper, wasi:http) and drop code that opens sockets (std::net, socket(), a dependency's client)"
            ),
            format!(
                "it imports {list} (its language runtime does): the host refuses every socket and DNS lookup; reach services through HTTP"
            ),
        ));
    }
    if let Some(import) = secrets {
        out.push(mismatch(
            policy.unrequested_secrets,
            format!(
                "it imports {import} but its manifest requests no secret; add [capabilities] secrets = [\"NAME\"] to gyre.toml, or stop reading secrets"
            ),
            format!("it imports {import} but requests no secret: every lookup will be refused"),
        ));
    }
    if !http.is_empty() {
        let list = http.join(", ");
        out.push(mismatch(
            policy.unrequested_http,
            format!(
                "it imports {list} but its manifest requests no HTTP origin; add [capabilities] http = [...] to gyre.toml, or stop using HTTP"
            ),
            format!(
                "it imports {list} but requests no HTTP origin: every request will be denied"
            ),
        ));
    }
    out.extend(unused_requests(manifest, info));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(caps: &str) -> Manifest {
        Manifest::parse(
            &format!(
                "[plugin]\nname = \"p\"\nversion = \"0.1.0\"\nkind = \"connector\"\ndescription = \"d\"\n[capabilities]\n{caps}"
            ),
            "test",
        )
        .unwrap()
    }

    fn component(imports: &[&str]) -> ComponentInfo {
        ComponentInfo {
            size: 0,
            imports: imports.iter().map(|s| s.to_string()).collect(),
            exports: vec!["gyre:plugin/operations@0.1.0".into()],
            memories: 1,
            max_memories_per_module: 1,
            manifest_text: None,
        }
    }

    fn errors(m: &Manifest, imports: &[&str], policy: WorldPolicy) -> Vec<String> {
        world_problems(m, &component(imports), policy)
            .into_iter()
            .filter(|p| p.severity == Severity::Error)
            .map(|p| p.message)
            .collect()
    }

    const BASELINE: &[&str] = &[
        "wasi:io/streams@0.2.3",
        "wasi:io/poll@0.2.12",
        "wasi:clocks/wall-clock@0.2.0",
        "wasi:random/random@0.2.0",
        "wasi:cli/stderr@0.2.0",
        "wasi:cli/environment@0.2.0",
        "wasi:filesystem/preopens@0.2.0",
        "gyre:plugin/types@0.1.0",
        "gyre:plugin/log@0.1.0",
        "gyre:plugin/kv@0.1.0",
    ];

    #[test]
    fn a_plugin_may_import_its_world_and_the_wasi_every_runtime_needs() {
        let none = manifest("");
        assert_eq!(
            errors(&none, BASELINE, WorldPolicy::STRICT),
            Vec::<String>::new()
        );
        let http = manifest("http = [\"https://api.example.com\"]");
        let mut imports = BASELINE.to_vec();
        imports.extend([
            "wasi:http/types@0.2.12",
            "wasi:http/outgoing-handler@0.2.12",
        ]);
        assert_eq!(
            errors(&http, &imports, WorldPolicy::STRICT),
            Vec::<String>::new()
        );
    }

    #[test]
    fn lookalike_names_are_not_the_interfaces_they_resemble() {
        let m = manifest("http = [\"https://api.example.com\"]\nsecrets = [\"TOKEN\"]");
        for evil in [
            "wasi:http-evil/x@0.2.0",
            "wasi:http/outgoing-handler-evil@0.2.0",
            "gyre:plugin/kv-evil@0.1.0",
            "gyre:plugin-evil/kv@0.1.0",
            "gyre:plugin/kv/x@0.1.0",
            "wasi:io/streams",
            "wasi:clocks/timezone@0.2.0",
            "acme:evil/backdoor",
            "backdoor",
            "wasi:io/streams@",
        ] {
            let found = errors(&m, &[evil], WorldPolicy::UNKNOWN_TOOLCHAIN);
            if evil == "wasi:io/streams" {
                // Unversioned but the right interface: linked.
                assert!(found.is_empty(), "{evil}: {found:?}");
                continue;
            }
            assert_eq!(found.len(), 1, "{evil}: {found:?}");
            assert!(found[0].contains(evil), "{evil}: {found:?}");
        }
        // The load check agrees on packages: a lookalike package is not provided.
        assert!(
            check(&m, &component(&["wasi:http-evil/x@0.2.0"]))
                .iter()
                .any(|p| p.severity == Severity::Error)
        );
    }

    #[test]
    fn incompatible_versions_are_refused() {
        let m = manifest("");
        for import in [
            "gyre:plugin/log@0.2.0",
            "wasi:io/streams@0.3.0",
            "wasi:io/streams@1.0.0",
        ] {
            let found = errors(&m, &[import], WorldPolicy::STRICT);
            assert!(
                found.len() == 1 && found[0].contains("version"),
                "{import}: {found:?}"
            );
        }
    }

    #[test]
    fn sockets_are_an_error_unless_the_policy_tolerates_them() {
        let m = manifest("");
        let imports = [
            "wasi:sockets/tcp@0.2.0",
            "wasi:sockets/ip-name-lookup@0.2.0",
        ];
        let strict = errors(&m, &imports, WorldPolicy::STRICT);
        assert_eq!(strict.len(), 1, "one error for all sockets: {strict:?}");
        assert!(strict[0].contains("wasi:sockets/tcp@0.2.0"), "{strict:?}");
        assert!(strict[0].contains("HTTP"), "it says what to do: {strict:?}");
        let lenient = world_problems(&m, &component(&imports), WorldPolicy::UNKNOWN_TOOLCHAIN);
        assert_eq!(lenient.len(), 1, "{lenient:?}");
        assert_eq!(lenient[0].severity, Severity::Warning);
    }

    #[test]
    fn secrets_and_http_need_a_request_in_the_manifest() {
        let none = manifest("");
        let found = errors(&none, &["gyre:plugin/secrets@0.1.0"], WorldPolicy::STRICT);
        assert!(
            found.len() == 1 && found[0].contains("requests no secret"),
            "{found:?}"
        );
        let found = errors(
            &none,
            &["wasi:http/outgoing-handler@0.2.0"],
            WorldPolicy::STRICT,
        );
        assert!(
            found.len() == 1 && found[0].contains("requests no HTTP origin"),
            "{found:?}"
        );
        let lenient = errors(
            &none,
            &[
                "gyre:plugin/secrets@0.1.0",
                "wasi:http/outgoing-handler@0.2.0",
            ],
            WorldPolicy::UNKNOWN_TOOLCHAIN,
        );
        assert!(lenient.is_empty(), "{lenient:?}");
        let granted = manifest("secrets = [\"TOKEN\"]");
        assert!(
            errors(
                &granted,
                &["gyre:plugin/secrets@0.1.0"],
                WorldPolicy::STRICT
            )
            .is_empty()
        );
    }

    #[test]
    fn interface_names_parse_into_their_parts() {
        let n = InterfaceName::parse("wasi:http/types@0.2.12").unwrap();
        assert_eq!(
            (n.namespace, n.package, n.interface, n.version),
            ("wasi", "http", "types", Some("0.2.12"))
        );
        assert_eq!(n.unversioned(), "wasi:http/types");
        for bad in [
            "",
            "wasi",
            "wasi:http",
            ":http/types",
            "wasi:/types",
            "wasi:http/",
            "a:b/c@",
        ] {
            assert!(InterfaceName::parse(bad).is_none(), "{bad}");
        }
    }
}
