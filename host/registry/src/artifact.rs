//! The package format: an OCI image manifest whose config is a wasm config
//! (`application/vnd.wasm.config.v0+json`, carrying Gyre's manifests) and
//! whose layers are components (`application/wasm`). Both backends store
//! exactly these bytes, so a package's digest is the same everywhere.

use crate::{Digest, PackageId, PackageName, RegistryError, Result, Timestamp};
use gyre_manifest::{Manifest, PluginKind, PluginName};
use gyre_sandbox::inspect;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
pub const WASM_CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
pub const WASM_LAYER_MEDIA_TYPE: &str = "application/wasm";
pub const INDEX_CONFIG_MEDIA_TYPE: &str = "application/vnd.gyre.index.config.v1+json";
pub const INDEX_LAYER_MEDIA_TYPE: &str = "application/vnd.gyre.index.v1+json";

/// Annotation naming the package on the OCI manifest.
pub const PACKAGE_ANNOTATION: &str = "dev.gyre.package";
const TITLE_ANNOTATION: &str = "org.opencontainers.image.title";
const VERSION_ANNOTATION: &str = "org.opencontainers.image.version";
const DESCRIPTION_ANNOTATION: &str = "org.opencontainers.image.description";

/// Limits on what a registry may hand us.
pub const MAX_MANIFEST_BYTES: usize = 1 << 20;
pub const MAX_CONFIG_BYTES: usize = 4 << 20;
pub const MAX_COMPONENT_BYTES: u64 = 128 << 20;
pub const MAX_COMPONENTS: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Descriptor {
    pub fn of(media_type: &str, bytes: &[u8]) -> Self {
        Self {
            media_type: media_type.into(),
            digest: Digest::of(bytes),
            size: bytes.len() as u64,
            annotations: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    pub schema_version: u32,
    pub media_type: String,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// One component as the config describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentEntry {
    pub plugin: PluginName,
    pub kind: PluginKind,
    pub file: String,
    pub digest: Digest,
    /// The component's `gyre.toml`, as embedded in it.
    pub manifest: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GyreConfig {
    pub package: PackageName,
    pub version: semver::Version,
    #[serde(default)]
    pub description: String,
    pub components: Vec<ComponentEntry>,
}

/// The wasm OCI config, with Gyre's section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WasmConfig {
    pub created: String,
    pub architecture: String,
    pub os: String,
    pub layer_digests: Vec<Digest>,
    pub component: ComponentSummary,
    pub gyre: GyreConfig,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ComponentSummary {
    pub exports: Vec<String>,
    pub imports: Vec<String>,
}

/// A component checked without running it: a component, with exactly one
/// embedded manifest that matches its imports and exports.
#[derive(Debug, Clone)]
pub struct CheckedComponent {
    pub manifest: Manifest,
    pub manifest_text: String,
    pub info: inspect::ComponentInfo,
}

/// Reads and checks a component. Nothing is compiled or run.
pub fn check_component(bytes: &[u8], origin: &str) -> Result<CheckedComponent> {
    let info = inspect::read(bytes)
        .map_err(|e| RegistryError::refused(format!("{origin}: not a usable component: {e}")))?;
    let text = info.manifest_text.clone().ok_or_else(|| {
        RegistryError::refused(format!(
            "{origin}: the component embeds no `{}` section; build it with the Gyre SDK",
            inspect::MANIFEST_SECTION
        ))
    })?;
    let manifest = Manifest::parse(&text, origin)
        .map_err(|e| RegistryError::refused(format!("embedded manifest: {e}")))?;
    let errors: Vec<String> = inspect::check(&manifest, &info)
        .into_iter()
        .filter(|m| m.severity == inspect::Severity::Error)
        .map(|m| m.message)
        .collect();
    if !errors.is_empty() {
        return Err(RegistryError::refused(format!(
            "{origin}: {}",
            errors.join("; ")
        )));
    }
    Ok(CheckedComponent {
        manifest,
        manifest_text: text,
        info,
    })
}

/// A package ready to push: manifest, config and layers.
pub struct Built {
    pub id: PackageId,
    pub description: String,
    pub manifest: Vec<u8>,
    pub digest: Digest,
    pub config: Vec<u8>,
    pub layers: Vec<(Descriptor, Vec<u8>)>,
}

/// The wasm config's `created`: `SOURCE_DATE_EPOCH` if set, else the Unix
/// epoch, so the same components always make the same package (and digest),
/// and republishing them is a no-op.
fn created() -> String {
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    rfc3339(Timestamp(secs))
}

fn rfc3339(t: Timestamp) -> String {
    let s = t.to_string(); // "YYYY-MM-DD HH:MM:SS UTC"
    format!("{}T{}Z", &s[..10], &s[11..19])
}

/// Builds a package from components (file name, bytes). The version is the
/// components' own; they must agree.
pub fn build(name: &PackageName, components: Vec<(String, Vec<u8>)>) -> Result<Built> {
    if components.is_empty() || components.len() > MAX_COMPONENTS {
        return Err(RegistryError::invalid(format!(
            "a package holds 1 to {MAX_COMPONENTS} components"
        )));
    }
    let mut entries = Vec::new();
    let mut layers = Vec::new();
    let mut summary = ComponentSummary::default();
    let mut version: Option<semver::Version> = None;
    let mut description = String::new();
    for (file, bytes) in components {
        let checked =
            check_component(&bytes, &file).map_err(|e| RegistryError::invalid(e.to_string()))?;
        let info = &checked.manifest.plugin;
        match &version {
            None => version = Some(info.version.clone()),
            Some(v) if *v != info.version => {
                return Err(RegistryError::invalid(format!(
                    "{file} is version {}, but the package's other components are {v}; publish them at one version",
                    info.version
                )));
            }
            Some(_) => {}
        }
        if entries
            .iter()
            .any(|e: &ComponentEntry| e.plugin == info.name)
        {
            return Err(RegistryError::invalid(format!(
                "two components are named {}",
                info.name
            )));
        }
        if description.is_empty() {
            description = info.description.clone();
        }
        summary.exports.extend(checked.info.exports.iter().cloned());
        summary.imports.extend(checked.info.imports.iter().cloned());
        let mut layer = Descriptor::of(WASM_LAYER_MEDIA_TYPE, &bytes);
        let file = format!("{}.wasm", info.name);
        layer
            .annotations
            .insert(TITLE_ANNOTATION.into(), file.clone());
        entries.push(ComponentEntry {
            plugin: info.name.clone(),
            kind: info.kind,
            file,
            digest: layer.digest,
            manifest: checked.manifest_text.clone(),
        });
        layers.push((layer, bytes));
    }
    let version = version.unwrap_or_else(|| semver::Version::new(0, 0, 0));
    if entries.len() == 1 && entries[0].plugin != name.name {
        return Err(RegistryError::invalid(format!(
            "the component is the plugin {}, so the package must be named {}/{} (not {name})",
            entries[0].plugin, name.namespace, entries[0].plugin
        )));
    }
    let config = WasmConfig {
        created: created(),
        architecture: "wasm".into(),
        os: "wasip2".into(),
        layer_digests: layers.iter().map(|(d, _)| d.digest).collect(),
        component: summary,
        gyre: GyreConfig {
            package: name.clone(),
            version: version.clone(),
            description: description.clone(),
            components: entries,
        },
    };
    let config = serde_json::to_vec(&config).unwrap_or_default();
    let mut annotations = BTreeMap::new();
    annotations.insert(PACKAGE_ANNOTATION.into(), name.to_string());
    annotations.insert(VERSION_ANNOTATION.into(), version.to_string());
    annotations.insert(DESCRIPTION_ANNOTATION.into(), description.clone());
    let manifest = ImageManifest {
        schema_version: 2,
        media_type: MANIFEST_MEDIA_TYPE.into(),
        config: Descriptor::of(WASM_CONFIG_MEDIA_TYPE, &config),
        layers: layers.iter().map(|(d, _)| d.clone()).collect(),
        annotations,
    };
    let manifest = serde_json::to_vec(&manifest).unwrap_or_default();
    Ok(Built {
        id: PackageId {
            name: name.clone(),
            version,
        },
        description,
        digest: Digest::of(&manifest),
        manifest,
        config,
        layers,
    })
}

/// The OCI artifact that carries a namespace's signed index.
pub fn index_artifact(index: &[u8]) -> (Vec<u8>, Vec<u8>, Descriptor) {
    let config = b"{}".to_vec();
    let layer = Descriptor::of(INDEX_LAYER_MEDIA_TYPE, index);
    let manifest = ImageManifest {
        schema_version: 2,
        media_type: MANIFEST_MEDIA_TYPE.into(),
        config: Descriptor::of(INDEX_CONFIG_MEDIA_TYPE, &config),
        layers: vec![layer.clone()],
        annotations: BTreeMap::new(),
    };
    (
        serde_json::to_vec(&manifest).unwrap_or_default(),
        config,
        layer,
    )
}

/// Parses a package manifest whose digest was already checked, and checks
/// its shape and limits.
pub fn parse_manifest(bytes: &[u8], id: &PackageId) -> Result<ImageManifest> {
    let m: ImageManifest = serde_json::from_slice(bytes)
        .map_err(|e| RegistryError::refused(format!("{id}: malformed OCI manifest: {e}")))?;
    if m.config.media_type != WASM_CONFIG_MEDIA_TYPE {
        return Err(RegistryError::refused(format!(
            "{id}: the manifest's config is {:?}, not a wasm config; this is not a Gyre package",
            m.config.media_type
        )));
    }
    if m.config.size > MAX_CONFIG_BYTES as u64 {
        return Err(RegistryError::refused(format!(
            "{id}: the config is too large"
        )));
    }
    if m.layers.is_empty() || m.layers.len() > MAX_COMPONENTS {
        return Err(RegistryError::refused(format!(
            "{id}: a package holds 1 to {MAX_COMPONENTS} components, this one {}",
            m.layers.len()
        )));
    }
    for layer in &m.layers {
        if layer.media_type != WASM_LAYER_MEDIA_TYPE {
            return Err(RegistryError::refused(format!(
                "{id}: layer {} is {:?}, not application/wasm",
                layer.digest, layer.media_type
            )));
        }
        if layer.size > MAX_COMPONENT_BYTES {
            return Err(RegistryError::refused(format!(
                "{id}: layer {} is {} bytes, over the {MAX_COMPONENT_BYTES}-byte limit",
                layer.digest, layer.size
            )));
        }
    }
    Ok(m)
}

/// Parses a config whose digest was already checked and matches it with
/// the manifest and the package wanted.
pub fn parse_config(bytes: &[u8], manifest: &ImageManifest, id: &PackageId) -> Result<GyreConfig> {
    let config: WasmConfig = serde_json::from_slice(bytes)
        .map_err(|e| RegistryError::refused(format!("{id}: malformed package config: {e}")))?;
    let g = config.gyre;
    if g.package != id.name || g.version != id.version {
        return Err(RegistryError::refused(format!(
            "swapped manifest: {id} resolved to the package {}@{}",
            g.package, g.version
        )));
    }
    let layer_digests: Vec<Digest> = manifest.layers.iter().map(|l| l.digest).collect();
    let entry_digests: Vec<Digest> = g.components.iter().map(|c| c.digest).collect();
    if layer_digests != entry_digests {
        return Err(RegistryError::refused(format!(
            "{id}: the config's components do not match the manifest's layers"
        )));
    }
    Ok(g)
}

/// Checks a fetched component (digest already verified) against its entry
/// in the config and the package identity.
pub fn check_fetched(
    bytes: &[u8],
    entry: &ComponentEntry,
    id: &PackageId,
) -> Result<CheckedComponent> {
    let origin = format!("{id}: component {}", entry.file);
    let checked = check_component(bytes, &origin)?;
    let described = Manifest::parse(&entry.manifest, &origin)
        .map_err(|e| RegistryError::refused(format!("{origin}: config manifest: {e}")))?;
    if described != checked.manifest {
        return Err(RegistryError::refused(format!(
            "{origin}: the manifest embedded in the component differs from the one published \
             in the package config"
        )));
    }
    let info = &checked.manifest.plugin;
    if info.name != entry.plugin || info.version != id.version || info.kind != entry.kind {
        return Err(RegistryError::refused(format!(
            "{origin}: the component is {} {}@{}, not what the package says ({} {}@{})",
            info.kind, info.name, info.version, entry.kind, entry.plugin, id.version
        )));
    }
    Ok(checked)
}
