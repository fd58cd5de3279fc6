//! `gyre build [DIR]`: build a plugin in any supported language into a
//! checked component.

use crate::exit::Exit;
use anyhow::Result;
use clap::Args;
use gyre_build::{BuildOptions, Lang};
use std::path::PathBuf;

#[derive(Args)]
pub struct BuildArgs {
    /// The plugin's directory (holds gyre.toml).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The language [default: detected from the files: Cargo.toml, index.js, app.py, src/main.zig, src/*.c].
    #[arg(long, value_enum)]
    pub lang: Option<LangArg>,
    /// Where to write the component [default: DIR/NAME.wasm].
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LangArg {
    Rust,
    Js,
    Python,
    C,
    Zig,
}

impl From<LangArg> for Lang {
    fn from(l: LangArg) -> Lang {
        match l {
            LangArg::Rust => Lang::Rust,
            LangArg::Js => Lang::Js,
            LangArg::Python => Lang::Python,
            LangArg::C => Lang::C,
            LangArg::Zig => Lang::Zig,
        }
    }
}

pub fn run(args: BuildArgs) -> Result<Exit> {
    let built = gyre_build::build(&BuildOptions {
        dir: args.dir,
        lang: args.lang.map(Lang::from),
        out: args.out,
    })?;
    for w in &built.warnings {
        eprintln!("warning: {w}");
    }
    println!(
        "Built {} {} ({}) → {}: {} in {:.1} s",
        built.manifest.plugin.kind,
        built.manifest.plugin.name,
        built.lang.display_name(),
        built.path.display(),
        size(built.size),
        built.elapsed.as_secs_f64()
    );
    Ok(Exit::Success)
}

fn size(bytes: usize) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} bytes"),
    }
}
