//! `gyre new`: scaffold a plugin that builds to a component out of the box.

use crate::exit::Exit;
use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use gyre_manifest::{PluginKind, PluginName};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, ValueEnum)]
pub enum Kind {
    Verifier,
    Connector,
    Trigger,
}

/// The languages `new` scaffolds are those `build` builds.
pub use crate::build::LangArg as Lang;

#[derive(Args)]
pub struct NewArgs {
    /// What the plugin is.
    #[arg(value_enum)]
    pub kind: Kind,
    /// The plugin's name: lowercase letters, digits and dashes.
    pub name: String,
    /// The language to write it in.
    #[arg(long, value_enum, default_value = "rust")]
    pub lang: Lang,
    /// Where to create it [default: ./NAME].
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// The gyre-sdk crate to depend on [default: the SDK of the checkout gyre was built from].
    #[arg(long, env = "GYRE_SDK_PATH")]
    pub sdk: Option<PathBuf>,
}

const CARGO: &str = include_str!("../templates/rust/Cargo.toml.tmpl");
const CARGO_CONFIG: &str = include_str!("../templates/rust/cargo-config.toml.tmpl");
const MANIFEST: &str = include_str!("../templates/rust/gyre.toml.tmpl");
const README: &str = include_str!("../templates/rust/README.md.tmpl");
const VERIFIER: &str = include_str!("../templates/rust/verifier.rs.tmpl");
const CONNECTOR: &str = include_str!("../templates/rust/connector.rs.tmpl");
const TRIGGER: &str = include_str!("../templates/rust/trigger.rs.tmpl");
/// The author cases every language's template passes (`gyre plugin test`).
const VERIFIER_CASES: &str = include_str!("../templates/common/verifier.gyre-test.toml");
const CONNECTOR_CASES: &str = include_str!("../templates/common/connector.gyre-test.toml");

/// The files of a verifier and of a connector in one language (besides
/// gyre.toml and the author cases, which every language shares).
struct Sources {
    verifier: &'static [(&'static str, &'static str)],
    connector: &'static [(&'static str, &'static str)],
    gitignore: &'static str,
}

macro_rules! template {
    ($lang:literal, $file:literal) => {
        include_str!(concat!("../templates/", $lang, "/", $file))
    };
}

fn sources(lang: Lang) -> Option<Sources> {
    Some(match lang {
        Lang::Rust => return None,
        Lang::Js => Sources {
            verifier: &[
                ("index.js", template!("js", "verifier.js.tmpl")),
                ("package.json", template!("js", "package.json.tmpl")),
                ("README.md", template!("js", "README.md.tmpl")),
            ],
            connector: &[
                ("index.js", template!("js", "connector.js.tmpl")),
                ("package.json", template!("js", "package.json.tmpl")),
                ("README.md", template!("js", "README.md.tmpl")),
            ],
            gitignore: "*.wasm\n/.gyre/\n# Written by gyre build on every build.\n/gyre.js\n/gyre-http.js\n",
        },
        Lang::Python => Sources {
            verifier: &[
                ("app.py", template!("python", "verifier.py.tmpl")),
                ("README.md", template!("python", "README.md.tmpl")),
            ],
            connector: &[
                ("app.py", template!("python", "connector.py.tmpl")),
                ("README.md", template!("python", "README.md.tmpl")),
            ],
            gitignore: "*.wasm\n/.gyre/\n__pycache__/\n",
        },
        Lang::C => Sources {
            verifier: &[
                ("src/plugin.c", template!("c", "verifier.c.tmpl")),
                ("README.md", template!("c", "README.md.tmpl")),
            ],
            connector: &[
                ("src/plugin.c", template!("c", "connector.c.tmpl")),
                ("README.md", template!("c", "README.md.tmpl")),
            ],
            gitignore: "*.wasm\n/.gyre/\n",
        },
        Lang::Zig => Sources {
            verifier: &[
                ("src/main.zig", template!("zig", "verifier.zig.tmpl")),
                ("README.md", template!("zig", "README.md.tmpl")),
            ],
            connector: &[
                ("src/main.zig", template!("zig", "connector.zig.tmpl")),
                ("README.md", template!("zig", "README.md.tmpl")),
            ],
            gitignore: "*.wasm\n/.gyre/\n",
        },
    })
}

fn default_sdk() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sdk/rust")
}

