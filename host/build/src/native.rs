//! C and Zig: C bindings generated from the world (wit-bindgen's C
//! generator, run in-process), compiled with the SDK helper by clang and
//! Debian's wasi-libc, or by zig's own wasm32-wasi libc, into a wasip1 core
//! module that `component::from_core` adapts.

use crate::{BuildError, Job, Lang, Output, fsx, sdk, tool};
use std::path::{Path, PathBuf};
use std::process::Command;
use wit_parser::{Resolve, WorldId};

/// The `gyre:sdk` world of the job, written to `.gyre/wit` and parsed.
pub fn resolve_world(job: &Job) -> Result<(Resolve, WorldId), BuildError> {
    let wit = job.work.join("wit");
    if !wit.join("gyre-sdk.wit").is_file() {
        sdk::write_wit(&wit, true)?;
    }
    let mut resolve = Resolve::default();
    let (package, _) = resolve.push_dir(&wit).map_err(|e| BuildError::Generate {
        what: "WIT".into(),
        reason: format!("{e:#}"),
    })?;
    let world = resolve
        .select_world(&[package], Some(sdk::world(job.kind)))
        .map_err(|e| BuildError::Generate {
            what: "WIT".into(),
            reason: format!("{e:#}"),
        })?;
    Ok((resolve, world))
}

/// Writes the C bindings (`plugin.h`, `plugin.c`) and the SDK helper
/// (`gyre.h`, `gyre.c`) into `.gyre/c` and returns that directory.
fn bindings(job: &Job) -> Result<PathBuf, BuildError> {
    sdk::write_wit(&job.work.join("wit"), true)?;
    let (mut resolve, world) = resolve_world(job)?;
    let opts = wit_bindgen_c::Opts {
        // One name for every world, so the helper includes "plugin.h".
        rename_world: Some("plugin".into()),
        // The world's type information is embedded after linking instead.
        no_object_file: true,
        ..Default::default()
    };
    let mut files = wit_bindgen_core::Files::default();
    opts.build()
        .generate(&mut resolve, world, &mut files)
        .map_err(|e| BuildError::Generate {
            what: "C bindings".into(),
            reason: format!("{e:#}"),
        })?;
    let dir = job.work.join("c");
    let _ = std::fs::remove_dir_all(&dir);
    for (name, bytes) in files.iter() {
        crate::write(&dir.join(name), bytes)?;
    }
    sdk::write_helpers(&dir, sdk::C)?;
    // The helper offers verdicts or HTTP only where the world has them.
    crate::write(
        &dir.join("gyre_world.h"),
        format!(
            "// Written by gyre build: the world this plugin is built against.\n#define GYRE_{} 1\n",
            job.kind.as_str().to_ascii_uppercase()
        ),
    )?;
    Ok(dir)
}

/// The `*.ext` files in `root/src`, none of them leading out of `root`.
fn sources(root: &Path, ext: &str) -> Result<Vec<PathBuf>, BuildError> {
    let dir = root.join("src");
    fsx::refuse_escape(root, &dir)?;
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    out.sort();
    for path in &out {
        fsx::refuse_escape(root, path)?;
    }
    Ok(out)
}

/// Debian's wasi-libc lives under /usr; `WASI_SYSROOT` points elsewhere
/// (e.g. a wasi-sdk).
fn sysroot() -> Option<PathBuf> {
    let root = std::env::var_os("WASI_SYSROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr"));
    let found = ["include/wasm32-wasi/stdlib.h", "include/stdlib.h"]
        .iter()
        .any(|h| root.join(h).is_file() && root.join("lib/wasm32-wasi").is_dir());
    found.then_some(root)
}

