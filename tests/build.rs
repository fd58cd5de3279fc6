//! Builds every guest component (first-party plugins under `plugins/` and
//! hostile plugins under `tests/hostile/`) for wasm32-wasip2 with a nested
//! cargo, and writes their paths into `$OUT_DIR/artifacts.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    for watched in ["plugins", "sdk/rust", "wit", "tests/hostile", "Cargo.toml"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }

    let mut crates = guest_crates(&root.join("plugins"));
    crates.extend(guest_crates(&root.join("tests/hostile")));
    crates.sort();

    // A separate target dir: the outer cargo holds the lock on its own.
    let target_dir = std::env::var_os("GYRE_GUEST_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/guest"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args(["build", "--release", "--target", TARGET, "--target-dir"])
        .arg(&target_dir);
    for name in &crates {
        cmd.args(["-p", name]);
    }
    // Flags meant for the host build must not leak into the guest build.
    for var in ["CARGO_ENCODED_RUSTFLAGS", "RUSTFLAGS", "CARGO_TARGET_DIR", "CARGO_BUILD_TARGET", "RUSTC_WORKSPACE_WRAPPER"] {
        cmd.env_remove(var);
    }
    let status = cmd.status().expect("running cargo for the guest components");
    if !status.success() {
        panic!(
            "building the guest components failed (see above). If the target is missing, run: rustup target add {TARGET}"
        );
    }

    let mut out = String::new();
    for name in &crates {
        let wasm = target_dir.join(TARGET).join("release").join(format!("{}.wasm", name.replace('-', "_")));
        assert!(wasm.exists(), "{} was not produced", wasm.display());
        let ident = name.replace('-', "_").to_uppercase();
        out.push_str(&format!("/// `{name}.wasm`\npub const {ident}: &str = {:?};\n", wasm.display().to_string()));
    }
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("artifacts.rs");
    std::fs::write(dest, out).unwrap();
}

/// Package names of the crates directly below `dir` that build a cdylib.
fn guest_crates(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut names = Vec::new();
    for entry in entries.flatten() {
        let manifest = entry.path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else { continue };
        if !text.contains("cdylib") {
            continue;
        }
        let name = text
            .lines()
            .skip_while(|l| l.trim() != "[package]")
            .find_map(|l| l.trim().strip_prefix("name").map(|r| r.trim_start_matches([' ', '=']).trim().trim_matches('"').to_string()));
        if let Some(name) = name {
            names.push(name);
        }
    }
    names
}