pub fn run(args: NewArgs) -> Result<Exit> {
    let name: PluginName = args.name.parse().map_err(anyhow::Error::msg)?;
    // The name becomes a crate name too; Cargo refuses these.
    const RESERVED: &[&str] = &[
        "test",
        "core",
        "std",
        "alloc",
        "proc-macro",
        "self",
        "super",
        "crate",
        "loop",
        "type",
        "match",
        "fn",
        "mod",
        "use",
        "impl",
        "trait",
        "struct",
        "enum",
    ];
    if args.lang == Lang::Rust
        && (name.as_str().starts_with(|c: char| c.is_ascii_digit())
            || RESERVED.contains(&name.as_str()))
    {
        bail!(
            "{name:?} cannot name a Rust crate; choose a name that starts with a letter and is not a keyword"
        );
    }
    let kind = match args.kind {
        Kind::Verifier => PluginKind::Verifier,
        Kind::Connector => PluginKind::Connector,
        Kind::Trigger => PluginKind::Trigger,
    };
    let dir = args.dir.unwrap_or_else(|| PathBuf::from(name.as_str()));
    if dir.exists()
        && std::fs::read_dir(&dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        bail!(
            "{} already exists and is not empty; choose another --dir",
            dir.display()
        );
    }
    let other_lang = sources(args.lang);
    if other_lang.is_some() && kind == PluginKind::Trigger {
        bail!(
            "triggers are written in Rust for now; use --lang rust (JavaScript, Python, C and Zig cover verifiers and connectors)"
        );
    }
    let sdk = args.sdk.clone().unwrap_or_else(default_sdk);
    let sdk = if other_lang.is_some() {
        sdk
    } else {
        std::fs::canonicalize(&sdk)
            .ok()
            .filter(|p| p.join("Cargo.toml").is_file())
            .with_context(|| {
                format!(
                    "the gyre SDK is not at {}; pass --sdk PATH/TO/gyre/sdk/rust",
                    sdk.display()
                )
            })?
    };

    let (source, description, capabilities) = match kind {
        PluginKind::Verifier => (
            VERIFIER,
            "Passes when a report's value reaches a minimum.",
            "# directories = [...], http = [...], secrets = [...]\n",
        ),
        PluginKind::Connector => (
            CONNECTOR,
            "Fetches JSON from a configured service.",
            "http = [\"http://127.0.0.1:*\"]\n",
        ),
        PluginKind::Trigger => (
            TRIGGER,
            "Fires at a fixed interval.",
            "# directories = [...], http = [...], secrets = [...]\n",
        ),
    };
    let fill = |t: &str| {
        t.replace("{{name}}", name.as_str())
            .replace("{{crate}}", &name.as_str().replace('-', "_"))
            .replace("{{kind}}", kind.as_str())
            .replace("{{description}}", description)
            .replace("{{capabilities}}", capabilities)
            .replace("{{sdk}}", &sdk.display().to_string())
    };
    let cases = match kind {
        PluginKind::Verifier => Some(VERIFIER_CASES),
        PluginKind::Connector => Some(CONNECTOR_CASES),
        PluginKind::Trigger => None,
    };
    if let Some(src) = other_lang {
        let files = match kind {
            PluginKind::Connector => src.connector,
            _ => src.verifier,
        };
        let mut all: Vec<(&str, &str)> =
            vec![("gyre.toml", MANIFEST), (".gitignore", src.gitignore)];
        all.extend(files.iter().copied());
        all.extend(cases.map(|c| ("gyre-test.toml", c)));
        for (file, template) in all {
            let path = dir.join(file);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            std::fs::write(&path, fill(template))
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        println!("Created {} {} in {}", kind, name, dir.display());
        println!(
            "Next:\n  cd {}\n  gyre build            # needs: {}\n  gyre plugin test {}.wasm",
            dir.display(),
            gyre_build::Lang::from(args.lang).install(),
            name
        );
        return Ok(Exit::Success);
    }
    std::fs::create_dir_all(dir.join("src"))
        .and_then(|_| std::fs::create_dir_all(dir.join(".cargo")))
        .with_context(|| format!("cannot create {}", dir.display()))?;
    for (file, template) in [
        ("Cargo.toml", CARGO),
        (".cargo/config.toml", CARGO_CONFIG),
        ("gyre.toml", MANIFEST),
        ("README.md", README),
        ("src/lib.rs", source),
    ] {
        let path = dir.join(file);
        std::fs::write(&path, fill(template))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(cases) = cases {
        std::fs::write(dir.join("gyre-test.toml"), cases)?;
    }
    std::fs::write(dir.join(".gitignore"), "/target\n*.wasm\n/.gyre/\n")?;
    println!("Created {} {} in {}", kind, name, dir.display());
    println!(
        "Next:\n  cd {}\n  gyre build            # or: cargo build --release\n  gyre plugin test {}.wasm",
        dir.display(),
        name
    );
    Ok(Exit::Success)
}
