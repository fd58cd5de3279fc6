//! Builds every guest component (first-party plugins under `plugins/` and
//! hostile plugins under `tests/hostile/`) for wasm32-wasip2 with a nested
//! cargo, assembles the one hostile plugin written in WAT
//! (`tests/hostile/many-memories`), and writes their paths into
//! `$OUT_DIR/artifacts.rs`.

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
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .expect("running cargo for the guest components");
    if !status.success() {
        panic!(
            "building the guest components failed (see above). If the target is missing, run: rustup target add {TARGET}"
        );
    }

    let mut out = String::new();
    for name in &crates {
        let wasm = target_dir
            .join(TARGET)
            .join("release")
            .join(format!("{}.wasm", name.replace('-', "_")));
        assert!(wasm.exists(), "{} was not produced", wasm.display());
        let ident = name.replace('-', "_").to_uppercase();
        out.push_str(&format!(
            "/// `{name}.wasm`\npub const {ident}: &str = {:?};\n",
            wasm.display().to_string()
        ));
    }
    let many = many_memories(&root, &target_dir.join(TARGET).join("release"));
    out.push_str(&format!(
        "/// `hostile-many-memories.wasm` (assembled from WAT)\npub const HOSTILE_MANY_MEMORIES: &str = {:?};\n",
        many.display().to_string()
    ));
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("artifacts.rs");
    std::fs::write(dest, out).unwrap();
}

/// Package names of the crates directly below `dir` that build a cdylib.
fn guest_crates(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names = Vec::new();
    for entry in entries.flatten() {
        let manifest = entry.path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        if !text.contains("cdylib") {
            continue;
        }
        let name = text
            .lines()
            .skip_while(|l| l.trim() != "[package]")
            .find_map(|l| {
                l.trim().strip_prefix("name").map(|r| {
                    r.trim_start_matches([' ', '='])
                        .trim()
                        .trim_matches('"')
                        .to_string()
                })
            });
        if let Some(name) = name {
            names.push(name);
        }
    }
    names
}

/// Assembles `tests/hostile/many-memories/many-memories.wat` (a core module
/// with 20 linear memories, which no Rust toolchain emits) into a component
/// of the `verifier` world, in `out_dir`, and returns its path.
fn many_memories(root: &Path, out_dir: &Path) -> PathBuf {
    let dir = root.join("tests/hostile/many-memories");
    let mut module = wat::parse_file(dir.join("many-memories.wat"))
        .unwrap_or_else(|e| panic!("many-memories.wat: {e}"));
    // The manifest travels inside the core module, as the SDK's
    // `embed_manifest!` puts it there for Rust plugins.
    let manifest = std::fs::read(dir.join("gyre.toml")).expect("reading many-memories/gyre.toml");
    append_custom_section(&mut module, "gyre-manifest", &manifest);

    let mut resolve = wit_parser::Resolve::default();
    let (package, _) = resolve
        .push_dir(root.join("wit"))
        .unwrap_or_else(|e| panic!("parsing wit/: {e:?}"));
    let world = resolve
        .select_world(&[package], Some("verifier"))
        .expect("the verifier world");
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
        false,
    )
    .expect("embedding the verifier world");
    let mut encoder = wit_component::ComponentEncoder::default();
    encoder.validate(true);
    encoder
        .module(&module)
        .unwrap_or_else(|e| panic!("many-memories as a verifier module: {e:?}"));
    let component = encoder
        .encode()
        .unwrap_or_else(|e| panic!("encoding the many-memories component: {e:?}"));
    // The default feature set includes multi-memory, like wasmtime's.
    wasmparser::Validator::new()
        .validate_all(&component)
        .unwrap_or_else(|e| panic!("the many-memories component does not validate: {e}"));

    std::fs::create_dir_all(out_dir).unwrap();
    let path = out_dir.join("hostile_many_memories.wasm");
    std::fs::write(&path, component).unwrap();
    path
}

/// Appends a custom section to a core module.
fn append_custom_section(module: &mut Vec<u8>, name: &str, data: &[u8]) {
    fn leb128(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            out.push(if n == 0 { byte } else { byte | 0x80 });
            if n == 0 {
                break;
            }
        }
    }
    let mut payload = Vec::new();
    leb128(name.len(), &mut payload);
    payload.extend_from_slice(name.as_bytes());
    payload.extend_from_slice(data);
    module.push(0);
    leb128(payload.len(), module);
    module.extend_from_slice(&payload);
}
