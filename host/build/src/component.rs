//! From a toolchain's output to a plugin component: the manifest embedded,
//! and for core modules (C, Zig) the world's type information and the WASI
//! preview1 reactor adapter added.

use crate::{BuildError, Job, sdk};
use gyre_sandbox::inspect::MANIFEST_SECTION;
use wasm_encoder::{CustomSection, Encode};

/// Adds `manifest` (the text of gyre.toml) to `component` as its
/// `gyre-manifest` custom section, unless it already carries one (the Rust
/// SDK's export macros embed it themselves). A different embedded manifest
/// is an error: the component would not describe itself.
pub fn embed_manifest(mut component: Vec<u8>, manifest: &str) -> Result<Vec<u8>, BuildError> {
    let info = gyre_sandbox::inspect::read(&component)
        .map_err(|reason| BuildError::Componentize(format!("the toolchain's output: {reason}")))?;
    match info.manifest_text {
        Some(embedded) if embedded == manifest => Ok(component),
        Some(_) => Err(BuildError::Componentize(
            "the component embeds a gyre.toml that differs from the one in its directory; rebuild from a clean tree".into(),
        )),
        None => {
            let section = CustomSection {
                name: MANIFEST_SECTION.into(),
                data: manifest.as_bytes().into(),
            };
            // A component may carry custom sections anywhere; appended, it
            // leaves the toolchain's output untouched.
            // Custom sections have id 0 in components as in core modules.
            component.push(0);
            section.encode(&mut component);
            Ok(component)
        }
    }
}

/// Makes a component of a wasip1 core module built from the C bindings of
/// the job's world.
pub fn from_core(mut module: Vec<u8>, job: &Job, manifest: &str) -> Result<Vec<u8>, BuildError> {
    let (resolve, world) = crate::native::resolve_world(job)?;
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
        false,
    )
    .map_err(|e| {
        BuildError::Componentize(format!(
            "embedding the {} world: {e:#}",
            sdk::world(job.kind)
        ))
    })?;
    let mut encoder = wit_component::ComponentEncoder::default();
    encoder.validate(true);
    encoder
        .module(&module)
        .map_err(|e| BuildError::Componentize(format!("{e:#}")))?;
    encoder
        .adapter(
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )
        .map_err(|e| BuildError::Componentize(format!("the preview1 adapter: {e:#}")))?;
    let component = encoder
        .encode()
        .map_err(|e| BuildError::Componentize(format!("{e:#}")))?;
    embed_manifest(component, manifest)
}
