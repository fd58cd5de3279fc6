//! `gyre build`: turns a plugin's source directory (Rust, JavaScript,
//! Python, C or Zig, with its `gyre.toml`) into a checked component.
//!
//! Every language ends the same way: the component carries its manifest in
//! the `gyre-manifest` custom section, exports the world its manifest
//! names, and imports nothing beyond that world and the capabilities the
//! manifest requests ([`check`]).
//!
//! Toolchains are found on `PATH`; a missing one is an error naming the one
//! command that installs it ([`Lang::install`]). Intermediate files
//! (the WIT the plugin is built against, the SDK helpers, generated
//! bindings) go to `DIR/.gyre/`, rewritten on each build.
//!
//! A plugin directory may come from a stranger, so `gyre build` never
//! writes through a symbolic link: the output, `.gyre/` and everything in
//! it, and the helpers it writes beside the sources must not be links (an
//! error names the one found), and files are renamed into place ([`fsx`]).
//! The plugin's own files that gyre build reads (gyre.toml, the entry
//! sources) must not lead out of the directory. Building still runs the
//! toolchain on the plugin's sources: a Rust plugin's build script or a C
//! `#include` reads what it says, so build only sources you would run.

mod check;
mod component;
mod error;
mod fsx;
mod js;
mod lang;
mod native;
mod python;
mod rust;
mod sdk;
mod tool;

pub use check::{Problem, check, policy};
pub use component::embed_manifest;
pub use error::BuildError;
pub use lang::Lang;
pub use sdk::write_wit;

use gyre_manifest::{Manifest, PluginKind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What to build and where to put it.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// The plugin's directory: holds `gyre.toml` and the sources.
    pub dir: PathBuf,
    /// The language, when detection should not decide.
    pub lang: Option<Lang>,
    /// Where to write the component [default: `DIR/NAME.wasm`].
    pub out: Option<PathBuf>,
}

/// A component `build` produced.
#[derive(Debug, Clone)]
pub struct Built {
    pub path: PathBuf,
    pub lang: Lang,
    pub manifest: Manifest,
    pub size: usize,
    pub elapsed: Duration,
    /// Non-fatal findings of the check, for the user.
    pub warnings: Vec<String>,
}

/// What one language's toolchain step is given.
pub(crate) struct Job<'a> {
    pub dir: &'a Path,
    /// `DIR/.gyre`: scratch space for this build.
    pub work: &'a Path,
    pub manifest: &'a Manifest,
    pub kind: PluginKind,
    /// Warnings found along the way (a toolchain at an untested version),
    /// shown with the build's result, or with its failure.
    pub notes: std::cell::RefCell<Vec<String>>,
}

impl Job<'_> {
    pub fn note(&self, note: String) {
        self.notes.borrow_mut().push(note);
    }
}

/// The artifact of a toolchain step.
pub(crate) enum Output {
    /// A core module (C, Zig): still to be given its world and made a component.
    Core(Vec<u8>),
    /// Already a component (Rust, JavaScript, Python).
    Component(Vec<u8>),
}

/// Builds the plugin in `options.dir`.
pub fn build(options: &BuildOptions) -> Result<Built, BuildError> {
    let start = Instant::now();
    // Toolchains run inside the plugin's directory: paths must be absolute.
    let dir = std::fs::canonicalize(&options.dir).map_err(|source| BuildError::Io {
        what: "finding the plugin directory".into(),
        path: options.dir.clone(),
        source,
    })?;
    let dir = dir.as_path();
    let manifest_path = dir.join("gyre.toml");
    fsx::refuse_escape(dir, &manifest_path)?;
    let text = std::fs::read_to_string(&manifest_path).map_err(|source| BuildError::Io {
        what: "reading the manifest".into(),
        path: manifest_path.clone(),
        source,
    })?;
    let manifest = Manifest::parse(&text, &manifest_path.display().to_string())
        .map_err(|e| BuildError::Manifest(e.to_string()))?;
    let lang = match options.lang {
        Some(lang) => lang,
        None => Lang::detect(dir)?,
    };
    let out = options
        .out
        .clone()
        .unwrap_or_else(|| dir.join(format!("{}.wasm", manifest.plugin.name.as_str())));
    // Checked before the toolchain runs, so a planted link costs no build.
    fsx::refuse_link(&out)?;
    let work = dir.join(".gyre");
    if lang != Lang::Rust {
        // Cargo keeps its own target dir; the others write into `.gyre`.
        fsx::real_dir(dir, &work)?;
        fsx::refuse_links_within(&work)?;
    }
    let job = Job {
        dir,
        work: &work,
        manifest: &manifest,
        kind: manifest.plugin.kind,
        notes: Default::default(),
    };
    let output = match lang {
        Lang::Rust => rust::build(&job),
        Lang::Js => js::build(&job),
        Lang::Python => python::build(&job),
        Lang::C => native::build_c(&job),
        Lang::Zig => native::build_zig(&job),
    };
    let notes = job.notes.take();
    let output = output.map_err(|e| match e {
        // A toolchain at another version than the tested one may be why.
        BuildError::ToolFailed {
            tool,
            status,
            mut output,
        } if !notes.is_empty() => {
            for n in &notes {
                output.push_str(&format!("\nnote: {n}"));
            }
            BuildError::ToolFailed {
                tool,
                status,
                output,
            }
        }
        e => e,
    })?;
    let component = match output {
        Output::Component(bytes) => component::embed_manifest(bytes, &text)?,
        Output::Core(module) => component::from_core(module, &job, &text)?,
    };

    let problems = check(&component, &manifest, lang)?;
    let (errors, warnings): (Vec<_>, Vec<_>) = problems.into_iter().partition(|p| p.is_error);
    if !errors.is_empty() {
        return Err(BuildError::Invalid {
            plugin: manifest.plugin.name.to_string(),
            problems: errors.into_iter().map(|p| p.message).collect(),
        });
    }

    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| BuildError::Io {
            what: "creating the output directory".into(),
            path: parent.to_path_buf(),
            source,
        })?;
    }
    fsx::write(&out, &component)?;
    Ok(Built {
        path: out,
        lang,
        size: component.len(),
        manifest,
        elapsed: start.elapsed(),
        warnings: notes
            .into_iter()
            .chain(warnings.into_iter().map(|p| p.message))
            .collect(),
    })
}

/// Writes `bytes` to `path`, naming the file on failure. Only for paths
/// inside `.gyre` or directories checked with [`fsx::real_dir`]; never
/// through a link ([`fsx::write`]).
pub(crate) fn write(path: &Path, bytes: impl AsRef<[u8]>) -> Result<(), BuildError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| BuildError::Io {
            what: "creating a directory".into(),
            path: parent.to_path_buf(),
            source,
        })?;
    }
    fsx::write(path, bytes.as_ref())
}

/// Reads `path`, naming the file on failure.
pub(crate) fn read(path: &Path, what: &str) -> Result<Vec<u8>, BuildError> {
    std::fs::read(path).map_err(|source| BuildError::Io {
        what: format!("reading {what}"),
        path: path.to_path_buf(),
        source,
    })
}