pub fn build_c(job: &Job) -> Result<Output, BuildError> {
    let mut cmd = tool::command("clang", Lang::C)?;
    let root = sysroot().ok_or_else(|| tool::missing("wasi-libc", Lang::C))?;
    let c = bindings(job)?;
    let user = sources(job.dir, "c")?;
    let out = job.work.join("core.wasm");
    let _ = std::fs::remove_file(&out);
    cmd.current_dir(job.dir)
        .args([
            "--target=wasm32-wasi",
            "-mexec-model=reactor",
            "-O2",
            "-Wall",
        ])
        .arg(format!("--sysroot={}", root.display()))
        .arg("-I")
        .arg(&c)
        .args(&user)
        .arg(c.join("plugin.c"))
        .arg(c.join("gyre.c"))
        .arg("-o")
        .arg(&out);
    tool::run(cmd, "clang").map_err(|e| match e {
        BuildError::ToolFailed { output, .. }
            if output.contains("libclang_rt.builtins-wasm32")
                || output.contains("unable to find library -lc") =>
        {
            tool::missing("the wasm32 runtime libraries", Lang::C)
        }
        e => e,
    })?;
    Ok(Output::Core(crate::read(&out, "the clang output")?))
}

/// zig on PATH, or the one the `ziglang` Python package ships.
fn zig() -> Result<Command, BuildError> {
    if let Some(path) = tool::which("zig") {
        return Ok(Command::new(path));
    }
    let python = tool::which("python3").ok_or_else(|| tool::missing("zig", Lang::Zig))?;
    let probe = Command::new(&python)
        .args(["-c", "import ziglang"])
        .output()
        .map_err(|_| tool::missing("zig", Lang::Zig))?;
    if !probe.status.success() {
        return Err(tool::missing("zig", Lang::Zig));
    }
    let mut cmd = Command::new(python);
    cmd.args(["-m", "ziglang"]);
    Ok(cmd)
}

pub fn build_zig(job: &Job) -> Result<Output, BuildError> {
    let main = job.dir.join("src/main.zig");
    fsx::refuse_escape(job.dir, &job.dir.join("src"))?;
    fsx::refuse_escape(job.dir, &main)?;
    if !main.is_file() {
        return Err(BuildError::NoArtifact {
            tool: "zig".into(),
            reason: format!("no {}", main.display()),
        });
    }
    let mut version = zig()?;
    version.arg("version");
    if let Some(note) = tool::version_note(version, Lang::Zig) {
        job.note(note);
    }
    let c = bindings(job)?;
    sdk::write_helpers(&c, sdk::ZIG)?;
    // Zig 0.16 dropped @cImport: the bindings and the C helper's header
    // become the Zig module `c` through translate-c.
    let mut translate = zig()?;
    translate
        .current_dir(job.dir)
        .arg("translate-c")
        .arg(c.join("gyre.h"))
        .args(["-target", "wasm32-wasi", "-lc", "-I"])
        .arg(&c);
    let translated = tool::run(translate, "zig translate-c")?;
    crate::write(&c.join("c.zig"), &translated.stdout)?;

    let out = job.work.join("core.wasm");
    let _ = std::fs::remove_file(&out);
    let module = ["-target", "wasm32-wasi", "-O", "ReleaseSmall"];
    let mut cmd = zig()?;
    cmd.current_dir(job.dir)
        .args([
            "build-exe",
            "-fno-entry",
            "-rdynamic",
            "-mexec-model=reactor",
        ])
        .arg(format!("-femit-bin={}", out.display()))
        .arg("--cache-dir")
        .arg(job.work.join("zig-cache"))
        // The plugin: its source and the C bindings and helper.
        .args(module)
        .args(["-lc", "--dep", "gyre", "--dep", "c", "-I"])
        .arg(&c)
        .arg(c.join("plugin.c"))
        .arg(c.join("gyre.c"))
        .arg(format!("-Mroot={}", main.display()))
        // `gyre`, the Zig helper.
        .args(module)
        .args(["--dep", "c"])
        .arg(format!("-Mgyre={}", c.join("gyre.zig").display()))
        // `c`, the translated C API.
        .args(module)
        .arg("-lc")
        .arg(format!("-Mc={}", c.join("c.zig").display()));
    tool::run(cmd, "zig build-exe")?;
    Ok(Output::Core(crate::read(&out, "the zig output")?))
}
